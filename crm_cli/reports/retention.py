"""Retention: cohorts by period of first purchase, the repeat purchase rate, and churn.

Definitions (README "Reports"):
- A customer is a person (contacts.kind='person') with at least one purchase (interactions
  kind='purchase'; won deals are logged as purchases). Their cohort is the local period of their FIRST
  purchase ever; --from/--to keep the cohorts whose first purchase falls in the range and ignore
  purchases after --to.
- retention[k] = share of the cohort that purchased in period cohort+k (k = 0 is always 1.0), for every
  period up to the end of the range (default and at the latest: now; the last period may be incomplete).
- repeat purchase rate = customers with 2+ purchases / customers (cohorts in the range).
- churn of period P = share of the customers who purchased in P-1 and did not purchase in P; the
  headline churn_rate is the last COMPLETE period's.

Counting: SQLite groups each customer's purchases (in the order of the covering purchase index) into the
set of periods they bought in, as the bits of one integer (sum of DISTINCT powers of two), and counts the
customers per pattern; Python adds the patterns' bits up per period in C (compress/map). When the periods
to count don't fit in one 64-bit word (weeks over more than a year), one ordered pass over the purchases
bucketed in Python (buckets.py) instead.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, datetime

from crm_cli import periods
from crm_cli.db import utc_iso
from crm_cli.reports import buckets

PURCHASES = (  # persons' purchases before the cut
    "kind = 'purchase' AND happened_at < :cut AND contact_id NOT IN (SELECT id FROM contacts WHERE kind <> 'person')"
)
JDN_OF_ORDINAL_0 = 1721425  # julian day number of date.fromordinal(1) minus 1


def _period_sql(bucketer: buckets.Bucketer) -> str:
    """SQL for Bucketer.of(happened_at), the local day being SQLite's julianday with LocalDays.modifier
    bound as :modifier: week index (date ordinal - 1) // 7; month index year * 12 + month - 1, found by rounding the
    days from 2000-01-01 to the start of the month to months of 30.436875 days (every month start of the
    years 1-9999 is within 3 days of that); quarter and year: the month index // 3 and // 12."""
    if bucketer.period == "week":
        return "((CAST(julianday(happened_at, :modifier) + 0.5 AS INTEGER) - 1721426) / 7)"
    month = (
        "(CAST(round((julianday(happened_at, :modifier, 'start of month') - 2451544.5) / 30.436875) AS INTEGER)"
        " + 24000)"
    )
    return {"month": month, "quarter": f"({month} / 3)", "year": f"({month} / 12)"}[bucketer.period]


def _count_bits(cursor: sqlite3.Cursor, bucketer: buckets.Bucketer, bounds: dict, base: int, width: int):
    """(sizes, matrix, repeaters, active, stayed) with period base + b as bit b (0 <= b < width <= 63) of
    each customer's set of periods; purchases before base shift out (SQLite makes 1 << -n zero)."""
    from itertools import compress, repeat
    from operator import and_, rshift

    member = "min(happened_at) >= :start" if bounds["start"] else "1"
    patterns = cursor.execute(
        f"""SELECT member, repeat, periods, count(*)
            FROM (SELECT {member} AS member, count(*) >= 2 AS repeat,
                         sum(DISTINCT 1 << ({_period_sql(bucketer)} - {base})) AS periods
                  FROM interactions WHERE {PURCHASES} GROUP BY contact_id)
            GROUP BY member, repeat, periods""",
        bounds,
    ).fetchall()
    # customers per pattern, grouped by cohort (the lowest bit; None: first purchase before --from)
    groups: dict = defaultdict(lambda: [[], [], 0])  # cohort -> [bit sets, customers, repeat customers]
    for in_range, repeat_, bits, customers in patterns:
        group = groups[(bits & -bits).bit_length() - 1 if in_range else None]
        group[0].append(bits)
        group[1].append(customers)
        group[2] += customers if repeat_ else 0
    sizes, matrix, repeaters, active, stayed = {}, defaultdict(int), {}, defaultdict(int), defaultdict(int)
    for cohort, (sets, customers, repeat_customers) in groups.items():
        if cohort is not None:
            sizes[base + cohort] = sum(customers)
            repeaters[base + cohort] = repeat_customers
        for b in range(cohort or 0, width):  # customers of the group buying in period base + b
            n = sum(compress(customers, map(and_, sets, repeat(1 << b))))
            if n:
                active[base + b] += n
                if cohort is not None:
                    matrix[(base + cohort, base + b)] = n
        twice = list(map(and_, sets, map(rshift, sets, repeat(1))))  # bit b: buying in base + b and the next
        for b in range(cohort or 0, width - 1):
            n = sum(compress(customers, map(and_, twice, repeat(1 << b))))
            if n:
                stayed[base + b] += n
    return sizes, matrix, repeaters, active, stayed


