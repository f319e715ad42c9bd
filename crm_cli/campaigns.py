"""Campaigns: a named message to a segment, its frozen audience, sending, and the responses.

Life of a campaign:
- create: channel, segment (validated now), subject/template, cost. Nothing is frozen yet (a draft).
- launch (explicitly, or by the first send/export): the segment is evaluated once and its contacts become
  the campaign's members. Do-not-contact contacts, and for e-mail contacts without an address, are left
  out and only counted (campaigns.excluded_dnc / excluded_no_email). Every member's message is rendered;
  a template field a member lacks is an error naming the contact and the field, before anything is kept.
  For channels other than e-mail the seller sends outside crm (export), so launching marks every member
  sent at the launch time: that is when their attribution window starts.
- send (e-mail): each member goes pending -> sending (COMMITTED before the SMTP transaction) -> sent
  (with an `email` interaction on the timeline, campaign_id set) or failed (the server refused it).
  A member left in `sending` by an interrupted run may or may not have received the message: it is
  reported and skipped unless retry_unknown, so nobody is ever sent the message twice by accident.
- responses (opened, clicked, replied, purchased, unsubscribed; bounced/delivered from imports) are
  stamped once on the member (idempotent) and logged on the contact's timeline.

Core module: plain Python + SQL; callers hold the db.write() transaction for the writers marked so.
"""

from __future__ import annotations

import json
import re
import sqlite3
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from crm_cli import db as dbmod
from crm_cli.db import utc_iso
from crm_cli.errors import Ambiguous, Conflict, CrmError, InvalidInput, NotFound
from crm_cli.text import clean, normalize

CHANNELS = ("email", "sms", "call", "event", "ad")
EVENTS = ("opened", "clicked", "replied", "purchased", "unsubscribed")
# Contact fields a template can name; custom fields (`--field key=value`) by their key.
STANDARD_FIELDS = (
    "first_name",
    "last_name",
    "name",
    "company",
    "email",
    "phone",
    "city",
    "country",
    "title",
    "address",
)
_CONTACT_OPTION = {"company", "email", "phone", "city", "country", "title", "address"}

# Injectable for tests: the rate limit never really sleeps under pytest.
_sleep: Callable[[float], None] = time.sleep
_monotonic: Callable[[], float] = time.monotonic


# ---------------------------------------------------------------------------------------------
# Finding a campaign


def resolve(conn: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """NAME or id -> the campaigns row. Exact name, then id, then a unique normalised fragment."""
    text = (ref or "").strip()
    if not text:
        raise InvalidInput("empty campaign name; see `crm campaign list`")
    row = conn.execute("SELECT * FROM campaigns WHERE name = ?", (text,)).fetchone()
    if row:
        return row
    if text.isdigit():
        row = conn.execute("SELECT * FROM campaigns WHERE id = ?", (int(text),)).fetchone()
        if row:
            return row
    key = normalize(text)
    rows = conn.execute("SELECT * FROM campaigns ORDER BY id").fetchall()
    exact = [r for r in rows if normalize(r["name"]) == key]
    matches = exact or [r for r in rows if key and key in normalize(r["name"])]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"no campaign named {text!r}; see `crm campaign list`")
    listed = "; ".join(f"{m['id']}: {m['name']}" for m in matches[:10])
    raise Ambiguous(f"{text!r} matches several campaigns ({listed}); use the id or the full name")


def get_row(conn: sqlite3.Connection, campaign_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
    if row is None:
        raise NotFound(f"no campaign with id {campaign_id}; see `crm campaign list`")
    return row


# ---------------------------------------------------------------------------------------------
# Checking input


def check_channel(channel: str) -> str:
    value = (channel or "").strip().lower()
    if value not in CHANNELS:
        raise InvalidInput(f"invalid --channel {channel!r}; choose one of: {', '.join(CHANNELS)}")
    return value


def check_segment(conn: sqlite3.Connection, expression: str, now: datetime) -> str:
    """The filter expression must build now (an unknown term, segment or date is exit 2 here)."""
    from crm_cli import filters

    text = (expression or "").strip()
    if not text:
        raise InvalidInput('a campaign needs --segment, e.g. --segment "tag:vip" or --segment segment:dormant')
    try:
        filters.validate(text, conn, now)
    except NotFound as exc:  # an unknown saved segment is bad input here, not a missing record
        raise InvalidInput(f"invalid --segment: {exc.message}") from None
    return text


def placeholders(text: str | None, where: str = "template") -> list[str]:
    """The `{field}` names in a template, in order. `{{` and `}}` are literal braces."""
    if not text:
        return []
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InvalidInput(f"cannot read the {where}: {exc}; write {{{{ and }}}} for literal braces") from None
    names: list[str] = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if not name.strip():
            raise InvalidInput(f"the {where} has an empty {{}}; name a field, e.g. {{first_name}}")
        if spec or conversion:
            raise InvalidInput(f"the {where} field {{{name}…}} has a format; write just {{{name}}}")
        if name.strip() not in names:
            names.append(name.strip())
    return names


def read_template(path: str) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"template file {path!r} not found; give the path of a UTF-8 text file") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"template file {path!r} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read template file {path!r}: {exc.strerror}") from None
    return text.replace("\r\n", "\n")


