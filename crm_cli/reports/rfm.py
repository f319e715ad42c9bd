"""Best customers: RFM scores, segments, lifetime value and average order value.

- Customers: persons with at least one purchase in the range (--from/--to; default all history).
- R (recency): days from the last purchase to the end of the range (default today), fewer is better.
  F (frequency): purchases (all currencies). M (monetary): revenue in the default currency
  (settings.default_currency; purchases in other currencies count for F and R, never summed into M).
- Scores 1-5 by quintile, ties shared: p = (customers with a worse value + half of those with the
  same value) / customers, score = 1 + floor(5 p) (5 at most). So equal values always get the same
  score, a tie straddling a quintile boundary takes the score of its middle, and when every customer
  has the same value (or there is only one customer) everyone scores 3.
- Segments, first rule that matches (FM = (F + M) / 2):
  champions R>=4 and FM>=4 · new R>=4 and exactly one purchase · loyal R>=3 and FM>=3 ·
  potential loyalists R>=3 · can't lose R=1 and FM>=4 · at risk R<=2 and FM>=3 · hibernating R=2 ·
  lost R=1.
- Lifetime value: all-time revenue in the default currency (whatever the range);
  average order value: revenue / purchases in the default currency, rounded to the thousandth.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from operator import neg

from crm_cli import periods, settings
from crm_cli.db import utc_iso
from crm_cli.errors import InvalidInput
from crm_cli.money import to_decimal
from crm_cli.reports import buckets
from crm_cli.text import normalize

SEGMENTS = (
    ("champions", "R>=4 and FM>=4: bought recently, often and much"),
    ("loyal", "R>=3 and FM>=3: buy regularly"),
    ("potential loyalists", "R>=3, the rest: recent, not yet frequent"),
    ("new", "R>=4 and exactly one purchase"),
    ("at risk", "R<=2 and FM>=3: were good customers, slipping away"),
    ("can't lose", "R=1 and FM>=4: were the best, gone quiet"),
    ("hibernating", "R=2, the rest: low and long ago"),
    ("lost", "R=1, the rest: lowest recency and value"),
)
NAMES = [name for name, _ in SEGMENTS]
CLI_NAMES = [name.replace("'", "").replace(" ", "-") for name in NAMES]  # at-risk, cant-lose …


def segment_of(r: int, f: int, m: int, orders: int) -> str:
    fm = (f + m) / 2
    if r >= 4 and fm >= 4:
        return "champions"
    if r >= 4 and orders == 1:
        return "new"
    if r >= 3 and fm >= 3:
        return "loyal"
    if r >= 3:
        return "potential loyalists"
    if r == 1 and fm >= 4:
        return "can't lose"
    if fm >= 3:
        return "at risk"
    if r == 2:
        return "hibernating"
    return "lost"


def segment_name(raw: str) -> str:
    """`champions`, `at-risk`, `cant-lose`, "can't lose", `Potential_Loyalists` -> the canonical name."""
    key = normalize(raw or "").replace("'", "").replace("’", "").replace("-", " ").replace("_", " ")
    key = " ".join(key.split())
    for name in [*NAMES, "all"]:
        if key == name.replace("'", ""):
            return name
    choices = ", ".join(CLI_NAMES)
    raise InvalidInput(f"unknown segment {raw!r}; choose one of: {choices}, all")


def quintile_scores(values: list) -> list[int]:
    """Score each value 1-5 by its mid-rank percentile (higher value -> higher score); ties share."""
    from bisect import bisect_left, bisect_right
    from collections import Counter
    from itertools import accumulate, repeat
    from operator import add

    # p = (below + same/2) / n; score = 1 + floor(5p), in integers to avoid float edges: score >= s exactly
    # when mid = 2 below + same >= ceil(2n (s - 1) / 5). mid grows with the value, so each score from 2 up
    # starts at one value, the smallest whose mid reaches it, and a value's score is 1 + the starts it reaches.
    n = len(values)
    if not n:
        return []
    needs = [-(-2 * n * (s - 1) // 5) for s in range(2, 6)]
    sample = values[:2048]
    if len(set(sample)) * 2 < len(sample):  # repeated values (days, order counts): count them
        counts = Counter(values)
        keys = sorted(counts)
        below = list(accumulate(map(counts.__getitem__, keys), initial=0))
        mid = list(map(add, below, below[1:]))  # below + below of the next value = 2 below + same
        starts = [keys[0], *(keys[i] for i in map(bisect_left, repeat(mid), needs) if i < len(keys))]
    else:  # mostly distinct (amounts): bisect the sorted values, below = bisect_left, below + same = bisect_right
        ordered = sorted(values)
        starts = [ordered[0]]
        low = 0
        for need in needs:
            high = n
            while low < high:
                i = (low + high) // 2
                v = ordered[i]
                if bisect_left(ordered, v) + bisect_right(ordered, v) >= need:
                    high = i
                else:
                    low = i + 1
            if low == n:
                break
            starts.append(ordered[low])
    return list(map(bisect_right, repeat(starts), values))


class Customers:
    """Per-customer aggregates and scores as parallel lists (100k customers: dicts cost too much)."""

    def __init__(
        self, conn: sqlite3.Connection, now: datetime, rng: periods.Range | None, *, ids: bool = True, last: bool = True
    ):
        """ids, last: also the contact ids and the last purchase instants (segments() needs neither)."""
        rng = rng or periods.Range(None, None)
        self.currency = settings.default_currency(conn)
        clause, params = rng.sql("happened_at")
        days = buckets.LocalDays(now)
        end = buckets.end_instant(rng, now)
        reference = days.ordinal(utc_iso(end))
        cursor = conn.cursor()
        cursor.row_factory = None
        # recency: days from the local day of the last purchase (SQLite's date() with LocalDays' offset;
        # julianday - 1721424.5 is Python's date ordinal) to the reference day, 0 at least.
        rows = cursor.execute(
            f"""SELECT {"contact_id, " if ids else ""}{"last_at, " if last else ""}orders, revenue, own,
                       max(0, ? - CAST(julianday(date(last_at, ?)) - 1721424.5 AS INTEGER))
                FROM (SELECT contact_id, max(happened_at) AS last_at, count(*) AS orders,
                             coalesce(sum(CASE WHEN currency = ? THEN amount ELSE 0 END), 0) AS revenue,
                             coalesce(sum(currency = ?), 0) AS own
                      FROM interactions
                      WHERE kind = 'purchase' AND {clause}
                        AND contact_id NOT IN (SELECT id FROM contacts WHERE kind <> 'person')
                      GROUP BY contact_id)""",
            [reference, days.modifier, self.currency, self.currency, *params],
        ).fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [()] * (4 + ids + last)
        self.ids = columns.pop(0) if ids else None
        self.last = columns.pop(0) if last else None
        self.orders, self.revenue, self.own_orders, self.recency = columns
        self.r = quintile_scores(list(map(neg, self.recency)))
        self.f = quintile_scores(self.orders)
        self.m = quintile_scores(self.revenue)
        # segment by (r, f, m, one order) looked up per customer in C
        table = {
            (r, f, m, one): segment_of(r, f, m, 1 if one else 2)
            for r in range(1, 6)
            for f in range(1, 6)
            for m in range(1, 6)
            for one in (False, True)
        }
        keys = zip(self.r, self.f, self.m, map((1).__eq__, self.orders), strict=True)
        self.segment = list(map(table.__getitem__, keys))

    def __len__(self) -> int:
        return len(self.orders)


def customers(conn: sqlite3.Connection, *, now: datetime, rng: periods.Range | None = None) -> list[dict]:
    """One row per customer with R/F/M scores and segment (tests and small uses; see Customers)."""
    c = Customers(conn, now, rng)
    return [
        {
            "id": c.ids[i],
            "last_purchase_at": c.last[i],
            "recency_days": c.recency[i],
            "orders": c.orders[i],
            "revenue": to_decimal(c.revenue[i]),
            "r": c.r[i],
            "f": c.f[i],
            "m": c.m[i],
            "rfm": f"{c.r[i]}{c.f[i]}{c.m[i]}",
            "segment": c.segment[i],
        }
        for i in range(len(c))
    ]


def _avg(total: int, count: int):
    if not count:
        return None
    return to_decimal((2 * total + count) // (2 * count))


def segments(conn: sqlite3.Connection, *, now: datetime, rng: periods.Range | None = None) -> list[dict]:
    """Counts and revenue per segment, every segment listed (in the documented order)."""
    c = Customers(conn, now, rng, ids=False, last=False)  # no ids or last instants shown
    from collections import Counter

    counts = Counter(c.segment)
    stats = {name: [counts[name], 0, 0, 0, 0] for name in NAMES}  # customers, revenue, orders, own orders, recency
    for name, revenue, orders, recency in zip(c.segment, c.revenue, c.orders, c.recency, strict=True):
        s = stats[name]
        s[1] += revenue
        s[2] += orders
        s[4] += recency
    if c.own_orders == c.orders:  # every purchase in the default currency
        for s in stats.values():
            s[3] = s[2]
    else:
        for name, own in zip(c.segment, c.own_orders, strict=True):
            stats[name][3] += own
    total_revenue = sum(c.revenue)
    result = []
    for name, rule in SEGMENTS:
        count, revenue, orders, own, recency = stats[name]
        result.append(
            {
                "segment": name,
                "customers": count,
                "share": buckets.rate(count, len(c)),
                "revenue": to_decimal(revenue),
                "currency": c.currency,
                "revenue_share": buckets.rate(revenue, total_revenue),
                "orders": orders,
                "avg_order_value": _avg(revenue, own),
                "avg_recency_days": round(recency / count, 1) if count else None,
                "rule": rule,
            }
        )
    return result


def segment_members(
    conn: sqlite3.Connection, name: str, *, now: datetime, rng: periods.Range | None = None
) -> list[dict]:
    """The customers of one segment (or "all"), biggest revenue first, with contact details."""
    import json

    rng = rng or periods.Range(None, None)
    c = Customers(conn, now, rng)
    segment = c.segment
    chosen = list(range(len(c))) if name == "all" else [i for i, s in enumerate(segment) if s == name]
    ids = json.dumps([c.ids[i] for i in chosen])
    cursor = conn.cursor()
    cursor.row_factory = None
    details = {
        r[0]: r
        for r in cursor.execute(
            "SELECT id, name, email, phone FROM contacts WHERE id IN (SELECT value FROM json_each(?))", (ids,)
        )
    }
    lifetime = None
    if rng.start or rng.end:
        lifetime = dict(
            cursor.execute(
                """SELECT contact_id, sum(amount) FROM interactions
                   WHERE kind = 'purchase' AND currency = ? AND contact_id IN (SELECT value FROM json_each(?))
                   GROUP BY contact_id""",
                (c.currency, ids),
            ).fetchall()
        )
    revenues, orders, all_ids = c.revenue, c.orders, c.ids
    chosen.sort(key=lambda i: (-revenues[i], -orders[i], all_ids[i]))
    currency = c.currency
    result = []
    for i in chosen:
        contact_id = all_ids[i]
        d = details[contact_id]
        revenue = revenues[i]
        r, f, m = c.r[i], c.f[i], c.m[i]
        spent = to_decimal(revenue)
        result.append(
            {
                "id": contact_id,
                "name": d[1],
                "email": d[2],
                "phone": d[3],
                "segment": segment[i],
                "r": r,
                "f": f,
                "m": m,
                "rfm": f"{r}{f}{m}",
                "recency_days": c.recency[i],
                "last_purchase_at": c.last[i],
                "orders": orders[i],
                "revenue": spent,
                "avg_order_value": _avg(revenue, c.own_orders[i]),
                "lifetime_value": to_decimal(lifetime.get(contact_id, 0)) if lifetime is not None else spent,
                "currency": currency,
            }
        )
    return result


MEMBER_CELLS = (
    "id",
    "name",
    "email",
    "phone",
    "segment",
    "r",
    "f",
    "m",
    "recency_days",
    "last_purchase_at",
    "orders",
    "revenue",
    "avg_order_value",
    "lifetime_value",
    "currency",
)


_MEMBER_TEXT = ("c.name", "c.email", "c.phone", "m.last_at")  # member_lines' cells that may hold NULL, tabs or newlines


def member_lines(conn: sqlite3.Connection, name: str, *, now: datetime, rng: periods.Range | None = None) -> list[str]:
    """segment_members() as the tab-separated lines of MEMBER_CELLS a piped listing prints: Python scores
    and picks the customers; SQLite looks up their details and last purchase, orders them and joins the
    cells (no dict, Decimal or cell tuple per customer)."""
    import json
    from itertools import compress
    from operator import itemgetter

    from crm_cli.money import plain_sql
    from crm_cli.output import tsv_cells_sql

    rng = rng or periods.Range(None, None)
    c = Customers(conn, now, rng, last=False)
    every = name == "all"  # else everyone's segment is `name`: a parameter
    chosen = range(len(c)) if every else list(compress(range(len(c)), map(name.__eq__, c.segment)))
    if not chosen:
        return []
    pick = itemgetter(*chosen) if len(chosen) > 1 else lambda column: (column[chosen[0]],)
    shown = {"id": c.ids, "segment": c.segment, "r": c.r, "f": c.f, "m": c.m, "recency": c.recency}
    shown |= {"orders": c.orders, "revenue": c.revenue}
    if not every:
        del shown["segment"]
    columns = [pick(column) for column in shown.values()]
    averages = [
        (2 * total + count) // (2 * count) if count else None  # _avg()
        for total, count in zip(columns[-1], pick(c.own_orders), strict=True)
    ]
    fields = ", ".join(f"value ->> {n} AS {key}" for n, key in enumerate([*shown, "average"]))
    start, end = rng.text_bounds()
    purchases = "FROM interactions WHERE kind = 'purchase' AND contact_id = chosen.id"
    lifetime = f"(SELECT coalesce(sum(amount), 0) {purchases} AND currency = :currency)"  # all-time
    ranged = bool(rng.start or rng.end)  # else the range's revenue is the lifetime value (once: materialized)

    cells = [  # MEMBER_CELLS
        "m.id",
        "c.name",
        "c.email",
        "c.phone",
        "m.segment" if every else ":segment",
        "m.r",
        "m.f",
        "m.m",
        "m.recency",
        "m.last_at",
        "m.orders",
        "m.revenue_text",
        "m.average_text",
        plain_sql("m.lifetime") if ranged else "m.revenue_text",
        ":currency",
    ]
    cursor = conn.cursor()
    cursor.row_factory = None
    return [
        row[0]
        for row in cursor.execute(
            f"""WITH chosen AS MATERIALIZED (SELECT {fields} FROM json_each(:members)),
                    m AS {"MATERIALIZED" if ranged else ""} (SELECT *, {plain_sql("revenue")} AS revenue_text,
                                 coalesce({plain_sql("average")}, '') AS average_text,
                                 (SELECT max(happened_at) {purchases} AND :start <= happened_at AND happened_at < :end)
                                     AS last_at,
                                 {lifetime if ranged else "NULL"} AS lifetime
                          FROM chosen)
                SELECT {tsv_cells_sql(cells, plain=[c for c in cells if c not in _MEMBER_TEXT])} || char(10)
                FROM m JOIN contacts c ON c.id = m.id
                ORDER BY m.revenue DESC, m.orders DESC, m.id""",
            {
                "members": json.dumps(list(zip(*columns, averages, strict=True))),
                "currency": c.currency,
                "segment": name,
                "start": start,
                "end": end,
            },
        )
    ]


def as_of(rng: periods.Range | None, now: datetime) -> date:
    """The day recency is measured to."""
    return buckets.last_day(rng or periods.Range(None, None), now)
