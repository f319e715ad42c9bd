"""crm history and crm undo, built on the audit tables the triggers fill."""

import sqlite3

from crm_cli import db as dbmod
from tests.conftest import dump, run_sql


def _fts_ok(db_path):
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('integrity-check')")
    finally:
        conn.close()


def test_history_shows_field_by_field_changes(crm):
    crm.ok("contact", "add", "Sara Haddad", "--email", "sara@example.com")
    crm.ok("contact", "edit", "1", "--name", "Sara Al-Haddad", "--city", "Riyadh")
    changes = crm.ok("history", "--json").json()
    assert [c["command"] for c in changes] == ["contact edit 1", "contact add Sara Haddad"]
    edit = changes[0]
    assert edit["status"] == "undoable"
    fields = {k: v for row in edit["rows"] if row["table"] == "contacts" for k, v in row["fields"].items()}
    assert fields["name"] == {"before": "Sara Haddad", "after": "Sara Al-Haddad"}
    assert fields["city"] == {"before": None, "after": "Riyadh"}
    assert "search_text" not in fields and "name_key" not in fields
    lines = crm.ok("history").lines  # piped: tsv, one line per change
    assert lines[0].split("\t")[2] == "contact edit 1"
    assert "name: Sara Haddad -> Sara Al-Haddad" in lines[0]


def test_history_for_one_contact_and_limit(crm):
    crm.ok("contact", "add", "Sara Haddad")
    crm.ok("contact", "add", "Omar Khalil")
    crm.ok("log", "note", "Omar", "called back")
    crm.ok("contact", "edit", "Sara", "--tag", "vip")
    omar = crm.ok("history", "Omar", "--json").json()
    assert [c["command"] for c in omar] == ["log note 2", "contact add Omar Khalil"]
    assert crm.ok("history", "--limit", "1", "--json").json()[0]["command"] == "contact edit 1"
    tty = crm.ok("history", "Sara", tty=True).stdout
    assert "contact edit 1" in tty and "tag=vip" in tty


def test_history_of_a_deleted_contact_by_id(crm):
    crm.ok("contact", "add", "Sara Haddad")
    crm.ok("contact", "delete", "1", "--yes")
    assert [c["command"] for c in crm.ok("history", "1", "--json").json()] == [
        "contact delete 1",
        "contact add Sara Haddad",
    ]
    result = crm("history", "99")
    assert result.exit_code == 3 and result.stderr.startswith("crm: no contact with id 99")


def test_undo_reverts_the_latest_change_and_walks_back(crm, db_path):
    crm.ok("contact", "add", "Sara Haddad", "--email", "sara@example.com")
    crm.ok("contact", "edit", "1", "--name", "Sara Khalil", "--email", "sara.k@example.com")
    undo_id = crm.ok("undo").stdout.strip()
    assert undo_id == "3"
    sara = crm.ok("contact", "show", "1", "--json").json()
    assert sara["name"] == "Sara Haddad" and sara["emails"] == ["sara@example.com"]
    _fts_ok(db_path)
    assert [c["id"] for c in crm.ok("contact", "list", "Haddad", "--json").json()] == [1]
    assert crm.ok("contact", "list", "Khalil", "--json").json() == []
    listed = {c["id"]: c for c in crm.ok("undo", "--list", "--json").json()}
    assert listed[3]["command"] == "undo 2" and listed[3]["undoes"] == 2 and listed[3]["status"] == "undo of 2"
    assert listed[2]["undone_by"] == 3 and listed[2]["status"] == "undone by 3"
    # Again: the add goes too (an undo is not itself undone by a plain `crm undo`).
    crm.ok("undo")
    assert crm("contact", "show", "1").exit_code == 3
    result = crm("undo")
    assert result.exit_code == 3 and result.stderr == "crm: nothing to undo\n"


def test_undo_of_an_undo_redoes(crm):
    crm.ok("contact", "add", "Sara Haddad")
    crm.ok("contact", "edit", "1", "--city", "Riyadh")
    crm.ok("undo")  # change 3 undoes 2
    assert crm.ok("contact", "show", "1", "--json").json()["city"] is None
    crm.ok("undo", "3")  # redo
    assert crm.ok("contact", "show", "1", "--json").json()["city"] == "Riyadh"
    refused = crm("undo", "2")
    assert refused.exit_code == 4 and "already undone by change 3" in refused.stderr


