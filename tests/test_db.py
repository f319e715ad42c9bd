"""The database file: creation mode, WAL, migrations, refusal of newer files, atomic writes, audit."""

import os
import sqlite3
import stat

import pytest

from crm_cli import db
from crm_cli.errors import CrmError, InvalidInput


def test_created_owner_only_in_wal_mode(crm, db_path):
    crm.ok("contact", "add", "Sara")
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(db.MIGRATIONS)


def test_data_directory_is_created_owner_only(crm, tmp_path):
    target = tmp_path / "new" / "crm.db"
    crm.ok("contact", "add", "Sara", "--db", str(target))
    assert stat.S_IMODE(os.stat(target.parent).st_mode) == 0o700


def test_db_option_before_the_group_and_after_the_command(crm, tmp_path):
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    crm.ok("--db", str(first), "contact", "add", "In A")
    crm.ok("contact", "add", "In B", "--db", str(second))
    assert [r["name"] for r in crm.ok("--db", str(first), "contact", "list", "--json").json()] == ["In A"]
    assert [r["name"] for r in crm.ok("contact", "list", "--db", str(second), "--json").json()] == ["In B"]


def test_an_older_file_is_upgraded_when_opened(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    conn = db.connect(path)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO changes (at, command) VALUES ('2026-01-01T00:00:00Z', 'seed')")
    conn.execute("INSERT INTO contacts (name, name_key, created_at, updated_at) VALUES ('Old', 'old', 'x', 'x')")
    conn.execute("COMMIT")
    conn.close()

    def m002_add_nickname(c):
        c.execute("ALTER TABLE contacts ADD COLUMN nickname TEXT")

    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, m002_add_nickname])
    conn = db.connect(path)
    assert db.schema_version(conn) == len(db.MIGRATIONS)
    assert conn.execute("SELECT name, nickname FROM contacts").fetchone()[:] == ("Old", None)
    # The audit triggers were rebuilt with the new column.
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO changes (at, command) VALUES ('2026-01-02T00:00:00Z', 'edit')")
    conn.execute("UPDATE contacts SET nickname = 'o'")
    conn.execute("COMMIT")
    after = conn.execute("SELECT after FROM change_rows ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert '"nickname":"o"' in after


def test_a_newer_file_is_refused(crm, db_path):
    crm.ok("contact", "add", "Sara")
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(db.MIGRATIONS) + 1}")
    conn.close()
    result = crm("contact", "list")
    assert result.exit_code == 1
    assert "written by a newer crm" in result.stderr and "upgrade crm" in result.stderr


def test_a_file_that_is_not_a_database_is_refused(crm, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = crm("contact", "list", "--db", str(junk))
    assert result.exit_code == 1
    assert "not a crm database" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("table", ["moz_places (url TEXT)", "contacts (id INTEGER PRIMARY KEY, who TEXT)"])
def test_another_programs_sqlite_file_is_refused_and_left_alone(crm, tmp_path, table):
    other = tmp_path / "places.sqlite"
    conn = sqlite3.connect(other)
    conn.execute(f"CREATE TABLE {table}")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    for args in (("contact", "list"), ("contact", "add", "Sara")):
        result = crm(*args, "--db", str(other))
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and "not a crm database" in result.stderr
        assert "another program's tables" in result.stderr and "Traceback" not in result.stderr
    assert other.read_bytes() == before
    assert not (tmp_path / "places.sqlite-wal").exists() or (tmp_path / "places.sqlite-wal").stat().st_size == 0


def test_new_files_get_16k_pages_and_older_files_keep_theirs(crm, tmp_path):
    new = tmp_path / "new.db"
    crm.ok("contact", "add", "Sara", "--db", str(new))
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("VACUUM")
    conn.close()
    crm.ok("contact", "add", "Omar", "--db", str(old))
    sizes = [sqlite3.connect(p).execute("PRAGMA page_size").fetchone()[0] for p in (new, old)]
    assert sizes == [16384, 4096]
    assert crm.ok("contact", "list", "--json", "--db", str(old)).json()[0]["name"] == "Omar"


def test_a_failed_write_leaves_nothing(tmp_path):
    conn = db.connect(tmp_path / "x.db")
    with pytest.raises(InvalidInput), db.write(conn, "test"):
        conn.execute("INSERT INTO contacts (name, name_key, created_at, updated_at) VALUES ('A', 'a', 'x', 'x')")
        raise InvalidInput("bad row 2")
    assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM changes").fetchone()[0] == 0


def test_every_write_is_one_audited_change(crm, db):
    crm.ok("contact", "add", "Sara", "--email", "s@example.com", "--tag", "vip")
    conn = db()
    changes = conn.execute("SELECT id, command FROM changes").fetchall()
    assert [c["command"] for c in changes] == ["contact add Sara"]
    tables = {r[0] for r in conn.execute("SELECT tbl FROM change_rows WHERE change_id = ?", (changes[0]["id"],))}
    assert tables == {"contacts", "contact_handles", "tags"}


def test_write_uses_begin_immediate(tmp_path):
    """A plain BEGIN that reads first fails with 'database is locked' (PITFALLS.md); ours waits."""
    path = tmp_path / "x.db"
    first, second = db.connect(path), db.connect(path)
    second.execute("PRAGMA busy_timeout = 50")
    with db.write(first, "one"), pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("BEGIN IMMEDIATE")
    with db.write(second, "two"):
        pass


def test_schema_too_new_is_a_crm_error():
    assert issubclass(db.SchemaTooNew, CrmError)
