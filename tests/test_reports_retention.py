"""crm report retention: cohorts, repeat rate and churn against hand-computed answers; local periods.

The clock is 2026-11-22T09:00:00Z, TZ Asia/Riyadh (UTC+3): 2026-01-31T22:00Z is 1 February locally.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from crm_cli import periods
from crm_cli.reports import buckets
from crm_cli.reports.retention import retention

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


# Shared by the report tests: build data straight in SQL (exact instants), after `crm` created the file.
def open_fresh(crm, db_path, currency: str = "SAR") -> sqlite3.Connection:
    crm.ok("contact", "list")
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("INSERT INTO settings (key, value) VALUES ('default_currency', ?)", (currency,))
    return conn


def person(conn, name: str, *, kind: str = "person", source=None, created="2025-01-01T00:00:00Z", email=None) -> int:
    return conn.execute(
        """INSERT INTO contacts (kind, name, source, email, name_key, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (kind, name, source, email, name.lower(), created, created),
    ).lastrowid


def log(conn, contact_id: int, kind: str, at: str, **cols) -> int:
    cols = {"contact_id": contact_id, "kind": kind, "happened_at": at, "created_at": at, **cols}
    names = ", ".join(cols)
    marks = ", ".join("?" * len(cols))
    return conn.execute(f"INSERT INTO interactions ({names}) VALUES ({marks})", list(cols.values())).lastrowid


def buy(conn, contact_id: int, at: str, amount: str = "100", currency: str = "SAR") -> int:
    from crm_cli.money import parse_amount

    return log(conn, contact_id, "purchase", at, amount=parse_amount(amount), currency=currency)


# ---------------------------------------------------------------------------------------------


@pytest.fixture
def shop(crm, db_path):
    conn = open_fresh(crm, db_path)
    a, b, c, d = (person(conn, n) for n in ("Amal", "Badr", "Carla", "Dana"))
    org = person(conn, "Acme", kind="organization")
    person(conn, "Lead only")
    buy(conn, a, "2026-01-10T09:00:00Z")
    buy(conn, a, "2026-02-05T09:00:00Z")
    buy(conn, a, "2026-04-01T09:00:00Z")
    buy(conn, b, "2026-01-31T22:00:00Z")  # 1 February in Riyadh
    buy(conn, b, "2026-03-15T09:00:00Z")
    buy(conn, c, "2026-01-20T09:00:00Z")
    buy(conn, d, "2026-02-10T09:00:00Z")
    buy(conn, d, "2026-02-20T09:00:00Z")
    buy(conn, org, "2026-01-05T09:00:00Z")  # organisations are not customers
    return conn


def test_cohorts_repeat_rate_and_churn_by_hand(crm, shop):
    rows = crm.ok("report", "retention", "--json").json()
    assert [r["cohort"] for r in rows] == ["2026-01", "2026-02"]
    jan, feb = rows
    assert jan["size"] == 2 and feb["size"] == 2
    assert jan["retained"] == [2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]  # Jan … Nov
    assert jan["retention"] == [1.0, 0.5, 0.0, 0.5, 0, 0, 0, 0, 0, 0, 0]
    assert feb["retention"][:3] == [1.0, 0.5, 0.0] and len(feb["retention"]) == 10
    assert (jan["repeat_customers"], jan["repeat_rate"]) == (1, 0.5)
    assert (feb["repeat_customers"], feb["repeat_rate"]) == (2, 1.0)
    assert jan["cohort_start"] == "2026-01-01"

    s = crm.ok("report", "retention", "--summary", "--json").json()
    assert (s["customers"], s["repeat_customers"], s["repeat_purchase_rate"]) == (4, 3, 0.75)
    churn = {c["period"]: (c["customers_before"], c["retained"], c["churn_rate"]) for c in s["churn"]}
    assert churn == {
        "2026-02": (2, 1, 0.5),  # Jan buyers A, C: only A bought in Feb
        "2026-03": (3, 1, 0.6667),  # Feb buyers A, B, D: only B in March
        "2026-04": (1, 0, 1.0),
        "2026-05": (1, 0, 1.0),
    }
    assert (s["churn_period"], s["churn_rate"]) == ("2026-05", 1.0)


