"""iCalendar output: `crm agenda --ics` and the calendar module the export commands call."""

import os
import sqlite3
import stat
from datetime import UTC, date, datetime

import pytest
from icalendar import Calendar

from crm_cli import calendar
from crm_cli.db import connect
from tests.conftest import dump
from tests.test_agenda import add_deal

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def data(crm, db_path):
    crm.ok("contact", "add", "سارة الحداد", "--every", "14d", now="2026-10-01T09:00:00Z")
    crm.ok("contact", "add", "Omar", now="2026-10-01T09:00:00Z")
    ids = {
        "allday": crm.ok("log", "call", "سارة", "Send the offer", "--follow-up", "tomorrow").stdout.strip(),
        "timed": crm.ok("log", "email", "Omar", "quote; <terms>", "--follow-up", "+3d 15:30").stdout.strip(),
        "done": crm.ok("log", "call", "Omar", "done one", "--follow-up", "+1d").stdout.strip(),
        "old": crm.ok("log", "note", "Omar", "", "--at", "-9d", "--follow-up", "-5d").stdout.strip(),
    }
    crm.ok("log", "done", ids["done"])
    deals = {
        "open": add_deal(db_path, 1, "Big order", close="2026-11-25"),
        "other": add_deal(db_path, 2, "Small order", close="2026-12-10", value=500, currency="KWD"),
        "won": add_deal(db_path, 1, "Won", close="2026-11-23", stage="won"),
        "nodate": add_deal(db_path, 1, "No date", close=None),
    }
    return {k: int(v) for k, v in ids.items()}, deals


def events(raw: bytes) -> dict:
    cal = Calendar.from_ical(raw)
    assert str(cal["VERSION"]) == "2.0" and cal["PRODID"]
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_followups_ics(data, db_path):
    ids, _ = data
    conn = connect(db_path)
    found = events(calendar.followups_ics(conn, now=NOW))
    assert set(found) == {f"followup-{ids[k]}@crm" for k in ("allday", "timed", "old")}

    allday = found[f"followup-{ids['allday']}@crm"]
    assert allday.decoded("DTSTART") == date(2026, 11, 23)  # local midnight -> all-day
    assert allday.decoded("DTEND") == date(2026, 11, 24)
    assert str(allday["SUMMARY"]) == "Follow up: سارة الحداد — Send the offer"
    assert allday.decoded("DTSTAMP") == NOW
    assert f"crm log done {ids['allday']}" in str(allday["DESCRIPTION"])

    timed = found[f"followup-{ids['timed']}@crm"]
    assert timed.decoded("DTSTART") == datetime(2026, 11, 25, 12, 30, tzinfo=UTC)  # 15:30 Riyadh
    assert timed.decoded("DTEND") == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    assert str(timed["SUMMARY"]) == "Follow up: Omar — quote; <terms>"

    window = events(calendar.followups_ics(conn, now=NOW, since=date(2026, 11, 22), until=date(2026, 11, 24)))
    assert set(window) == {f"followup-{ids['allday']}@crm"}
    instants = calendar.followups_ics(
        conn, now=NOW, since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 11, 20, tzinfo=UTC)
    )
    assert set(events(instants)) == {f"followup-{ids['old']}@crm"}
    conn.close()


def test_deal_closes_ics(data, db_path):
    _, deals = data
    conn = connect(db_path)
    found = events(calendar.deal_closes_ics(conn, now=NOW))
    assert set(found) == {f"deal-{deals['open']}-close@crm", f"deal-{deals['other']}-close@crm"}
    big = found[f"deal-{deals['open']}-close@crm"]
    assert big.decoded("DTSTART") == date(2026, 11, 25) and big.decoded("DTEND") == date(2026, 11, 26)
    assert str(big["SUMMARY"]) == "Deal closes: Big order (سارة الحداد)"
    assert "12,000.50 SAR" in str(big["DESCRIPTION"])
    assert big.decoded("DTSTAMP") == NOW
    only = events(calendar.deal_closes_ics(conn, now=NOW, deal_ids=[deals["other"], deals["won"]]))
    assert set(only) == {f"deal-{deals['other']}-close@crm"}
    assert events(calendar.deal_closes_ics(conn, now=NOW, deal_ids=[])) == {}
    conn.close()


def test_agenda_ics_file_is_private_and_uids_are_stable(crm, data, tmp_path, db_path):
    ids, deals = data
    target = tmp_path / "agenda.ics"
    old = os.umask(0o077)  # what cli.main sets
    try:
        result = crm.ok("agenda", "--ics", "--days", "14", "-o", str(target))
    finally:
        os.umask(old)
    assert result.stdout == "" and "wrote 6 events" in result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    first = events(target.read_bytes())
    assert set(first) == {
        f"followup-{ids['allday']}@crm",
        f"followup-{ids['timed']}@crm",
        f"followup-{ids['old']}@crm",
        "touch-1@crm",
        f"deal-{deals['open']}-close@crm",
        f"deal-{deals['other']}-close@crm",
    }
    # Touches come within --days (default 7): Sara's next one is 14 days away.
    assert "touch-1@crm" not in events(crm.ok("agenda", "--ics").stdout.encode())
    touch = first["touch-1@crm"]
    assert str(touch["SUMMARY"]) == "Stay in touch: سارة الحداد"
    assert touch.decoded("DTSTART") == date(2026, 12, 6)  # the call today + 14 days

    # A later export: same UIDs for the same records, the touch moved, the done follow-up gone.
    crm.ok("log", "done", str(ids["old"]))
    crm.ok("log", "meeting", "سارة", "visit", "--at", "2026-11-30 10:00", now="2026-11-30T09:00:00Z")
    second = events(crm.ok("agenda", "--ics", "--days", "14", now="2026-11-30T09:00:00Z").stdout.encode())
    assert set(second) == set(first) - {f"followup-{ids['old']}@crm"}
    assert second["touch-1@crm"].decoded("DTSTART") == date(2026, 12, 14)
    assert second["touch-1@crm"].decoded("DTSTAMP") == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_empty_calendar_still_parses(crm, db_path):
    crm.ok("contact", "add", "Omar")
    assert events(crm.ok("agenda", "--ics").stdout.encode()) == {}


def test_unwritable_output_fails_with_one_line(crm, data, tmp_path, db_path):
    before = dump(db_path)
    result = crm("agenda", "--ics", "-o", str(tmp_path / "missing" / "agenda.ics"))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "cannot write" in result.stderr and "missing" in result.stderr
    assert dump(db_path) == before


def test_unreadable_close_date_is_skipped(data, db_path):
    _, deals = data
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute("UPDATE deals SET expected_close = 'soon' WHERE id = ?", (deals["other"],))
    raw.close()
    conn = connect(db_path)
    assert set(events(calendar.deal_closes_ics(conn, now=NOW))) == {f"deal-{deals['open']}-close@crm"}
    conn.close()
