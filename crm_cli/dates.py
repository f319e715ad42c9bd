"""Every date the user types goes through here.

Accepted: ISO (`2026-11-02`, `2026-11-02 15:30`, `2026-11-02T15:30:00Z`), the configured local order for
slash/dot/dash forms (`02/11/2026` is 2 November with order dmy), relative forms (`now`, `today`,
`tomorrow`, `yesterday`, `+3d`, `-20d`, `+2w`, `+1m`, `+1y`, `in 3 days`, `3 days ago`, `next monday`,
`last friday`, `monday`), an optional time after any of them (`yesterday 15:00`), and month names
(`15 Nov 2026`). ISO is recognised before anything else: dateutil's dayfirst turns `2024-04-03` into
4 March (PITFALLS.md). Years outside 1900-2200 are refused (a Hijri `1445-09-15` is not 1445 AD).

Instants are stored as UTC ISO text (db.utc_iso); a date without a time means local midnight. Local time
follows the system time zone's own rules at each instant (TZ, or /etc/localtime), daylight saving
included: a July purchase at 23:30 UTC is on 1 August in London even when the report runs in winter.
SQLite's 'localtime' modifier (local_shift_sql) reads the same rules through the C library.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone

from crm_cli.errors import InvalidInput
from crm_cli.text import ascii_digits

DATE_ORDERS = ("dmy", "mdy")
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_UNIT_DAYS = {"d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7}
_UNIT_MONTHS = {"m": 1, "month": 1, "months": 1, "y": 12, "year": 12, "years": 12}

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[t ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?\s*(?P<tz>z|[+-]\d{2}:?\d{2})?"
)
_LOCAL = re.compile(r"(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})")
_TIME = re.compile(r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>am|pm)?")
_OFFSET = re.compile(r"(?P<sign>[+-])?(?P<n>\d+)\s*(?P<unit>d|w|m|y|days?|weeks?|months?|years?)")
_SPAN = re.compile(r"(?P<n>\d+)\s*(?P<unit>d|w|m|y|days?|weeks?|months?|years?)")


def local_now(now: datetime) -> datetime:
    """An instant in local time (the offset in force at that instant)."""
    return _to_local(now)


def _to_local(instant: datetime) -> datetime:
    """astimezone(): the system zone's offset at that instant; for an instant the C library cannot place
    (before 1970 on Windows, beyond its range) the offset in force now, as crm did before."""
    try:
        return instant.astimezone()
    except (OSError, OverflowError):
        return instant.astimezone(datetime.now().astimezone().tzinfo)


def _from_local(day: date, moment: time) -> datetime:
    """A local wall-clock time -> aware UTC (a naive datetime's astimezone() reads it as local time)."""
    naive = datetime.combine(day, moment)
    try:
        return naive.astimezone(UTC)
    except (OSError, OverflowError):
        return naive.replace(tzinfo=datetime.now().astimezone().tzinfo).astimezone(UTC)


class _Offsets:
    """The local UTC offset at stored UTC instants ('YYYY-MM-DDTHH:MM:SSZ'), looked up once per UTC hour:
    listings and reports convert thousands of values, and a zone's offset changes only at a transition
    (an hour with one inside is worked out per instant)."""

    __slots__ = ("_hours",)

    def __init__(self):
        self._hours: dict[str, timedelta | None] = {}

    def at(self, iso: str) -> timedelta:
        hour = iso[:13]
        offset = self._hours.get(hour, False)
        if offset is False:
            start = datetime.fromisoformat(hour + ":00:00").replace(tzinfo=UTC)
            first = _to_local(start).utcoffset()
            offset = first if _to_local(start + timedelta(seconds=3599)).utcoffset() == first else None
            self._hours[hour] = offset
        if offset is None:
            return _to_local(datetime.fromisoformat(iso[:19]).replace(tzinfo=UTC)).utcoffset()
        return offset


def _check_year(year: int, raw: str) -> None:
    if not 1900 <= year <= 2200:
        raise InvalidInput(
            f"date {raw!r} has an implausible year {year} (Hijri dates are not accepted); "
            "use a Gregorian date such as 2026-11-02"
        )


def _make_date(year: int, month: int, day: int, raw: str) -> date:
    _check_year(year, raw)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidInput(f"invalid date {raw!r}: {exc}") from None


def _parse_time(text: str, raw: str) -> time:
    m = _TIME.fullmatch(text.strip())
    if not m:
        raise InvalidInput(f"invalid time in {raw!r}; use HH:MM, e.g. 15:30")
    hour, minute, second = int(m["H"]), int(m["M"]), int(m["S"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            raise InvalidInput(f"invalid time in {raw!r}: hour {hour} with {m['ampm']}")
        hour = hour % 12 + (12 if m["ampm"] == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidInput(f"invalid time in {raw!r}; use HH:MM between 00:00 and 23:59")
    return time(hour, minute, second)


def _add_months(day: date, months: int) -> date:
    from dateutil.relativedelta import relativedelta

    return day + relativedelta(months=months)


def _relative_day(text: str, today: date, raw: str) -> date | None:
    """A relative day phrase, or None when text is not one."""
    if text in ("today", "now"):
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if text == "yesterday":
        return today - timedelta(days=1)
    m = _OFFSET.fullmatch(text)
    if m and m["sign"]:
        n = int(m["n"]) * (-1 if m["sign"] == "-" else 1)
        return _shift(today, n, m["unit"])
    m = re.fullmatch(r"in\s+(.+)", text)
    if m and (s := _SPAN.fullmatch(m[1])):
        return _shift(today, int(s["n"]), s["unit"])
    m = re.fullmatch(r"(.+?)\s+ago", text)
    if m and (s := _SPAN.fullmatch(m[1])):
        return _shift(today, -int(s["n"]), s["unit"])
    m = re.fullmatch(r"(?:(next|last|this)\s+)?(mon|tue|wed|thu|fri|sat|sun)[a-z]*", text)
    if m and any(w.startswith(text.split()[-1]) for w in _WEEKDAYS):
        target = [w[:3] for w in _WEEKDAYS].index(m[2])
        ahead = (target - today.weekday()) % 7
        if m[1] == "last":
            back = (today.weekday() - target) % 7 or 7
            return today - timedelta(days=back)
        if m[1] == "next" or not m[1]:
            return today + timedelta(days=ahead or 7)
        return today + timedelta(days=ahead)
    return None


MAX_SPAN_DAYS = 200 * 366  # nobody plans or looks back further; larger numbers overflow date arithmetic


def _shift(day: date, n: int, unit: str) -> date:
    days = n * _UNIT_DAYS[unit] if unit in _UNIT_DAYS else n * _UNIT_MONTHS[unit] * 31
    if abs(days) > MAX_SPAN_DAYS:
        raise InvalidInput(f"{n}{unit} is too far from today; use a span under 200 years")
    if unit in _UNIT_DAYS:
        return day + timedelta(days=n * _UNIT_DAYS[unit])
    return _add_months(day, n * _UNIT_MONTHS[unit])


def parse_datetime(raw: str, now: datetime, order: str = "dmy") -> datetime:
    """Parse what the user typed into an aware UTC datetime."""
    if raw is None or not str(raw).strip():
        raise InvalidInput("empty date; use e.g. 2026-11-02, 02/11/2026, today or +3d")
    text = ascii_digits(str(raw)).strip().lower()
    now_local = _to_local(now)

    m = _ISO.fullmatch(text)
    if m:
        day = _make_date(int(m["y"]), int(m["m"]), int(m["d"]), raw)
        moment = time(0)
        if m["H"] is not None:
            moment = _parse_time(f"{m['H']}:{m['M']}:{m['S'] or '00'}", raw)
        if m["tz"]:
            offset = m["tz"].replace(":", "")
            zone = (
                UTC
                if offset == "z"
                else timezone(
                    (1 if offset[0] == "+" else -1) * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
                )
            )
            return datetime.combine(day, moment, zone).astimezone(UTC)
        return _from_local(day, moment)

    if text == "now":
        return now.astimezone(UTC)

    # Split "yesterday 15:00", "next monday 09:30", "02/11/2026 15:30": the time is the last word.
    words = text.split()
    if len(words) > 1 and _TIME.fullmatch(words[-1]):
        day_part, time_part = " ".join(words[:-1]), words[-1]
    else:
        day_part, time_part = text, ""

    day = _local_date(day_part, now_local.date(), order, raw)
    moment = _parse_time(time_part, raw) if time_part else time(0)
    return _from_local(day, moment)


def _local_date(text: str, today: date, order: str, raw: str) -> date:
    m = _LOCAL.fullmatch(text)
    if m:
        first, second, year = int(m["a"]), int(m["b"]), int(m["y"])
        if len(m["y"]) == 2:
            year += 2000
        day, month = (first, second) if order == "dmy" else (second, first)
        if not 1 <= month <= 12:
            hint = "dd/mm/yyyy" if order == "dmy" else "mm/dd/yyyy"
            raise InvalidInput(f"invalid date {raw!r}: month {month} does not exist (date order is {hint})")
        return _make_date(year, month, day, raw)
    relative = _relative_day(text, today, raw)
    if relative is not None:
        return relative
    if re.search(r"[a-z]{3}", text) and re.search(r"\d", text):
        from dateutil import parser

        try:
            parsed = parser.parse(text, dayfirst=(order == "dmy"), default=datetime(today.year, 1, 1))
        except (ValueError, OverflowError):
            parsed = None
        if parsed is not None:
            return _make_date(parsed.year, parsed.month, parsed.day, raw)
    raise InvalidInput(
        f"cannot read date {raw!r}; use 2026-11-02, "
        f"{'02/11/2026' if order == 'dmy' else '11/02/2026'}, today, tomorrow, +3d, -2w or next monday"
    )


def parse_date(raw: str, now: datetime, order: str = "dmy") -> date:
    """A calendar date (local), e.g. a deal's expected close."""
    return _to_local(parse_datetime(raw, now, order)).date()


def parse_age(raw: str) -> timedelta:
    """A span like `90d`, `2w`, `6m`, `1y` (filters: last-contact>90d, cadences: --every 14d)."""
    m = _SPAN.fullmatch(ascii_digits(raw).strip().lower())
    if not m or int(m["n"]) <= 0:
        raise InvalidInput(f"invalid period {raw!r}; use a number and a unit such as 14d, 2w, 6m or 1y")
    n, unit = int(m["n"]), m["unit"]
    days = n * _UNIT_DAYS[unit] if unit in _UNIT_DAYS else round(n * _UNIT_MONTHS[unit] * 30.44)
    if days > MAX_SPAN_DAYS:
        raise InvalidInput(f"invalid period {raw!r}: longer than 200 years")
    return timedelta(days=days)


def to_local(iso: str | None, with_time: bool = True) -> str:
    """Stored UTC text -> local 'YYYY-MM-DD HH:MM' for people to read."""
    if not iso:
        return ""
    if len(iso) == 10:
        return iso
    value = _to_local(datetime.fromisoformat(iso.replace("Z", "+00:00")))
    return value.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def local_converter(with_time: bool = True):
    """to_local() for many values (listings, the agenda): stored UTC text in db.utc_iso's form is shifted
    by the offset of its hour (_Offsets) without building an aware datetime."""
    offset_at = _Offsets().at
    fmt = "%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d"
    fromisoformat = datetime.fromisoformat

    def convert(iso: str | None) -> str:
        if not iso:
            return ""
        if len(iso) == 10:
            return iso
        if len(iso) == 20 and iso[19] == "Z":
            value = fromisoformat(iso[:19]) + offset_at(iso)
            if value.year >= 1000:  # isoformat() is strftime's text for 4-digit years, 3x faster
                return value.isoformat(" ", "minutes") if with_time else value.date().isoformat()
            return value.strftime(fmt)
        return _to_local(fromisoformat(iso.replace("Z", "+00:00"))).strftime(fmt)

    return convert


def local_shift_sql() -> str:
    """The SQLite date modifier that turns stored UTC text into local time the way local_now() does:
    date(x, 'localtime') is local_day_converter()(x), the C library's rules at each instant."""
    return "localtime"


def local_day_converter():
    """Stored UTC text -> its local calendar date, for many values (offsets looked up per hour)."""
    offset_at = _Offsets().at
    fromisoformat = datetime.fromisoformat

    def convert(iso: str) -> date:
        if len(iso) == 20 and iso[19] == "Z":
            return (fromisoformat(iso[:19]) + offset_at(iso)).date()
        return _to_local(fromisoformat(iso.replace("Z", "+00:00"))).date()

    return convert


def local_day_start(day: date) -> datetime:
    """The first instant of a local calendar day as an aware UTC datetime (midnight, or the end of a
    daylight-saving gap where a zone skips midnight)."""
    start = _from_local(day, time(0))
    if _to_local(start).date() != day:  # midnight does not exist that day: the gap's end
        start = _from_local(day, time(1))
        while _to_local(start - timedelta(minutes=15)).date() == day:
            start -= timedelta(minutes=15)
    return start
