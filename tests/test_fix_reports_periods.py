"""Reports never count periods after today: a --to in the future covers what has happened so far (the
current period incomplete, later ones left out); a --from in the future is refused. The clock is
2026-11-22T09:00:00Z, TZ Asia/Riyadh."""

from __future__ import annotations

import pytest

from tests.conftest import dump


@pytest.fixture
def buyer(crm):
    crm.ok("contact", "add", "A", "--email", "a@x.com", "--source", "web")
    crm.ok("log", "purchase", "1", "--amount", "100", "--at", "2026-10-05")
    crm.ok("log", "purchase", "1", "--amount", "70", "--at", "2026-11-10")
    crm.ok("log", "support", "1", "broken", "--at", "2026-11-01")
    crm.ok("log", "call", "1", "hi", "--at", "2026-11-20", "--score", "5")


def test_retention_summary_with_future_to_leaves_the_current_month_incomplete(crm, buyer):
    doc = crm.ok("report", "retention", "--summary", "--json", "--to", "2027-03-31").json()
    assert doc["churn_period"] is None and doc["churn_rate"] is None
    assert doc["churn"] == [
        {
            "period": "2026-11",
            "customers_before": 1,
            "retained": 1,
            "churned": 0,
            "churn_rate": 0.0,
            "complete": False,
        }
    ]
    assert doc["to"] == "2026-11-22"
    assert doc == crm.ok("report", "retention", "--summary", "--json").json()


def test_retention_rows_with_future_to_stop_at_the_current_month(crm, buyer):
    rows = crm.ok("report", "retention", "--json", "--to", "2027-03-31").json()
    assert [(r["cohort"], r["retained"], r["retention"]) for r in rows] == [("2026-10", [1, 1], [1.0, 1.0])]
    assert (
        crm.ok("report", "retention", "--csv", "--to", "2027-03-31")
        .stdout.splitlines()[0]
        .endswith("period_0,period_1")
    )


@pytest.mark.parametrize("report", ["acquisition", "service", "satisfaction", "activity", "customers", "retention"])
def test_every_period_report_with_future_to_equals_the_default_range(crm, buyer, report):
    for extra in ([], ["--segment", "all"] if report == "customers" else ["--summary"]):
        future = crm.ok("report", report, *extra, "--json", "--to", "2027-03-31").json()
        assert future == crm.ok("report", report, *extra, "--json").json()
    rows = crm.ok("report", report, "--json", "--to", "2027-03-31").json()
    assert all(r.get("period", "2026-11") <= "2026-11" for r in rows)


def test_customers_recency_is_measured_to_today_not_to_a_future_to(crm, buyer):
    (member,) = crm.ok("report", "customers", "--segment", "all", "--to", "2027-03-31", "--json").json()
    assert member["recency_days"] == 12  # 10 November to 22 November


@pytest.mark.parametrize("report", ["retention", "activity", "acquisition", "customers", "dormant"])
def test_future_from_is_refused(crm, buyer, db_path, report):
    before = dump(db_path)
    result = crm("report", report, "--from", "2027-01-01")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        "crm: --from 2027-01-01 is after today (2026-11-22); reports cover what has happened: give a --from up"
        " to today\n"
    )
    assert dump(db_path) == before
    assert crm.ok("report", report, "--from", "today").exit_code == 0


def test_retention_summary_echoes_from_without_cohorts_in_range(crm, buyer):
    doc = crm.ok("report", "retention", "--summary", "--json", "--from", "2026-11-01").json()
    assert (doc["from"], doc["to"], doc["cohorts"]) == ("2026-11-01", "2026-11-22", 0)
