"""Stay-in-touch cadences and the agenda: what needs doing today.

- A contact's effective cadence is its own `every_days`, else the shortest `cadence.<tag>` setting
  among its tags. Any logged interaction resets the clock: a touch is due `every` days after the
  contact's latest interaction (up to now), or after its creation when it has none.
- Do-not-contact contacts are never listed for a touch (their explicit follow-ups still are).
- The agenda has four sections, in this order: follow-ups due today or overdue, touches due, open
  deals whose expected close is within N days or passed, open support requests.
- The digest is the agenda as plain text + HTML, sent at most once per address and local day
  (recorded in `sent_once`).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta

from crm_cli.dates import local_day_converter, local_day_start, local_now
from crm_cli.db import utc_iso

SECTIONS = ("follow_ups", "touches", "deals", "support")
ONLY = ("follow-ups", "touches")


def tag_cadences(conn: sqlite3.Connection) -> dict[str, int]:
    """`cadence.<tag>` settings as {normalised tag: days}."""
    from crm_cli.contacts import parse_every

    result = {}
    for key, value in conn.execute("SELECT key, value FROM settings WHERE key LIKE 'cadence.%'"):
        days = parse_every(value)
        if days:
            result[key.removeprefix("cadence.")] = days
    return result


# One pass over the contacts that have a cadence: their own, or the shortest of their tags'. The latest
# interaction comes from the interactions(contact_id, happened_at) index, one seek per contact.
_TOUCHES_SQL = """
WITH cad(tag, days) AS (SELECT key, value FROM json_each(:cadences)),
cands AS (
    SELECT c.id, c.name, c.created_at,
           COALESCE(c.every_days,
                    (SELECT MIN(cad.days) FROM tags t JOIN cad ON cad.tag = t.tag WHERE t.contact_id = c.id)) AS every
    FROM contacts c
    WHERE c.dnc = 0
      AND (c.every_days IS NOT NULL
           OR c.id IN (SELECT t.contact_id FROM tags t JOIN cad ON cad.tag = t.tag))
      {contact_filter}
),
latest AS MATERIALIZED (
    SELECT cands.*,
           (SELECT MAX(i.happened_at) FROM interactions i
            WHERE i.contact_id = cands.id AND i.happened_at <= :now) AS last_at,
           (SELECT i.id FROM interactions i
            WHERE i.contact_id = cands.id AND i.happened_at <= :now
            ORDER BY i.happened_at DESC, i.id DESC LIMIT 1) AS last_id
    FROM cands
),
due AS MATERIALIZED (
    SELECT latest.*,
           strftime('%Y-%m-%dT%H:%M:%SZ', COALESCE(last_at, created_at), '+' || every || ' days') AS due_at
    FROM latest
)
SELECT due.*, li.kind AS last_kind, li.summary AS last_summary
FROM due LEFT JOIN interactions li ON li.id = due.last_id
WHERE (:until IS NULL OR due.due_at < :until)
ORDER BY due.due_at, due.id
"""


def touches(
    conn: sqlite3.Connection,
    *,
    now: datetime,
    until: datetime | None = None,
    contact_ids: list[int] | None = None,
) -> list[dict]:
    """Contacts due for a touch before `until` (every contact with a cadence when None), oldest first."""
    contact_filter = ""
    params = {
        "cadences": json.dumps(tag_cadences(conn)),
        "now": utc_iso(now),
        "until": utc_iso(until) if until else None,
    }
    if contact_ids is not None:
        contact_filter = "AND c.id IN (SELECT value FROM json_each(:ids))"
        params["ids"] = json.dumps([int(i) for i in contact_ids])
    rows = conn.execute(_TOUCHES_SQL.format(contact_filter=contact_filter), params).fetchall()
    today, local_day = local_now(now).date(), local_day_converter()
    result = []
    for r in rows:
        last = None
        if r["last_at"] is not None:
            last = r["last_summary"] or r["last_kind"]
        result.append(
            {
                "type": "touch",
                "contact_id": r["id"],
                "contact": r["name"],
                "every_days": r["every"],
                "last_interaction_at": r["last_at"],
                "last_interaction": last,
                "last_interaction_kind": r["last_kind"],
                "due_at": r["due_at"],
                # the due day in local time (stored instants are UTC 'YYYY-MM-DDTHH:MM:SSZ')
                "days_overdue": max(0, (today - local_day(r["due_at"])).days),
            }
        )
    return result


def due(conn: sqlite3.Connection, *, until: datetime, now: datetime, only: str | None = None) -> list[dict]:
    """`crm log due`: follow-ups and touches due before `until`, oldest due first."""
    from crm_cli import interactions
    from crm_cli.errors import InvalidInput

    if only is not None and only not in ONLY:
        raise InvalidInput(f"invalid --only {only!r}; choose follow-ups or touches")
    rows: list[dict] = []
    if only in (None, "follow-ups"):
        rows += interactions.due_follow_ups(conn, until=until, now=now)
    if only in (None, "touches"):
        rows += touches(conn, now=now, until=until)
    # Stable: follow-ups before touches on the same instant, each already in its own order.
    rows.sort(key=lambda r: r["due_at"])
    return rows


def end_of_today(now: datetime) -> datetime:
    return local_day_start(local_now(now).date() + timedelta(days=1))


def deals_closing(conn: sqlite3.Connection, *, now: datetime, days: int) -> list[dict]:
    """Open deals whose expected close is within `days` days from today, or already passed."""
    from crm_cli.money import to_decimal

    today = local_now(now).date()
    last = (today + timedelta(days=days)).isoformat()
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples (thousands of rows)
    cursor.execute(
        """SELECT d.id, d.contact_id, c.name AS contact, d.title, d.value, d.currency, d.stage,
                  d.expected_close
           FROM deals d
           JOIN stages s ON s.name = d.stage AND s.kind = 'open'
           JOIN contacts c ON c.id = d.contact_id
           WHERE d.expected_close IS NOT NULL AND d.expected_close <= ?
           ORDER BY d.expected_close, d.id""",
        (last,),
    )
    result = []
    left_by_day: dict[str, int | None] = {}  # many deals share a close date
    decimal = _Memo(to_decimal)  # and amounts (Decimals are immutable: one per distinct value)
    for id_, contact_id, contact, title, value, currency, stage, expected_close in cursor:
        left = left_by_day.get(expected_close, ...)
        if left is ...:
            try:
                left = (date.fromisoformat(expected_close) - today).days
            except ValueError:
                left = None
            left_by_day[expected_close] = left
        result.append(
            {
                "id": id_,
                "contact_id": contact_id,
                "contact": contact,
                "title": title,
                "value": decimal[value],
                "currency": currency,
                "stage": stage,
                "expected_close": expected_close,
                "days_left": left,
            }
        )
    return result


def open_support(conn: sqlite3.Connection, *, now: datetime) -> list[dict]:
    """Support requests still open, oldest first."""
    from crm_cli.dates import local_day_converter, local_shift_sql

    today = local_now(now).date()
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples (thousands of rows)
    # SQLite counts the days since the local day it was opened (julianday of two dates: a whole number)
    # for values in db.utc_iso's form (they print back unchanged); anything else is read by Python.
    cursor.execute(
        """SELECT i.id, i.contact_id, c.name AS contact, i.summary, i.happened_at,
                  CASE WHEN strftime('%Y-%m-%dT%H:%M:%SZ', i.happened_at) = i.happened_at
                       THEN CAST(julianday(?) - julianday(date(i.happened_at, ?)) AS INTEGER) END AS days
           FROM interactions i JOIN contacts c ON c.id = i.contact_id
           WHERE i.kind = 'support' AND i.status = 'open'
           ORDER BY i.happened_at, i.id""",
        (today.isoformat(), local_shift_sql()),
    )
    result = []
    for id_, contact_id, contact, summary, happened_at, days in cursor:
        if days is None:  # not db.utc_iso's form (SQLite reads only that here): Python's reading
            days = (today - local_day_converter()(happened_at)).days
        result.append(
            {
                "id": id_,
                "contact_id": contact_id,
                "contact": contact,
                "summary": summary,
                "opened_at": happened_at,
                "days_open": days if days > 0 else 0,
            }
        )
    return result


def build(conn: sqlite3.Connection, *, now: datetime, days: int = 7) -> dict:
    """The agenda document (`crm agenda --json`)."""
    from crm_cli import interactions
    from crm_cli.errors import InvalidInput

    if days < 0:
        raise InvalidInput(f"invalid --days {days}; use 0 or more")
    until = end_of_today(now)
    return {
        "date": local_now(now).date().isoformat(),
        "days": days,
        "follow_ups": interactions.due_follow_ups(conn, until=until, now=now),
        "touches": touches(conn, now=now, until=until),
        "deals": deals_closing(conn, now=now, days=days),
        "support": open_support(conn, now=now),
    }


def is_empty(doc: dict) -> bool:
    return not any(doc[s] for s in SECTIONS)


def count(doc: dict) -> int:
    return sum(len(doc[s]) for s in SECTIONS)


# ---------------------------------------------------------------------------------------------
# Rendering for people (plain text and HTML; the terminal view lives in the command module)

TITLES = {
    "follow_ups": "Follow-ups due",
    "touches": "Stay in touch",
    "deals": "Deals closing",
    "support": "Open support requests",
}


def _overdue(days: int) -> str:
    if days <= 0:
        return "today"
    return f"{days} day{'s' if days != 1 else ''} overdue"


def _close(left: int | None) -> str:
    if left is None:
        return "close date unreadable"
    if left == 0:
        return "closes today"
    if left < 0:
        return f"close date passed {-left} day{'s' if left != -1 else ''} ago"
    return f"closes in {left} day{'s' if left != 1 else ''}"


def money_text(stored: int, currency: str | None) -> str:
    """money.format_money(stored, currency) in integer arithmetic: the agenda formats thousands of deals
    and Decimal formatting was a third of its rendering (equal for every amount: tests/test_agenda.py)."""
    whole, frac = divmod(-stored if stored < 0 else stored, 1000)
    text = (
        f"{'-' if stored < 0 else ''}{whole:,}.{frac:03d}"
        if frac % 10
        else f"{'-' if stored < 0 else ''}{whole:,}.{frac // 10:02d}"
    )
    return f"{text} {currency}" if currency else text


def lines(doc: dict) -> dict[str, list[str]]:
    """Each section as one line of text per item."""
    from crm_cli.dates import local_converter

    when = local_converter()  # to_local() with the zone looked up once; '' for none
    # Thousands of items share a few day counts and amounts: each text is made once per call.
    overdue = _Memo(_overdue)
    close = _Memo(_close)
    amount = _Memo(lambda key: money_text(int(key[0] * 1000), key[1]))  # (to_decimal() value, currency)
    opened = _Memo(lambda days: "opened today" if days == 0 else f"open {days} days")

    def last(r: dict) -> str:
        if not r["last_interaction_at"]:
            return "never contacted"
        return f"last {r['last_interaction_kind']} {when(r['last_interaction_at'])}: {r['last_interaction']}"

    return {
        "follow_ups": [
            f"#{r['id']} {r['contact']}: {r['summary'] or r['kind']} (due {when(r['due_at'])}, "
            f"{overdue[r['days_overdue']]})"
            for r in doc["follow_ups"]
        ],
        "touches": [
            f"{r['contact']}: every {r['every_days']} days, {overdue[r['days_overdue']]} ({last(r)})"
            for r in doc["touches"]
        ],
        "deals": [
            f"#{r['id']} {r['title']} — {r['contact']}, "
            f"{amount[r['value'], r['currency']] if r['value'] is not None else ''}, {r['stage']}, "
            f"{close[r['days_left']]} ({r['expected_close']})"
            for r in doc["deals"]
        ],
        "support": [
            f"#{r['id']} {r['contact']}: {r['summary'] or 'support request'} ({opened[r['days_open']]})"
            for r in doc["support"]
        ],
    }


class _Memo(dict):
    """fn(key), computed once per key."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key):
        value = self[key] = self.fn(key)
        return value