def _count_rows(cursor: sqlite3.Cursor, bucketer: buckets.Bucketer, bounds: dict):
    """(sizes, matrix, repeaters, active, stayed) from one ordered pass over the purchases: each with its
    local day as an integer (SQLite's julianday with LocalDays.modifier: JDN = floor(jd + 0.5); ints cross
    into Python cheaper than text), negated when before --from (so no extra value crosses per row)."""
    sizes: defaultdict = defaultdict(int)
    matrix: defaultdict = defaultdict(int)
    repeaters: defaultdict = defaultdict(int)
    active: defaultdict = defaultdict(int)
    stayed: defaultdict = defaultdict(int)
    day_sql = "CAST(julianday(happened_at, :modifier) + 0.5 AS INTEGER)"
    day = f"CASE WHEN happened_at >= :start THEN {day_sql} ELSE -{day_sql} END" if bounds["start"] else day_sql
    rows = cursor.execute(
        f"SELECT contact_id, {day} FROM interactions WHERE {PURCHASES} ORDER BY contact_id, happened_at", bounds
    )
    indexes: dict[int, int] = {}  # ± local day (julian day number) -> period index
    current, cohort, previous, count, member = None, 0, 0, 0, False
    for contact_id, day in rows:
        k = indexes.get(day)
        if k is None:
            k = indexes[day] = bucketer.of_day(date.fromordinal(abs(day) - JDN_OF_ORDINAL_0))
        if contact_id != current:
            if member and count >= 2:
                repeaters[cohort] += 1
            current, cohort, previous, count = contact_id, k, k, 0
            member = day > 0
            if member:
                sizes[k] += 1
                matrix[(k, k)] += 1
            active[k] += 1
        elif k != previous:
            if k == previous + 1:
                stayed[previous] += 1
            if member:
                matrix[(cohort, k)] += 1
            active[k] += 1
            previous = k
        count += 1
    if member and count >= 2:
        repeaters[cohort] += 1
    return sizes, matrix, repeaters, active, stayed


def retention(conn: sqlite3.Connection, *, now: datetime, period: str = "month", rng: periods.Range | None = None):
    """{"cohorts": [row, …], "summary": {…}}; see the module docstring for the definitions."""
    rng = rng or periods.Range(None, None)
    bucketer = buckets.Bucketer(period, now)
    start, end_cut = rng.text_bounds()  # purchases after --to are ignored; without it none
    end = utc_iso(min(rng.end, now)) if rng.end else utc_iso(now)  # periods end by then to be complete
    bounds = {"modifier": bucketer.days.modifier, "start": start, "cut": end_cut}
    cursor = conn.cursor()
    cursor.row_factory = None
    # the first and last purchases: where the cohorts begin (without --from) and which periods to count
    earliest, latest = cursor.execute(
        f"SELECT (SELECT min(happened_at) FROM interactions WHERE {PURCHASES}),"
        f" (SELECT max(happened_at) FROM interactions WHERE {PURCHASES})",
        bounds,
    ).fetchone()
    win = buckets.window(bucketer, rng, now, None if start else earliest)
    base = win.first - 1  # the period before the first shown: its buyers are the first one's churn base
    width = max(bucketer.of(latest), win.last) - base + 1 if latest else 0  # periods base … the last counted
    if earliest is None:
        sizes, matrix, repeaters, active, stayed = {}, {}, {}, {}, {}
    elif width <= 63:
        sizes, matrix, repeaters, active, stayed = _count_bits(cursor, bucketer, bounds, base, width)
    else:
        sizes, matrix, repeaters, active, stayed = _count_rows(cursor, bucketer, bounds)
    rows = []
    for c in sorted(sizes):
        size = sizes[c]
        retained = [matrix[(c, k)] for k in range(c, win.last + 1)]
        rows.append(
            {
                "cohort": bucketer.label(c),
                "cohort_start": bucketer.start(c).isoformat(),
                "size": size,
                "retained": retained,
                "retention": [round(n / size, 4) for n in retained],
                "repeat_customers": repeaters[c],
                "repeat_rate": buckets.rate(repeaters[c], size),
            }
        )

    churn = []
    for k in win.indexes:
        before = active.get(k - 1, 0)
        if not before:
            continue
        churn.append(
            {
                "period": bucketer.label(k),
                "customers_before": before,
                "retained": stayed[k - 1],
                "churned": before - stayed[k - 1],
                "churn_rate": buckets.rate(before - stayed[k - 1], before),
                "complete": buckets.is_complete(bucketer, k, end),
            }
        )
    complete = [c for c in churn if c["complete"]]
    customers = sum(sizes.values())
    repeat = sum(repeaters.values())
    summary = {
        "period": bucketer.period,
        "from": bucketer.start(win.first).isoformat(),
        "to": buckets.last_day(rng, now).isoformat(),
        "cohorts": len(rows),
        "customers": customers,
        "repeat_customers": repeat,
        "repeat_purchase_rate": buckets.rate(repeat, customers),
        "churn_period": complete[-1]["period"] if complete else None,
        "churn_rate": complete[-1]["churn_rate"] if complete else None,
        "churn": churn,
    }
    return {"cohorts": rows, "summary": summary}
