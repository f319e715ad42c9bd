"""crm report customers (RFM) and crm report dormant, against hand-computed answers.

Clock 2026-11-22T09:00:00Z (noon in Riyadh); purchases at 09:00Z N days ago are N local days ago.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_cli.reports.rfm import quintile_scores, segment_name
from tests.conftest import dump
from tests.test_reports_retention import buy, log, open_fresh, person

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# quintiles


def test_quintiles_distinct_values():
    assert quintile_scores(list(range(1, 11))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_quintile_ties_share_the_score_of_their_middle():
    # orders [1×5, 2×3, 3, 5]: p(1) = 2.5/10 -> 2; p(2) = (5 + 1.5)/10 -> 4; p(3) = 8.5/10 -> 5; p(5) -> 5
    assert quintile_scores([1, 1, 1, 1, 1, 2, 2, 2, 3, 5]) == [2, 2, 2, 2, 2, 4, 4, 4, 5, 5]
    # a tie across the 40% boundary: [10, 10, 20, 20, 20]: p(10) = 1/5 -> 2, p(20) = 3.5/5 -> 4
    assert quintile_scores([10, 10, 20, 20, 20]) == [2, 2, 4, 4, 4]
    assert quintile_scores([7, 7, 7]) == [3, 3, 3]  # no information: the middle
    assert quintile_scores([42]) == [3]
    assert quintile_scores([]) == []


def test_quintiles_match_the_mid_rank_definition():
    import random

    rng = random.Random(8)
    for _ in range(2000):
        values = [rng.randint(-rng.choice([1, 3, 50, 10**6]), 50) for _ in range(rng.randint(1, 40))]
        n = len(values)
        expected = [min(5, 1 + (5 * (2 * sum(w < v for w in values) + values.count(v))) // (2 * n)) for v in values]
        assert quintile_scores(values) == expected, values


@pytest.mark.parametrize(
    "raw, name",
    [
        ("champions", "champions"),
        ("at-risk", "at risk"),
        ("AT RISK", "at risk"),
        ("cant-lose", "can't lose"),
        ("can't lose", "can't lose"),
        ("can’t-lose", "can't lose"),
        ("potential_loyalists", "potential loyalists"),
        ("all", "all"),
    ],
)
def test_segment_names(raw, name):
    assert segment_name(raw) == name


# ---------------------------------------------------------------------------------------------
# RFM on a hand-computed shop


@pytest.fixture
def shop(crm, db_path):
    """Ten customers (days since last purchase, orders, revenue) chosen so every segment appears.

    R from recency [5,10,20,40,60,90,120,200,300,400] -> 5,5,4,4,3,3,2,2,1,1
    F from orders  [5,3,1,2,2,1,1,1,2,1] (1×5, 2×3, 3, 5) -> 1 order: 2, 2 orders: 4, 3: 5, 5: 5
    M from revenue [1000,900,300,100,500,200,400,800,700,600] -> 100,200:1 300,400:2 500,600:3 700,800:4 900,1000:5
    """
    conn = open_fresh(crm, db_path)
    plan = [  # name, days ago of each purchase (last first), amount of each
        ("c1", [5, 35, 65, 95, 125], "200"),  # 5 5 5 champions
        ("c2", [10, 40, 70], "300"),  # 5 5 5 champions
        ("c3", [20], "300"),  # 4 2 2 new
        ("c4", [40, 50], "50"),  # 4 4 1 potential loyalists (FM 2.5)
        ("c5", [60, 70], "250"),  # 3 4 3 loyal
        ("c6", [90], "200"),  # 3 2 1 potential loyalists
        ("c7", [120], "400"),  # 2 2 2 hibernating
        ("c8", [200], "800"),  # 2 2 4 at risk (FM 3)
        ("c9", [300, 310], "350"),  # 1 4 4 can't lose
        ("c10", [400], "600"),  # 1 2 3 lost
    ]
    ids = {}
    for name, days, amount in plan:
        ids[name] = cid = person(conn, name, email=f"{name}@example.com")
        for d in days:
            buy(conn, cid, ago(d), amount)
    org = person(conn, "Org", kind="organization")
    buy(conn, org, ago(1), "99999")
    person(conn, "never bought")
    return ids


def test_scores_and_segments_by_hand(crm, shop):
    rows = crm.ok("report", "customers", "--segment", "all", "--json").json()
    got = {r["name"]: (r["r"], r["f"], r["m"], r["segment"]) for r in rows}
    assert got == {
        "c1": (5, 5, 5, "champions"),
        "c2": (5, 5, 5, "champions"),
        "c3": (4, 2, 2, "new"),
        "c4": (4, 4, 1, "potential loyalists"),
        "c5": (3, 4, 3, "loyal"),
        "c6": (3, 2, 1, "potential loyalists"),
        "c7": (2, 2, 2, "hibernating"),
        "c8": (2, 2, 4, "at risk"),
        "c9": (1, 4, 4, "can't lose"),
        "c10": (1, 2, 3, "lost"),
    }
    c1 = next(r for r in rows if r["name"] == "c1")
    assert c1["recency_days"] == 5 and c1["orders"] == 5 and c1["revenue"] == 1000
    assert c1["avg_order_value"] == 200 and c1["lifetime_value"] == 1000 and c1["currency"] == "SAR"
    assert c1["rfm"] == "555" and c1["email"] == "c1@example.com"


def test_segment_table_counts_and_revenue(crm, shop):
    rows = crm.ok("report", "customers", "--json").json()
    assert [r["segment"] for r in rows] == [
        "champions",
        "loyal",
        "potential loyalists",
        "new",
        "at risk",
        "can't lose",
        "hibernating",
        "lost",
    ]
    by = {r["segment"]: r for r in rows}
    assert {k: v["customers"] for k, v in by.items()} == {
        "champions": 2,
        "loyal": 1,
        "potential loyalists": 2,
        "new": 1,
        "at risk": 1,
        "can't lose": 1,
        "hibernating": 1,
        "lost": 1,
    }
    assert by["champions"]["revenue"] == 1900 and by["champions"]["orders"] == 8
    assert by["champions"]["share"] == 0.2 and by["champions"]["revenue_share"] == 0.3455  # 1900 / 5500
    assert by["champions"]["avg_order_value"] == 237.5  # 1900 / 8
    assert by["potential loyalists"]["revenue"] == 300 and by["potential loyalists"]["avg_recency_days"] == 65.0


def test_segment_listing_csv_and_cli_names(crm, shop):
    out = crm.ok("report", "customers", "--segment", "champions", "--csv").lines
    assert out[0] == (
        "id,name,email,phone,segment,r,f,m,recency_days,last_purchase_at,orders,revenue,avg_order_value,"
        "lifetime_value,currency"
    )
    assert [line.split(",")[1] for line in out[1:]] == ["c1", "c2"]  # biggest revenue first
    assert out[1].split(",")[4:9] == ["champions", "5", "5", "5", "5"]
    for raw in ("cant-lose", "can't lose"):
        assert [r["name"] for r in crm.ok("report", "customers", "--segment", raw, "--json").json()] == ["c9"]
    assert [r["name"] for r in crm.ok("report", "customers", "--segment", "at-risk", "--json").json()] == ["c8"]


@pytest.mark.parametrize("args", [("all",), ("champions",), ("lost", "--from", "2026-01-01", "--to", "2026-10-01")])
def test_segment_listing_piped_cells_are_the_rows_as_tsv(crm, shop, db_path, args):
    """Piped, SQLite joins the lines (rfm.member_lines): the same lines as write_tsv of the JSON rows."""
    import io

    from crm_cli.output import write_tsv
    from crm_cli.reports import rfm

    keys = list(rfm.MEMBER_CELLS)
    rows = crm.ok("report", "customers", "--segment", *args, "--json").json()
    piped = crm.ok("report", "customers", "--segment", *args).stdout
    out = io.StringIO()
    write_tsv(out, (map(r.get, keys) for r in rows), len(keys))
    assert piped == out.getvalue()  # JSON numbers print as plain() prints the Decimals
    assert len(piped.splitlines()) == len(rows)


@pytest.mark.parametrize("args", [(), ("--from", ago(40)[:10])])
def test_segment_listing_piped_odd_cells(crm, db_path, args):
    """Tabs and newlines in names, no e-mail, no purchase in the default currency (no average), refunds
    (negative amounts: the average rounds half up like _avg), lifetime over all time with a range."""
    import io

    from crm_cli.output import write_tsv
    from crm_cli.reports import rfm

    conn = open_fresh(crm, db_path)
    odd = person(conn, "Tab\there\nnewline", email="a@example.com")
    buy(conn, odd, ago(30), "10.5")
    log(conn, odd, "purchase", ago(20), amount=-3251, currency="SAR")  # stored thousandths
    buy(conn, odd, ago(60), "7")
    dollars = person(conn, "Dollar only")
    buy(conn, dollars, ago(10), "5", "USD")
    refund = person(conn, "Refund")
    log(conn, refund, "purchase", ago(5), amount=-5, currency="SAR")
    log(conn, refund, "purchase", ago(4), amount=-2, currency="SAR")
    log(conn, refund, "purchase", ago(3), amount=-1, currency="SAR")
    rows = crm.ok("report", "customers", "--segment", "all", *args, "--json").json()
    piped = crm.ok("report", "customers", "--segment", "all", *args).stdout
    out = io.StringIO()
    write_tsv(out, (map(r.get, rfm.MEMBER_CELLS) for r in rows), len(rfm.MEMBER_CELLS))
    assert piped == out.getvalue() and len(rows) == 3
    cells = {line.split("\t")[0]: line.split("\t") for line in piped.splitlines()}
    assert cells[str(odd)][1] == "Tab here newline" and cells[str(dollars)][12:14] == ["", "0"]
    assert cells[str(refund)][11:14] == ["-0.008", "-0.003", "-0.008"]  # (2 x -8 + 3) // 6 = -3, not -2


def test_range_scores_the_window_but_lifetime_value_is_all_time(crm, shop):
    rows = crm.ok("report", "customers", "--segment", "all", "--from", ago(30)[:10], "--json").json()
    assert {r["name"]: (r["orders"], r["revenue"], r["lifetime_value"]) for r in rows} == {
        "c1": (1, 200, 1000),
        "c2": (1, 300, 900),
        "c3": (1, 300, 300),
    }
    to = crm.ok("report", "customers", "--segment", "all", "--to", ago(100)[:10], "--json").json()
    c1 = next(r for r in to if r["name"] == "c1")
    assert c1["recency_days"] == 25 and c1["orders"] == 1  # measured to the end of the range


def test_other_currencies_count_as_orders_not_revenue(crm, db_path):
    conn = open_fresh(crm, db_path)
    cid = person(conn, "Mixed")
    buy(conn, cid, ago(3), "100", "SAR")
    buy(conn, cid, ago(2), "7.5", "USD")
    buy(conn, cid, ago(1), "0.125", "SAR")
    (row,) = crm.ok("report", "customers", "--segment", "all", "--json").json()
    assert row["orders"] == 3 and row["revenue"] == 100.125 and row["avg_order_value"] == 50.063  # 100.125/2
    assert (row["r"], row["f"], row["m"], row["segment"]) == (3, 3, 3, "loyal")  # one customer: the middle
    loyal = next(s for s in crm.ok("report", "customers", "--json").json() if s["segment"] == "loyal")
    assert (loyal["customers"], loyal["orders"], loyal["revenue"], loyal["avg_order_value"]) == (1, 3, 100.125, 50.063)


def test_terminal(crm, shop, monkeypatch):
    monkeypatch.setenv("COLUMNS", "150")
    out = crm.ok("report", "customers", tty=True).stdout
    assert "champions" in out and "1,900.00 SAR" in out and "█" in out


def test_empty_database(crm):
    rows = crm.ok("report", "customers", "--json").json()
    assert len(rows) == 8 and all(r["customers"] == 0 and r["revenue"] == 0 for r in rows)
    assert crm.ok("report", "customers", "--segment", "champions", "--json").json() == []
    result = crm.ok("report", "customers", tty=True)
    assert result.stdout == "" and "no purchases" in result.stderr


# ---------------------------------------------------------------------------------------------
# dormant


@pytest.fixture
def quiet(crm, db_path):
    """D1 3 orders long ago; D2 1 big order, a call 200 days ago; D3 one small order; D4 recent call;
    D5 recent purchase; D6 last purchase exactly 180 days ago (not dormant), D7 one second earlier."""
    conn = open_fresh(crm, db_path)
    ids = {}
    for name in ("D1", "D2", "D3", "D4", "D5", "D6", "D7"):
        ids[name] = person(conn, name, email=f"{name.lower()}@example.com")
    for d in (300, 320, 340):
        buy(conn, ids["D1"], ago(d), "100")
    buy(conn, ids["D2"], ago(250), "1000")
    log(conn, ids["D2"], "call", ago(200))
    buy(conn, ids["D3"], ago(400), "50")
    buy(conn, ids["D4"], ago(300), "200")
    log(conn, ids["D4"], "call", ago(10))
    buy(conn, ids["D5"], ago(20), "500")
    buy(conn, ids["D6"], ago(180), "400")
    buy(conn, ids["D7"], (NOW - timedelta(days=180, seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "10")
    person(conn, "Lead never contacted")
    org = person(conn, "Quiet org", kind="organization")
    buy(conn, org, ago(500), "5000")
    return ids


def test_dormant_rows_actions_and_order(crm, quiet):
    rows = crm.ok("report", "dormant", "--days", "180", "--json").json()
    # median lifetime spend of D1..D7: [10, 50, 200, 300, 400, 500, 1000] -> 300
    assert [(r["name"], r["action"]) for r in rows] == [
        ("D2", "win back"),  # 1000 > median
        ("D1", "win back"),  # 3 orders
        ("D3", "purge"),
        ("D7", "purge"),
    ]
    d2 = rows[0]
    assert d2["last_purchase_at"] == ago(250) and d2["last_contact_at"] == ago(200)
    assert d2["days_since_contact"] == 200 and d2["lifetime_spend"] == 1000 and d2["currency"] == "SAR"
    s = crm.ok("report", "dormant", "--summary", "--json").json()
    assert (s["customers"], s["dormant"], s["win_back"], s["purge"]) == (7, 4, 2, 2)
    assert s["median_lifetime_spend"] == 300 and s["segment_expression"] == "orders>=1 last-contact>180d"


def test_dormant_piped_lines_are_the_rows_as_tsv(crm, quiet, db_path, monkeypatch):
    """Piped, SQLite picks and joins the rows (reports.dormant.dormant_lines): exactly what emit_rows
    prints for dormant()'s rows, for odd and even customer counts, ranges, tabs in names and decimal
    spend; a last-contact instant not in the stored form sends the listing through dormant()."""
    import sqlite3

    from crm_cli import db
    from crm_cli.commands.report.customers import DORMANT_CSV_COLUMNS
    from crm_cli.reports import dormant

    keys = [c.key for c in DORMANT_CSV_COLUMNS]
    lines = dormant.dormant_lines

    def both(*args: str) -> tuple[str, str]:
        fast = crm.ok("report", "dormant", *args).stdout
        monkeypatch.setattr(dormant, "dormant_lines", lambda *a, **k: None)
        rows = crm.ok("report", "dormant", *args).stdout
        monkeypatch.setattr(dormant, "dormant_lines", lines)
        return fast, rows

    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE contacts SET name = 'D\t3' WHERE id = ?", (quiet["D3"],))
    conn.execute("UPDATE interactions SET amount = 50125 WHERE contact_id = ?", (quiet["D3"],))
    conn.commit()
    for args in [(), ("--days", "30"), ("--days", "30", "--from", ago(330)[:10]), ("--to", ago(300)[:10])]:
        fast, rows = both(*args)
        assert fast == rows and fast
    fast, _ = both()
    assert "\tD 3\t" in fast and "\t50.125\tSAR\t" in fast
    buy(conn, person(conn, "D8"), ago(600), "0.5")  # an even count of customers
    conn.commit()
    fast, rows = both()
    assert fast == rows and len(fast.splitlines()) == 5
    assert lines(db.connect(db_path), keys, now=NOW) is not None
    conn.execute("UPDATE interactions SET happened_at = ? WHERE contact_id = ?", (ago(250)[:19] + ".5Z", quiet["D2"]))
    conn.commit()
    conn.close()
    assert lines(db.connect(db_path), keys, now=NOW) is None
    fast, rows = both()
    assert fast == rows and len(fast.splitlines()) == 5


def test_saved_segment_selects_the_same_contacts(crm, quiet, db):
    rows = crm.ok("report", "dormant", "--days", "180", "--save-segment", "winback", "--json").json()
    listed = crm.ok("contact", "list", "segment:winback", "--json").json()
    assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in rows) and len(listed) == 4
    (expr,) = db().execute("SELECT expr FROM segments WHERE name = 'winback'").fetchone()
    assert expr == "orders>=1 last-contact>180d"
    # --days 365 and a range on the last purchase: still the same contacts
    rows = crm.ok(
        "report", "dormant", "--days", "30", "--from", ago(330)[:10], "--to", ago(240)[:10], "--save-segment", "w2"
    ).lines
    listed = crm.ok("contact", "list", "segment:w2", "--json").json()
    assert sorted(r["id"] for r in listed) == sorted(int(line.split("\t")[0]) for line in rows)
    assert sorted(r["name"] for r in listed) == ["D1", "D2"]  # D4 spoke 10 days ago; D3 bought too early


def test_dormant_terminal(crm, quiet, monkeypatch):
    monkeypatch.setenv("COLUMNS", "150")
    out = crm.ok("report", "dormant", tty=True).stdout
    assert "win back" in out and "4 of 7 customers" in out and "orders>=1 last-contact>180d" in out


def test_dormant_empty_database(crm):
    assert crm.ok("report", "dormant", "--json").json() == []
    s = crm.ok("report", "dormant", "--summary", "--json").json()
    assert s["dormant"] == 0 and s["median_lifetime_spend"] is None


@pytest.mark.parametrize(
    "args",
    [
        ("report", "customers", "--segment", "vip"),
        ("report", "customers", "--from", "2026-13-01"),
        ("report", "dormant", "--days", "0"),
        ("report", "dormant", "--days", "-5"),
        ("report", "dormant", "--days", "soon"),
        ("report", "dormant", "--to", "32/01/2026"),
        ("report", "dormant", "--save-segment", "bad name"),
        ("report", "dormant", "--save-segment", ""),
    ],
)
def test_bad_input(crm, quiet, db_path, args):
    before = dump(db_path)
    result = crm(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: ")
    assert dump(db_path) == before
