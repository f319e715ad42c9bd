"""The interaction log: kinds, purchases, support, follow-ups and the due list."""

import pytest

from tests.conftest import dump


@pytest.fixture
def people(crm):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "سارة الحداد", "--email", "sara@example.com")
    crm.ok("contact", "add", "John Smith", "--email", "john@example.com")


def test_log_prints_id_and_follow_up_is_due(crm, people):
    assert (
        crm.ok(
            "log", "call", "سارة", "Asked for wholesale prices", "--at", "yesterday 15:00", "--follow-up", "tomorrow"
        ).stdout
        == "1\n"
    )
    assert crm.ok("log", "due", "--json").json() == []  # due tomorrow, not today
    rows = crm.ok("log", "due", "--until", "+2d", "--json").json()
    assert [r["summary"] for r in rows] == ["Asked for wholesale prices"]
    assert rows[0]["type"] == "follow-up" and rows[0]["contact"] == "سارة الحداد"


def test_overdue_follow_ups_oldest_first_with_days_overdue(crm, people):
    crm.ok("log", "call", "john", "later", "--follow-up", "-1d")
    crm.ok("log", "call", "sara", "earlier", "--follow-up", "-5d")
    rows = crm.ok("log", "due", "--json").json()
    assert [(r["summary"], r["days_overdue"]) for r in rows] == [("earlier", 5), ("later", 1)]


def test_done_closes_a_follow_up(crm, people):
    crm.ok("log", "call", "john", "x", "--follow-up", "today")
    assert crm.ok("log", "done", "1").stdout == "1\n"
    assert crm.ok("log", "due", "--json").json() == []
    again = crm("log", "done", "1")
    assert again.exit_code == 2 and "no open follow-up" in again.stderr


def test_purchase_is_exact_and_makes_a_customer(crm, people, db):
    crm.ok("log", "purchase", "john@example.com", "Order #1001", "--amount", "249.90")
    row = crm.ok("log", "list", "--json").json()[0]
    assert row["amount"] == 249.9 and row["currency"] == "USD"
    assert db().execute("SELECT amount FROM interactions").fetchone()[0] == 249900
    assert crm.ok("contact", "show", "john", "--json").json()["status"] == "customer"


def test_support_stays_open_until_done(crm, people):
    crm.ok("log", "support", "sara", "Broken zipper")
    assert crm.ok("log", "list", "--kind", "support", "--json").json()[0]["status"] == "open"
    crm.ok("log", "done", "1")
    row = crm.ok("log", "list", "--json").json()[0]
    assert row["status"] == "resolved" and row["resolved_at"] == "2026-11-22T09:00:00Z"


def test_list_filters_by_contact_kind_and_dates(crm, people):
    crm.ok("log", "call", "sara", "old", "--at", "2026-10-01")
    crm.ok("log", "email", "sara", "new")
    crm.ok("log", "meeting", "john", "lunch")
    assert [r["summary"] for r in crm.ok("log", "list", "sara", "--json").json()] == ["new", "old"]
    assert [r["summary"] for r in crm.ok("log", "list", "--kind", "meeting", "--json").json()] == ["lunch"]
    assert [r["summary"] for r in crm.ok("log", "list", "--since", "2026-11-01", "--json").json()] == [
        "new",
        "lunch",
    ] or [r["summary"] for r in crm.ok("log", "list", "--since", "2026-11-01", "--json").json()] == ["lunch", "new"]
    assert [r["summary"] for r in crm.ok("log", "list", "--until", "2026-11-01", "--json").json()] == ["old"]


def test_score_is_checked_against_the_scale(crm, people):
    crm.ok("log", "note", "sara", "happy", "--score", "5")
    assert crm("log", "note", "sara", "x", "--score", "9").exit_code == 2
    crm.ok("config", "set", "satisfaction_scale", "nps")
    crm.ok("log", "note", "sara", "promoter", "--score", "9")


BAD = [
    (["log", "call", "sara", "x", "--at", "32/13/2026"], 2, "32/13/2026"),
    (["log", "purchase", "sara", "x"], 2, "needs --amount"),
    (["log", "purchase", "sara", "x", "--amount", "12,34.5"], 2, "invalid amount"),
    (["log", "purchase", "sara", "x", "--amount", "-5"], 2, "must not be negative"),
    (["log", "purchase", "sara", "x", "--amount", "1.2345"], 2, "three decimal places"),
    (["log", "purchase", "sara", "x", "--amount", "5", "--currency", "riyal"], 2, "invalid currency"),
    (["log", "call", "sara", "x", "--amount", "5"], 2, "belongs to purchases"),
    (["log", "call", "nobody", "x"], 3, "no contact matches"),
    (["log", "call", "sara", "x", "--deal", "9"], 3, "no deal with id 9"),
    (["log", "call", "sara", "x", "--direction", "sideways"], 2, "invalid direction"),
    (["log", "call", "sara", "x", "--at", "+3d"], 2, "in the future"),
    (["log", "done", "42"], 3, "no interaction with id 42"),
    (["log", "list", "--kind", "fax"], 2, "invalid --kind"),
    (["log", "due", "--until", "whenever"], 2, "whenever"),
    (["log", "sing", "sara"], 2, "No such command"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_input(crm, people, db_path, args, code, message):
    before = dump(db_path)
    result = crm(*args)
    assert (result.exit_code, result.stdout) == (code, "")
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("due_at", "days"),
    [
        ("2026-11-21T20:59:59Z", 1),  # 23:59:59 on the 21st in Riyadh
        ("2026-11-21T21:00:00Z", 0),  # midnight of the 22nd: due today
        ("2026-11-22T08:00:00Z", 0),
        ("2026-11-01T12:00:00Z", 21),
        ("2026-11-20T21:30:00+00:00", 1),  # not db.utc_iso's form: read by Python (local 00:30 on the 21st)
        ("2026-11-21T12:00:00", 1),  # no zone: Python's reading, as before (local wall time)
    ],
)
def test_days_overdue_counts_local_days(crm, people, db_path, due_at, days):
    from tests.conftest import run_sql

    crm.ok("log", "call", "john", "x", "--follow-up", "today")
    crm.ok("log", "support", "sara", "broken")
    run_sql(
        db_path,
        ("UPDATE interactions SET follow_up_at = ? WHERE id = 1", (due_at,)),
        ("UPDATE interactions SET happened_at = ? WHERE id = 2", (due_at,)),
    )
    rows = crm.ok("log", "due", "--json").json()
    assert [(r["id"], r["days_overdue"]) for r in rows if r["type"] == "follow-up"] == [(1, days)]
    support = crm.ok("agenda", "--json").json()["support"]
    assert [(r["id"], r["days_open"]) for r in support] == [(2, days)]


@pytest.mark.parametrize(("due_at", "days"), [("2026-11-22T03:29:59Z", 1), ("2026-11-22T03:30:00Z", 0)])
def test_days_overdue_with_a_negative_half_hour_offset(crm, people, db_path, monkeypatch, due_at, days):
    import time

    from tests.conftest import run_sql

    monkeypatch.setenv("TZ", "America/St_Johns")  # UTC-3:30 in November
    time.tzset()
    crm.ok("log", "call", "john", "x", "--follow-up", "today")
    run_sql(db_path, ("UPDATE interactions SET follow_up_at = ? WHERE id = 1", (due_at,)))
    assert [r["days_overdue"] for r in crm.ok("log", "due", "--json").json()] == [days]
