"""crm report activity and crm report acquisition against hand-computed answers (TZ Asia/Riyadh)."""

from __future__ import annotations

import pytest

from tests.conftest import dump
from tests.test_reports_retention import buy, log, open_fresh, person


@pytest.fixture
def busy(crm, db_path):
    conn = open_fresh(crm, db_path)
    a = person(conn, "Amal")
    org = person(conn, "Acme", kind="organization")
    # due 00:00 local on 11 Oct, done 18:00 local the same day: on time (by the local day)
    log(conn, a, "call", "2026-10-05T09:00:00Z", follow_up_at="2026-10-10T21:00:00Z",
        follow_up_done_at="2026-10-11T15:00:00Z")  # fmt: skip
    log(conn, org, "call", "2026-10-06T09:00:00Z", follow_up_at="2026-10-12T09:00:00Z",
        follow_up_done_at="2026-10-14T09:00:00Z")  # fmt: skip
    log(conn, a, "email", "2026-10-31T22:00:00Z", follow_up_at="2026-11-01T09:00:00Z")  # 1 Nov locally; overdue
    buy(conn, a, "2026-11-03T09:00:00Z")
    log(conn, a, "note", "2026-11-10T09:00:00Z", follow_up_at="2026-11-30T09:00:00Z")  # upcoming
    return conn


def test_activity_by_hand(crm, busy):
    oct_, nov = crm.ok("report", "activity", "--json").json()
    assert (oct_["period"], oct_["call"], oct_["email"], oct_["total"]) == ("2026-10", 2, 0, 2)
    assert (nov["email"], nov["purchase"], nov["note"], nov["call"], nov["total"]) == (1, 1, 1, 0, 3)
    assert (oct_["follow_ups_due"], oct_["done_on_time"], oct_["done_late"], oct_["on_time_rate"]) == (2, 1, 1, 0.5)
    assert (nov["follow_ups_due"], nov["overdue"], nov["upcoming"], nov["on_time_rate"]) == (2, 1, 1, None)
    s = crm.ok("report", "activity", "--summary", "--json").json()
    assert (s["total"], s["call"], s["done_on_time"], s["done_late"], s["overdue"], s["upcoming"]) == (5, 2, 1, 1, 1, 1)


def test_activity_range_clips_the_periods(crm, busy):
    (row,) = crm.ok("report", "activity", "--from", "2026-10-06", "--to", "2026-10-31", "--json").json()
    assert (row["call"], row["total"], row["follow_ups_due"]) == (1, 1, 2)
    (row,) = crm.ok("report", "activity", "--period", "year", "--json").json()
    assert (row["period"], row["total"]) == ("2026", 5)


def test_activity_outputs(crm, busy, monkeypatch):
    monkeypatch.setenv("COLUMNS", "130")
    out = crm.ok("report", "activity", tty=True).stdout
    assert "Interactions and follow-ups" in out and "50.0% on time" in out
    csv = crm.ok("report", "activity", "--csv").lines
    assert csv[0] == (
        "period,period_start,call,email,meeting,message,note,purchase,support,total,follow_ups_due,done_on_time,"
        "done_late,overdue,upcoming,on_time_rate"
    )
    assert csv[1] == "2026-10,2026-10-01,2,0,0,0,0,0,0,2,2,1,1,0,0,0.5"


def test_activity_empty(crm):
    (row,) = crm.ok("report", "activity", "--json").json()
    assert row["period"] == "2026-11" and row["total"] == 0 and row["on_time_rate"] is None


# ---------------------------------------------------------------------------------------------
# acquisition


@pytest.fixture
def funnel(crm, db_path):
    conn = open_fresh(crm, db_path)
    p1 = person(conn, "p1", source="instagram", created="2026-09-10T09:00:00Z")
    person(conn, "p2", source="instagram", created="2026-09-15T09:00:00Z")
    p3 = person(conn, "p3", source="referral", created="2026-10-01T09:00:00Z")
    person(conn, "p4", created="2026-10-20T09:00:00Z")
    p5 = person(conn, "p5", source="referral", created="2025-12-01T09:00:00Z")
    org = person(conn, "o1", kind="organization", source="instagram", created="2026-10-05T09:00:00Z")
    buy(conn, p1, "2026-09-20T09:00:00Z")
    buy(conn, p1, "2026-10-20T09:00:00Z")
    buy(conn, p3, "2026-11-05T09:00:00Z")
    buy(conn, p5, "2026-10-10T09:00:00Z")
    buy(conn, org, "2026-10-06T09:00:00Z")
    return conn


