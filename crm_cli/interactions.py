"""The interaction log: calls, e-mails, meetings, messages, notes, purchases, support requests;
follow-ups and their due list."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta

from crm_cli import settings
from crm_cli.db import utc_iso
from crm_cli.errors import InvalidInput, NotFound
from crm_cli.text import clean

KINDS = ("call", "email", "meeting", "message", "note", "purchase", "support")
SCALES = {"csat": (1, 5), "nps": (0, 10)}

SELECT = """
    SELECT i.*, c.name AS contact
    FROM interactions i JOIN contacts c ON c.id = i.contact_id
"""


def check_score(conn: sqlite3.Connection, score: int | None, scale: str | None = None) -> tuple[int | None, str | None]:
    if score is None:
        return None, None
    scale = scale or settings.get(conn, "satisfaction_scale") or "csat"
    low, high = SCALES[scale]
    if not low <= score <= high:
        raise InvalidInput(f"invalid --score {score}: {scale.upper()} scores run from {low} to {high}")
    return score, scale


def add(
    conn: sqlite3.Connection,
    *,
    contact_id: int,
    kind: str,
    summary: str,
    now: datetime,
    at: datetime | None = None,
    direction: str | None = None,
    outcome: str | None = None,
    duration_min: int | None = None,
    amount: int | None = None,
    currency: str | None = None,
    score: int | None = None,
    score_scale: str | None = None,
    follow_up: datetime | None = None,
    deal_id: int | None = None,
    campaign_id: int | None = None,
) -> int:
    """Log one interaction; returns its id. A purchase makes the contact a customer."""
    if kind not in KINDS:
        raise InvalidInput(f"invalid kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if amount is not None and kind != "purchase":
        raise InvalidInput(f"--amount belongs to purchases, not to a {kind}; use `crm log purchase`")
    if kind == "purchase" and amount is None:
        raise InvalidInput("a purchase needs --amount, e.g. --amount 249.90")
    if direction not in (None, "in", "out"):
        raise InvalidInput(f"invalid direction {direction!r}; use in or out")
    if duration_min is not None and duration_min < 0:
        raise InvalidInput(f"invalid --duration {duration_min}; minutes cannot be negative")
    score, score_scale = check_score(conn, score, score_scale)
    if deal_id is not None:
        _check_deal(conn, deal_id, contact_id)
    when = at or now
    if when > now + timedelta(days=1) and kind != "meeting":
        raise InvalidInput(f"--at {utc_iso(when)} is in the future; use --follow-up to plan something")
    if kind == "purchase":
        currency = currency or settings.default_currency(conn)
    interaction_id = conn.execute(
        """INSERT INTO interactions (contact_id, kind, summary, happened_at, direction, outcome, duration_min,
                                     amount, currency, score, score_scale, status, follow_up_at,
                                     deal_id, campaign_id, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            contact_id,
            kind,
            clean(summary) or "",
            utc_iso(when),
            direction,
            clean(outcome),
            duration_min,
            amount,
            currency,
            score,
            score_scale,
            "open" if kind == "support" else None,
            utc_iso(follow_up) if follow_up else None,
            deal_id,
            campaign_id,
            utc_iso(now),
        ),
    ).lastrowid
    if kind == "purchase":
        from crm_cli import contacts

        contacts.set_status(conn, contact_id, "customer", now)
    return interaction_id


def row_dict(row: sqlite3.Row) -> dict:
    from crm_cli.money import to_decimal

    data = dict(row)
    data["amount"] = to_decimal(data["amount"])
    return data