def test_range_keeps_cohorts_in_it_and_ignores_later_purchases(crm, shop):
    rows = crm.ok("report", "retention", "--from", "2026-02-01", "--json").json()
    assert [r["cohort"] for r in rows] == ["2026-02"]  # B's first purchase is 1 Feb local time
    rows = crm.ok("report", "retention", "--to", "2026-02-28", "--json").json()
    jan, feb = rows
    assert jan["retention"] == [1.0, 0.5] and feb["retention"] == [1.0]
    assert jan["repeat_rate"] == 0.5 and feb["repeat_rate"] == 0.5  # B's March purchase is after --to


def test_quarter_and_week_periods(crm, shop):
    rows = crm.ok("report", "retention", "--period", "quarter", "--json").json()
    assert [(r["cohort"], r["size"], r["retained"]) for r in rows] == [("2026-Q1", 4, [4, 1, 0, 0])]
    weeks = crm.ok("report", "retention", "--period", "week", "--json").json()
    assert weeks[0]["cohort"] == "2026-W02" and sum(r["size"] for r in weeks) == 4


def test_csv_and_pipe_flatten_the_periods(crm, shop):
    out = crm.ok("report", "retention", "--csv").lines
    assert out[0].startswith("cohort,cohort_start,size,repeat_customers,repeat_rate,period_0,period_1")
    assert out[1].startswith("2026-01,2026-01-01,2,1,0.5,1.0,0.5,0.0,0.5")
    piped = crm.ok("report", "retention").lines
    assert piped[0].split("\t")[:6] == ["2026-01", "2026-01-01", "2", "1", "0.5", "1.0"]


def test_terminal_heat_map_and_summary_lines(crm, shop):
    out = crm.ok("report", "retention", tty=True).stdout
    assert "+0" in out and "+10" in out and "2026-01" in out and "100" in out
    assert "repeat purchase rate 75.0%" in out and "churn 2026-05: 100.0%" in out


def test_empty_database(crm):
    assert crm.ok("report", "retention", "--json").json() == []
    s = crm.ok("report", "retention", "--summary", "--json").json()
    assert s["customers"] == 0 and s["repeat_purchase_rate"] is None and s["churn_rate"] is None
    result = crm.ok("report", "retention", tty=True)
    assert result.stdout == "" and "no purchases" in result.stderr
    assert crm.ok("report", "retention", "--csv").lines == ["cohort,cohort_start,size,repeat_customers,repeat_rate"]


