"""crm backup / restore and crm export --all / import --all."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from tests.conftest import dump


@pytest.fixture
def filled(crm):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "سارة الحداد", "--email", "sara@example.com", "--phone", "0501234567", "--tag", "vip")
    crm.ok("log", "purchase", "sara@example.com", "Order", "--amount", "249.9")
    crm.ok("contact", "edit", "sara@example.com", "--city", "Riyadh")
    return crm


def test_backup_and_restore(filled, tmp_path, db_path):
    target = tmp_path / "b" / "backup.db"
    result = filled.ok("backup", str(target))
    assert result.stdout.strip() == str(target) and "integrity ok" in result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM contacts").fetchone()[0] == 1
    copy.close()
    again = filled("backup", str(target))
    assert again.exit_code == 2 and "already exists" in again.stderr
    filled.ok("backup", str(target), "--force")

    saved = dump(db_path)
    filled.ok("contact", "add", "Later", "--email", "later@example.com")
    refused = filled("restore", str(target))
    assert refused.exit_code == 2 and "refused without --yes" in refused.stderr
    assert "later@example.com" in dump(db_path)
    restored = filled.ok("restore", str(target), "--yes")
    assert "restored" in restored.stderr
    assert dump(db_path) == saved
    assert filled.ok("contact", "list", "حداد", "--json").json()[0]["email"] == "sara@example.com"


def test_restore_refuses_bad_files(filled, tmp_path, db_path):
    before = dump(db_path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    result = filled("restore", str(junk), "--yes")
    assert result.exit_code == 2 and "not a SQLite database" in result.stderr
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    result = filled("restore", str(other), "--yes")
    assert result.exit_code == 2 and "not a crm database" in result.stderr
    newer = tmp_path / "newer.db"
    filled.ok("backup", str(newer))
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 999")
    conn.commit()
    conn.close()
    result = filled("restore", str(newer), "--yes")
    assert result.exit_code == 2 and "newer crm" in result.stderr
    missing = filled("restore", str(tmp_path / "nope.db"), "--yes")
    assert missing.exit_code == 2 and "no such backup file" in missing.stderr
    damaged = tmp_path / "damaged.db"
    filled.ok("backup", str(damaged))
    data = bytearray(damaged.read_bytes())
    page = int.from_bytes(data[16:18], "big")  # the header's page size: damage pages 2 and 3
    for i in range(page + 100, min(len(data), page * 3)):
        data[i] = 0xFF
    damaged.write_bytes(bytes(data))
    result = filled("restore", str(damaged), "--yes")
    assert result.exit_code == 2 and ("damaged" in result.stderr or "not a SQLite database" in result.stderr)
    assert dump(db_path) == before


def test_export_all_import_all_round_trip_is_byte_identical(filled, tmp_path):
    a, b, empty = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "empty.db"
    filled.ok("export", "--all", "-o", str(a))
    assert stat.S_IMODE(a.stat().st_mode) == 0o600
    filled.ok("import", "--all", str(a), "--db", str(empty))
    filled.ok("--db", str(empty), "export", "--all", "-o", str(b))
    assert a.read_bytes() == b.read_bytes()
    # history survives: the same changes, and the FTS index is rebuilt
    assert filled.ok("contact", "list", "حداد", "--json", "--db", str(empty)).json()[0]["city"] == "Riyadh"
    conn = sqlite3.connect(empty)
    assert conn.execute("SELECT count(*) FROM changes").fetchone()[0] == 4
    triggers = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_%'")
    assert triggers.fetchone()[0] > 0
    # the audit triggers work again after the load
    filled.ok("contact", "add", "New", "--db", str(empty))
    assert conn.execute("SELECT count(*) FROM change_rows WHERE change_id = 5").fetchone()[0] >= 1


def test_import_all_refuses_a_database_with_data(filled, tmp_path, db_path):
    a = tmp_path / "a.json"
    filled.ok("export", "--all", "-o", str(a))
    before = dump(db_path)
    result = filled("import", "--all", str(a))
    assert result.exit_code == 2 and "already holds data" in result.stderr
    assert dump(db_path) == before
    bad = tmp_path / "bad.json"
    bad.write_text('{"contacts": []}')
    empty = tmp_path / "e.db"
    result = filled("import", "--all", str(bad), "--db", str(empty))
    assert result.exit_code == 2 and "not a crm dump" in result.stderr
    assert filled("import", str(a)).exit_code == 2  # needs --all


def test_damaged_dump_imports_nothing(filled, tmp_path):
    a = tmp_path / "a.json"
    filled.ok("export", "--all", "-o", str(a))
    lines = a.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("[") and "sara@example.com" in line)
    lines[row] = lines[row][:20]
    a.write_text("\n".join(lines) + "\n")
    empty = tmp_path / "e.db"
    result = filled("import", "--all", str(a), "--db", str(empty))
    assert result.exit_code == 2 and "damaged" in result.stderr
    assert sqlite3.connect(empty).execute("SELECT count(*) FROM contacts").fetchone()[0] == 0


def test_backing_up_a_database_that_does_not_exist_is_refused(crm, tmp_path):
    """A cron job with a mistyped CRM_DB must not report a successful backup of a new, empty file."""
    typo = tmp_path / "crm-typo.db"
    target = tmp_path / "backup.db"
    result = crm("--db", str(typo), "backup", str(target))
    assert result.exit_code == 3 and result.stdout == ""
    assert "no database at" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not typo.exists() and not target.exists()
