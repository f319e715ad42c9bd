"""`crm demo` and the shared generator: deterministic, consistent, realistic enough to show every report."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from crm_cli import db, demo
from tests.conftest import dump

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def rows(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def one(path, sql, *args):
    return rows(path, sql, *args)[0][0]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    conn = db.connect(path)
    demo.generate(conn, seed=7, contacts=300, now=NOW)
    conn.close()
    return path


def test_demo_command_writes_a_summary_and_nothing_on_stdout(crm, db_path):
    result = crm.ok("demo", "--seed", "7")
    assert result.stdout == ""
    assert "300 people" in result.stderr and "deals" in result.stderr
    assert one(db_path, "SELECT count(*) FROM contacts WHERE kind = 'person'") == 300
    assert one(db_path, "PRAGMA integrity_check") == "ok"
    assert one(db_path, "SELECT count(*) FROM changes") == 1  # one command, one change


def test_same_seed_same_database(crm, tmp_path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    crm.ok("demo", "--db", str(a), "--seed", "3", "--contacts", "120")
    crm.ok("--db", str(b), "demo", "--seed", "3", "--contacts", "120")
    assert dump(a) == dump(b)
    c = tmp_path / "c.db"
    crm.ok("demo", "--db", str(c), "--seed", "4", "--contacts", "120")
    assert dump(a) != dump(c)


def test_refuses_a_database_with_data_without_force(crm, db_path):
    crm.ok("contact", "add", "Sara Haddad", "--email", "sara@example.com")
    before = dump(db_path)
    result = crm("demo")
    assert result.exit_code == 4
    assert result.stderr.count("\n") == 1 and "--force" in result.stderr
    assert dump(db_path) == before
    crm.ok("demo", "--force", "--contacts", "50")
    assert one(db_path, "SELECT count(*) FROM contacts WHERE name = 'Sara Haddad'") == 0
    assert one(db_path, "SELECT count(*) FROM contacts WHERE kind = 'person'") == 50


def test_settings_alone_do_not_count_as_data(crm, db_path):
    crm.ok("config", "set", "date_order", "mdy")
    crm.ok("demo", "--contacts", "20")


@pytest.mark.parametrize("value", ["0", "-5", "2000000", "many"])
def test_bad_contact_counts_exit_2(crm, db_path, value):
    result = crm("demo", "--contacts", value)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_consistency(demo_db):
    assert one(demo_db, "PRAGMA integrity_check") == "ok"
    assert rows(demo_db, "PRAGMA foreign_key_check") == []
    # Handles agree with the contacts' primary e-mail / phone.
    assert (
        one(
            demo_db,
            "SELECT count(*) FROM contacts c WHERE c.email IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM contact_handles h WHERE h.contact_id = c.id AND h.type = 'email' AND h.key = c.email)",
        )
        == 0
    )
    # Every purchase has an amount and a currency; nothing happens in the future.
    assert one(demo_db, "SELECT count(*) FROM interactions WHERE kind = 'purchase' AND amount IS NULL") == 0
    assert one(demo_db, "SELECT max(happened_at) FROM interactions") <= "2026-11-22T09:00:00Z"
    assert one(demo_db, "SELECT count(*) FROM interactions WHERE follow_up_done_at < happened_at") == 0
    # Anyone who bought is a customer (or was marked inactive).
    assert (
        one(
            demo_db,
            "SELECT count(*) FROM contacts c WHERE c.status IN ('lead', 'prospect') AND EXISTS "
            "(SELECT 1 FROM interactions i WHERE i.contact_id = c.id AND i.kind = 'purchase')",
        )
        == 0
    )
    # The FTS index is in step with the contacts table.
    conn = sqlite3.connect(demo_db)
    conn.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('integrity-check')")
    conn.close()


def test_won_deals_are_purchases_and_history_is_complete(demo_db):
    stages = dict(rows(demo_db, "SELECT stage, count(*) FROM deals GROUP BY stage"))
    assert set(stages) == {"lead", "qualified", "proposal", "negotiation", "won", "lost"}
    won = rows(demo_db, "SELECT id, value, currency, closed_at FROM deals WHERE stage = 'won'")
    for deal_id, value, currency, closed_at in won:
        purchase = rows(
            demo_db,
            "SELECT amount, currency, happened_at FROM interactions WHERE deal_id = ? AND kind = 'purchase'",
            deal_id,
        )
        assert purchase == [(value, currency, closed_at)]
    # History starts at lead and ends at the deal's stage, in time order.
    for deal_id, stage in rows(demo_db, "SELECT id, stage FROM deals"):
        steps = rows(
            demo_db,
            "SELECT from_stage, to_stage, changed_at FROM deal_stage_history WHERE deal_id = ? ORDER BY id",
            deal_id,
        )
        assert steps[0][:2] == (None, "lead")
        assert steps[-1][1] == stage
        assert [s[2] for s in steps] == sorted(s[2] for s in steps)
    assert one(demo_db, "SELECT count(*) FROM deals WHERE stage = 'lost' AND lost_reason IS NULL") == 0


def test_realistic_mix_for_every_report(demo_db):
    kinds = dict(rows(demo_db, "SELECT kind, count(*) FROM interactions GROUP BY kind"))
    assert set(kinds) == {"call", "email", "meeting", "message", "note", "purchase", "support"}
    assert 0.1 < kinds["purchase"] / sum(kinds.values()) < 0.3
    names = [r[0] for r in rows(demo_db, "SELECT name FROM contacts WHERE kind = 'person'")]
    assert any("\u0600" <= ch <= "\u06ff" for n in names for ch in n)  # Arabic names
    assert any(n.isascii() for n in names)  # and Latin ones
    assert len({r[0] for r in rows(demo_db, "SELECT city FROM contacts")}) >= 5
    assert len({r[0] for r in rows(demo_db, "SELECT source FROM contacts WHERE source IS NOT NULL")}) >= 5
    repeat = one(
        demo_db,
        "SELECT count(*) FROM (SELECT contact_id FROM interactions WHERE kind = 'purchase' "
        "GROUP BY contact_id HAVING count(*) >= 2)",
    )
    churned = one(
        demo_db,
        "SELECT count(*) FROM (SELECT contact_id, max(happened_at) AS last FROM interactions "
        "WHERE kind = 'purchase' GROUP BY contact_id HAVING last < '2026-05-22')",
    )
    assert repeat >= 20 and churned >= 10
    support = dict(rows(demo_db, "SELECT status, count(*) FROM interactions WHERE kind = 'support' GROUP BY status"))
    assert support.get("open", 0) >= 1 and support["resolved"] >= 20
    assert (
        one(
            demo_db,
            "SELECT count(*) FROM interactions WHERE kind = 'support' AND status = 'resolved' AND resolved_at IS NULL",
        )
        == 0
    )
    scales = dict(rows(demo_db, "SELECT score_scale, count(*) FROM interactions WHERE score IS NOT NULL GROUP BY 1"))
    assert scales["csat"] >= 10 and scales["nps"] >= 10
    assert (
        one(demo_db, "SELECT count(*) FROM interactions WHERE score_scale = 'csat' AND score NOT BETWEEN 1 AND 5") == 0
    )
    overdue = one(
        demo_db,
        "SELECT count(*) FROM interactions WHERE follow_up_at < '2026-11-22T09:00:00Z' AND follow_up_done_at IS NULL",
    )
    done = one(demo_db, "SELECT count(*) FROM interactions WHERE follow_up_done_at IS NOT NULL")
    assert 1 <= overdue < done
    assert one(demo_db, "SELECT count(*) FROM campaigns") == 2
    responses = rows(
        demo_db,
        "SELECT count(opened_at), count(clicked_at), count(purchased_at), count(*) FROM campaign_members",
    )[0]
    assert responses[3] > responses[0] > responses[1] >= responses[2] >= 1
    assert one(demo_db, "SELECT count(*) FROM interactions WHERE campaign_id IS NOT NULL AND kind = 'purchase'") >= 1


def test_fast_mode_writes_the_same_rows(tmp_path):
    """The benchmark path (triggers/indexes dropped, FTS rebuilt once) gives the same data, minus audit rows."""
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    for path, fast in ((a, False), (b, True)):
        conn = db.connect(path)
        demo.generate(conn, seed=11, contacts=150, now=NOW, fast=fast)
        conn.close()
    tables = ["contacts", "contact_handles", "tags", "deals", "deal_stage_history", "campaigns",
              "campaign_members", "interactions", "settings"]  # fmt: skip
    for table in tables:
        assert rows(a, f"SELECT * FROM {table} ORDER BY 1") == rows(b, f"SELECT * FROM {table} ORDER BY 1"), table
    schema = "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name"
    assert rows(a, schema) == rows(b, schema)  # triggers and indexes are back
    assert rows(b, "PRAGMA foreign_key_check") == []
    assert rows(b, "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH 'حداد' ORDER BY 1") == rows(
        a, "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH 'حداد' ORDER BY 1"
    )
    assert one(a, "SELECT count(*) FROM change_rows") > 1000
    # After the load the database works normally: a new contact is audited and searchable.
    conn = db.connect(b)
    with db.write(conn, "test", at="2026-11-22T09:00:00Z"):
        conn.execute(
            "INSERT INTO contacts (name, name_key, search_text, created_at, updated_at) "
            "VALUES ('Zed', 'zed', 'zed', 'x', 'x')"
        )
    assert conn.execute("SELECT count(*) FROM contacts_fts WHERE contacts_fts MATCH 'zed'").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM change_rows WHERE tbl = 'contacts'").fetchone()[0] == 1
    conn.close()


def test_the_demo_answers_the_usual_commands(crm, db_path):
    crm.ok("demo", "--contacts", "80")
    assert crm.ok("contact", "list", "--json").json()
    assert crm.ok("contact", "list", "حداد", "--json").stdout
    assert crm.ok("log", "list", "--limit", "5", "--json").json()
    due = crm.ok("log", "due", "--json").json()
    assert isinstance(due, list)
