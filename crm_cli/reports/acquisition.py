"""Acquisition: new contacts and new customers per period and by source, lead -> customer conversion
by source, and the growth rate of the customer base.

- New contacts: persons created in the period. New customers: persons whose FIRST purchase falls in
  the period. Source: the contact's `source` (None when unknown).
- Conversion by source: of the persons created in the range from that source, the share that had
  made a purchase by the end of the range.
- Customer base at the end of a period: persons whose first purchase came before that end.
  growth_rate = (base at end - base at start) / base at start (None when the base was empty).
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections import Counter, defaultdict
from datetime import datetime

from crm_cli import periods
from crm_cli.db import utc_iso
from crm_cli.reports import buckets


def acquisition(conn: sqlite3.Connection, *, now: datetime, period: str = "month", rng: periods.Range | None = None):
    """{"rows": [per period], "sources": [per source], "summary": {...}}."""
    rng = rng or periods.Range(None, None)
    bucketer = buckets.Bucketer(period, now)
    start = utc_iso(rng.start) if rng.start else ""
    end = utc_iso(rng.end) if rng.end else "~"
    of = bucketer.fast()

    clause, params = rng.sql("created_at")
    created = conn.execute(
        f"SELECT created_at, source FROM contacts WHERE kind = 'person' AND {clause}", params
    ).fetchall()
    customers = conn.execute(
        """SELECT f.first_at, c.source, c.created_at
           FROM (SELECT contact_id, min(happened_at) AS first_at FROM interactions
                 WHERE kind = 'purchase' GROUP BY contact_id) f
           JOIN contacts c ON c.id = f.contact_id
           WHERE c.kind = 'person'"""
    ).fetchall()

    firsts = sorted(row[0] for row in customers)
    in_range = [row for row in customers if start <= row[0] < end]
    earliest = min([row[0] for row in created] + [row[0] for row in in_range], default=None)
    win = buckets.window(bucketer, rng, now, earliest)

    new_contacts: Counter = Counter()
    contacts_by_source: dict = defaultdict(Counter)
    source_contacts: Counter = Counter()
    for at, source in created:
        k = of(at)
        new_contacts[k] += 1
        contacts_by_source[k][source] += 1
        source_contacts[source] += 1
    new_customers: Counter = Counter()
    customers_by_source: dict = defaultdict(Counter)
    source_customers: Counter = Counter()
    for first_at, source, _ in in_range:
        k = of(first_at)
        new_customers[k] += 1
        customers_by_source[k][source] += 1
        source_customers[source] += 1
    converted: Counter = Counter()
    for first_at, source, created_at in customers:
        if start <= created_at < end and first_at < end:
            converted[source] += 1

    rows = []
    for k, k_start, k_end in win.bounds():
        base_start = bisect_left(firsts, k_start)
        base_end = bisect_left(firsts, k_end)
        rows.append(
            {
                "period": bucketer.label(k),
                "period_start": bucketer.start(k).isoformat(),
                "new_contacts": new_contacts[k],
                "new_customers": new_customers[k],
                "customer_base": base_end,
                "growth_rate": buckets.rate(base_end - base_start, base_start),
                "new_contacts_by_source": _named(contacts_by_source[k]),
                "new_customers_by_source": _named(customers_by_source[k]),
            }
        )

    sources = []
    for source in sorted(set(source_contacts) | set(source_customers), key=lambda s: (-source_contacts[s], s or "")):
        sources.append(
            {
                "source": source,
                "new_contacts": source_contacts[source],
                "converted": converted[source],
                "conversion_rate": buckets.rate(converted[source], source_contacts[source]),
                "new_customers": source_customers[source],
                "share_of_new_customers": buckets.rate(source_customers[source], len(in_range)),
            }
        )

    first_start = win.bounds()[0][1]
    last_end = win.bounds()[-1][2]
    base_start, base_end = bisect_left(firsts, first_start), bisect_left(firsts, last_end)
    summary = {
        "period": bucketer.period,
        "from": bucketer.start(win.first).isoformat(),
        "to": buckets.last_day(rng, now).isoformat(),
        "new_contacts": len(created),
        "new_customers": len(in_range),
        "converted": sum(converted.values()),
        "conversion_rate": buckets.rate(sum(converted.values()), len(created)),
        "customers_at_start": base_start,
        "customers_at_end": base_end,
        "growth_rate": buckets.rate(base_end - base_start, base_start),
    }
    return {"rows": rows, "sources": sources, "summary": summary}


def _named(counter: Counter) -> dict:
    """{source: n} with unknown sources under "" (JSON object keys must be text), biggest first."""
    return {(k if k is not None else ""): v for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0] or ""))}