def _local_date(conn: sqlite3.Connection, raw: str | None, what: str, now: datetime) -> str | None:
    from crm_cli import settings
    from crm_cli.dates import parse_date

    if raw is None or not raw.strip():
        return None
    try:
        return parse_date(raw, now, settings.date_order(conn)).isoformat()
    except InvalidInput as exc:
        raise InvalidInput(f"invalid {what}: {exc.message}") from None


# ---------------------------------------------------------------------------------------------
# Create, edit, delete (caller holds the write transaction)


def create(
    conn: sqlite3.Connection,
    *,
    name: str,
    channel: str,
    segment: str,
    now: datetime,
    subject: str | None = None,
    template: str | None = None,
    cost: str | None = None,
    currency: str | None = None,
    starts: str | None = None,
    ends: str | None = None,
) -> int:
    from crm_cli import settings
    from crm_cli.money import parse_amount, parse_currency

    name = clean(name)
    if not name:
        raise InvalidInput('a campaign needs a name, e.g. crm campaign create "Ramadan offer" …')
    if conn.execute("SELECT 1 FROM campaigns WHERE name = ?", (name,)).fetchone():
        raise Conflict(f"a campaign named {name!r} already exists; choose another name or edit it")
    channel = check_channel(channel)
    segment = check_segment(conn, segment, now)
    subject = clean(subject)
    placeholders(subject, "subject")
    placeholders(template, "template")
    amount = parse_amount(cost, field="--cost") if cost not in (None, "") else 0
    code = parse_currency(currency) if currency else settings.default_currency(conn)
    start_day = _local_date(conn, starts, "--starts", now)
    end_day = _local_date(conn, ends, "--ends", now)
    if start_day and end_day and end_day < start_day:
        raise InvalidInput(f"--ends {end_day} is before --starts {start_day}")
    stamp = utc_iso(now)
    return conn.execute(
        """INSERT INTO campaigns (name, channel, segment, subject, template, cost, currency, starts_at, ends_at,
                                  created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (name, channel, segment, subject, template, amount, code, start_day, end_day, stamp, stamp),
    ).lastrowid


def update(conn: sqlite3.Connection, campaign_id: int, changes: dict, now: datetime) -> list[str]:
    """Change a campaign; returns what changed. Channel and segment are frozen once launched."""
    from crm_cli.money import parse_amount, parse_currency

    row = get_row(conn, campaign_id)
    sets: dict[str, object] = {}
    for key, value in changes.items():
        if value is None:
            continue
        if key in ("channel", "segment") and row["launched_at"]:
            raise Conflict(
                f"campaign {row['name']!r} was launched {row['launched_at']}: its audience is frozen, so "
                f"{key} cannot change; create a new campaign instead"
            )
        if key == "name":
            new = clean(value)
            if not new:
                raise InvalidInput("a campaign's name cannot be empty")
            other = conn.execute("SELECT id FROM campaigns WHERE name = ? AND id <> ?", (new, campaign_id)).fetchone()
            if other:
                raise Conflict(f"a campaign named {new!r} already exists (id {other[0]})")
            sets["name"] = new
        elif key == "channel":
            sets["channel"] = check_channel(value)
        elif key == "segment":
            sets["segment"] = check_segment(conn, value, now)
        elif key == "subject":
            sets["subject"] = clean(value)
            placeholders(sets["subject"], "subject")
        elif key == "template":
            sets["template"] = value or None
            placeholders(value, "template")
        elif key == "cost":
            sets["cost"] = parse_amount(value, field="--cost") if value.strip() else 0
        elif key == "currency":
            sets["currency"] = parse_currency(value)
        elif key in ("starts", "ends"):
            sets[f"{key}_at"] = _local_date(conn, value, f"--{key}", now)
        else:
            raise InvalidInput(f"unknown campaign field {key!r}")
    starts = sets.get("starts_at", row["starts_at"])
    ends = sets.get("ends_at", row["ends_at"])
    if starts and ends and ends < starts:
        raise InvalidInput(f"--ends {ends} is before --starts {starts}")
    changed = [k for k, v in sets.items() if row[k] != v]
    for key in changed:
        conn.execute(f"UPDATE campaigns SET {key} = ? WHERE id = ?", (sets[key], campaign_id))
    if changed:
        conn.execute("UPDATE campaigns SET updated_at = ? WHERE id = ?", (utc_iso(now), campaign_id))
    return changed


def delete(conn: sqlite3.Connection, campaign_id: int) -> None:
    """Delete a campaign and its members; logged interactions stay on the timelines (campaign_id NULL)."""
    if conn.execute("DELETE FROM campaigns WHERE id = ?", (campaign_id,)).rowcount == 0:
        raise NotFound(f"no campaign with id {campaign_id}")


def campaigns_using_segment(conn: sqlite3.Connection, name: str) -> list[str]:
    """Draft campaigns whose segment expression names segment `name` (deleting it would break them)."""
    from crm_cli import filters

    found = []
    for row in conn.execute("SELECT name, segment FROM campaigns WHERE launched_at IS NULL ORDER BY id"):
        try:
            terms = filters.parse(row["segment"]).terms
        except InvalidInput:
            continue
        if any(t.key == "segment" and name in [v.strip() for v in t.value.split(",")] for t in terms):
            found.append(row["name"])
    return found


# ---------------------------------------------------------------------------------------------
# Audience and messages


@dataclass
class Audience:
    members: list[sqlite3.Row]  # contacts rows, by id
    excluded_dnc: int = 0
    excluded_no_email: int = 0


def audience(conn: sqlite3.Connection, campaign: sqlite3.Row, now: datetime) -> Audience:
    """Who the segment selects right now, less do-not-contact (and, for e-mail, no address)."""
    from crm_cli import filters

    try:
        where, params = filters.to_sql(campaign["segment"], filters.Context(conn, now))
    except NotFound as exc:
        raise InvalidInput(
            f"campaign {campaign['name']!r}: its segment no longer builds ({exc.message}); "
            f"fix it with `crm campaign edit {campaign['id']} --segment …`"
        ) from None
    result = Audience([])
    for row in conn.execute(f"SELECT c.* FROM contacts c WHERE {where} ORDER BY c.id", params):
        if row["dnc"]:
            result.excluded_dnc += 1
        elif campaign["channel"] == "email" and not (row["email"] or "").strip():
            result.excluded_no_email += 1
        else:
            result.members.append(row)
    return result


def contact_values(contact: sqlite3.Row | dict) -> dict[str, str | None]:
    """What a template can say about a contact: the standard fields, then its custom fields."""
    contact = dict(contact)
    name = contact.get("name") or ""
    words = name.split()
    values: dict[str, str | None] = {
        "name": name,
        "first_name": words[0] if words else "",
        "last_name": " ".join(words[1:]),
    }
    for key in _CONTACT_OPTION:
        values[key] = contact.get(key)
    for key, value in json.loads(contact.get("custom") or "{}").items():
        values.setdefault(key, None if value is None else str(value))
    return values


class MissingField(InvalidInput):
    code = "missing_field"


def _missing(contact: dict, name: str, where: str) -> MissingField:
    who = f"contact {contact['id']} ({contact['name']})"
    if name in STANDARD_FIELDS:
        option = {"first_name": "--name", "last_name": "--name", "name": "--name"}.get(name, f"--{name}")
        hint = f"fill it with `crm contact edit {contact['id']} {option} …`"
        return MissingField(f"{who} has no {name} for {{{name}}} in the {where}; {hint} or change the {where}")
    return MissingField(
        f"{who} has no field {name!r} for {{{name}}} in the {where} (not a contact field: "
        f"{', '.join(STANDARD_FIELDS)}; nor one of its custom fields); add it with "
        f"`crm contact edit {contact['id']} --field {name}=…` or change the {where}"
    )


def render(text: str | None, contact: sqlite3.Row | dict, where: str = "template") -> str:
    """Fill `{field}`s from the contact; a field it lacks (or leaves empty) raises MissingField."""
    if not text:
        return ""
    values = contact_values(contact)
    out: list[str] = []
    placeholders(text, where)  # syntax errors first
    for literal, name, _spec, _conv in string.Formatter().parse(text):
        out.append(literal)
        if name is None:
            continue
        value = values.get(name.strip())
        if value is None or not str(value).strip():
            raise _missing(dict(contact), name.strip(), where)
        out.append(str(value))
    return "".join(out)


def render_message(campaign: sqlite3.Row, contact: sqlite3.Row | dict) -> tuple[str, str]:
    """(subject, body) for one contact. The subject is one line (no header injection)."""
    subject = render(campaign["subject"], contact, "subject")
    subject = " ".join(subject.split())
    return subject, render(campaign["template"], contact, "template")


def render_all(campaign: sqlite3.Row, contacts: Iterable[sqlite3.Row | dict]) -> dict[int, tuple[str, str]]:
    """Render every contact's message first; the first missing field is raised with how many lack one."""
    rendered: dict[int, tuple[str, str]] = {}
    first: MissingField | None = None
    failures = 0
    for contact in contacts:
        try:
            rendered[contact["id"]] = render_message(campaign, contact)
        except MissingField as exc:
            failures += 1
            first = first or exc
    if first is not None:
        more = f" ({failures - 1} more contacts lack a field)" if failures > 1 else ""
        raise MissingField(f"{first.message}{more}; nothing was sent")
    return rendered


def launch(conn: sqlite3.Connection, campaign_id: int, now: datetime) -> dict:
    """Freeze the audience as the campaign's members (caller holds the transaction). Idempotent."""
    campaign = get_row(conn, campaign_id)
    if campaign["launched_at"]:
        return {"launched": False, **counts(conn, campaign_id)}
    found = audience(conn, campaign, now)
    rendered = render_all(campaign, found.members)
    stamp = utc_iso(now)
    other_channel = campaign["channel"] != "email"
    for contact in found.members:
        subject, body = rendered[contact["id"]]
        conn.execute(
            """INSERT INTO campaign_members (campaign_id, contact_id, status, rendered_subject, rendered_body,
                                             sent_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (
                campaign_id,
                contact["id"],
                "sent" if other_channel else "pending",
                subject or None,
                body or None,
                stamp if other_channel else None,
            ),
        )
    conn.execute(
        "UPDATE campaigns SET launched_at = ?, excluded_dnc = ?, excluded_no_email = ?, updated_at = ? WHERE id = ?",
        (stamp, found.excluded_dnc, found.excluded_no_email, stamp, campaign_id),
    )
    return {"launched": True, **counts(conn, campaign_id)}


def counts(conn: sqlite3.Connection, campaign_id: int) -> dict:
    row = conn.execute(
        """SELECT count(*) AS audience,
                  coalesce(sum(m.status = 'pending'), 0) AS pending,
                  coalesce(sum(m.status = 'sending'), 0) AS sending,
                  coalesce(sum(m.status = 'sent'), 0) AS sent,
                  coalesce(sum(m.status = 'failed'), 0) AS failed
           FROM campaign_members m WHERE m.campaign_id = ?""",
        (campaign_id,),
    ).fetchone()
    campaign = get_row(conn, campaign_id)
    return {
        **dict(row),
        "excluded_dnc": campaign["excluded_dnc"],
        "excluded_no_email": campaign["excluded_no_email"],
    }


def status_of(campaign: sqlite3.Row, c: dict) -> str:
    if not campaign["launched_at"]:
        return "draft"
    if c["pending"] or c["sending"]:
        return "sending" if (c["sent"] or c["failed"] or c["sending"]) else "launched"
    return "done"


# ---------------------------------------------------------------------------------------------
# Reading


def _money(stored):
    from crm_cli.money import to_decimal

    return to_decimal(stored)


def record(conn: sqlite3.Connection, campaign: sqlite3.Row) -> dict:
    c = counts(conn, campaign["id"])
    return {
        "id": campaign["id"],
        "name": campaign["name"],
        "channel": campaign["channel"],
        "segment": campaign["segment"],
        "subject": campaign["subject"],
        "template": campaign["template"],
        "cost": _money(campaign["cost"]),
        "currency": campaign["currency"],
        "starts": campaign["starts_at"],
        "ends": campaign["ends_at"],
        "status": status_of(campaign, c),
        "launched_at": campaign["launched_at"],
        "audience": c["audience"],
        "excluded_dnc": c["excluded_dnc"],
        "excluded_no_email": c["excluded_no_email"],
        "pending": c["pending"],
        "sending": c["sending"],
        "sent": c["sent"],
        "failed": c["failed"],
        "created_at": campaign["created_at"],
        "updated_at": campaign["updated_at"],
    }


def list_campaigns(conn: sqlite3.Connection) -> list[dict]:
    return [record(conn, row) for row in conn.execute("SELECT * FROM campaigns ORDER BY id").fetchall()]


MEMBER_TIMES = ("sent_at", "delivered_at", "opened_at", "clicked_at", "replied_at", "purchased_at", "unsubscribed_at")


def members(conn: sqlite3.Connection, campaign_id: int) -> list[dict]:
    rows = conn.execute(
        f"""SELECT m.contact_id, c.name AS contact, c.email, c.phone, m.status, m.error,
                   {", ".join("m." + t for t in MEMBER_TIMES)}, m.rendered_subject, m.rendered_body
            FROM campaign_members m JOIN contacts c ON c.id = m.contact_id
            WHERE m.campaign_id = ? ORDER BY m.id""",
        (campaign_id,),
    ).fetchall()
    return [dict(r) for r in rows]


def preview(conn: sqlite3.Connection, campaign: sqlite3.Row, ref: str | None, now: datetime) -> dict:
    """One rendered message: for REF, else the first member (or, before launch, the first of the audience)."""
    from crm_cli import contacts

    if ref:
        contact_id = contacts.resolve(conn, ref)
        contact = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    elif campaign["launched_at"]:
        contact = conn.execute(
            "SELECT c.* FROM campaign_members m JOIN contacts c ON c.id = m.contact_id "
            "WHERE m.campaign_id = ? ORDER BY m.id LIMIT 1",
            (campaign["id"],),
        ).fetchone()
    else:
        found = audience(conn, campaign, now).members
        contact = found[0] if found else None
    if contact is None:
        raise InvalidInput(
            f"campaign {campaign['name']!r} has nobody in its audience to preview; give a contact: "
            f"crm campaign preview {campaign['id']} REF"
        )
    subject, body = render_message(campaign, contact)
    member = conn.execute(
        "SELECT status FROM campaign_members WHERE campaign_id = ? AND contact_id = ?",
        (campaign["id"], contact["id"]),
    ).fetchone()
    return {
        "campaign_id": campaign["id"],
        "channel": campaign["channel"],
        "contact_id": contact["id"],
        "contact": contact["name"],
        "to": contact["phone"] if campaign["channel"] in ("sms", "call") else contact["email"],
        "subject": subject,
        "body": body,
        "member_status": member["status"] if member else None,
    }


# ---------------------------------------------------------------------------------------------
# Sending e-mail


@dataclass
class Outgoing:
    member_id: int | None
    contact_id: int
    name: str
    email: str
    subject: str
    body: str


@dataclass
class Plan:
    campaign: sqlite3.Row
    launched: bool  # False: the audience below is what launching now would freeze
    outgoing: list[Outgoing]
    already_sent: int = 0
    failed_before: int = 0  # failed earlier, not retried (retry_failed=False)
    unknown: list[dict] = field(default_factory=list)  # left in 'sending' by an interrupted run
    skipped_dnc: list[dict] = field(default_factory=list)  # became do-not-contact / lost e-mail since launch
    excluded_dnc: int = 0
    excluded_no_email: int = 0


def _check_sendable(campaign: sqlite3.Row) -> None:
    if campaign["channel"] != "email":
        raise InvalidInput(
            f"campaign {campaign['name']!r} is a {campaign['channel']} campaign; crm sends e-mail only; "
            f"use `crm campaign export {campaign['id']} --csv` for its member list"
        )
    if not campaign["subject"]:
        raise InvalidInput(
            f"campaign {campaign['name']!r} has no subject; "
            f"set one with `crm campaign edit {campaign['id']} --subject …`"
        )
    if not campaign["template"]:
        raise InvalidInput(
            f"campaign {campaign['name']!r} has no message; set one with "
            f"`crm campaign edit {campaign['id']} --template FILE`"
        )


def plan_send(
    conn: sqlite3.Connection,
    campaign: sqlite3.Row,
    now: datetime,
    *,
    retry_unknown: bool = False,
    retry_failed: bool = False,
) -> Plan:
    """What a send would do, read-only. Every message is rendered here, so a missing field stops
    the command before anything is written or sent."""
    _check_sendable(campaign)
    if not campaign["launched_at"]:
        found = audience(conn, campaign, now)
        rendered = render_all(campaign, found.members)
        outgoing = [Outgoing(None, c["id"], c["name"], c["email"], *rendered[c["id"]]) for c in found.members]
        return Plan(
            campaign,
            False,
            outgoing,
            excluded_dnc=found.excluded_dnc,
            excluded_no_email=found.excluded_no_email,
        )
    statuses = ["pending"] + (["failed"] if retry_failed else []) + (["sending"] if retry_unknown else [])
    rows = conn.execute(
        """SELECT m.id AS member_id, m.status, c.*
           FROM campaign_members m JOIN contacts c ON c.id = m.contact_id
           WHERE m.campaign_id = ? ORDER BY m.id""",
        (campaign["id"],),
    ).fetchall()
    plan = Plan(
        campaign,
        True,
        [],
        excluded_dnc=campaign["excluded_dnc"],
        excluded_no_email=campaign["excluded_no_email"],
    )
    todo = []
    for row in rows:
        if row["status"] == "sent":
            plan.already_sent += 1
        elif row["status"] == "failed" and not retry_failed:
            plan.failed_before += 1
        elif row["status"] == "sending" and not retry_unknown:
            plan.unknown.append({"contact_id": row["id"], "contact": row["name"], "email": row["email"]})
        elif row["status"] in statuses:
            if row["dnc"] or not (row["email"] or "").strip():
                why = "do-not-contact" if row["dnc"] else "no e-mail"
                plan.skipped_dnc.append({"contact_id": row["id"], "contact": row["name"], "reason": why})
            else:
                todo.append(row)
    rendered = render_all(campaign, todo)
    plan.outgoing = [Outgoing(r["member_id"], r["id"], r["name"], r["email"], *rendered[r["id"]]) for r in todo]
    return plan


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"


def build_message(sender: str, campaign: sqlite3.Row, out: Outgoing, when: datetime):
    """The e-mail for one member: UTF-8, RFC 2047 subject, a Message-ID that names the member."""
    from email.headerregistry import Address
    from email.utils import format_datetime

    from crm_cli import mail

    message = mail.build(
        sender,
        out.email,
        out.subject,
        out.body,
        headers={
            "Date": format_datetime(when),
            "Message-ID": f"<crm-campaign-{campaign['id']}-contact-{out.contact_id}@{_domain(sender)}>",
            "X-CRM-Campaign": str(campaign["id"]),
        },
    )
    # Base64 body: an 8bit body is mangled by servers without 8BITMIME; Arabic text survives any hop.
    message.set_content(out.body, charset="utf-8", cte="base64" if not out.body.isascii() else "7bit")
    # A personal To: line (the display name is encoded by the email package, Arabic included).
    del message["To"]
    try:
        local, _, domain = out.email.rpartition("@")
        message["To"] = Address(display_name=out.name, username=local, domain=domain)
    except (ValueError, IndexError):
        message["To"] = out.email
    return message


def write_eml(plan: Plan, directory: str | Path, sender: str, now: datetime) -> list[Path]:
    """--dry-run: every message that would be sent, as .eml files; the database is not touched."""
    folder = Path(directory).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create folder {str(folder)!r}: {exc.strerror}") from None
    written = []
    for out in plan.outgoing:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", out.email)
        path = folder / f"{out.contact_id:06d}-{safe}.eml"
        message = build_message(sender, plan.campaign, out, now)
        path.write_bytes(bytes(message))
        written.append(path)
    return written


@dataclass
class SendResult:
    sent: int = 0
    failed: list[dict] = field(default_factory=list)
    interrupted: dict | None = None  # the connection broke: this member's delivery is unknown


def prepare(
    conn: sqlite3.Connection,
    plan: Plan,
    now: datetime,
    *,
    retry_unknown: bool = False,
    retry_failed: bool = False,
) -> Plan:
    """Launch (if needed) and store each outgoing member's rendered message; returns the plan as it
    stands inside that transaction. A rendering error leaves the campaign as it was."""
    campaign = plan.campaign
    with dbmod.write(conn, f"campaign launch {campaign['name']}"):
        if not campaign["launched_at"]:
            launch(conn, campaign["id"], now)
        fresh = plan_send(
            conn, get_row(conn, campaign["id"]), now, retry_unknown=retry_unknown, retry_failed=retry_failed
        )
        for out in fresh.outgoing:
            conn.execute(
                "UPDATE campaign_members SET rendered_subject = ?, rendered_body = ? WHERE id = ?",
                (out.subject, out.body, out.member_id),
            )
    return fresh


def send(
    conn: sqlite3.Connection,
    plan: Plan,
    smtp,
    sender: str,
    now: datetime,
    *,
    rate: float | None = None,
    progress: Callable[[Outgoing, str], None] | None = None,
) -> SendResult:
    """Send the planned messages through an open mail.Connection, one member at a time.

    Per member: mark 'sending' and COMMIT; hand the message to the server; mark 'sent' and log the
    e-mail on the timeline (or 'failed' with the server's reason). `rate` is messages per minute.
    """
    from crm_cli import interactions, mail

    campaign = plan.campaign
    result = SendResult()
    start = _monotonic()
    interval = 60.0 / rate if rate else 0.0
    for index, out in enumerate(plan.outgoing):
        if interval and index:
            wait = start + index * interval - _monotonic()
            if wait > 0:
                _sleep(wait)
        when = now + timedelta(seconds=max(0.0, _monotonic() - start))
        stamp = utc_iso(when)
        with dbmod.write(conn, f"campaign send {campaign['name']}: contact {out.contact_id}", at=stamp):
            conn.execute("UPDATE campaign_members SET status = 'sending', error = NULL WHERE id = ?", (out.member_id,))
        message = build_message(sender, campaign, out, when)
        try:
            smtp.send(message)
        except mail.MailRefused as exc:
            with dbmod.write(conn, f"campaign send {campaign['name']}: contact {out.contact_id} failed", at=stamp):
                conn.execute(
                    "UPDATE campaign_members SET status = 'failed', error = ? WHERE id = ?",
                    (exc.message, out.member_id),
                )
            result.failed.append({"contact_id": out.contact_id, "contact": out.name, "error": exc.message})
            if progress:
                progress(out, "failed")
            continue
        except mail.MailError as exc:
            # The connection broke mid-message: whether the server kept it is unknown. The member stays
            # 'sending' (reported, not re-sent blindly) and the run stops.
            result.interrupted = {"contact_id": out.contact_id, "contact": out.name, "error": exc.message}
            return result
        with dbmod.write(conn, f"campaign send {campaign['name']}: contact {out.contact_id}", at=stamp):
            conn.execute(
                "UPDATE campaign_members SET status = 'sent', sent_at = ?, delivered_at = ?, error = NULL WHERE id = ?",
                (stamp, stamp, out.member_id),
            )
            interactions.add(
                conn,
                contact_id=out.contact_id,
                kind="email",
                summary=out.subject,
                now=when,
                direction="out",
                outcome="sent",
                campaign_id=campaign["id"],
            )
        result.sent += 1
        if progress:
            progress(out, "sent")
    return result


# ---------------------------------------------------------------------------------------------
# Export (other channels; any channel)


def export_rows(conn: sqlite3.Connection, campaign_id: int) -> list[dict]:
    rows = conn.execute(
        """SELECT c.id AS contact_id, c.name, c.email, c.phone, c.city, m.status,
                  m.rendered_subject AS subject, m.rendered_body AS message
           FROM campaign_members m JOIN contacts c ON c.id = m.contact_id
           WHERE m.campaign_id = ? ORDER BY m.id""",
        (campaign_id,),
    ).fetchall()
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# Responses


RESPONSE_EVENTS = (*EVENTS, "delivered", "bounced")


def _member(conn: sqlite3.Connection, campaign: sqlite3.Row, contact_id: int) -> sqlite3.Row:
    if not campaign["launched_at"]:
        raise InvalidInput(
            f"campaign {campaign['name']!r} has not been launched, so nobody has responded yet; "
            f"send it or run `crm campaign launch {campaign['id']}`"
        )
    row = conn.execute(
        "SELECT m.*, c.name AS contact FROM campaign_members m JOIN contacts c ON c.id = m.contact_id "
        "WHERE m.campaign_id = ? AND m.contact_id = ?",
        (campaign["id"], contact_id),
    ).fetchone()
    if row is None:
        name = conn.execute("SELECT name FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        who = f"contact {contact_id} ({name[0]})" if name else f"contact {contact_id}"
        raise NotFound(
            f"{who} is not in the audience of campaign {campaign['name']!r}; see `crm campaign show {campaign['id']}`"
        )
    return row


def record_response(
    conn: sqlite3.Connection,
    campaign: sqlite3.Row,
    contact_id: int,
    event: str,
    at: datetime,
    now: datetime,
    *,
    amount: int | None = None,
    currency: str | None = None,
) -> int | None:
    """Stamp one response on a member and log it on the timeline; returns the interaction id, or None
    when that response was already recorded (idempotent). Caller holds the transaction.

    - clicked also stamps opened (a click implies the message was opened) without a second entry;
    - unsubscribed sets the contact do-not-contact;
    - purchased with an amount logs a purchase (campaign_id set) instead of a note;
    - bounced clears delivered_at and notes the error (the member still counts as sent, never re-sent);
    - any response to a member not yet marked sent (e.g. sent through an e-mail service) marks it sent.
    """
    from crm_cli import interactions

    if event not in RESPONSE_EVENTS:
        raise InvalidInput(f"invalid response {event!r}; choose one of: {', '.join(EVENTS)}")
    if amount is not None and event != "purchased":
        raise InvalidInput("--amount goes with `purchased` only")
    member = _member(conn, campaign, contact_id)
    stamp = utc_iso(at)
    column = {"bounced": None}.get(event, f"{event}_at")
    if event == "bounced":
        if member["error"] == "bounced":
            return None
    elif member[column]:
        return None
    if member["status"] != "sent":
        conn.execute(
            "UPDATE campaign_members SET status = 'sent', sent_at = coalesce(sent_at, ?), error = NULL WHERE id = ?",
            (stamp, member["id"]),
        )
    if event == "bounced":
        conn.execute("UPDATE campaign_members SET delivered_at = NULL, error = 'bounced' WHERE id = ?", (member["id"],))
    else:
        conn.execute(f"UPDATE campaign_members SET {column} = ? WHERE id = ?", (stamp, member["id"]))
        if event in ("opened", "clicked", "replied", "purchased", "unsubscribed"):
            conn.execute(
                "UPDATE campaign_members SET delivered_at = coalesce(delivered_at, ?) WHERE id = ? "
                "AND coalesce(error, '') <> 'bounced'",
                (stamp, member["id"]),
            )
        if event == "clicked":
            conn.execute(
                "UPDATE campaign_members SET opened_at = coalesce(opened_at, ?) WHERE id = ?", (stamp, member["id"])
            )
    if event == "unsubscribed":
        conn.execute("UPDATE contacts SET dnc = 1, updated_at = ? WHERE id = ? AND dnc = 0", (utc_iso(now), contact_id))
    if event == "purchased" and amount is not None:
        return interactions.add(
            conn,
            contact_id=contact_id,
            kind="purchase",
            summary=f"Purchase from campaign {campaign['name']}",
            now=now,
            at=min(at, now),
            amount=amount,
            currency=currency or campaign["currency"],
            campaign_id=campaign["id"],
        )
    summary = f"Campaign {campaign['name']}: {event}"
    if event == "unsubscribed":
        summary += " (now do-not-contact)"
    return interactions.add(
        conn,
        contact_id=contact_id,
        kind="note",
        summary=summary,
        now=now,
        at=min(at, now),
        direction="in",
        outcome=event,
        campaign_id=campaign["id"],
    )


# Header names e-mail services use in their event exports (compared without case, spaces, _ or -).
EMAIL_HEADERS = {
    "email",
    "emailaddress",
    "mail",
    "recipient",
    "recipientemail",
    "to",
    "address",
    "subscriber",
    "subscriberemail",
    "contactemail",
    "rcpt",
}
EVENT_HEADERS = {"event", "status", "eventtype", "type", "action", "activity", "response", "eventname", "result"}
TIME_HEADERS = {
    "timestamp",
    "time",
    "date",
    "datetime",
    "eventtime",
    "eventdate",
    "eventtimestamp",
    "occurredat",
    "createdat",
    "when",
    "timestamputc",
    "processed",
}
AMOUNT_HEADERS = {"amount", "revenue", "value", "ordertotal", "total", "ordervalue"}
EVENT_NAMES = {
    "opened": {"open", "opened", "opens", "uniqueopen", "emailopened", "read"},
    "clicked": {"click", "clicked", "clicks", "uniqueclick", "emailclicked", "linkclicked", "linkclick"},
    "replied": {"reply", "replied", "replies", "answered"},
    "purchased": {"purchase", "purchased", "order", "ordered", "conversion", "converted", "bought"},
    "unsubscribed": {
        "unsubscribe",
        "unsubscribed",
        "unsub",
        "optout",
        "optedout",
        "groupunsubscribe",
        "spamreport",
        "spam",
        "complaint",
        "abuse",
        "markedasspam",
    },
    "delivered": {"delivered", "delivery", "deliveries"},
    "bounced": {"bounce", "bounced", "hardbounce", "dropped", "rejected", "blocked", "failed"},
}
IGNORED_EVENTS = {"processed", "sent", "send", "deferred", "queued", "softbounce", "deferral", "groupresubscribe"}


def _key(text: str) -> str:
    return re.sub(r"[\s_\-.]+", "", (text or "").strip().lower())


def _event_name(raw: str) -> str | None:
    key = _key(raw)
    for event, names in EVENT_NAMES.items():
        if key in names or key in EVENTS:
            return event
    return None


def _parse_time(raw: str, now: datetime, order: str) -> datetime:
    from datetime import UTC

    from crm_cli.dates import parse_datetime

    text = (raw or "").strip()
    if not text:
        return now
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):  # Unix seconds (SendGrid) or milliseconds
        value = float(text)
        if value > 1e11:
            value /= 1000
        return datetime.fromtimestamp(value, UTC)
    return parse_datetime(text, now, order)


@dataclass
class ImportSummary:
    rows: int = 0
    recorded: dict = field(default_factory=dict)
    duplicates: int = 0
    not_members: int = 0
    unknown_emails: int = 0
    ignored_events: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "recorded": self.recorded,
            "recorded_total": sum(self.recorded.values()),
            "duplicates": self.duplicates,
            "not_members": self.not_members,
            "unknown_emails": self.unknown_emails,
            "ignored_events": self.ignored_events,
            "ignored_columns": self.ignored_columns,
        }


def read_response_file(path: str) -> tuple[list[str], list[list[str]]]:
    import csv

    try:
        raw = Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"file {path!r} not found") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path!r}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path!r} is not UTF-8; export it as UTF-8 CSV") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InvalidInput(f"{path!r} is empty; expected a header line such as email,event,timestamp")
    header_line = lines[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)
    csv.field_size_limit(1 << 20)
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidInput(f"{path!r}: cannot read CSV at line {reader.line_num}: {exc}") from None
    return rows[0], rows[1:]


def import_responses(conn: sqlite3.Connection, campaign: sqlite3.Row, path: str, now: datetime) -> ImportSummary:
    """Apply an e-mail service's event export (caller holds the transaction; any bad row raises
    before the caller commits, so a rejected file changes nothing)."""
    from crm_cli import settings
    from crm_cli.money import parse_amount

    header, rows = read_response_file(path)
    keys = [_key(h) for h in header]

    def find(names: set[str]) -> int | None:
        for i, k in enumerate(keys):
            if k in names:
                return i
        return None

    col_email, col_event = find(EMAIL_HEADERS), find(EVENT_HEADERS)
    col_time, col_amount = find(TIME_HEADERS), find(AMOUNT_HEADERS)
    if col_email is None or col_event is None:
        missing = "e-mail column" if col_email is None else "event/status column"
        raise InvalidInput(
            f"{path!r} has no {missing} (header: {', '.join(header)}); expected columns like email,event,timestamp"
        )
    used = {col_email, col_event, col_time, col_amount}
    summary = ImportSummary(ignored_columns=[h for i, h in enumerate(header) if i not in used and h.strip()])
    order = settings.date_order(conn)
    parsed = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        address = cells[col_email].strip().strip("<>").lower()
        raw_event = cells[col_event]
        event = _event_name(raw_event)
        if event is None:
            if _key(raw_event) in IGNORED_EVENTS:
                summary.ignored_events += 1
                summary.rows += 1
                continue
            known = ", ".join(sorted(EVENT_NAMES))
            raise InvalidInput(f"{path!r} line {number}: unknown event {raw_event!r}; known: {known}")
        if not address or "@" not in address:
            raise InvalidInput(f"{path!r} line {number}: {address!r} is not an e-mail address")
        try:
            at = _parse_time(cells[col_time], now, order) if col_time is not None else now
        except (InvalidInput, ValueError, OverflowError, OSError) as exc:
            reason = exc.message if isinstance(exc, CrmError) else str(exc)
            raise InvalidInput(f"{path!r} line {number}: bad time {cells[col_time]!r}: {reason}") from None
        amount = None
        if col_amount is not None and cells[col_amount].strip() and event == "purchased":
            amount = parse_amount(cells[col_amount], field=f"amount on line {number}")
        parsed.append((number, address, event, at, amount))
    parsed.sort(key=lambda p: (p[3], p[0]))  # oldest first: the first open is the one kept
    for _number, address, event, at, amount in parsed:
        summary.rows += 1
        row = conn.execute(
            "SELECT contact_id FROM contact_handles WHERE type = 'email' AND key = ?", (address,)
        ).fetchone()
        if row is None:
            summary.unknown_emails += 1
            summary.unmatched.append(address)
            continue
        try:
            logged = record_response(conn, campaign, row[0], event, at, now, amount=amount)
        except NotFound:
            summary.not_members += 1
            summary.unmatched.append(address)
            continue
        if logged is None:
            summary.duplicates += 1
        else:
            summary.recorded[event] = summary.recorded.get(event, 0) + 1
    return summary
