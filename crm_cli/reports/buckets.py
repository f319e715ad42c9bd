"""Report periods for stored UTC instants, fast enough for a million rows.

A report groups instants by the LOCAL calendar (a purchase at 22:00 UTC on 31 January is a February
purchase in Riyadh). Calling SQLite's date() or Python's astimezone() per row costs 0.5-2 µs; instead
LocalDays caches, per UTC day, the one instant where the local date changes, so each row costs a
string slice, a dict lookup and one string comparison. The same local time as dates.py and
periods.local_date: the system zone's rules at each instant, daylight saving included.

Periods are numbered by an ordinal index (consecutive periods differ by 1), so "the next period" is +1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from crm_cli import periods


def index_of(day: date, period: str) -> int:
    if period == "week":
        return (day.toordinal() - 1) // 7  # date(1, 1, 1) is a Monday, ordinal 1
    if period == "month":
        return day.year * 12 + day.month - 1
    if period == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    return day.year


def start_of_index(index: int, period: str) -> date:
    if period == "week":
        return date.fromordinal(index * 7 + 1)
    if period == "month":
        return date(index // 12, index % 12 + 1, 1)
    if period == "quarter":
        return date(index // 4, (index % 4) * 3 + 1, 1)
    return date(index, 1, 1)


class LocalDays:
    """Stored UTC text ('YYYY-MM-DDTHH:MM:SSZ') -> the local calendar day's ordinal."""

    def __init__(self, now: datetime):
        self._cache: dict[str, tuple[str, int, int]] = {}

    @property
    def modifier(self) -> str:
        """SQLite's date(instant, modifier) gives the same local day: 'localtime'."""
        from crm_cli.dates import local_shift_sql

        return local_shift_sql()

    def _split(self, key: str) -> tuple[str, int, int]:
        from crm_cli.dates import local_day_start, local_now

        midnight = datetime.combine(date.fromisoformat(key), time(0), UTC)
        first = local_now(midnight).date()
        change = local_day_start(first + timedelta(days=1))  # where the next local day begins
        text = change.strftime("%Y-%m-%dT%H:%M:%SZ") if change < midnight + timedelta(days=1) else "~"
        entry = self._cache[key] = (text, first.toordinal(), first.toordinal() + 1)
        return entry

    def ordinal(self, at: str) -> int:
        entry = self._cache.get(at[:10]) or self._split(at[:10])
        return entry[1] if at < entry[0] else entry[2]

    def day(self, at: str) -> date:
        return date.fromordinal(self.ordinal(at))


class Bucketer:
    """Stored instants -> period indexes; labels and UTC bounds of each period."""

    def __init__(self, period: str, now: datetime, days: LocalDays | None = None):
        self.period = periods.check_period(period)
        self.days = days or LocalDays(now)
        self._cache: dict[int, int] = {}
        self._by_day_text: dict[str, int] = {}

    def of(self, at: str) -> int:
        return self.of_ordinal(self.days.ordinal(at))

    def of_ordinal(self, ordinal: int) -> int:
        index = self._cache.get(ordinal)
        if index is None:
            index = self._cache[ordinal] = index_of(date.fromordinal(ordinal), self.period)
        return index

    def fast(self):
        """of() for hot loops: the same answer with the method calls inlined (~2x faster per row)."""
        day_get, split = self.days._cache.get, self.days._split
        index_get, of_ordinal = self._cache.get, self.of_ordinal

        def of(at: str) -> int:
            entry = day_get(at[:10]) or split(at[:10])
            ordinal = entry[1] if at < entry[0] else entry[2]
            return index_get(ordinal) or of_ordinal(ordinal)

        return of

    def of_day(self, day: date) -> int:
        return index_of(day, self.period)

    def of_day_text(self, day: str) -> int:
        """of_day() for the 'YYYY-MM-DD' text SQLite's date() gives; cached per day."""
        index = self._by_day_text.get(day)
        if index is None:
            index = self._by_day_text[day] = index_of(date.fromisoformat(day), self.period)
        return index

    def start(self, index: int) -> date:
        return start_of_index(index, self.period)

    def label(self, index: int) -> str:
        return periods.label(self.start(index), self.period)

    def start_utc(self, index: int) -> str:
        from crm_cli.dates import local_day_start
        from crm_cli.db import utc_iso

        return utc_iso(local_day_start(self.start(index)))


@dataclass
class Window:
    """The periods a report shows: indexes first..last inclusive, and the instants they cover."""

    bucketer: Bucketer
    first: int
    last: int

    @property
    def indexes(self) -> range:
        return range(self.first, self.last + 1)

    def bounds(self) -> list[tuple[int, str, str]]:
        """(index, start instant, end instant) for every period, UTC text, end exclusive."""
        b = self.bucketer
        starts = [b.start_utc(i) for i in range(self.first, self.last + 2)]
        return [(i, starts[n], starts[n + 1]) for n, i in enumerate(self.indexes)]


def window(bucketer: Bucketer, rng: periods.Range, now: datetime, earliest: str | None) -> Window:
    """--from/--to as periods; without --from, from the period of `earliest` (the first data row). Never past
    the period of today: later periods have not happened (a --to or --from after today ends at today)."""
    from crm_cli.db import utc_iso

    days = bucketer.days
    last = bucketer.of_day(last_day(rng, now))
    if rng.start:
        first = bucketer.of_day(days.day(utc_iso(rng.start)))
    elif earliest:
        first = bucketer.of(earliest)
    else:
        first = last
    return Window(bucketer, min(first, last), last)


def last_day(rng: periods.Range, now: datetime) -> date:
    """The last local day a report covers: the day before --to's exclusive end, else (and at the latest)
    today."""
    from crm_cli.db import utc_iso

    return LocalDays(now).day(utc_iso(end_instant(rng, now)))


def end_instant(rng: periods.Range, now: datetime) -> datetime:
    """The last instant a report covers: the end of --to's day, but never after now (a --to in the future
    covers what has happened so far, like the default range: the current period stays incomplete)."""
    return min(rng.end - timedelta(seconds=1), now) if rng.end else now


def is_complete(bucketer: Bucketer, index: int, end: str) -> bool:
    """Has period `index` ended by the instant `end` (UTC text)?"""
    return bucketer.start_utc(index + 1) <= end


def rate(part: int | float, whole: int | float, places: int = 4) -> float | None:
    """A fraction 0-1 for JSON (None when there is nothing to divide by)."""
    return round(part / whole, places) if whole else None
