"""Local time follows the zone's rules at each instant, daylight saving included, whatever the season of
"now": what the user types, what listings and calendars show, and which day, month or period a report
puts an instant in (Python and SQLite's 'localtime' alike). The clock is pinned to 22 November 2026,
winter in London and New York."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from tests.conftest import run_sql


@pytest.fixture
def zone(monkeypatch):
    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


def test_a_summer_time_typed_in_winter_is_stored_in_summer_time(crm, db_path, zone, monkeypatch):
    zone("Europe/London")
    crm.ok("contact", "add", "Sara", "--email", "sara@example.com")
    crm.ok("log", "meeting", "sara", "Showroom visit", "--at", "2026-07-01 10:00", "--follow-up", "2026-07-02 09:30")
    crm.ok("log", "call", "sara", "Winter call", "--at", "2026-11-20 10:00")
    rows = {r["summary"]: r for r in crm.ok("log", "list", "--json").json()}
    assert rows["Showroom visit"]["happened_at"] == "2026-07-01T09:00:00Z"  # BST: UTC+1
    assert rows["Showroom visit"]["follow_up_at"] == "2026-07-02T08:30:00Z"
    assert rows["Winter call"]["happened_at"] == "2026-11-20T10:00:00Z"  # GMT
    monkeypatch.setenv("COLUMNS", "200")
    listing = crm.ok("log", "list", tty=True).stdout
    assert "2026-07-01 10:00" in listing and "2026-11-20 10:00" in listing

    ics = crm.ok("log", "export", "--format", "ics").stdout
    assert "DTSTART:20260702T083000Z" in ics


def test_reports_put_a_late_summer_evening_in_the_next_local_day_and_month(crm, db_path, zone):
    zone("Europe/London")
    crm.ok("config", "set", "default_currency", "GBP")
    crm.ok("contact", "add", "Sara", "--email", "sara@example.com")
    crm.ok("log", "purchase", "sara", "Order", "--amount", "100", "--at", "2026-06-15 12:00")
    crm.ok("log", "purchase", "sara", "Late order", "--amount", "50", "--at", "2026-08-01 00:30")
    rows = {r["summary"]: r for r in crm.ok("log", "list", "--json").json()}
    assert rows["Late order"]["happened_at"] == "2026-07-31T23:30:00Z"

    activity = crm.ok("report", "activity", "--from", "2026-06-01", "--json").json()
    assert {p["period"]: p["purchase"] for p in activity} == {
        "2026-06": 1, "2026-07": 0, "2026-08": 1, "2026-09": 0, "2026-10": 0, "2026-11": 0
    }  # fmt: skip
    cohorts = crm.ok("report", "retention", "--period", "month", "--json").json()
    assert [(c["cohort"], c["retained"][:3]) for c in cohorts] == [("2026-06", [1, 0, 1])]

    # and the same for SQLite's local day, which the listings' filters use
    run_sql(db_path, ("UPDATE contacts SET status = 'customer'", ()))
    assert crm.ok("contact", "list", "last-purchase>=2026-08-01", "--json").json()[0]["name"] == "Sara"
    assert crm.ok("contact", "list", "last-purchase<2026-08-01", "--json").json() == []


def test_days_overdue_count_local_days_across_a_change(crm, db_path, zone):
    zone("America/New_York")
    crm.ok("contact", "add", "John", "--email", "john@example.com")
    crm.ok("log", "call", "john", "x", "--follow-up", "today")
    # 1 November 2026 02:00 EDT -> 01:00 EST. Due 31 October at 23:30 EDT (03:30 UTC): 22 days ago.
    run_sql(db_path, ("UPDATE interactions SET follow_up_at = ? WHERE id = 1", ("2026-11-01T03:30:00Z",)))
    assert [r["days_overdue"] for r in crm.ok("log", "due", "--json").json()] == [22]


@pytest.mark.parametrize(
    ("name", "day", "start"),
    [
        ("Europe/London", date(2026, 7, 1), "2026-06-30T23:00:00Z"),
        ("Europe/London", date(2026, 12, 1), "2026-12-01T00:00:00Z"),
        ("America/New_York", date(2026, 3, 8), "2026-03-08T05:00:00Z"),  # the day clocks go forward
        ("America/New_York", date(2026, 3, 9), "2026-03-09T04:00:00Z"),
        ("Asia/Beirut", date(2026, 3, 29), "2026-03-28T22:00:00Z"),  # midnight skipped: the day starts at 01:00
        ("America/Santiago", date(2026, 9, 6), "2026-09-06T04:00:00Z"),  # midnight skipped too
    ],
)
def test_local_day_start(zone, name, day, start):
    from crm_cli.dates import local_day_converter, local_day_start
    from crm_cli.db import utc_iso

    zone(name)
    first = local_day_start(day)
    assert utc_iso(first) == start
    to_day = local_day_converter()
    assert to_day(start) == day
    assert to_day(utc_iso(datetime.fromtimestamp(first.timestamp() - 1, UTC))) < day


def test_instants_the_c_library_cannot_place_use_the_offset_in_force_now(monkeypatch):
    """Windows' localtime() refuses instants before 1970 (OSError): such a date still parses and shows,
    with the offset in force now (Asia/Riyadh here: +03:00), instead of a traceback."""
    from crm_cli import dates

    class LimitedDatetime(datetime):
        def astimezone(self, tz=None):
            if self.year < 1970 and (tz is None or self.tzinfo is None):
                raise OSError(22, "Invalid argument")
            return super().astimezone(tz)

    monkeypatch.setattr(dates, "datetime", LimitedDatetime)
    now = datetime(2026, 11, 22, 9, tzinfo=UTC)
    assert dates.parse_datetime("1965-03-01 10:00", now) == datetime(1965, 3, 1, 7, tzinfo=UTC)
    assert dates.to_local("1965-03-01T07:00:00Z") == "1965-03-01 10:00"
    assert dates.local_converter()("1965-03-01T07:00:00Z") == "1965-03-01 10:00"
    assert dates.local_day_converter()("1965-02-28T21:00:00Z") == date(1965, 3, 1)
