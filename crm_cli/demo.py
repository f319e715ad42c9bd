"""A deterministic generator of realistic CRM data, for `crm demo` and for the benchmarks.

generate(conn, seed=7, contacts=300, years=2, now=...) fills an empty database with:

- people with Arabic and Latin names (some with accents), e-mails, Saudi/Emirati mobile numbers in E.164,
  cities, sources, tags, notes, birthdays, a few organisations they work for, a few do-not-contact;
- the interaction log: calls, e-mails, messages, meetings, notes; purchases from one-time buyers, repeat
  buyers and churners (customers whose last purchase is long gone); follow-ups (most done, some overdue,
  some upcoming); support requests (resolved with a resolution time, a few still open); satisfaction
  scores (CSAT 1-5 after support, NPS 0-10 from surveys, each with its score_scale);
- deals in every stage with their deal_stage_history; a won deal is also logged as a purchase with its
  deal_id (the convention: a won deal counts as a purchase);
- campaigns with members and their responses (delivered, opened, clicked, replied, purchased,
  unsubscribed); a purchase a campaign brought is logged with its campaign_id.

The same seed, sizes and `now` give the same database, row for row. Everything is written with
executemany inside ONE db.write transaction (one change, undoable as a whole). With fast=True (the
benchmarks) the triggers are dropped during the load and re-created after, and the FTS index is rebuilt
once: the result is the same data, only the change_rows audit images of the load are not kept.

Plain Python + SQL; imports nothing heavy.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crm_cli import db
from crm_cli.text import normalize

DAY = 86_400

# (Arabic, Latin transliteration for the e-mail address)
ARABIC_MALE = [
    ("محمد", "mohammed"), ("أحمد", "ahmed"), ("عبدالله", "abdullah"), ("خالد", "khalid"), ("فهد", "fahad"),
    ("سعود", "saud"), ("عمر", "omar"), ("علي", "ali"), ("يوسف", "yousef"), ("إبراهيم", "ibrahim"),
    ("سلمان", "salman"), ("ناصر", "nasser"), ("فيصل", "faisal"), ("تركي", "turki"), ("ماجد", "majed"),
    ("حسن", "hassan"), ("عبدالرحمن", "abdulrahman"), ("بندر", "bandar"), ("مشعل", "mishal"), ("زياد", "ziad"),
]  # fmt: skip
ARABIC_FEMALE = [
    ("سارة", "sara"), ("نورة", "noura"), ("فاطمة", "fatima"), ("مريم", "maryam"), ("هند", "hind"),
    ("ريم", "reem"), ("لمى", "lama"), ("عائشة", "aisha"), ("منى", "mona"), ("دانة", "dana"),
    ("جود", "joud"), ("لين", "leen"), ("هيا", "haya"), ("شهد", "shahad"), ("رنا", "rana"),
    ("ليلى", "layla"), ("أمل", "amal"), ("رهف", "rahaf"), ("غادة", "ghada"), ("نوف", "nouf"),
]  # fmt: skip
ARABIC_FAMILY = [
    ("الحداد", "haddad"), ("القحطاني", "qahtani"), ("العتيبي", "otaibi"), ("الغامدي", "ghamdi"),
    ("الزهراني", "zahrani"), ("الشهري", "shehri"), ("الدوسري", "dosari"), ("المطيري", "mutairi"),
    ("الحربي", "harbi"), ("العنزي", "anazi"), ("السبيعي", "subaie"), ("الشمري", "shammari"),
    ("الخالدي", "khalidi"), ("المالكي", "malki"), ("الجهني", "juhani"), ("اليامي", "yami"),
    ("العمري", "omari"), ("التميمي", "tamimi"), ("الراشد", "rashid"), ("النجار", "najjar"),
    ("بن لادن", "binladen"), ("الفارس", "alfaris"), ("الصالح", "saleh"), ("المنصور", "mansour"),
]  # fmt: skip
LATIN_FIRST = [
    "James", "Emma", "Oliver", "Sophia", "Lucas", "Mia", "Noah", "Amelia", "Liam", "Olivia", "Hugo", "Chloé",
    "Mateo", "Lucía", "Jonas", "Anna", "Ethan", "Zoë", "Daniel", "Sara", "Priya", "Arjun", "Fatima", "Omar",
    "Léa", "Björn", "Aylin", "Kenji", "Maria", "John",
]  # fmt: skip
LATIN_LAST = [
    "Smith", "Johnson", "Müller", "García", "Rossi", "Dubois", "Silva", "Jensen", "Novak", "Brown", "Taylor",
    "Wilson", "Martin", "López", "Khan", "Patel", "O'Brien", "Schmidt", "Kowalski", "Moreau", "Nguyen",
    "Haddad", "Yilmaz", "Costa",
]  # fmt: skip
ASCII = str.maketrans("éèëöüçíóáñ", "eeeoucioan")

CITIES = [  # (city, country, weight, mobile prefix)
    ("Riyadh", "SA", 30, "+9665"), ("Jeddah", "SA", 20, "+9665"), ("Dammam", "SA", 8, "+9665"),
    ("Khobar", "SA", 5, "+9665"), ("Mecca", "SA", 5, "+9665"), ("Medina", "SA", 5, "+9665"),
    ("Abha", "SA", 3, "+9665"), ("الرياض", "SA", 4, "+9665"), ("Dubai", "AE", 8, "+9715"),
    ("Abu Dhabi", "AE", 4, "+9715"), ("Sharjah", "AE", 2, "+9715"), ("Kuwait City", "KW", 2, "+9715"),
    ("Cairo", "EG", 2, "+9665"), ("Amman", "JO", 1, "+9665"), ("London", "GB", 1, "+9715"),
]  # fmt: skip
SA_MOBILE = ("50", "53", "54", "55", "56", "59")
AE_MOBILE = ("50", "52", "54", "55", "56", "58")
SOURCES = [  # (source, weight, share of leads that become customers: a channel's quality)
    ("instagram", 24, 0.45), ("referral", 14, 0.75), ("website", 16, 0.5), ("whatsapp", 12, 0.55),
    ("walk-in", 8, 0.65), ("google-ads", 10, 0.35), ("exhibition", 6, 0.5), ("tiktok", 10, 0.3),
]  # fmt: skip
MAIL_DOMAINS = ["gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "icloud.com", "live.com"]
COMPANY_CORES = [
    "Al Noor", "Najd", "Desert Rose", "Gulf", "Al Fajr", "Red Sea", "Oasis", "Palm", "Falcon", "Al Waha",
    "Hijaz", "Tuwaiq", "Al Safwa", "Crescent", "Sahara", "Al Yamamah", "Marina", "Al Badr", "Zamzam", "Arabian",
    "الريادة", "الفجر", "النخبة", "الأفق", "الوادي", "المستقبل",
]  # fmt: skip
COMPANY_TYPES = [
    "Trading", "Foods", "Logistics", "Boutique", "Perfumes", "Contracting", "Tech", "Hospitality", "Clinics",
    "Events", "للتجارة", "للمقاولات",
]  # fmt: skip
TITLES = ["Owner", "Purchasing manager", "CEO", "Office manager", "مدير المشتريات", "Buyer", "Marketing lead", None]
TAGS = [  # (tag, probability)
    ("newsletter", 0.40), ("vip", 0.07), ("wholesale", 0.08), ("ramadan-2026", 0.12), ("gift-buyer", 0.10),
    ("cold", 0.06), ("مميز", 0.04), ("event-guest", 0.05),
]  # fmt: skip
NOTES = [
    "Prefers WhatsApp over calls", "يفضل التواصل مساءً", "[VIP] key account, handle personally",
    "Asked about wholesale terms", "Allergic to oud, suggest musk", "Pays by bank transfer",
    "عميلة دائمة منذ الافتتاح", "Met at the Riyadh Season booth", "Wants invoices in English",
]  # fmt: skip
PRODUCTS = [
    "Oud oil 12ml", "Perfume gift set", "Abaya", "Dates 5kg box", "Arabic coffee beans", "Bakhoor set",
    "عطر ورد طائفي", "Prayer rug", "Saffron 10g", "Wholesale order", "تمر سكري", "Leather wallet",
]  # fmt: skip
SUMMARIES = {
    "call": [
        "Asked for wholesale prices", "Follow-up on quote", "No answer", "اتصال بخصوص الأسعار",
        "Called about delivery date", "Discussed the new collection", "Checked satisfaction after order",
    ],
    "email": [
        "Sent catalogue", "Sent price list", "Quote sent", "Invoice copy requested", "أرسلنا العرض",
        "Newsletter reply",
    ],
    "message": [
        "WhatsApp: order status", "Instagram DM about sizes", "واتساب: استفسار عن التوصيل", "Sent photos of stock",
        "Asked for the location",
    ],
    "meeting": ["Showroom visit", "Meeting at their office", "زيارة المعرض", "Tasting session", "Contract review"],
    "note": ["Birthday next month", "Moved to a new office", "Prefers evening calls", "ملاحظة: عميل مهم"],
    "support": [
        "Damaged item on delivery", "Wrong size delivered", "Refund request", "تأخر الشحنة", "Missing item",
        "Question about warranty", "Invoice correction",
    ],
}  # fmt: skip
OUTCOMES = {"call": ["interested", "no answer", "call back", "not interested", None, None]}
STAGES_OPEN = ["lead", "qualified", "proposal", "negotiation"]
LOST_REASONS = ["price", "went with competitor", "no budget", "no response", "timing", "السعر"]
OWNERS = ["Sara", "Omar", "Lina", "خالد", None]
DEAL_TITLES = [
    "Corporate gifts", "Ramadan hampers", "Office coffee supply", "Wedding order", "Wholesale perfumes",
    "Event catering", "Hotel amenities", "Eid gift boxes", "طلب جملة", "Annual supply contract",
]  # fmt: skip
CAMPAIGNS = [  # (name, channel, segment, subject)
    ("Ramadan offer 2026", "email", "tag:newsletter", "Ramadan Kareem: 20% off gift sets"),
    ("Win back: we miss you", "sms", "last-purchase>180d", None),
    ("White Friday", "email", "status:customer", "White Friday starts now"),
    ("VIP preview", "email", "tag:vip", "A private preview for you"),
    ("Eid al-Adha gifts", "email", "tag:gift-buyer", "Eid gifts, delivered on time"),
    ("Riyadh Season booth", "event", "city:Riyadh", None),
    ("Wholesale price list", "email", "tag:wholesale", "The new wholesale price list"),
    ("National Day", "sms", "country:SA", None),
    ("New collection", "email", "has:email", "The new collection is here"),
    ("Instagram retargeting", "ad", "source:instagram", None),
]  # fmt: skip

SETTINGS = {"default_region": "SA", "default_currency": "SAR", "date_order": "dmy"}


@dataclass
class Summary:
    """What generate() wrote (counts by table, and the timespan)."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _local_date(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def is_empty(conn: sqlite3.Connection) -> bool:
    """True when the database holds no user data (settings alone do not count)."""
    for table in ("contacts", "interactions", "deals", "campaigns", "segments"):
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            return False
    return True