def list_interactions(
    conn: sqlite3.Connection,
    *,
    contact_id: int | None = None,
    kinds: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    newest_first: bool = True,
) -> Iterator[dict]:
    clauses, params = [], []
    if contact_id is not None:
        clauses.append("i.contact_id = ?")
        params.append(contact_id)
    for kind in kinds or ():
        if kind not in KINDS:
            raise InvalidInput(f"invalid --kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if kinds:
        clauses.append(f"i.kind IN ({','.join('?' * len(kinds))})")
        params += kinds
    if since:
        clauses.append("i.happened_at >= ?")
        params.append(utc_iso(since))
    if until:
        clauses.append("i.happened_at < ?")
        params.append(utc_iso(until))
    where = " AND ".join(clauses) or "1"
    order = "DESC" if newest_first else "ASC"
    sql = f"{SELECT} WHERE {where} ORDER BY i.happened_at {order}, i.id {order}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    for row in conn.execute(sql, params):
        yield row_dict(row)


def due_follow_ups(conn: sqlite3.Connection, *, until: datetime, now: datetime) -> list[dict]:
    """Open follow-ups due before `until` (an instant), oldest first, with days overdue."""
    from crm_cli.dates import local_day_converter, local_now, local_shift_sql

    today = local_now(now).date()
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: thousands of rows, a Row per row showed in the profile
    # SQLite counts the days since the local due day (julianday of two dates: a whole number) for
    # values in db.utc_iso's form (they print back unchanged); anything else is read by Python as before.
    cursor.execute(
        """SELECT i.id, i.contact_id, c.name AS contact, i.kind, i.summary, i.happened_at, i.follow_up_at,
                  CASE WHEN strftime('%Y-%m-%dT%H:%M:%SZ', i.follow_up_at) = i.follow_up_at
                       THEN CAST(julianday(?) - julianday(date(i.follow_up_at, ?)) AS INTEGER) END AS days
           FROM interactions i JOIN contacts c ON c.id = i.contact_id
           WHERE i.follow_up_at IS NOT NULL AND i.follow_up_done_at IS NULL AND i.follow_up_at < ?
           ORDER BY i.follow_up_at, i.id""",
        (today.isoformat(), local_shift_sql(), utc_iso(until)),
    )
    result = []
    for id_, contact_id, contact, kind, summary, happened_at, follow_up_at, days in cursor:
        if days is None:  # not db.utc_iso's form (SQLite reads only that here): Python's reading
            days = (today - local_day_converter()(follow_up_at)).days
        result.append(
            {
                "type": "follow-up",
                "id": id_,
                "contact_id": contact_id,
                "contact": contact,
                "kind": kind,
                "summary": summary,
                "due_at": follow_up_at,
                "days_overdue": days if days > 0 else 0,
                "last_interaction_at": happened_at,
            }
        )
    return result


def mark_done(conn: sqlite3.Connection, interaction_id: int, now: datetime) -> str:
    """Close a follow-up and/or resolve a support request; returns what was closed."""
    row = conn.execute("SELECT * FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
    if row is None:
        raise NotFound(f"no interaction with id {interaction_id}; see `crm log list`")
    closed = []
    stamp = utc_iso(now)
    if row["follow_up_at"] and not row["follow_up_done_at"]:
        conn.execute("UPDATE interactions SET follow_up_done_at = ? WHERE id = ?", (stamp, interaction_id))
        closed.append("follow-up")
    if row["kind"] == "support" and row["status"] == "open":
        conn.execute(
            "UPDATE interactions SET status = 'resolved', resolved_at = ? WHERE id = ?", (stamp, interaction_id)
        )
        closed.append("support request")
    if not closed:
        raise InvalidInput(f"interaction {interaction_id} has no open follow-up or support request")
    return " and ".join(closed)


def get(conn: sqlite3.Connection, interaction_id: int) -> dict:
    row = conn.execute(f"{SELECT} WHERE i.id = ?", (interaction_id,)).fetchone()
    if row is None:
        raise NotFound(f"no interaction with id {interaction_id}; see `crm log list`")
    return row_dict(row)


def _check_deal(conn: sqlite3.Connection, deal_id: int, contact_id: int) -> None:
    """--deal must exist and be this contact's, its organisation's, or (for an organisation) one of its
    people's: a call with Sara about another customer's deal would show on the wrong timeline."""
    deal = conn.execute(
        """SELECT d.contact_id, c.name, c.org_id,
                  (SELECT name FROM contacts WHERE id = ?), (SELECT org_id FROM contacts WHERE id = ?)
           FROM deals d JOIN contacts c ON c.id = d.contact_id WHERE d.id = ?""",
        (contact_id, contact_id, deal_id),
    ).fetchone()
    if deal is None:
        raise NotFound(f"no deal with id {deal_id}; see `crm deal list`")
    owner, owner_name, owner_org, name, org = deal
    if contact_id in (owner, owner_org) or (org is not None and org == owner):
        return
    raise InvalidInput(
        f"deal {deal_id} belongs to {owner_name} (contact {owner}), not to {name} (contact {contact_id}); "
        f"log it on contact {owner} or leave out --deal"
    )
