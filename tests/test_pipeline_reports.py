"""Pipeline reports on a hand-computed dataset: pipeline, forecast, sales, stale, conversion.

The clock is 2026-11-22T09:00:00Z (12:00 in Riyadh). Every event below happens at 09:00Z, so day counts
are whole. Deals (SAR unless said):

  1 Amal   10000        lead 10-01 -> qualified 10-11 -> proposal 10-21 -> won 10-31       (cycle 30 d)
  2 Badr    5000 p=60%  qualified 10-01, open, close 2026-12-10, call linked 11-15
  3 Carla   2000.5 USD  proposal 10-01, open, close 2026-11-10 (overdue 12 days)
  4 Amal    8000        proposal 10-01 -> negotiation 11-01 -> lost 11-06 "Price too high"
  5 Badr    7000        lead 11-02 -> negotiation 11-12, open, close 2027-01-20
  6 Carla   3000        proposal 11-20, open, no close date
  7 Amal    4000        lead 11-01 -> won 11-21                                           (cycle 20 d)
  8 Badr    1000 USD    lead 11-01 -> lost 11-11 "price too high"
  9 Carla    500        qualified 11-01 -> lost 11-03 "no budget"
"""

import os
import sqlite3
import time

import pytest

from tests.conftest import NOW, TZ, Crm, dump


def at(day: str) -> str:
    return f"{day}T09:00:00Z"