def generate(
    conn: sqlite3.Connection,
    *,
    seed: int = 7,
    contacts: int = 300,
    years: float = 2,
    now: datetime,
    interactions: int | None = None,
    deals: int | None = None,
    campaigns: int | None = None,
    fast: bool = False,
    command: str | None = None,
) -> Summary:
    """Fill an empty database; returns the counts. See the module docstring.

    contacts: number of people (organisations come on top, about one per 40 people).
    interactions: target size of the log (default about 10 per person; approximate).
    deals: default one per five people; campaigns: default 2 (at most 20).
    """
    started = time.perf_counter()
    gen = _Generator(
        random.Random(seed),
        people=max(1, contacts),
        span=max(0.25, float(years)) * 365 * DAY,
        now=now.astimezone(UTC).timestamp(),
        interactions=interactions or contacts * 10,
        deals=max(1, contacts // 5) if deals is None else deals,
        campaigns=min(len(CAMPAIGNS) * 2, 2 if campaigns is None else campaigns),
        base=_id_bases(conn),
    )
    rows = gen.build()
    if fast:
        conn.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction; the data is built consistent
    try:
        with db.write(conn, command or f"demo --seed {seed} --contacts {contacts}", at=_iso(gen.now)):
            saved = _drop_triggers_and_indexes(conn) if fast else []
            _insert_all(conn, rows)
            if fast:
                for sql in saved:
                    conn.execute(sql)
                conn.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")
    finally:
        if fast:
            conn.execute("PRAGMA foreign_keys = ON")
    if fast:
        conn.execute("ANALYZE")
    summary = Summary({table: len(values) for table, (_, values) in rows.items() if table != "settings"})
    summary.counts["people"] = len(gen.persons)
    summary.counts["organizations"] = len(gen.org_ids)
    summary.counts["purchases"] = sum(1 for r in rows["interactions"][1] if r[2] == "purchase")
    summary.seconds = time.perf_counter() - started
    return summary


def _id_bases(conn: sqlite3.Connection) -> dict[str, int]:
    tables = ("contacts", "interactions", "deals", "campaigns", "campaign_members", "deal_stage_history")
    return {t: conn.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0] for t in tables}