NOUNS = {
    "follow_ups": ("follow-up", "follow-ups"),
    "touches": ("touch", "touches"),
    "deals": ("deal closing", "deals closing"),
    "support": ("open support request", "open support requests"),
}


def subject(doc: dict) -> str:
    parts = [f"{len(doc[s])} {NOUNS[s][len(doc[s]) != 1]}" for s in SECTIONS if doc[s]]
    return f"Agenda for {doc['date']}: " + (", ".join(parts) if parts else "nothing due")


def render_text(doc: dict) -> str:
    sections = lines(doc)
    out = [f"Agenda for {doc['date']}", ""]
    if is_empty(doc):
        out.append("Nothing due today.")
    for s in SECTIONS:
        if not sections[s]:
            continue
        title = TITLES[s] + (f" (next {doc['days']} days or passed)" if s == "deals" else "")
        out.append(f"{title} ({len(sections[s])})")
        out.append("  - " + "\n  - ".join(sections[s]))  # one string per section (thousands of lines)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_html(doc: dict) -> str:
    from html import escape

    sections = lines(doc)
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>' + escape(f"Agenda for {doc['date']}") + "</title></head>",
        '<body style="font-family: sans-serif">',
        f"<h1>{escape('Agenda for ' + doc['date'])}</h1>",
    ]
    if is_empty(doc):
        parts.append("<p>Nothing due today.</p>")
    for s in SECTIONS:
        if not sections[s]:
            continue
        parts.append(f"<h2>{escape(TITLES[s])} ({len(sections[s])})</h2>")
        parts.append("<ul>")
        # dir="auto": each line takes the direction of its own text (Arabic names read right to left).
        parts += [f'<li dir="auto">{escape(line)}</li>' for line in sections[s]]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------
# The digest


def digest_key(address: str, now: datetime) -> str:
    return f"agenda:{address.lower()}:{local_now(now).date().isoformat()}"


def already_sent(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT sent_at FROM sent_once WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def send_digest(conn: sqlite3.Connection, doc: dict, *, address: str, now: datetime) -> None:
    """Send the agenda to `address` through the configured SMTP server, then record it as sent today."""
    from crm_cli import db, mail

    cfg = mail.config(conn)
    message = mail.build(cfg.sender, address, subject(doc), render_text(doc), render_html(doc))
    with mail.Connection(cfg) as smtp:
        smtp.send(message)
    with db.write(conn, f"agenda email {address}"):
        conn.execute(
            "INSERT INTO sent_once (key, sent_at) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET sent_at = excluded.sent_at",
            (digest_key(address, now), utc_iso(now)),
        )
