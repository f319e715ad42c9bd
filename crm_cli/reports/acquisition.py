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
from crm_cli.reports import buckets


def acquisition(conn: sqlite3.Connection, *, now: datetime, period: str = "month", rng: periods.Range | None = None):
    """{"rows": [per period], "sources": [per source], "summary": {...}}."""
    rng = rng or periods.Range(None, None)
    bucketer = buckets.Bucketer(period, now)
    start, end = rng.text_bounds()
    cursor = conn.cursor()
    cursor.row_factory = None
    modifier = bucketer.days.modifier
    # Counted by SQLite per local day and source; groups in the order of their first contact, so the
    # counters below see each (period, source) in the order the rows would have come.
    clause, params = rng.sql("created_at")
    created = cursor.execute(
        f"""SELECT date(created_at, ?), source, count(*), min(created_at), min(id) FROM contacts
            WHERE kind = 'person' AND {clause} GROUP BY 1, 2 ORDER BY 5""",
        [modifier, *params],
    ).fetchall()
    customers = cursor.execute(
        """SELECT date(f.first_at, ?), c.source, count(*),
                  sum(f.first_at >= ? AND f.first_at < ?),
                  min(CASE WHEN f.first_at >= ? AND f.first_at < ? THEN f.first_at END),
                  sum(c.created_at >= ? AND c.created_at < ? AND f.first_at < ?), min(f.contact_id)
           FROM (SELECT contact_id, min(happened_at) AS first_at FROM interactions
                 WHERE kind = 'purchase' GROUP BY contact_id) f
           JOIN contacts c ON c.id = f.contact_id
           WHERE c.kind = 'person'
           GROUP BY 1, 2 ORDER BY 7""",
        [modifier, start, end, start, end, start, end, end],
    ).fetchall()
    of = bucketer.of_day_text

    firsts: dict[str, int] = defaultdict(int)  # local day of a first purchase -> customers
    in_range = 0
    earliest = min([row[3] for row in created] + [row[4] for row in customers if row[4]], default=None)
    win = buckets.window(bucketer, rng, now, earliest)

    new_contacts: Counter = Counter()
    contacts_by_source: dict = defaultdict(Counter)
    source_contacts: Counter = Counter()
    for day, source, n, _, _ in created:
        k = of(day)
        new_contacts[k] += n
        contacts_by_source[k][source] += n
        source_contacts[source] += n
    new_customers: Counter = Counter()
    customers_by_source: dict = defaultdict(Counter)
    source_customers: Counter = Counter()
    converted: Counter = Counter()
    for day, source, n, n_in_range, _, n_converted, _ in customers:
        firsts[day] += n
        if n_in_range:
            k = of(day)
            new_customers[k] += n_in_range
            customers_by_source[k][source] += n_in_range
            source_customers[source] += n_in_range
            in_range += n_in_range
        if n_converted:
            converted[source] += n_converted
    days = sorted(firsts)
    before = [0]  # customers whose first purchase came before days[i]
    for day in days:
        before.append(before[-1] + firsts[day])

    def base(k: int) -> int:
        """Customers whose first purchase came before period k started."""
        return before[bisect_left(days, bucketer.start(k).isoformat())]

    rows = []
    for k in win.indexes:
        base_start, base_end = base(k), base(k + 1)
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
                "share_of_new_customers": buckets.rate(source_customers[source], in_range),
            }
        )

    base_start, base_end = base(win.first), base(win.last + 1)
    summary = {
        "period": bucketer.period,
        "from": bucketer.start(win.first).isoformat(),
        "to": buckets.last_day(rng, now).isoformat(),
        "new_contacts": sum(source_contacts.values()),
        "new_customers": in_range,
        "converted": sum(converted.values()),
        "conversion_rate": buckets.rate(sum(converted.values()), sum(source_contacts.values())),
        "customers_at_start": base_start,
        "customers_at_end": base_end,
        "growth_rate": buckets.rate(base_end - base_start, base_start),
    }
    return {"rows": rows, "sources": sources, "summary": summary}


def _named(counter: Counter) -> dict:
    """{source: n} with unknown sources under "" (JSON object keys must be text), biggest first."""
    return {(k if k is not None else ""): v for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0] or ""))}