def test_single_customer(crm, db_path):
    conn = open_fresh(crm, db_path)
    buy(conn, person(conn, "Solo"), "2026-11-01T09:00:00Z")
    rows = crm.ok("report", "retention", "--json").json()
    assert rows == [
        {
            "cohort": "2026-11",
            "cohort_start": "2026-11-01",
            "size": 1,
            "retained": [1],
            "retention": [1.0],
            "repeat_customers": 0,
            "repeat_rate": 0.0,
        }
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("--from", "2026-13-01"),
        ("--to", "someday"),
        ("--from", "2026-05-01", "--to", "2026-04-01"),
        ("--period", "fortnight"),
        ("--csv", "--ndjson"),
    ],
)
def test_bad_input_exits_2_with_one_line(crm, shop, db_path, args):
    from tests.conftest import dump

    before = dump(db_path)
    result = crm("report", "retention", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: ")
    assert dump(db_path) == before


def test_matches_a_naive_computation_on_random_data(crm, db_path):
    """The fast single pass agrees with the obvious per-purchase computation (local dates per row)."""
    conn = open_fresh(crm, db_path)
    rnd = random.Random(5)
    conn.execute("BEGIN")
    ids = [person(conn, f"P{i}", kind="organization" if i % 17 == 0 else "person") for i in range(120)]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for _ in range(900):
        at = start + timedelta(seconds=rnd.randrange(0, 690 * 86400))
        buy(conn, rnd.choice(ids), at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    conn.execute("COMMIT")
    persons = {r[0] for r in conn.execute("SELECT id FROM contacts WHERE kind = 'person'")}
    rows = conn.execute("SELECT contact_id, happened_at FROM interactions WHERE kind='purchase'").fetchall()
    for period in ("week", "month"):
        bucket = buckets.Bucketer(period, NOW)
        months = defaultdict(set)
        count = defaultdict(int)
        for cid, at in rows:
            if cid in persons:
                months[cid].add(buckets.index_of(periods.local_date(at), period))
                count[cid] += 1
        expected = defaultdict(lambda: defaultdict(int))
        repeat = defaultdict(int)
        for cid, ks in months.items():
            first = min(ks)
            for k in ks:
                expected[first][k - first] += 1
            repeat[first] += count[cid] >= 2
        got = retention(sqlite3.connect(db_path), now=NOW, period=period)["cohorts"]
        assert len(got) == len(expected)
        for row in got:
            k = bucket.of_day(datetime.fromisoformat(row["cohort_start"]).date())
            assert row["size"] == expected[k][0]
            assert row["retained"] == [expected[k][n] for n in range(len(row["retained"]))]
            assert row["repeat_customers"] == repeat[k]


@pytest.mark.parametrize("zone", ["Asia/Riyadh", "America/St_Johns", "Asia/Kathmandu", "America/Los_Angeles"])
def test_local_buckets_agree_with_periods(monkeypatch, zone):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    rnd = random.Random(zone)
    for period in ("week", "month", "quarter", "year"):
        b = buckets.Bucketer(period, NOW)
        for _ in range(2000):
            at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rnd.randrange(0, 3 * 365 * 86400))
            text = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            day = periods.local_date(text)
            assert b.label(b.of(text)) == periods.label(day, period)
            assert b.fast()(text) == b.of(text)
            assert periods.local_date(b.start_utc(b.of(text))) == periods.start_of(day, period)


@pytest.mark.parametrize("zone", ["Asia/Riyadh", "America/New_York", "Europe/London", "Australia/Lord_Howe",
                                  "Asia/Kathmandu", "Pacific/Kiritimati", "America/St_Johns"])  # fmt: skip
def test_sqlite_local_days_match_python_in_any_zone(monkeypatch, zone):
    """Reports bucket purchases with SQLite's date(at, LocalDays.modifier): the same local day as LocalDays
    (crm's one local offset), also in zones with DST, half-hour and 45-minute offsets."""
    import sqlite3
    import time
    from datetime import UTC, datetime, timedelta

    from crm_cli.reports import buckets

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        now = datetime(2026, 11, 22, 9, tzinfo=UTC)
        days = buckets.LocalDays(now)
        conn = sqlite3.connect(":memory:")
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for step in range(0, 3 * 366 * 24 * 4, 7):  # every 105 minutes over three years, DST changes included
            at = (start + timedelta(minutes=15 * step)).strftime("%Y-%m-%dT%H:%M:%SZ")
            (sql_day,) = conn.execute("SELECT date(?, ?)", (at, days.modifier)).fetchone()
            assert sql_day == days.day(at).isoformat(), (zone, at)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("period", ["week", "month", "quarter", "year"])
@pytest.mark.parametrize(
    "bounds", [("", "~"), ("2026-02-01T00:00:00Z", "~"), ("2025-12-01T00:00:00Z", "2026-03-01T00:00:00Z")]
)
def test_bit_sets_count_what_the_ordered_pass_counts(crm, shop, period, bounds):
    """The two ways of counting (customers' sets of periods as bits in SQL, or one ordered pass over the
    purchases in Python) agree from the period before the first shown on (the bits drop earlier purchases),
    with purchases before --from, several in one period, one in the future and local-day edges; the report
    takes the bit sets when its periods fit in one word."""
    from collections import Counter

    from crm_cli.reports import buckets, retention

    buy(shop, 1, "2025-12-31T21:30:00Z")  # 1 January in Riyadh, before Amal's other purchases
    buy(shop, 3, "2026-01-20T10:00:00Z")  # Carla again, same day
    buy(shop, 4, "2027-03-01T09:00:00Z")  # Dana, in the future
    bucketer = buckets.Bucketer(period, NOW)
    params = {"modifier": bucketer.days.modifier, "start": bounds[0], "cut": bounds[1]}
    cursor = shop.cursor()
    base = bucketer.of("2026-01-05T00:00:00Z" if period == "week" else "2025-06-01T00:00:00Z") - 1
    width = bucketer.of("2027-03-02T00:00:00Z") - base + 1
    assert width <= 63
    bits = retention._count_bits(cursor, bucketer, params, base, width)
    rows = retention._count_rows(cursor, bucketer, params)

    def nonzero(counts):
        return Counter({k: v for k, v in counts.items() if v and (not isinstance(k, int) or k >= base)})

    assert [nonzero(c) for c in bits] == [nonzero(c) for c in rows]
    assert sum(bits[0].values()) == (1 if bounds[0].startswith("2026") else 4)  # sizes: Dana, or everyone
