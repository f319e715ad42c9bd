"""Service: support requests (interactions kind='support') opened and resolved per period, the open
backlog at the end of each period, time to resolution, and the oldest open requests.

- Time to resolution: resolved_at - happened_at, in hours; per period and in the summary for the
  requests RESOLVED in that period / range. Mean and median.
- Backlog at the end of a period: requests opened before that end and not resolved before it.
- open_now and oldest_open ignore --from/--to: they are the state of things now.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections import defaultdict
from datetime import datetime
from statistics import median

from crm_cli import periods
from crm_cli.reports import buckets


def _hours(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(sum(values) / len(values), 2), round(median(values), 2)


def _running(days: list[tuple]):
    """(local day, count, …) rows -> f(first day) = the count of the days before it."""
    ordered = sorted((row[0], row[1]) for row in days)
    keys, before = [day for day, _ in ordered], [0]
    for _, n in ordered:
        before.append(before[-1] + n)
    return lambda day: before[bisect_left(keys, day.isoformat())]


def oldest_open(conn: sqlite3.Connection, *, now: datetime, limit: int = 5) -> list[dict]:
    rows = conn.execute(
        """SELECT i.id, i.contact_id, c.name, i.summary, i.happened_at
           FROM interactions i JOIN contacts c ON c.id = i.contact_id
           WHERE i.kind = 'support' AND i.status = 'open'
           ORDER BY i.happened_at, i.id LIMIT ?""",
        (limit,),
    ).fetchall()
    stamp = now.timestamp()

    def age(opened: str) -> float:
        return (stamp - datetime.fromisoformat(opened.replace("Z", "+00:00")).timestamp()) / 3600

    return [
        {
            "id": r[0],
            "contact_id": r[1],
            "contact": r[2],
            "summary": r[3],
            "opened_at": r[4],
            "age_hours": round(age(r[4]), 1),
            "age_days": round(age(r[4]) / 24, 1),
        }
        for r in rows
    ]


def service(
    conn: sqlite3.Connection,
    *,
    now: datetime,
    period: str = "month",
    rng: periods.Range | None = None,
    oldest: int = 5,
) -> dict:
    """{"rows": [per period], "summary": {...}}."""
    rng = rng or periods.Range(None, None)
    bucketer = buckets.Bucketer(period, now)
    start, end = rng.text_bounds()
    cursor = conn.cursor()
    cursor.row_factory = None
    modifier = bucketer.days.modifier
    # Per local day (SQLite): requests opened (all, and in the range) and resolved.
    opened_days = cursor.execute(
        """SELECT date(happened_at, ?), count(*), sum(happened_at >= ? AND happened_at < ?),
                  min(CASE WHEN happened_at >= ? AND happened_at < ? THEN happened_at END)
           FROM interactions WHERE kind = 'support' GROUP BY 1""",
        (modifier, start, end, start, end),
    ).fetchall()
    resolved_days = cursor.execute(
        """SELECT date(resolved_at, ?), count(*),
                  min(CASE WHEN resolved_at >= ? AND resolved_at < ? THEN resolved_at END)
           FROM interactions
           WHERE kind = 'support' AND status = 'resolved' AND resolved_at IS NOT NULL AND resolved_at <> ''
           GROUP BY 1""",
        (modifier, start, end),
    ).fetchall()
    # Resolution times of the requests resolved in the range, in table order (the means add them up so).
    resolved_in_range = cursor.execute(
        """SELECT date(resolved_at, ?), (julianday(resolved_at) - julianday(happened_at)) * 24
           FROM interactions INDEXED BY interactions_support
           WHERE kind = 'support' AND status = 'resolved' AND resolved_at <> '' AND resolved_at >= ? AND resolved_at < ?
           ORDER BY id""",
        (modifier, start, end),
    ).fetchall()
    earliest = min([r[3] for r in opened_days if r[3]] + [r[2] for r in resolved_days if r[2]], default=None)
    win = buckets.window(bucketer, rng, now, earliest)
    of = bucketer.of_day_text

    opened: dict = defaultdict(int)
    for day, _, n, _ in opened_days:
        if n:
            opened[of(day)] += n
    durations: dict = defaultdict(list)
    for day, hours in resolved_in_range:
        durations[of(day)].append(max(0.0, hours))
    opened_before = _running(opened_days)
    resolved_before = _running(resolved_days)

    rows = []
    for k in win.indexes:
        mean_h, median_h = _hours(durations[k])
        rows.append(
            {
                "period": bucketer.label(k),
                "period_start": bucketer.start(k).isoformat(),
                "opened": opened[k],
                "resolved": len(durations[k]),
                "backlog": opened_before(bucketer.start(k + 1)) - resolved_before(bucketer.start(k + 1)),
                "mean_hours": mean_h,
                "median_hours": median_h,
            }
        )
    all_hours = [max(0.0, r[1]) for r in resolved_in_range]
    mean_h, median_h = _hours(all_hours)
    summary = {
        "period": bucketer.period,
        "from": bucketer.start(win.first).isoformat(),
        "to": buckets.last_day(rng, now).isoformat(),
        "opened": sum(r[2] for r in opened_days),
        "resolved": len(resolved_in_range),
        "mean_resolution_hours": mean_h,
        "median_resolution_hours": median_h,
        "open_now": cursor.execute(
            "SELECT count(*) FROM interactions WHERE kind = 'support' AND status = 'open'"
        ).fetchone()[0],
        "oldest_open": oldest_open(conn, now=now, limit=oldest),
    }
    return {"rows": rows, "summary": summary}