def _build(crm) -> dict:
    crm.ok("config", "set", "default_currency", "SAR")
    crm.ok("contact", "add", "Amal", "--tag", "vip")
    crm.ok("contact", "add", "Badr")
    crm.ok("contact", "add", "Carla")
    add = [
        (["Amal", "D1", "--value", "10000"], "2026-10-01"),
        (["Badr", "D2", "--value", "5000", "--stage", "qualified", "--probability", "60", "--close", "2026-12-10"],
         "2026-10-01"),
        (["Carla", "D3", "--value", "2000.5", "--currency", "USD", "--stage", "proposal", "--close", "2026-11-10"],
         "2026-10-01"),
        (["Amal", "D4", "--value", "8000", "--stage", "proposal"], "2026-10-01"),
    ]  # fmt: skip
    for args, day in add:
        crm.ok("deal", "add", *args, now=at(day))
    crm.ok("deal", "move", "1", "qualified", now=at("2026-10-11"))
    crm.ok("deal", "move", "1", "proposal", now=at("2026-10-21"))
    crm.ok("deal", "won", "1", now=at("2026-10-31"))
    crm.ok("deal", "move", "4", "negotiation", now=at("2026-11-01"))
    crm.ok("deal", "add", "Amal", "D7", "--value", "4000", now=at("2026-11-01"))  # id 5 for now
    crm.ok("deal", "add", "Badr", "D8", "--value", "1000", "--currency", "USD", now=at("2026-11-01"))
    crm.ok("deal", "add", "Carla", "D9", "--value", "500", "--stage", "qualified", now=at("2026-11-01"))
    crm.ok("deal", "add", "Badr", "D5", "--value", "7000", "--close", "2027-01-20", now=at("2026-11-02"))
    crm.ok("deal", "lost", "7", "--reason", "no budget", now=at("2026-11-03"))
    crm.ok("deal", "lost", "4", "--reason", "Price too high", now=at("2026-11-06"))
    crm.ok("deal", "lost", "6", "--reason", "price too high", now=at("2026-11-11"))
    crm.ok("deal", "move", "8", "negotiation", now=at("2026-11-12"))
    crm.ok("log", "call", "Badr", "follow-up on D2", "--deal", "2", now=at("2026-11-15"))
    crm.ok("deal", "add", "Carla", "D6", "--value", "3000", "--stage", "proposal", now=at("2026-11-20"))
    crm.ok("deal", "won", "5", now=at("2026-11-21"))
    titles = {d["id"]: d["title"] for d in crm.ok("deal", "list", "--json").json()}
    return {title: deal_id for deal_id, title in titles.items()}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Build the dataset once per module (it takes ~25 commands) ..."""
    path = tmp_path_factory.mktemp("pipeline") / "template.db"
    saved = {k: os.environ.get(k) for k in ("CRM_DB", "CRM_NOW", "TZ")}
    os.environ.update(CRM_DB=str(path), CRM_NOW=NOW, TZ=TZ)
    time.tzset()
    try:
        ids = _build(Crm())
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        time.tzset()
    return path, ids


@pytest.fixture
def dataset(template, db_path):
    """... and give each test its own copy (SQLite's backup API, so the WAL is included)."""
    path, ids = template
    source, target = sqlite3.connect(path), sqlite3.connect(db_path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return ids


def test_dataset_is_as_described(crm, dataset):
    deals = {d["title"]: d for d in crm.ok("deal", "list", "--json").json()}
    assert {t: d["stage"] for t, d in deals.items()} == {
        "D1": "won",
        "D2": "qualified",
        "D3": "proposal",
        "D4": "lost",
        "D5": "negotiation",
        "D6": "proposal",
        "D7": "won",
        "D8": "lost",
        "D9": "lost",
    }


# ---------------------------------------------------------------------------------------------
# pipeline


def test_pipeline_rows_per_stage_and_currency_with_totals(crm, dataset):
    rows = crm.ok("report", "pipeline", "--json").json()
    got = [
        (r["currency"], r["stage"], r["deals"], r["total_value"], r["weighted_value"], r["avg_age_days"]) for r in rows
    ]
    assert got == [
        ("SAR", "lead", 0, 0, 0, None),
        ("SAR", "qualified", 1, 5000, 3000, 52.0),  # its own 60 %
        ("SAR", "proposal", 1, 3000, 1500, 2.0),
        ("SAR", "negotiation", 1, 7000, 5250, 10.0),
        ("SAR", "total", 3, 15000, 9750, 21.3),  # (52 + 2 + 10) / 3
        ("USD", "lead", 0, 0, 0, None),
        ("USD", "qualified", 0, 0, 0, None),
        ("USD", "proposal", 1, 2000.5, 1000.25, 52.0),
        ("USD", "negotiation", 0, 0, 0, None),
        ("USD", "total", 1, 2000.5, 1000.25, 52.0),
    ]
    assert rows[1]["probability"] == 25 and rows[4]["position"] is None


def test_pipeline_money_is_exact_in_json_and_csv(crm, dataset):
    assert '"weighted_value": 1000.25' in crm.ok("report", "pipeline", "--json").stdout
    csv = crm.ok("report", "pipeline", "--csv").lines
    assert csv[0] == "stage,currency,deals,total_value,weighted_value,avg_age_days"
    assert "proposal,USD,1,2000.5,1000.25,52.0" in csv
    assert "total,SAR,3,15000,9750,21.3" in csv


def test_pipeline_on_a_terminal_has_a_table_per_currency_with_bars(crm, dataset):
    out = crm.ok("report", "pipeline", tty=True).stdout
    assert "Pipeline, open deals (SAR)" in out and "Pipeline, open deals (USD)" in out
    assert "█" in out and "9,750.00" in out and "1,000.25" in out


def test_pipeline_on_an_empty_database(crm):
    rows = crm.ok("report", "pipeline", "--json").json()
    assert [r["stage"] for r in rows] == ["lead", "qualified", "proposal", "negotiation", "total"]
    assert all(r["deals"] == 0 and r["currency"] == "USD" for r in rows)
    assert crm.ok("report", "pipeline", tty=True).exit_code == 0


def test_pipeline_sums_in_sql_through_the_stage_index(crm, dataset, db):
    plan = " ".join(
        r[3]
        for r in db().execute(
            "EXPLAIN QUERY PLAN SELECT d.stage, d.currency, count(*), sum(d.value) FROM stages s "
            "JOIN deals d ON d.stage = s.name WHERE s.kind = 'open' GROUP BY d.stage, d.currency"
        )
    )
    assert "deals_stage" in plan


# ---------------------------------------------------------------------------------------------
# forecast


def test_forecast_by_month_with_overdue_apart(crm, dataset):
    doc = crm.ok("report", "forecast", "--period", "month", "--months", "3", "--json").json()
    assert (doc["period"], doc["from"], doc["to"]) == ("month", "2026-11-22", "2027-01-31")
    got = [(r["currency"], r["period"], r["deals"], r["total_value"], r["weighted_value"]) for r in doc["rows"]]
    assert got == [
        ("SAR", "2026-11", 0, 0, 0),
        ("SAR", "2026-12", 1, 5000, 3000),
        ("SAR", "2027-01", 1, 7000, 5250),
        ("SAR", "no date", 1, 3000, 1500),
        ("USD", "2026-11", 0, 0, 0),
        ("USD", "2026-12", 0, 0, 0),
        ("USD", "2027-01", 0, 0, 0),
    ]
    assert [(d["title"], d["days_overdue"], d["value"], d["currency"]) for d in doc["overdue_deals"]] == [
        ("D3", 12, 2000.5, "USD")
    ]
    assert doc["overdue_count"] == 1
    assert doc["overdue"] == [
        {"period": "overdue", "start": None, "currency": "USD", "deals": 1, "total_value": 2000.5,
         "weighted_value": 1000.25}
    ]  # fmt: skip


def test_forecast_lists_the_oldest_overdue_deals(crm, dataset):
    crm.ok("deal", "edit", str(dataset["D2"]), "--close", "2026-11-01")
    doc = crm.ok("report", "forecast", "--overdue", "1", "--json").json()
    assert doc["overdue_count"] == 2 and [d["title"] for d in doc["overdue_deals"]] == ["D2"]
    assert [r["deals"] for r in doc["overdue"]] == [1, 1]  # SAR, USD: never summed across currencies
    assert len(crm.ok("report", "forecast", "--overdue", "0", "--json").json()["overdue_deals"]) == 2
    out = crm.ok("report", "forecast", "--overdue", "1", tty=True)
    assert "the 1 oldest of 2" in out.stdout and "see them all" in out.stderr


def test_forecast_by_quarter_and_later(crm, dataset):
    doc = crm.ok("report", "forecast", "--period", "quarter", "--months", "1", "--json").json()
    sar = [(r["period"], r["deals"], r["total_value"]) for r in doc["rows"] if r["currency"] == "SAR"]
    assert sar == [("2026-Q4", 1, 5000), ("later", 1, 7000), ("no date", 1, 3000)]
    doc = crm.ok("report", "forecast", "--period", "quarter", "--json").json()
    sar = [(r["period"], r["start"], r["total_value"]) for r in doc["rows"] if r["currency"] == "SAR"]
    assert sar[:3] == [("2026-Q4", "2026-10-01", 5000), ("2027-Q1", "2027-01-01", 7000), ("2027-Q2", "2027-04-01", 0)]


def test_forecast_flat_rows_and_terminal(crm, dataset):
    lines = crm.ok("report", "forecast", "--months", "2", "--csv").lines
    assert lines[0] == "period,currency,deals,total_value,weighted_value"
    assert lines[-1] == "overdue,USD,1,2000.5,1000.25"
    out = crm.ok("report", "forecast", tty=True).stdout
    assert "Overdue" in out and "D3" in out and "█" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "week"], "month, quarter"),
        (["--months", "0"], "--months"),
        (["--months", "many"], "many"),
        (["--overdue", "-1"], "--overdue"),
    ],
)
def test_forecast_bad_input(crm, dataset, db_path, args, message):
    before = dump(db_path)
    result = crm("report", "forecast", *args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""
    assert dump(db_path) == before


# ---------------------------------------------------------------------------------------------
# sales


def test_sales_all_time(crm, dataset):
    doc = crm.ok("report", "sales", "--json").json()
    assert (doc["won_count"], doc["lost_count"], doc["closed_count"], doc["win_rate"]) == (2, 3, 5, 0.4)
    assert doc["avg_cycle_days"] == 25.0  # (30 + 20) / 2
    assert doc["lost_reasons"] == [
        {"reason": "Price too high", "count": 2, "share": 0.6667},  # compared case-insensitively
        {"reason": "no budget", "count": 1, "share": 0.3333},
    ]
    sar, usd = doc["by_currency"]
    assert sar == {
        "currency": "SAR",
        "won_count": 2,
        "won_value": 14000,
        "lost_count": 2,
        "lost_value": 8500,
        "win_rate": 0.5,
        "avg_deal_size": 7000,
        "avg_cycle_days": 25.0,
        "lost_reasons": [
            {"reason": "no budget", "count": 1, "share": 0.5},
            {"reason": "Price too high", "count": 1, "share": 0.5},
        ],
    }
    assert (usd["won_count"], usd["lost_count"], usd["win_rate"], usd["avg_deal_size"]) == (0, 1, 0.0, None)


def test_sales_for_a_period(crm, dataset):
    doc = crm.ok("report", "sales", "--from", "2026-11-01", "--to", "30/11/2026", "--json").json()
    assert (doc["from"], doc["to"]) == ("2026-11-01", "2026-11-30")
    assert (doc["won_count"], doc["lost_count"], doc["win_rate"]) == (1, 3, 0.25)  # D1 was won in October
    assert doc["avg_cycle_days"] == 20.0
    empty = crm.ok("report", "sales", "--to", "2026-10-01", "--json").json()
    assert (empty["closed_count"], empty["win_rate"], empty["by_currency"]) == (0, None, [])


def test_sales_average_deal_size_is_exact(crm):
    crm.ok("contact", "add", "Amal")
    for value in ("100", "100", "100.001"):
        crm.ok("deal", "add", "Amal", "x", "--value", value)
    for deal_id in ("1", "2", "3"):
        crm.ok("deal", "won", deal_id)
    by = crm.ok("report", "sales", "--json").json()["by_currency"][0]
    assert by["won_value"] == 300.001 and by["avg_deal_size"] == 100  # 100.000333… to the thousandth


def test_sales_flat_and_terminal(crm, dataset):
    lines = crm.ok("report", "sales", "--csv").lines
    assert lines[0] == "currency,won_count,won_value,lost_count,lost_value,win_rate,avg_deal_size,avg_cycle_days"
    assert lines[1] == "SAR,2,14000,2,8500,0.5,7000,25.0"
    out = crm.ok("report", "sales", tty=True).stdout
    assert "win rate 40.0%" in out and "Lost reasons" in out


def test_sales_bad_dates(crm, dataset, db_path):
    before = dump(db_path)
    result = crm("report", "sales", "--from", "2026-12-01", "--to", "2026-11-01")
    assert result.exit_code == 2 and "before --from" in result.stderr
    assert crm("report", "sales", "--from", "whenever").exit_code == 2
    assert dump(db_path) == before


# ---------------------------------------------------------------------------------------------
# stale


def test_stale_deals_oldest_first(crm, dataset):
    rows = crm.ok("report", "stale", "--json").json()
    assert [(r["title"], r["days_idle"]) for r in rows] == [("D3", 52)]
    rows = crm.ok("report", "stale", "--days", "5", "--json").json()
    # D2's linked call (11-15) counts as activity; D5 moved on 11-12; D6 is two days old.
    assert [(r["title"], r["days_idle"], r["last_activity_at"][:10]) for r in rows] == [
        ("D3", 52, "2026-10-01"),
        ("D5", 10, "2026-11-12"),
        ("D2", 7, "2026-11-15"),
    ]
    crm.ok("deal", "edit", str(dataset["D3"]), "--owner", "Huda")  # an edit is activity too
    assert [r["title"] for r in crm.ok("report", "stale", "--days", "5", "--json").json()] == ["D5", "D2"]
    assert crm.ok("report", "stale", "--days", "100", tty=True).exit_code == 0


def test_stale_limit(crm, dataset):
    assert [r["title"] for r in crm.ok("report", "stale", "--days", "5", "--limit", "2", "--json").json()] == [
        "D3",
        "D5",
    ]


@pytest.mark.parametrize(("args", "message"), [(["--days", "0"], "--days"), (["--limit", "0"], "--limit")])
def test_stale_bad_input(crm, dataset, args, message):
    result = crm("report", "stale", *args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_stale_piped_lines_are_the_rows_as_tsv(crm, dataset, db_path):
    """Piped, SQLite builds the lines (reports.pipeline.stale_lines): they must be exactly what
    emit_rows prints for stale()'s rows, tabs/newlines in cells and amounts with decimals included; an
    activity instant not in the stored form sends the listing through stale()'s rows."""
    import io
    from datetime import UTC, datetime

    from crm_cli import db
    from crm_cli.commands.report.pipeline import STALE_COLUMNS
    from crm_cli.output import write_tsv
    from crm_cli.reports import pipeline

    keys = [c.key for c in STALE_COLUMNS]
    now = datetime(2026, 11, 22, 9, tzinfo=UTC)

    def expected() -> str:
        conn = db.connect(db_path)
        out = io.StringIO()
        write_tsv(out, (map(r.get, keys) for r in pipeline.stale(conn, now, days=5)), len(keys))
        conn.close()
        return out.getvalue()

    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE deals SET title = 'tab\there\nnewline', value = 2000001 WHERE id = ?", (dataset["D5"],))
    conn.commit()
    text = crm.ok("report", "stale", "--days", "5").stdout
    assert text == expected() and "tab here newline\tBadr" in text and "\t2000.001\t" in text
    assert pipeline.stale_lines(db.connect(db_path), now, keys, days=5) is not None
    conn.execute("UPDATE deals SET updated_at = '2026-10-02T10:00:00.5+03:00' WHERE id = ?", (dataset["D3"],))
    conn.commit()
    conn.close()
    assert pipeline.stale_lines(db.connect(db_path), now, keys, days=5) is None
    text = crm.ok("report", "stale", "--days", "5").stdout
    assert text == expected() and text.startswith(f"{dataset['D3']}\tD3\t")


# ---------------------------------------------------------------------------------------------
# conversion


def test_conversion_funnel_and_median_days(crm, dataset):
    rows = crm.ok("report", "conversion", "--json").json()
    got = [(r["stage"], r["reached"], r["next_stage"], r["advanced"], r["conversion"], r["median_days_in_stage"])
           for r in rows]  # fmt: skip
    assert got == [
        # reached lead: D1 D5 D7 D8; on: D1 D5 D7.   lead stays 10 10 20 10 -> median 10
        ("lead", 4, "qualified", 3, 0.75, 10.0),
        # reached qualified: D1 D2 D5 (jumped over) D7 (jumped over) D9; on: D1 D5 D7.   stays 10 and 2 -> 6
        ("qualified", 5, "proposal", 3, 0.6, 6.0),
        # reached proposal: D1 D3 D4 D5 D6 D7; on: D1 D4 D5 D7.   stays 10 and 31 -> 20.5
        ("proposal", 6, "negotiation", 4, 0.6667, 20.5),
        # reached negotiation: D1 D4 D5 D7; won: D1 D7.   D4 stayed 5 days (D5 is still there)
        ("negotiation", 4, "won", 2, 0.5, 5.0),
        ("won", 2, None, None, None, None),
    ]


def test_conversion_for_deals_created_in_a_window(crm, dataset):
    rows = crm.ok("report", "conversion", "--from", "2026-11-01", "--json").json()
    assert [(r["stage"], r["reached"], r["advanced"]) for r in rows] == [
        ("lead", 3, 2),  # D5 D7 D8
        ("qualified", 3, 2),  # D5 D7 D9
        ("proposal", 3, 2),  # D5 D6 D7
        ("negotiation", 2, 1),  # D5 D7
        ("won", 1, None),
    ]
    assert crm.ok("report", "conversion", tty=True).exit_code == 0
    assert crm.ok("report", "conversion", "--csv").lines[0].startswith("stage,reached,next_stage,advanced,conversion")