BULK_TABLES = ("contacts", "contact_handles", "tags", "deals", "deal_stage_history", "campaign_members", "interactions")


def _drop_triggers_and_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drop every trigger (FTS, audit) and the bulk tables' indexes for the load; returns the SQL that
    re-creates them (building an index once is faster than keeping it up to date row by row)."""
    marks = ",".join("?" * len(BULK_TABLES))
    saved = conn.execute(
        f"""SELECT type, name, sql FROM sqlite_master
            WHERE type = 'trigger' OR (type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks}))
            ORDER BY type, name""",
        BULK_TABLES,
    ).fetchall()
    for kind, name, _ in saved:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    return [sql for _, _, sql in saved]


INSERTS = {
    "settings": "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
    "contacts": """INSERT INTO contacts (id, kind, name, org_id, company, title, email, phone, city, country, source,
        status, dnc, notes, custom, every_days, birthday, name_key, search_text, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
    "contact_handles": """INSERT INTO contact_handles (contact_id, type, value, key, is_primary)
        VALUES (?, ?, ?, ?, 1)""",
    "tags": "INSERT INTO tags (contact_id, tag) VALUES (?, ?)",
    "deals": """INSERT INTO deals (id, contact_id, title, value, currency, stage, probability, expected_close, owner,
        lost_reason, closed_at, stage_changed_at, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
    "deal_stage_history": """INSERT INTO deal_stage_history (deal_id, from_stage, to_stage, changed_at)
        VALUES (?, ?, ?, ?)""",
    "campaigns": """INSERT INTO campaigns (id, name, channel, segment, subject, template, cost, currency, starts_at,
        ends_at, launched_at, excluded_dnc, excluded_no_email, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
    "campaign_members": """INSERT INTO campaign_members (campaign_id, contact_id, status, rendered_subject,
        sent_at, delivered_at, opened_at, clicked_at, replied_at, purchased_at, unsubscribed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
    "interactions": """INSERT INTO interactions (id, contact_id, kind, summary, happened_at, direction, outcome,
        duration_min, amount, currency, score, score_scale, status, resolved_at, follow_up_at, follow_up_done_at,
        deal_id, campaign_id, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
}


def _insert_all(conn: sqlite3.Connection, rows: dict[str, tuple[str, list]]) -> None:
    for table in INSERTS:
        sql, values = INSERTS[table], rows[table][1]
        for start in range(0, len(values), 50_000):  # bounded statement batches, same transaction
            conn.executemany(sql, values[start : start + 50_000])


class _Person:
    __slots__ = (
        "id", "created", "kind", "source_quality", "buyer", "churn_at", "has_email", "city", "country",
        "purchases", "has_deal", "dnc", "tags", "inactive", "last_activity",
    )  # fmt: skip


class _Generator:
    def __init__(self, rng, *, people, span, now, interactions, deals, campaigns, base):
        self.rng = rng
        self.people = people
        self.now = float(int(now))
        self.start = self.now - span
        self.span = span
        self.target = interactions
        self.deal_count = deals
        self.campaign_count = campaigns
        self.base = base
        self.interactions: list[tuple] = []

    # -----------------------------------------------------------------------------------------
    def build(self) -> dict[str, tuple[str, list]]:
        persons = self.persons = self._people()
        deals, history = self._deals(persons)
        campaigns, members = self._campaigns(persons)
        self._activity(persons)
        contacts_rows, handles, tags = self._contact_rows(persons)
        inter = self._numbered_interactions()
        return {
            "settings": ("", list(SETTINGS.items())),
            "contacts": ("", contacts_rows),
            "contact_handles": ("", handles),
            "tags": ("", tags),
            "deals": ("", deals),
            "deal_stage_history": ("", history),
            "campaigns": ("", campaigns),
            "campaign_members": ("", members),
            "interactions": ("", inter),
        }

    def _when(self, low: float, high: float) -> float:
        """A moment between low and high, at a plausible hour (08:00-21:00 in the Gulf)."""
        ts = low + (high - low) * self.rng.random()
        day = ts - ts % DAY
        ts = day + 5 * 3600 + self.rng.randrange(13 * 3600)
        latest = self.now - 60
        if ts > latest:
            ts = latest - self.rng.randrange(3600)
        return max(ts, low)

    # -----------------------------------------------------------------------------------------
    def _people(self) -> list[_Person]:
        rng = self.rng
        sources = [s for s, _, _ in SOURCES]
        source_weights = [w for _, w, _ in SOURCES]
        quality = {s: q for s, _, q in SOURCES}
        self.source_of: dict[int, str] = {}
        # A quarter arrive in the first two months (the customer list the shop started with), so the early
        # cohorts are large enough to show retention decaying; the rest join steadily, a little faster lately.
        early = min(self.span, 60 * DAY)
        created = sorted(
            self.start + (early * rng.random() if rng.random() < 0.25 else self.span * rng.random() ** 0.9)
            for _ in range(self.people)
        )
        n_orgs = max(3, self.people // 40)
        first_id = self.base["contacts"] + 1
        self.org_ids = list(range(first_id, first_id + n_orgs))
        self.person_first_id = first_id + n_orgs
        persons = []
        for index, ts in enumerate(created):
            p = _Person()
            p.id = self.person_first_id + index
            p.created = ts - ts % 60
            source = rng.choices(sources, source_weights)[0]
            self.source_of[p.id] = source
            p.source_quality = quality[source]
            roll = rng.random()
            p.buyer = roll < p.source_quality
            p.churn_at = None
            if p.buyer and rng.random() < 0.35:
                # A churner: buys for a while, then goes quiet for good (at least ~200 days ago).
                latest = self.now - 200 * DAY
                if latest > p.created + 20 * DAY:
                    p.churn_at = p.created + (latest - p.created) * rng.random() + 20 * DAY
            p.purchases = []
            p.has_deal = False
            p.dnc = rng.random() < 0.03
            p.tags = [t for t, prob in TAGS if rng.random() < prob]
            p.has_email = rng.random() < 0.85
            p.inactive = False
            persons.append(p)
        return persons

    # -----------------------------------------------------------------------------------------
    def _contact_rows(self, persons: list[_Person]):
        from crm_cli.contacts import search_text

        rng = self.rng
        city_names = [c for c, _, _, _ in CITIES]
        city_weights = [w for _, _, w, _ in CITIES]
        city_info = {c: (country, prefix) for c, country, _, prefix in CITIES}
        rows, handles, tags = [], [], []
        org_names = []
        used_names = set()
        for i, org_id in enumerate(self.org_ids):
            while True:
                name = f"{rng.choice(COMPANY_CORES)} {rng.choice(COMPANY_TYPES)}"
                if name in used_names:
                    name = f"{name} {i + 1}"
                if name not in used_names:
                    break
            used_names.add(name)
            org_names.append(name)
            city = rng.choices(city_names, city_weights)[0]
            stamp = _iso(self.start - rng.randrange(30, 400) * DAY)
            rows.append(
                (org_id, "organization", name, None, None, None, None, None, city, city_info[city][0], None,
                 "customer" if rng.random() < 0.5 else "lead", 0, None, "{}", None, None, normalize(name),
                 search_text(name, None, None, None), stamp, stamp)
            )  # fmt: skip
        # Unique phone numbers: an arithmetic walk through the 7-digit space (7919 is coprime to 10**7).
        phone_walk = rng.randrange(10**7)
        used_emails: set[str] = set()
        for p in persons:
            arabic = rng.random() < 0.62
            female = rng.random() < 0.5
            if arabic:
                first, first_lat = rng.choice(ARABIC_FEMALE if female else ARABIC_MALE)
                last, last_lat = rng.choice(ARABIC_FAMILY)
                name = f"{first} {last}"
            else:
                first = rng.choice(LATIN_FIRST)
                last = rng.choice(LATIN_LAST)
                first_lat, last_lat = first.lower().translate(ASCII), last.lower().translate(ASCII).replace("'", "")
                name = f"{first} {last}"
            city = rng.choices(city_names, city_weights)[0]
            country, prefix = city_info[city]
            email = None
            if p.has_email:
                local = f"{first_lat}.{last_lat}"
                email = f"{local}@{rng.choice(MAIL_DOMAINS)}"
                n = 1
                while email in used_emails:
                    n += rng.randrange(1, 90)
                    email = f"{local}{n}@{rng.choice(MAIL_DOMAINS)}"
                used_emails.add(email)
            p.city, p.country = city, country
            phone = None
            if rng.random() < 0.8:
                phone_walk = (phone_walk + 7919) % 10**7
                mobile = rng.choice(SA_MOBILE if prefix == "+9665" else AE_MOBILE)[1]
                phone = f"{prefix}{mobile}{phone_walk:07d}"
            org_id = company = title = None
            if rng.random() < 0.3:
                k = rng.randrange(len(self.org_ids))
                org_id, company = self.org_ids[k], org_names[k]
                title = rng.choice(TITLES)
            notes = rng.choice(NOTES) if rng.random() < 0.12 else None
            birthday = None
            if rng.random() < 0.3:
                birthday = f"{rng.randrange(1960, 2004)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            custom = "{}"
            if rng.random() < 0.1:
                custom = json.dumps({"preferred_channel": rng.choice(["whatsapp", "call", "email"])})
            # A stay-in-touch cadence for a few people still in touch (some of them are now due).
            every = 30 if p.last_activity > self.now - 60 * DAY and rng.random() < 0.05 else None
            if p.purchases:
                status = "inactive" if p.inactive else "customer"
            elif p.has_deal or p.last_activity > p.created + 30 * DAY:
                status = "prospect" if p.has_deal or rng.random() < 0.5 else "lead"
            else:
                status = "lead"
            created = _iso(p.created)
            updated = _iso(max(p.created, min(self.now, p.last_activity)))
            rows.append(
                (p.id, "person", name, org_id, company, title, email, phone, city, country, self.source_of[p.id],
                 status, int(p.dnc), notes, custom, every, birthday, normalize(name),
                 search_text(name, email, company, notes), created, updated)
            )  # fmt: skip
            if email:
                handles.append((p.id, "email", email, email))
            if phone:
                handles.append((p.id, "phone", phone, phone))
            for tag in p.tags:
                tags.append((p.id, tag))
        return rows, handles, tags

    # -----------------------------------------------------------------------------------------
    def _log(self, contact_id, kind, summary, ts, **extra) -> None:
        self.interactions.append(
            (
                contact_id, kind, summary, ts, extra.get("direction"), extra.get("outcome"),
                extra.get("duration"), extra.get("amount"), extra.get("currency"), extra.get("score"),
                extra.get("scale"), extra.get("status"), extra.get("resolved_at"), extra.get("follow_up_at"),
                extra.get("follow_up_done_at"), extra.get("deal_id"), extra.get("campaign_id"),
            )
        )  # fmt: skip

    def _amount(self, low: float = 60, sigma: float = 0.8, mu: float = 5.6) -> int:
        value = max(low, self.rng.lognormvariate(mu, sigma))
        return int(round(value, 2) * 100) * 10  # thousandths, whole halalas

    def _activity(self, persons: list[_Person]) -> None:
        rng = self.rng
        now = self.now
        kinds = ["call", "email", "message", "meeting", "note", "support"]
        weights = [26, 20, 28, 9, 6, 11]
        # Purchases first: the first soon after arrival, repeat buyers every ~2-4 months until they churn.
        for p in persons:
            end = p.churn_at or now
            if p.buyer:
                first = p.created + rng.expovariate(1 / (25 * DAY))
                repeat = rng.random() < 0.6
                gap = rng.uniform(45, 120) * DAY
                ts = first
                while ts < end:
                    ts = self._when(ts, ts)
                    if ts >= now:
                        break
                    self._log(p.id, "purchase", rng.choice(PRODUCTS), ts, amount=self._amount(), currency="SAR")
                    p.purchases.append(ts)
                    if not repeat:
                        break
                    ts += rng.expovariate(1 / gap)
            if p.churn_at and p.purchases and rng.random() < 0.1:
                p.inactive = True
        # Everything else: about 3 per purchase plus a few per person, over the contact's active life,
        # scaled so the log reaches the size asked for.
        weight = [3 * len(p.purchases) + 3.2 for p in persons]
        remaining = max(0, self.target - len(self.interactions))
        scale = remaining / max(1.0, sum(weight))
        for p, w in zip(persons, weight, strict=True):
            mean = w * scale
            n = int(rng.expovariate(1 / mean) + 0.5) if mean > 0 else 0
            active_end = min(now, (p.churn_at or now) + 45 * DAY)
            last = max(p.purchases) if p.purchases else p.created
            for kind in rng.choices(kinds, weights, k=n):
                ts = self._when(p.created, active_end)
                last = max(last, ts)
                self._other(p, kind, ts)
            p.last_activity = last

    def _other(self, p: _Person, kind: str, ts: float) -> None:
        rng = self.rng
        now = self.now
        summary = rng.choice(SUMMARIES[kind])
        extra: dict = {}
        if kind == "support":
            extra["direction"] = "in"
            hours = rng.lognormvariate(3.0, 1.2)  # median ~20 h, a long tail of days
            resolved = ts + hours * 3600
            if resolved < now and rng.random() < 0.97:
                extra["status"], extra["resolved_at"] = "resolved", _iso(resolved)
                if rng.random() < 0.5:
                    extra["score"] = rng.choices([1, 2, 3, 4, 5], [4, 6, 15, 35, 40])[0]
                    extra["scale"] = "csat"
            else:
                extra["status"] = "open"
        elif kind == "message" and rng.random() < 0.08:
            summary = "NPS survey reply"
            extra["score"] = rng.choices(range(11), [2, 1, 1, 2, 2, 4, 6, 10, 18, 24, 30])[0]
            extra["scale"] = "nps"
        else:
            extra["direction"] = "out" if rng.random() < 0.7 else "in"
            if kind == "call":
                extra["duration"] = rng.randrange(1, 40)
                extra["outcome"] = rng.choice(OUTCOMES["call"])
            elif kind == "meeting":
                extra["duration"] = rng.choice([30, 45, 60, 90])
            if kind != "note" and rng.random() < 0.18:
                due = ts + rng.randrange(1, 15) * DAY
                extra["follow_up_at"] = _iso(due)
                age = now - due
                done_chance = 0.995 if age > 30 * DAY else 0.75 if age > 0 else 0.1
                if rng.random() < done_chance:
                    extra["follow_up_done_at"] = _iso(min(now, max(ts + 600, due + rng.uniform(-2, 2) * DAY)))
        self._log(p.id, kind, summary, ts, **extra)

    # -----------------------------------------------------------------------------------------
    def _deals(self, persons: list[_Person]):
        rng = self.rng
        now = self.now
        deals, history = [], []
        if not persons:
            return deals, history
        next_id = self.base["deals"] + 1
        for _ in range(self.deal_count):
            p = persons[int(len(persons) * rng.random() ** 0.7)]  # skew towards newer contacts
            p.has_deal = True
            deal_id = next_id
            next_id += 1
            created = self._when(p.created, now - DAY) if p.created < now - DAY else p.created
            value = int(round(max(1500, rng.lognormvariate(9.6, 0.9)), -2)) * 1000
            title = f"{rng.choice(DEAL_TITLES)}"
            owner = rng.choice(OWNERS)
            # Walk the stages: each step a few days to weeks; the deal may close (won/lost) or stay open.
            stage, ts = "lead", created
            steps = [(None, "lead", ts)]
            outcome = rng.random()
            target = rng.choices([1, 2, 3, 4], [25, 25, 25, 25])[0]  # how far it gets
            closed_at = lost_reason = None
            for nxt in STAGES_OPEN[1:target]:
                step = ts + rng.uniform(3, 30) * DAY
                if step >= now:
                    break
                steps.append((stage, nxt, step))
                stage, ts = nxt, step
            finish = ts + rng.uniform(3, 40) * DAY
            if finish < now and outcome < 0.62:
                won = outcome < 0.30 + 0.08 * STAGES_OPEN.index(stage)
                final = "won" if won else "lost"
                steps.append((stage, final, finish))
                stage, ts, closed_at = final, finish, finish
                if not won:
                    lost_reason = rng.choice(LOST_REASONS)
            if stage in ("won", "lost"):
                expected = _local_date(closed_at + rng.uniform(-15, 15) * DAY)
            else:
                expected = _local_date(now + rng.uniform(-20, 90) * DAY)
            for frm, to, when in steps:
                history.append((deal_id, frm, to, _iso(when)))
            deals.append(
                (deal_id, p.id, title, value, "SAR", stage, None, expected, owner, lost_reason,
                 _iso(closed_at) if closed_at else None, _iso(ts), _iso(created), _iso(ts))
            )  # fmt: skip
            if stage == "won":
                # The convention: a won deal counts as a purchase of its value.
                p.purchases.append(closed_at)
                self._log(p.id, "purchase", f"Won deal: {title}", closed_at, amount=value, currency="SAR",
                          deal_id=deal_id)  # fmt: skip
        return deals, history

    # -----------------------------------------------------------------------------------------
    def _campaigns(self, persons: list[_Person]):
        rng = self.rng
        now = self.now
        campaigns, members = [], []
        next_id = self.base["campaigns"] + 1
        for k in range(self.campaign_count):
            name, channel, segment, subject = CAMPAIGNS[k % len(CAMPAIGNS)]
            if k >= len(CAMPAIGNS):
                name = f"{name} ({k // len(CAMPAIGNS) + 1})"
            campaign_id = next_id
            next_id += 1
            # Spread launches over the last year; the first one is the most recent.
            launched = self._when(now - (30 + 330 * k / max(1, self.campaign_count)) * DAY, now - 20 * DAY)
            launched -= (k % 3) * 7 * DAY
            cost = rng.choice([250, 500, 1200, 3000, 7500]) * 1000
            template = f"Hello {{first_name}}, {subject or name}"
            campaigns.append(
                (campaign_id, name, channel, segment, subject, template, cost, "SAR", _iso(launched - 3 * DAY),
                 _iso(launched + 14 * DAY), _iso(launched), 0, 0, _iso(launched - 5 * DAY), _iso(launched))
            )  # fmt: skip
            audience_share = 0.05 if self.people > 5000 else 0.35
            sent_at = _iso(launched)
            excluded_dnc = excluded_no_email = 0
            for p in persons:
                if p.created > launched or rng.random() > audience_share:
                    continue
                if p.dnc:
                    excluded_dnc += 1
                    continue
                if channel == "email" and not p.has_email:
                    excluded_no_email += 1
                    continue
                delivered = rng.random() < 0.95
                opened = delivered and rng.random() < (0.42 if channel == "email" else 0.2)
                clicked = opened and rng.random() < 0.3
                replied = delivered and rng.random() < 0.04
                purchased = (clicked or replied) and rng.random() < 0.25
                unsub = delivered and rng.random() < 0.012
                t_open = launched + rng.uniform(0.01, 3) * DAY
                t_click = t_open + rng.uniform(0.001, 0.2) * DAY
                t_buy = t_click + rng.uniform(0.01, 5) * DAY
                members.append(
                    (campaign_id, p.id, "sent", subject, sent_at,
                     _iso(launched + 60) if delivered else None, _iso(t_open) if opened else None,
                     _iso(t_click) if clicked else None,
                     _iso(t_open + 3600) if replied else None, _iso(t_buy) if purchased else None,
                     _iso(t_open + 600) if unsub else None)
                )  # fmt: skip
                if purchased and t_buy < now:
                    p.purchases.append(t_buy)
                    self._log(p.id, "purchase", rng.choice(PRODUCTS), t_buy, amount=self._amount(),
                              currency="SAR", campaign_id=campaign_id)  # fmt: skip
            # Record the exclusions the way a launch would.
            row = campaigns[-1]
            campaigns[-1] = (*row[:11], excluded_dnc, excluded_no_email, *row[13:])
        return campaigns, members

    # -----------------------------------------------------------------------------------------
    def _numbered_interactions(self) -> list[tuple]:
        """Ids in time order, as if logged live; timestamps formatted once."""
        rows = sorted(self.interactions, key=lambda r: (r[3], r[0]))
        first = self.base["interactions"] + 1
        result = []
        for offset, r in enumerate(rows):
            stamp = _iso(r[3])
            result.append((first + offset, r[0], r[1], r[2], stamp, *r[4:], stamp))
        return result


def summary_line(summary: Summary) -> str:
    c = summary.counts
    return (
        f"{c.get('people', 0):,} people and {c.get('organizations', 0):,} organisations, "
        f"{c.get('interactions', 0):,} interactions ({c.get('purchases', 0):,} purchases), "
        f"{c.get('deals', 0):,} deals, {c.get('campaigns', 0):,} campaigns "
        f"({c.get('campaign_members', 0):,} recipients) in {summary.seconds:.1f} s"
    )
