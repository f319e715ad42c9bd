"""Satisfaction: the scores logged with `crm log KIND REF --score N` (interactions.score), per period.

Each score keeps the scale it was logged under (setting satisfaction_scale: csat 1-5 or nps 0-10), so a
database may hold both; each is reported on its own:
- CSAT: average score (1-5, two decimals) and satisfied rate = share of scores 4 or 5.
- NPS: promoters (9-10), passives (7-8), detractors (0-6); nps = %promoters - %detractors, on the usual
  -100..100 scale (one decimal). It is a score, not a 0-1 rate.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, datetime

from crm_cli import periods, settings
from crm_cli.reports import buckets


class Tally:
    __slots__ = ("csat_n", "csat_sum", "satisfied", "promoters", "passives", "detractors")

    def __init__(self):
        self.csat_n = self.csat_sum = self.satisfied = 0
        self.promoters = self.passives = self.detractors = 0

    def add(self, score: int, scale: str, n: int = 1) -> None:
        """n responses of this score."""
        if scale == "nps":
            if score >= 9:
                self.promoters += n
            elif score >= 7:
                self.passives += n
            else:
                self.detractors += n
        else:
            self.csat_n += n
            self.csat_sum += score * n
            self.satisfied += n if score >= 4 else 0

    def figures(self) -> dict:
        nps_n = self.promoters + self.passives + self.detractors
        return {
            "responses": self.csat_n + nps_n,
            "csat_responses": self.csat_n,
            "csat_average": round(self.csat_sum / self.csat_n, 2) if self.csat_n else None,
            "csat_satisfied": self.satisfied,
            "csat_satisfied_rate": buckets.rate(self.satisfied, self.csat_n),
            "nps_responses": nps_n,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "nps": round(100 * (self.promoters - self.detractors) / nps_n, 1) if nps_n else None,
        }


def satisfaction(
    conn: sqlite3.Connection, *, now: datetime, period: str = "month", rng: periods.Range | None = None
) -> dict:
    """{"rows": [per period], "summary": {...}}."""
    rng = rng or periods.Range(None, None)
    bucketer = buckets.Bucketer(period, now)
    clause, params = rng.sql("happened_at")
    cursor = conn.cursor()
    cursor.row_factory = None
    # How many of each score on each local day (SQLite); the tallies only count.
    scores = cursor.execute(
        f"""SELECT date(happened_at, ?), score, coalesce(score_scale, 'csat'), count(*), min(happened_at)
            FROM interactions WHERE score IS NOT NULL AND {clause} GROUP BY 1, 2, 3""",
        [bucketer.days.modifier, *params],
    ).fetchall()
    win = buckets.window(bucketer, rng, now, min((s[4] for s in scores), default=None))
    indexes: dict[str, int] = {}
    tallies: dict = defaultdict(Tally)
    total = Tally()
    for day, score, scale, n, _ in scores:
        k = indexes.get(day)
        if k is None:
            k = indexes[day] = bucketer.of_day(date.fromisoformat(day))
        tallies[k].add(score, scale, n)
        total.add(score, scale, n)
    rows = [
        {"period": bucketer.label(k), "period_start": bucketer.start(k).isoformat(), **tallies[k].figures()}
        for k in win.indexes
    ]
    summary = {
        "period": bucketer.period,
        "from": bucketer.start(win.first).isoformat(),
        "to": buckets.last_day(rng, now).isoformat(),
        "scale": settings.get(conn, "satisfaction_scale") or "csat",
        **total.figures(),
    }
    return {"rows": rows, "summary": summary}
