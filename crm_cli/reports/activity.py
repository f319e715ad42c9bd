"""Activity: interactions per period by kind, and how follow-ups were kept.

- Interactions are counted in the period they happened (every kind, people and organisations).
- Follow-ups are counted in the period they were DUE (follow_up_at). Done on time: done on or before
  the local due day; late: done after it; overdue: not done and due before now; upcoming: not done,
  due later. on_time_rate = on time / done.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from datetime import date, datetime

from crm_cli import periods
from crm_cli.db import utc_iso
from crm_cli.interactions import KINDS
from crm_cli.reports import buckets

FOLLOW_UP_KEYS = ("follow_ups_due", "done_on_time", "done_late", "overdue", "upcoming")


def activity(
    conn: sqlite3.Connection, *, now: datetime, period: str = "month", rng: periods.Range | None = None
) -> dict:
    """{"rows": [per period], "summary": {...}}."""
    rng = rng or periods.Range(None, None)
    bucketer = buckets.Bucketer(period, now)
    stamp = utc_iso(now)
    clause, params = rng.sql("follow_up_at")
    cursor = conn.cursor()
    cursor.row_factory = None
    # Follow-ups per local due day (SQLite): due, done on time (on or before the local due day), done
    # late, overdue (not done, due before now), upcoming.
    follow_ups = cursor.execute(
        f"""SELECT day, count(*), sum(done AND done_day <= day), sum(done AND done_day > day),
                   sum(NOT done AND follow_up_at < ?), sum(NOT done AND follow_up_at >= ?), min(follow_up_at)
            FROM (SELECT follow_up_at, date(follow_up_at, ?) AS day, date(follow_up_done_at, ?) AS done_day,
                         coalesce(follow_up_done_at, '') <> '' AS done
                  FROM interactions WHERE follow_up_at IS NOT NULL AND {clause})
            GROUP BY day""",
        [stamp, stamp, bucketer.days.modifier, bucketer.days.modifier, *params],
    ).fetchall()
    if rng.start:
        earliest = None
    else:
        first = conn.execute("SELECT min(happened_at) FROM interactions").fetchone()[0]
        earliest = min([first] + [f[6] for f in follow_ups if f[6]], default=None) if first else None
    win = buckets.window(bucketer, rng, now, earliest)

    # Counting per period over the (happened_at, kind) index: range scans, no sort of a million rows.
    sums = ", ".join(f"sum(kind = '{kind}')" for kind in KINDS)
    kinds: dict = {}
    lo, hi = rng.text_bounds()
    for k, k_start, k_end in win.bounds():
        row = conn.execute(
            f"SELECT {sums} FROM interactions WHERE happened_at >= ? AND happened_at < ?",
            (max(k_start, lo), min(k_end, hi)),
        ).fetchone()
        kinds[k] = [n or 0 for n in row]

    tallies: dict = defaultdict(Counter)
    for day, due, on_time, late, overdue, upcoming, _ in follow_ups:
        t = tallies[bucketer.of_day(date.fromisoformat(day))]
        t["follow_ups_due"] += due
        for key, n in (("done_on_time", on_time), ("done_late", late), ("overdue", overdue), ("upcoming", upcoming)):
            if n:
                t[key] += n

    rows, totals = [], Counter()
    for k in win.indexes:
        counts = dict(zip(KINDS, kinds[k], strict=True))
        t = tallies[k]
        totals.update(counts)
        totals.update(t)
        rows.append(
            {
                "period": bucketer.label(k),
                "period_start": bucketer.start(k).isoformat(),
                **counts,
                "total": sum(counts.values()),
                **{key: t[key] for key in FOLLOW_UP_KEYS},
                "on_time_rate": buckets.rate(t["done_on_time"], t["done_on_time"] + t["done_late"]),
            }
        )
    summary = {
        "period": bucketer.period,
        "from": bucketer.start(win.first).isoformat(),
        "to": buckets.last_day(rng, now).isoformat(),
        **{kind: totals[kind] for kind in KINDS},
        "total": sum(totals[kind] for kind in KINDS),
        **{key: totals[key] for key in FOLLOW_UP_KEYS},
        "on_time_rate": buckets.rate(totals["done_on_time"], totals["done_on_time"] + totals["done_late"]),
    }
    return {"rows": rows, "summary": summary}