def test_undo_contact_delete_restores_everything(crm, db_path, db):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "سارة الحداد", "--email", "sara@example.com", "--phone", "0501234567", "--tag", "vip")
    crm.ok("log", "purchase", "1", "abaya", "--amount", "249.90")
    crm.ok("log", "note", "1", "likes blue")
    run_sql(
        db_path,
        (
            "INSERT INTO deals (contact_id, title, value, currency, stage, stage_changed_at, created_at, updated_at)"
            " VALUES (1, 'Wholesale', 5000000, 'SAR', 'proposal', 'x', 'x', 'x')",
            (),
        ),
    )
    before = crm.ok("contact", "show", "1", "--json").json()
    crm.ok("contact", "delete", "1", "--yes")
    # ON DELETE CASCADE fires the children's audit triggers: each removed row is in the history.
    conn = db()
    deleted = {
        (r["tbl"], r["op"])
        for r in conn.execute("SELECT tbl, op FROM change_rows WHERE change_id = (SELECT max(id) FROM changes)")
    }
    assert {("contacts", "delete"), ("contact_handles", "delete"), ("tags", "delete")} <= deleted
    assert {("interactions", "delete"), ("deals", "delete")} <= deleted
    crm.ok("undo")
    assert crm.ok("contact", "show", "1", "--json").json() == before
    _fts_ok(db_path)
    assert [c["id"] for c in crm.ok("contact", "list", "الحداد", "--json").json()] == [1]
    assert crm.ok("contact", "show", "0501234567", "--json").json()["id"] == 1


def test_undo_refuses_when_a_later_change_touched_the_same_rows(crm, db_path):
    crm.ok("contact", "add", "Sara Haddad")
    crm.ok("contact", "edit", "1", "--city", "Riyadh")
    crm.ok("contact", "add", "Omar Khalil")
    crm.ok("contact", "edit", "1", "--city", "Jeddah")
    before = dump(db_path)
    result = crm("undo", "2")
    assert result.exit_code == 4
    assert result.stderr.startswith("crm: cannot undo change 2 (contact edit 1): later change 4 (contact edit 1)")
    assert len(result.stderr.strip().splitlines()) == 1
    assert dump(db_path) == before
    # A change on other records is independent.
    crm.ok("undo", "3")
    assert crm("contact", "show", "Omar").exit_code == 3
    assert crm.ok("contact", "show", "1", "--json").json()["city"] == "Jeddah"


def test_undo_of_an_add_refuses_when_later_rows_hang_off_it(crm, db_path):
    crm.ok("contact", "add", "Sara Haddad")
    crm.ok("log", "note", "1", "hello")
    before = dump(db_path)
    result = crm("undo", "1")
    assert result.exit_code == 4 and "later change 2 (log note 1)" in result.stderr
    assert dump(db_path) == before


def test_undo_bad_input(crm, db_path):
    result = crm("undo")
    assert result.exit_code == 3 and result.stderr == "crm: nothing to undo\n"
    crm.ok("contact", "add", "Sara Haddad")
    before = dump(db_path)
    result = crm("undo", "42", "--json")
    assert result.exit_code == 3 and '"code": "not_found"' in result.stderr
    assert dump(db_path) == before


def test_undo_an_import_sized_change_as_a_whole(crm, db_path):
    conn = dbmod.connect(db_path)
    with dbmod.write(conn, "import people.csv"):
        for i in range(300):
            conn.execute(
                "INSERT INTO contacts (name, name_key, search_text, created_at, updated_at) VALUES (?, ?, ?, 'x', 'x')",
                (f"Person {i}", f"person {i}", f"person {i}"),
            )
    conn.close()
    assert len(crm.ok("contact", "list", "--json").json()) == 300
    crm.ok("undo")
    assert crm.ok("contact", "list", "--json").json() == []
    _fts_ok(db_path)