def test_acquisition_by_hand(crm, funnel):
    rows = crm.ok("report", "acquisition", "--from", "2026-09-01", "--to", "2026-11-30", "--json").json()
    got = [(r["period"], r["new_contacts"], r["new_customers"], r["customer_base"], r["growth_rate"]) for r in rows]
    assert got == [
        ("2026-09", 2, 1, 1, None),  # the base was empty before September
        ("2026-10", 2, 1, 2, 1.0),
        ("2026-11", 0, 1, 3, 0.5),
    ]
    assert rows[0]["new_contacts_by_source"] == {"instagram": 2}
    assert rows[1]["new_contacts_by_source"] == {"": 1, "referral": 1}
    assert rows[1]["new_customers_by_source"] == {"referral": 1}

    sources = crm.ok("report", "acquisition", "--from", "2026-09-01", "--by", "source", "--json").json()
    assert [
        (s["source"], s["new_contacts"], s["converted"], s["conversion_rate"], s["new_customers"]) for s in sources
    ] == [
        ("instagram", 2, 1, 0.5, 1),
        (None, 1, 0, 0.0, 0),
        ("referral", 1, 1, 1.0, 2),  # p3 converted; p5 (created earlier) first bought in the range
    ]
    s = crm.ok("report", "acquisition", "--from", "2026-09-01", "--summary", "--json").json()
    assert (s["new_contacts"], s["new_customers"], s["converted"], s["conversion_rate"]) == (4, 3, 2, 0.5)
    assert (s["customers_at_start"], s["customers_at_end"], s["growth_rate"]) == (0, 3, None)


def test_acquisition_whole_history_and_growth(crm, funnel):
    rows = crm.ok("report", "acquisition", "--period", "quarter", "--json").json()
    assert [(r["period"], r["new_contacts"], r["customer_base"]) for r in rows] == [
        ("2025-Q4", 1, 0),
        ("2026-Q1", 0, 0),
        ("2026-Q2", 0, 0),
        ("2026-Q3", 2, 1),
        ("2026-Q4", 2, 3),
    ]
    s = crm.ok("report", "acquisition", "--from", "2026-10-01", "--summary", "--json").json()
    assert (s["customers_at_start"], s["customers_at_end"], s["growth_rate"]) == (1, 3, 2.0)


def test_acquisition_outputs(crm, funnel, monkeypatch):
    monkeypatch.setenv("COLUMNS", "150")
    out = crm.ok("report", "acquisition", "--from", "2026-09-01", tty=True).stdout
    assert "By source" in out and "(none)" in out and "lead -> customer 50.0%" in out
    csv = crm.ok("report", "acquisition", "--from", "2026-09-01", "--csv").lines
    assert csv[:2] == [
        "period,period_start,new_contacts,new_customers,customer_base,growth_rate",
        "2026-09,2026-09-01,2,1,1,",
    ]
    by_source = crm.ok("report", "acquisition", "--from", "2026-09-01", "--by", "source", "--csv").lines
    assert by_source[0] == "source,new_contacts,converted,conversion_rate,new_customers,share_of_new_customers"
    assert by_source[1] == "instagram,2,1,0.5,1,0.3333"


def test_acquisition_empty(crm):
    (row,) = crm.ok("report", "acquisition", "--json").json()
    assert (row["new_contacts"], row["new_customers"], row["customer_base"], row["growth_rate"]) == (0, 0, 0, None)
    assert crm.ok("report", "acquisition", "--by", "source", "--json").json() == []


@pytest.mark.parametrize(
    "args",
    [
        ("report", "activity", "--from", "2026-13-01"),
        ("report", "activity", "--period", "hour"),
        ("report", "acquisition", "--by", "city"),
        ("report", "acquisition", "--from", "tomorrow", "--to", "yesterday"),
    ],
)
def test_bad_input(crm, busy, db_path, args):
    before = dump(db_path)
    result = crm(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: ")
    assert dump(db_path) == before
