"""The dashboard: `crm report summary` and `crm` alone (with --db before it)."""

from __future__ import annotations

import pytest

from tests.test_reports_retention import buy, log, open_fresh, person


def deal(conn, contact_id: int, value: int, currency: str, stage: str, probability=None) -> None:
    conn.execute(
        """INSERT INTO deals (contact_id, title, value, currency, stage, probability, stage_changed_at,
                              created_at, updated_at)
           VALUES (?, 'd', ?, ?, ?, ?, '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')""",
        (contact_id, value * 1000, currency, stage, probability),
    )


@pytest.fixture
def business(crm, db_path):
    conn = open_fresh(crm, db_path)
    a, b, c, old = (person(conn, n) for n in ("Amal", "Badr", "Carla", "Old"))
    # follow-ups: due today (15:00 local), overdue, overdue but done, tomorrow
    log(conn, a, "call", "2026-11-20T09:00:00Z", follow_up_at="2026-11-22T12:00:00Z")
    log(conn, a, "call", "2026-11-19T09:00:00Z", follow_up_at="2026-11-20T09:00:00Z")
    log(conn, b, "call", "2026-11-18T09:00:00Z", follow_up_at="2026-11-19T09:00:00Z",
        follow_up_done_at="2026-11-19T10:00:00Z")  # fmt: skip
    log(conn, b, "call", "2026-11-21T09:00:00Z", follow_up_at="2026-11-22T21:00:00Z")  # 00:00 tomorrow locally
    # pipeline: open SAR deals 1000 (lead 10%) and 3000 (proposal 50%), USD 500 at 75%; a won deal
    deal(conn, a, 1000, "SAR", "lead")
    deal(conn, a, 3000, "SAR", "proposal")
    deal(conn, b, 500, "USD", "negotiation")
    deal(conn, b, 9000, "SAR", "won")
    # revenue (SAR is the default currency)
    buy(conn, a, "2026-11-05T09:00:00Z", "100")  # Amal's first purchase: new this month
    buy(conn, b, "2026-10-05T09:00:00Z", "200")
    buy(conn, b, "2026-10-25T09:00:00Z", "300")  # after the 22nd: not in "last month to date"
    buy(conn, b, "2026-11-21T09:00:00Z", "50")
    buy(conn, c, "2026-11-10T09:00:00Z", "999", "USD")  # new customer; USD is not summed with SAR
    buy(conn, old, "2025-01-01T09:00:00Z", "10")  # dormant
    log(conn, a, "support", "2026-11-01T09:00:00Z", status="open")
    log(conn, b, "support", "2026-11-02T09:00:00Z", status="resolved", resolved_at="2026-11-03T09:00:00Z")
    return conn


def test_summary_json(crm, business):
    s = crm.ok("report", "summary", "--json").json()
    assert (s["today"], s["currency"], s["month"]) == ("2026-11-22", "SAR", "2026-11")
    assert (s["follow_ups_due_today"], s["follow_ups_overdue"]) == (1, 1)
    assert s["open_pipeline"] == [
        {"currency": "SAR", "deals": 2, "value": 4000, "weighted_value": 1600},
        {"currency": "USD", "deals": 1, "value": 500, "weighted_value": 375},
    ]
    assert (s["revenue_this_month"], s["revenue_last_month"], s["revenue_last_month_to_date"]) == (150, 500, 200)
    assert s["revenue_change"] == -0.25
    assert (s["new_customers_this_month"], s["dormant_customers"], s["open_support_requests"]) == (2, 1, 1)
    assert len(s["revenue_by_month"]) == 12
    assert s["revenue_by_month"][-2:] == [{"period": "2026-10", "revenue": 500}, {"period": "2026-11", "revenue": 150}]


def test_crm_alone_is_the_dashboard(crm, business, db_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("CRM_DB")
    out = crm.ok("--db", str(db_path), tty=True).stdout
    for text in (
        "Follow-ups",
        "1 today",
        "1 overdue",
        "4,000.00 SAR",
        "150.00 SAR",
        "-25.0%",
        "Dormant",
        "Open support",
    ):
        assert text in out
    assert len(out.splitlines()) <= 24  # one screen
    piped = crm.ok("--db", str(db_path)).lines
    assert "follow_ups_due_today\t1" in piped and "open_pipeline_SAR\t4000" in piped
    assert crm.ok("report", "summary", "--db", str(db_path), "--json").json()["dormant_customers"] == 1


def test_summary_csv(crm, business):
    lines = crm.ok("report", "summary", "--csv").lines
    assert lines[0] == "metric,value" and "revenue_change,-0.25" in lines and "open_pipeline_USD,500" in lines


def test_summary_empty_database(crm):
    s = crm.ok("report", "summary", "--json").json()
    assert s["open_pipeline"] == [] and s["revenue_this_month"] == 0 and s["revenue_change"] is None
    assert s["dormant_customers"] == 0 and s["follow_ups_overdue"] == 0
    out = crm.ok(tty=True).stdout
    assert "no open deals" in out


def test_summary_refuses_unknown_options(crm):
    result = crm("report", "summary", "--period", "week")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
