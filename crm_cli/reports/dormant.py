"""Dormant customers: bought at least once, no interaction of any kind (purchase, call, e-mail …) for
more than N days. The saved-segment expression `orders>=1 last-contact>Nd` selects exactly them.

- --from/--to keep those whose LAST purchase falls in that range (segment terms
  `last-purchase>=FROM last-purchase<TO+1`).
- Suggested action: "win back" when the customer bought 2+ times or spent more than the median
  lifetime spend of all customers (default currency); otherwise "purge".
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from decimal import Decimal

from crm_cli import periods, settings
from crm_cli.db import utc_iso
from crm_cli.errors import InvalidInput
from crm_cli.money import to_decimal
from crm_cli.reports import buckets

WIN_BACK, PURGE = "win back", "purge"


def check_days(days: int) -> int:
    if days is None or days <= 0:
        raise InvalidInput(f"invalid --days {days}; use a whole number of days above 0, e.g. --days 180")
    return days


def expression(days: int, rng: periods.Range | None, now: datetime) -> str:
    """The filter-language expression selecting the same contacts as dormant(days, rng)."""
    expr = f"orders>=1 last-contact>{days}d"
    if rng and rng.start:
        expr += f" last-purchase>={buckets.LocalDays(now).day(utc_iso(rng.start)).isoformat()}"
    if rng and rng.end:
        expr += f" last-purchase<{buckets.LocalDays(now).day(utc_iso(rng.end)).isoformat()}"
    return expr


def _twice_median(values: list[int]) -> int:
    """2 x the median, an exact integer (the median of thousandths may end in .5)."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return 0
    return 2 * ordered[n // 2] if n % 2 else ordered[n // 2 - 1] + ordered[n // 2]


def _half_money(twice: int) -> Decimal:
    value = Decimal(twice) / 2000
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _customers(conn: sqlite3.Connection, currency: str) -> list[tuple]:
    """(id, last purchase, orders, lifetime spend, last interaction) for every person who bought."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(
        """SELECT p.contact_id, p.last_purchase, p.orders, p.spent,
                  (SELECT max(i.happened_at) FROM interactions i WHERE i.contact_id = p.contact_id)
           FROM (SELECT contact_id, max(happened_at) AS last_purchase, count(*) AS orders,
                        sum(CASE WHEN currency = ? THEN amount ELSE 0 END) AS spent
                 FROM interactions WHERE kind = 'purchase' GROUP BY contact_id) p
           WHERE p.contact_id NOT IN (SELECT id FROM contacts WHERE kind <> 'person')""",
        (currency,),
    ).fetchall()


def dormant(conn: sqlite3.Connection, *, now: datetime, days: int = 180, rng: periods.Range | None = None) -> dict:
    """{"rows": [...], "summary": {...}}: rows win-back first, then by lifetime spend."""
    import json

    check_days(days)
    currency = settings.default_currency(conn)
    cutoff = utc_iso(now - timedelta(days=days))
    start, end = (rng or periods.Range(None, None)).text_bounds()
    everyone = _customers(conn, currency)
    twice_median = _twice_median([row[3] for row in everyone])
    quiet = [row for row in everyone if row[4] < cutoff and start <= row[1] < end]
    # win back first, then by lifetime spend, biggest first (the same order as sorting the rows by
    # (action, -lifetime_spend, id): spend is exact thousandths)
    quiet.sort(key=lambda row: (not (row[2] >= 2 or 2 * row[3] > twice_median), -row[3], row[0]))
    ids = json.dumps([row[0] for row in quiet])
    cursor = conn.cursor()
    cursor.row_factory = None
    details = {
        r[0]: r
        for r in cursor.execute(
            "SELECT id, name, email, phone, status FROM contacts WHERE id IN (SELECT value FROM json_each(?))", (ids,)
        )
    }
    local = buckets.LocalDays(now)
    today = local.ordinal(utc_iso(now))
    ordinal = local.ordinal
    rows = []
    for contact_id, last_purchase, orders, spent, last_contact in quiet:
        d = details[contact_id]
        action = WIN_BACK if orders >= 2 or 2 * spent > twice_median else PURGE
        rows.append(
            {
                "id": contact_id,
                "name": d[1],
                "email": d[2],
                "phone": d[3],
                "status": d[4],
                "last_purchase_at": last_purchase,
                "last_contact_at": last_contact,
                "days_since_contact": today - ordinal(last_contact),
                "orders": orders,
                "lifetime_spend": to_decimal(spent),
                "currency": currency,
                "action": action,
            }
        )
    win_back = sum(1 for r in rows if r["action"] == WIN_BACK)
    summary = {
        "days": days,
        "cutoff": cutoff,
        "customers": len(everyone),
        "dormant": len(rows),
        "dormant_share": buckets.rate(len(rows), len(everyone)),
        "win_back": win_back,
        "purge": len(rows) - win_back,
        "median_lifetime_spend": _half_money(twice_median) if everyone else None,
        "currency": currency,
        "segment_expression": expression(days, rng, now),
    }
    return {"rows": rows, "summary": summary}


# An instant in the stored form (db.utc_iso): whole seconds, UTC.
_STORED_INSTANT = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z"
# The values of a row of dormant(), as SQL over the customers CTE `p` joined to contacts `c`.
_VALUES = {
    "id": "p.contact_id",
    "name": "c.name",
    "email": "c.email",
    "phone": "c.phone",
    "status": "c.status",
    "last_purchase_at": "p.last_purchase",
    "last_contact_at": "p.last_contact",
    "days_since_contact": "CAST(julianday(date(:now, :local)) - julianday(date(p.last_contact, :local)) AS INTEGER)",
    "orders": "p.orders",
    "currency": ":currency",
    "action": f"CASE WHEN p.win_back THEN '{WIN_BACK}' ELSE '{PURGE}' END",
}


def dormant_lines(
    conn: sqlite3.Connection, keys: list[str], *, now: datetime, days: int = 180, rng: periods.Range | None = None
) -> list[str] | None:
    """dormant()'s rows as the tab-separated lines a piped listing of `keys` prints, chosen, ordered and
    joined by SQLite (57k customers as Python tuples, 14k dicts and their TSV cost more than the query).
    None when a last-contact instant is not in the stored form (days are counted from it): use dormant()."""
    from crm_cli.money import plain_sql
    from crm_cli.output import tsv_cells_sql

    check_days(days)
    values = {**_VALUES, "lifetime_spend": plain_sql("p.spent")}
    local = buckets.LocalDays(now)
    start, end = (rng or periods.Range(None, None)).text_bounds()
    cursor = conn.cursor()
    cursor.row_factory = None
    lines = [
        row[0]
        for row in cursor.execute(
            f"""WITH everyone AS MATERIALIZED (
                    SELECT p.contact_id, p.last_purchase, p.orders, p.spent,
                           (SELECT max(i.happened_at) FROM interactions i WHERE i.contact_id = p.contact_id)
                               AS last_contact
                    FROM (SELECT contact_id, max(happened_at) AS last_purchase, count(*) AS orders,
                                 sum(CASE WHEN currency = :currency THEN amount ELSE 0 END) AS spent
                          FROM interactions WHERE kind = 'purchase' GROUP BY contact_id) p
                    WHERE p.contact_id NOT IN (SELECT id FROM contacts WHERE kind <> 'person')),
                n AS (SELECT count(*) AS n FROM everyone),
                twice AS (SELECT coalesce(sum(spent) * (CASE WHEN (SELECT n FROM n) % 2 = 1 THEN 2 ELSE 1 END), 0)
                                 AS median
                          FROM (SELECT spent FROM everyone ORDER BY spent
                                LIMIT 2 - (SELECT n FROM n) % 2 OFFSET ((SELECT n FROM n) - 1) / 2)),
                p AS (SELECT e.*, e.orders >= 2 OR 2 * e.spent > (SELECT median FROM twice) AS win_back
                      FROM everyone e
                      WHERE e.last_contact < :cutoff AND :start <= e.last_purchase AND e.last_purchase < :end)
            SELECT CASE WHEN p.last_contact GLOB '{_STORED_INSTANT}'
                        THEN {tsv_cells_sql([values[k] for k in keys])} || char(10) END
            FROM p JOIN contacts c ON c.id = p.contact_id
            ORDER BY p.win_back DESC, p.spent DESC, p.contact_id""",
            {
                "currency": settings.default_currency(conn),
                "now": utc_iso(now),
                "local": local.modifier,
                "cutoff": utc_iso(now - timedelta(days=days)),
                "start": start,
                "end": end,
            },
        )
    ]
    return None if None in lines else lines


def count(conn: sqlite3.Connection, *, now: datetime, days: int = 180) -> int:
    """How many dormant customers (the dashboard's figure), without building rows."""
    cutoff = utc_iso(now - timedelta(days=days))
    return conn.execute(
        """SELECT count(*) FROM (SELECT DISTINCT contact_id FROM interactions WHERE kind = 'purchase') p
           WHERE p.contact_id NOT IN (SELECT id FROM contacts WHERE kind <> 'person')
             AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.contact_id = p.contact_id AND i.happened_at >= ?)""",
        (cutoff,),
    ).fetchone()[0]
