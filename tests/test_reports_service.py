"""crm report service and crm report satisfaction against hand-computed answers (TZ Asia/Riyadh)."""

from __future__ import annotations

import pytest

from tests.conftest import dump
from tests.test_reports_retention import log, open_fresh, person


@pytest.fixture
def desk(crm, db_path):
    conn = open_fresh(crm, db_path)
    a, b = person(conn, "Amal"), person(conn, "Badr")
    ids = {
        "s1": log(conn, a, "support", "2026-10-01T06:00:00Z", status="resolved", resolved_at="2026-10-01T16:00:00Z"),
        "s2": log(conn, b, "support", "2026-10-02T00:00:00Z", status="resolved", resolved_at="2026-10-04T00:00:00Z"),
        "s3": log(conn, a, "support", "2026-10-20T00:00:00Z", status="resolved", resolved_at="2026-11-02T00:00:00Z"),
        "s4": log(conn, b, "support", "2026-11-05T00:00:00Z", status="open", summary="Broken zip"),
        "s5": log(conn, a, "support", "2026-09-15T00:00:00Z", status="open", summary="[VIP] refund"),
    }
    log(conn, a, "call", "2026-10-03T00:00:00Z")  # not a support request
    return ids


def test_service_per_month_by_hand(crm, desk):
    rows = crm.ok("report", "service", "--json").json()
    got = [(r["period"], r["opened"], r["resolved"], r["backlog"], r["mean_hours"], r["median_hours"]) for r in rows]
    assert got == [
        ("2026-09", 1, 0, 1, None, None),
        ("2026-10", 3, 2, 2, 29.0, 29.0),  # 10 h and 48 h
        ("2026-11", 1, 1, 2, 312.0, 312.0),  # 13 days
    ]


def test_service_summary_and_oldest_open(crm, desk):
    s = crm.ok("report", "service", "--summary", "--json").json()
    assert (s["opened"], s["resolved"], s["open_now"]) == (5, 3, 2)
    assert s["mean_resolution_hours"] == 123.33 and s["median_resolution_hours"] == 48.0
    assert [o["id"] for o in s["oldest_open"]] == [desk["s5"], desk["s4"]]
    assert s["oldest_open"][0]["age_hours"] == 1641.0 and s["oldest_open"][0]["contact"] == "Amal"
    s = crm.ok("report", "service", "--summary", "--oldest", "1", "--json").json()
    assert len(s["oldest_open"]) == 1


def test_service_range_counts_resolutions_in_it(crm, desk):
    s = crm.ok("report", "service", "--from", "2026-11-01", "--summary", "--json").json()
    assert (s["opened"], s["resolved"], s["median_resolution_hours"], s["open_now"]) == (1, 1, 312.0, 2)
    rows = crm.ok("report", "service", "--from", "2026-10-01", "--to", "2026-10-31", "--csv").lines
    assert rows == [
        "period,period_start,opened,resolved,backlog,mean_hours,median_hours",
        "2026-10,2026-10-01,3,2,2,29.0,29.0",
    ]


def test_service_terminal(crm, desk, monkeypatch):
    monkeypatch.setenv("COLUMNS", "150")
    out = crm.ok("report", "service", tty=True).stdout
    assert "median 48.0 h" in out and "Oldest open requests" in out and "[VIP] refund" in out


def test_service_empty(crm):
    rows = crm.ok("report", "service", "--json").json()
    assert rows == [
        {
            "period": "2026-11",
            "period_start": "2026-11-01",
            "opened": 0,
            "resolved": 0,
            "backlog": 0,
            "mean_hours": None,
            "median_hours": None,
        }
    ]
    s = crm.ok("report", "service", "--summary", "--json").json()
    assert s["open_now"] == 0 and s["oldest_open"] == [] and s["mean_resolution_hours"] is None


# ---------------------------------------------------------------------------------------------
# satisfaction


@pytest.fixture
def scores(crm, db_path):
    conn = open_fresh(crm, db_path)
    a = person(conn, "Amal")
    for n, score in enumerate([5, 4, 3, 2, 5]):
        log(conn, a, "support", f"2026-10-{10 + n}T09:00:00Z", score=score, score_scale="csat")
    for n, score in enumerate([10, 9, 8, 6, 0, 7, 10]):
        log(conn, a, "call", f"2026-11-{10 + n}T09:00:00Z", score=score, score_scale="nps")
    log(conn, a, "call", "2026-11-01T09:00:00Z")  # no score
    return a


def test_satisfaction_by_hand(crm, scores):
    rows = crm.ok("report", "satisfaction", "--json").json()
    oct_, nov = rows
    assert (oct_["csat_responses"], oct_["csat_average"], oct_["csat_satisfied"], oct_["csat_satisfied_rate"]) == (
        5,
        3.8,
        3,
        0.6,
    )
    assert oct_["nps"] is None and oct_["nps_responses"] == 0
    assert (nov["promoters"], nov["passives"], nov["detractors"], nov["nps"]) == (3, 2, 2, 14.3)  # (3-2)/7
    assert nov["csat_average"] is None and nov["responses"] == 7
    s = crm.ok("report", "satisfaction", "--summary", "--json").json()
    assert (s["responses"], s["csat_average"], s["nps"], s["scale"]) == (12, 3.8, 14.3, "csat")


def test_scores_logged_with_crm_log_use_the_configured_scale(crm, db_path):
    crm.ok("contact", "add", "Sara", "--email", "sara@example.com")
    crm.ok("log", "call", "sara", "happy", "--score", "4")
    crm.ok("config", "set", "satisfaction_scale", "nps")
    crm.ok("log", "call", "sara", "promoter", "--score", "10")
    crm.ok("log", "call", "sara", "detractor", "--score", "3")
    s = crm.ok("report", "satisfaction", "--summary", "--json").json()
    assert (s["csat_responses"], s["csat_average"], s["csat_satisfied_rate"]) == (1, 4.0, 1.0)
    assert (s["nps_responses"], s["nps"], s["scale"]) == (2, 0.0, "nps")


def test_satisfaction_terminal_csv_and_empty(crm, scores, monkeypatch):
    monkeypatch.setenv("COLUMNS", "150")
    out = crm.ok("report", "satisfaction", tty=True).stdout
    assert "CSAT 3.80 / 5" in out and "NPS 14.3" in out and "60.0% satisfied" in out
    csv = crm.ok("report", "satisfaction", "--csv").lines
    assert csv[0].startswith("period,period_start,responses,csat_responses,csat_average")
    assert csv[1].startswith("2026-10,2026-10-01,5,5,3.8,3,0.6,0,0,0,0,")


def test_satisfaction_empty(crm):
    (row,) = crm.ok("report", "satisfaction", "--json").json()
    assert row["responses"] == 0 and row["nps"] is None and row["csat_average"] is None


@pytest.mark.parametrize(
    "args",
    [
        ("report", "service", "--from", "2026-13-01"),
        ("report", "service", "--oldest", "-1"),
        ("report", "service", "--period", "day"),
        ("report", "satisfaction", "--to", "2026-02-30"),
        ("report", "satisfaction", "--period", "decade"),
    ],
)
def test_bad_input(crm, desk, db_path, args):
    before = dump(db_path)
    result = crm(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: ")
    assert dump(db_path) == before
