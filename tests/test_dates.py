"""Dates: ISO first, the configured order for slashes, relative forms, implausible years."""

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_cli.dates import parse_age, parse_date, parse_datetime
from crm_cli.errors import InvalidInput

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # Sunday 12:00 in Riyadh (TZ from conftest)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02", "2026-11-01T21:00:00+00:00"),  # local midnight in Riyadh
        ("2026-11-02 15:30", "2026-11-02T12:30:00+00:00"),
        ("2026-11-02T15:30:00Z", "2026-11-02T15:30:00+00:00"),
        ("02/11/2026", "2026-11-01T21:00:00+00:00"),
        ("٠٢/١١/٢٠٢٦", "2026-11-01T21:00:00+00:00"),
        ("yesterday 15:00", "2026-11-21T12:00:00+00:00"),
        ("now", "2026-11-22T09:00:00+00:00"),
        ("today", "2026-11-21T21:00:00+00:00"),
        ("tomorrow", "2026-11-22T21:00:00+00:00"),
        ("+3d", "2026-11-24T21:00:00+00:00"),
        ("-20d", "2026-11-01T21:00:00+00:00"),
        ("+2w", "2026-12-05T21:00:00+00:00"),
        ("+1m", "2026-12-21T21:00:00+00:00"),
        ("next monday", "2026-11-22T21:00:00+00:00"),
        ("last friday", "2026-11-19T21:00:00+00:00"),
        ("in 3 days", "2026-11-24T21:00:00+00:00"),
        ("2 weeks ago", "2026-11-07T21:00:00+00:00"),
        ("15 Nov 2026", "2026-11-14T21:00:00+00:00"),
    ],
)
def test_accepted_forms(text, expected):
    assert parse_datetime(text, NOW, "dmy").isoformat() == expected


def test_iso_is_never_read_day_first():
    assert parse_date("2024-04-03", NOW, "dmy").isoformat() == "2024-04-03"
    assert parse_date("2024-04-03", NOW, "mdy").isoformat() == "2024-04-03"


def test_slash_dates_follow_the_configured_order():
    assert parse_date("03/04/2026", NOW, "dmy").isoformat() == "2026-04-03"
    assert parse_date("03/04/2026", NOW, "mdy").isoformat() == "2026-03-04"


@pytest.mark.parametrize("text", ["32/13/2026", "2026-13-01", "1445-09-15", "soon", "", "31/02/2026", "25:00"])
def test_refused_with_the_value_named(text):
    with pytest.raises(InvalidInput) as err:
        parse_datetime(text, NOW, "dmy")
    assert text in err.value.message or "empty date" in err.value.message


def test_ages():
    assert parse_age("90d").days == 90
    assert parse_age("2w").days == 14
    with pytest.raises(InvalidInput):
        parse_age("soon")


@given(st.text(max_size=40))
def test_any_text_parses_or_is_refused_cleanly(text):
    with contextlib.suppress(InvalidInput):
        parse_datetime(text, NOW, "dmy")


# ---------------------------------------------------------------------------------------------
# The batch converters (listings, the agenda) give what to_local() gives, value for value.


@pytest.mark.parametrize(
    "zone", ["Asia/Riyadh", "America/St_Johns", "UTC", "Asia/Kathmandu", "Europe/London", "Australia/Lord_Howe"]
)
@given(
    moment=st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30)),
    form=st.sampled_from(["z", "offset", "date"]),
)
def test_local_converters_equal_to_local(zone, moment, form):
    import os
    import time

    from crm_cli.dates import local_converter, local_day_converter, local_now, to_local

    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        if form == "z":
            iso = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif form == "offset":
            iso = moment.replace(microsecond=0).isoformat() + "+05:30"
        else:
            iso = moment.date().isoformat()
        for with_time in (True, False):
            assert local_converter(with_time)(iso) == to_local(iso, with_time)
        if form != "date":
            expected = local_now(datetime.fromisoformat(iso.replace("Z", "+00:00"))).date()
            assert local_day_converter()(iso) == expected
        assert local_converter()(None) == local_converter()("") == ""
    finally:
        os.environ["TZ"] = saved or "Asia/Riyadh"
        time.tzset()


# Zones and days of 2026 with a daylight-saving change (St John's changes at 05:30 UTC, inside an hour).
_TRANSITIONS = {
    "Europe/London": [(3, 29), (10, 25)],
    "America/St_Johns": [(3, 8), (11, 1)],
    "Australia/Lord_Howe": [(4, 5), (10, 4)],
    "America/Santiago": [(4, 5), (9, 6)],
    "Asia/Kolkata": [],
}


@pytest.mark.parametrize("zone", sorted(_TRANSITIONS))
def test_one_converter_over_many_values_equals_to_local(zone):
    """One converter reused (its per-hour cache filled by earlier values), through daylight-saving
    changes: every 7 minutes around each change of 2026, and instants 97 minutes apart for 3 years."""
    import os
    import time

    from crm_cli.dates import local_converter, to_local

    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        start = datetime(2024, 1, 1)
        values = [(start + timedelta(minutes=97 * i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(16_000)]
        for month, day in _TRANSITIONS[zone]:
            middle = datetime(2026, month, day)
            values += [(middle + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:59Z") for m in range(-1440, 1440, 7)]
        for with_time in (True, False):
            convert = local_converter(with_time)
            assert [convert(v) for v in values] == [to_local(v, with_time) for v in values]
    finally:
        os.environ["TZ"] = saved or "Asia/Riyadh"
        time.tzset()
