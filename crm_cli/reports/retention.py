"""Retention: cohorts by period of first purchase, the repeat purchase rate, and churn.

Definitions (README "Reports"):
- A customer is a person (contacts.kind='person') with at least one purchase (interactions
  kind='purchase'; won deals are logged as purchases). Their cohort is the local period of their FIRST
  purchase ever; --from/--to keep the cohorts whose first purchase falls in the range and ignore
  purchases after --to.
- retention[k] = share of the cohort that purchased in period cohort+k (k = 0 is always 1.0), for every
  period up to the end of the range (default: now; the last period may be incomplete).
- repeat purchase rate = customers with 2+ purchases / customers (cohorts in the range).
- churn of period P = share of the customers who purchased in P-1 and did not purchase in P; the
  headline churn_rate is the last COMPLETE period's.

One ordered pass over the covering purchase index, bucketed in Python (buckets.py): ~0.3 s CPU for
300k purchases, cheaper than the equivalent SQL with window functions or a self-join.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, datetime

from crm_cli import periods
from crm_cli.db import utc_iso
from crm_cli.reports import buckets

PERSONS_ONLY = "contact_id NOT IN (SELECT id FROM contacts WHERE kind <> 'person')"
JDN_OF_ORDINAL_0 = 1721425  # julian day number of date.fromordinal(1) minus 1


def retention(conn: sqlite3.Connection, *, now: datetime, period: str = "month", rng: periods.Range | None = None):
    """{"cohorts": [row, …], "summary": {…}}; see the module docstring for the definitions."""
    rng = rng or periods.Range(None, None)
    bucketer = buckets.Bucketer(period, now)
    start, end_cut = rng.text_bounds()  # purchases after --to are ignored; without it none
    end = utc_iso(rng.end) if rng.end else utc_iso(now)
    sizes: defaultdict = defaultdict(int)  # cohort -> customers
    matrix: defaultdict = defaultdict(int)  # (cohort, period) -> customers of the cohort buying in that period
    repeaters: defaultdict = defaultdict(int)  # cohort -> customers with 2+ purchases
    active: defaultdict = defaultdict(int)  # period -> customers buying in it (all cohorts)
    stayed: defaultdict = defaultdict(int)  # period -> customers buying in it and in the next one
    earliest = None

    # Persons' purchases before the cut, in order per customer, each with its local day as an integer
    # (SQLite's julianday at the fixed offset: JDN = floor(jd + 0.5); ints cross into Python cheaper than
    # text), negated when before --from (so no instant text and no extra value crosses per row).
    cursor = conn.cursor()
    cursor.row_factory = None
    day_sql = "CAST(julianday(happened_at, ?) + 0.5 AS INTEGER)"
    where = f"kind = 'purchase' AND happened_at < ? AND {PERSONS_ONLY}"
    if start:
        rows = cursor.execute(
            f"SELECT contact_id, CASE WHEN happened_at >= ? THEN {day_sql} ELSE -{day_sql} END FROM interactions"
            f" WHERE {where} ORDER BY contact_id, happened_at",
            (start, bucketer.days.modifier, bucketer.days.modifier, end_cut),
        )
    else:  # everyone is in range: the earliest purchase alone says where the cohorts begin
        earliest = cursor.execute(f"SELECT min(happened_at) FROM interactions WHERE {where}", (end_cut,)).fetchone()[0]
        rows = cursor.execute(
            f"SELECT contact_id, {day_sql} FROM interactions WHERE {where} ORDER BY contact_id, happened_at",
            (bucketer.days.modifier, end_cut),
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

    win = buckets.window(bucketer, rng, now, earliest)
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
        "from": bucketer.start(win.first).isoformat() if rows else None,
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
