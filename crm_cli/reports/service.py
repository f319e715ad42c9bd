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
from crm_cli.db import utc_iso
from crm_cli.reports import buckets


def _hours(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(sum(values) / len(values), 2), round(median(values), 2)


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
    start = utc_iso(rng.start) if rng.start else ""
    end = utc_iso(rng.end) if rng.end else "~"
    requests = conn.execute(
        """SELECT happened_at, status, resolved_at, (julianday(resolved_at) - julianday(happened_at)) * 24
           FROM interactions WHERE kind = 'support'"""
    ).fetchall()
    opened_all = sorted(r[0] for r in requests)
    resolved_all = sorted(r[2] for r in requests if r[1] == "resolved" and r[2])
    in_range = [r for r in requests if start <= r[0] < end]
    resolved_in_range = [r for r in requests if r[1] == "resolved" and r[2] and start <= r[2] < end]
    earliest = min([r[0] for r in in_range] + [r[2] for r in resolved_in_range], default=None)
    win = buckets.window(bucketer, rng, now, earliest)
    of = bucketer.fast()

    opened: dict = defaultdict(int)
    for r in in_range:
        opened[of(r[0])] += 1
    durations: dict = defaultdict(list)
    for r in resolved_in_range:
        durations[of(r[2])].append(max(0.0, r[3]))

    rows = []
    for k, _, k_end in win.bounds():
        mean_h, median_h = _hours(durations[k])
        rows.append(
            {
                "period": bucketer.label(k),
                "period_start": bucketer.start(k).isoformat(),
                "opened": opened[k],
                "resolved": len(durations[k]),
                "backlog": bisect_left(opened_all, k_end) - bisect_left(resolved_all, k_end),
                "mean_hours": mean_h,
                "median_hours": median_h,
            }
        )
    all_hours = [max(0.0, r[3]) for r in resolved_in_range]
    mean_h, median_h = _hours(all_hours)
    summary = {
        "period": bucketer.period,
        "from": bucketer.start(win.first).isoformat(),
        "to": buckets.last_day(rng, now).isoformat(),
        "opened": len(in_range),
        "resolved": len(resolved_in_range),
        "mean_resolution_hours": mean_h,
        "median_resolution_hours": median_h,
        "open_now": sum(1 for r in requests if r[1] == "open"),
        "oldest_open": oldest_open(conn, now=now, limit=oldest),
    }
    return {"rows": rows, "summary": summary}
