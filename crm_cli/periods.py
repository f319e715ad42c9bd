"""Report periods: `--period week|month|quarter|year`, `--from/--to`, and bucketing instants."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crm_cli.errors import InvalidInput

PERIODS = ("week", "month", "quarter", "year")


def check_period(period: str) -> str:
    p = (period or "").strip().lower()
    if p not in PERIODS:
        raise InvalidInput(f"invalid --period {period!r}; choose one of: {', '.join(PERIODS)}")
    return p


def label(day: date, period: str) -> str:
    """The bucket a local date falls in: 2026-W47, 2026-11, 2026-Q4, 2026."""
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def start_of(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def next_start(day: date, period: str) -> date:
    start = start_of(day, period)
    if period == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def buckets(first: date, last: date, period: str) -> list[str]:
    """Every bucket label from first to last inclusive, so empty periods still show."""
    labels, day = [], start_of(first, period)
    while day <= last:
        labels.append(label(day, period))
        day = next_start(day, period)
    return labels


def local_date(iso: str) -> date:
    """Stored UTC text -> the local calendar date it falls on."""
    from crm_cli.dates import local_now

    if len(iso) == 10:
        return date.fromisoformat(iso)
    return local_now(datetime.fromisoformat(iso.replace("Z", "+00:00"))).date()


@dataclass
class Range:
    """A report's --from/--to as UTC instants: [start, end). None means open."""

    start: datetime | None
    end: datetime | None

    def sql(self, column: str) -> tuple[str, list]:
        from crm_cli.db import utc_iso

        clauses, params = [], []
        if self.start:
            clauses.append(f"{column} >= ?")
            params.append(utc_iso(self.start))
        if self.end:
            clauses.append(f"{column} < ?")
            params.append(utc_iso(self.end))
        return (" AND ".join(clauses) or "1"), params

    def text_bounds(self) -> tuple[str, str]:
        """[start, end) as stored-instant text, to compare with stored columns as text: an open start is
        '' and an open end '~' (sorts after every instant)."""
        from crm_cli.db import utc_iso

        return (utc_iso(self.start) if self.start else "", utc_iso(self.end) if self.end else "~")


def parse_range(conn: sqlite3.Connection, start: str | None, end: str | None, now: datetime) -> Range:
    """`--from 2026-01-01 --to 2026-03-31`: both local days included."""
    from crm_cli import settings
    from crm_cli.dates import local_day_start, parse_date

    order = settings.date_order(conn)
    first = parse_date(start, now, order) if start else None
    last = parse_date(end, now, order) if end else None
    if first and last and last < first:
        raise InvalidInput(f"--to {end} is before --from {start}")
    return Range(
        local_day_start(first) if first else None,
        local_day_start(last + timedelta(days=1)) if last else None,
    )
