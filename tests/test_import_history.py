"""A contact import records its audit as id ranges (change_ranges) instead of one change_rows image per
inserted row. History, undo, redo, conflicts and forget must read the same as with per-row images: every
test runs the same commands on two databases, one importing with ranges, one with per-row images (the
fallback the importer uses when ids are not contiguous), and compares what a user sees."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crm_cli.importers import contacts as importer_mod
from tests.conftest import dump

DATA = Path(__file__).parent / "data"
USER_TABLES = ("contacts", "contact_handles", "tags", "interactions", "deals", "settings")


def _file(path: Path, rows: int = 40) -> Path:
    lines = ["Name,Email,Phone,Company,City,Tags,Notes"]
    for i in range(rows):
        company = ["Acme", "Globex", "", "الحداد للتجارة"][i % 4]
        lines.append(f"Person {i},user{i}@example.com,05010{i:05d},{company},Jeddah,retail;vip,note {i}")
    lines.append("Dup,USER1@example.com,,,,,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _user_rows(path: Path) -> dict[str, list]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in USER_TABLES}
    finally:
        conn.close()


@pytest.fixture
def twin(crm, tmp_path, monkeypatch):
    """run(*args) runs a crm command on both databases and returns both results; imports on the second
    database write per-row images (as before change_ranges existed)."""
    dbs = [tmp_path / "ranges.db", tmp_path / "rows.db"]
    real = importer_mod._record_range

    def run(*args, ok=True):
        results = []
        for i, db in enumerate(dbs):
            monkeypatch.setattr(importer_mod, "_record_range", real if i == 0 else (lambda *a: False))
            result = crm(*args, "--db", str(db))
            if ok:
                assert result.exit_code == 0, result.stderr
            results.append(result)
        monkeypatch.setattr(importer_mod, "_record_range", real)
        assert [r.exit_code for r in results][0] == results[1].exit_code
        assert results[0].stdout == results[1].stdout
        assert results[0].stderr == results[1].stderr
        return results

    run("config", "set", "default_region", "SA")
    run("contact", "add", "Existing Org", "--org")
    run("contact", "add", "Old Friend", "--email", "old@example.com")
    run.dbs = dbs
    return run


def _same(twin) -> None:
    a, b = twin.dbs
    assert _user_rows(a) == _user_rows(b)


def test_ranges_are_used_and_history_reads_the_same(twin, tmp_path):
    csv_file = _file(tmp_path / "people.csv")
    twin("contact", "import", str(csv_file))
    conn = sqlite3.connect(twin.dbs[0])
    assert conn.execute("SELECT count(*) FROM change_rows WHERE change_id = 4").fetchone()[0] == 0
    assert [r[0] for r in conn.execute("SELECT tbl FROM change_ranges WHERE change_id = 4 ORDER BY id")] == [
        "contacts",
        "contact_handles",
        "tags",
    ]
    conn.close()
    _same(twin)
    twin("history", "--json")
    twin("history", "--limit", "1")  # the table view
    twin("history", "Person 7", "--json")
    twin("history", "Acme", "--json")  # an organisation the import created
    twin("undo", "--list", "--json")


def test_history_rows_of_an_import_are_capped_like_per_row_images(twin, tmp_path):
    twin("contact", "import", str(_file(tmp_path / "people.csv", rows=120)))  # > 200 audited rows
    doc = twin("history", "-n", "1", "--json")[0].json()
    assert doc[0]["rows_truncated"] is True and len(doc[0]["rows"]) == 200
    assert doc[0]["row_count"] > 200


def test_later_edits_show_the_imported_values_and_block_undo(twin, tmp_path, db_path):
    twin("contact", "import", str(_file(tmp_path / "people.csv")))
    twin("contact", "edit", "Person 3", "--city", "Riyadh", "--email", "new3@example.com")
    twin("contact", "tag", "Person 5", "gold", ok=False)
    twin("history", "--json")
    twin("history", "Person 3", "--json")
    refused = twin("undo", "4", ok=False)
    assert refused[0].exit_code == 4 and "later change 5" in refused[0].stderr
    twin("undo")  # the edit
    twin("history", "--json")
    twin("undo")  # now the import
    _same(twin)
    twin("history", "--json")
    twin("undo")  # redo the import
    _same(twin)
    twin("history", "--json")
    twin("contact", "list", "حداد", "kind:any", "--json")


def test_a_later_import_under_an_organisation_blocks_undo(twin, tmp_path):
    twin("contact", "import", str(_file(tmp_path / "a.csv", rows=8)))
    second = tmp_path / "b.csv"
    second.write_text("Name,Email,Company\nNew Person,np@example.com,Acme\n", encoding="utf-8")
    twin("contact", "import", str(second))
    refused = twin("undo", "4", ok=False)
    assert refused[0].exit_code == 4 and "later change 5 (contact import b.csv)" in refused[0].stderr
    twin("undo")
    twin("undo")
    _same(twin)


def test_forget_of_an_imported_contact(twin, tmp_path):
    twin("contact", "import", str(_file(tmp_path / "people.csv", rows=6)))
    twin("contact", "forget", "Person 2", "--yes")
    twin("history", "--json")
    twin("undo", "--list", "--json")
    refused = twin("undo", "4", ok=False)
    assert refused[0].exit_code == 4
    _same(twin)


def test_update_mode_import_keeps_full_images_for_updates(twin, tmp_path):
    twin("contact", "import", str(_file(tmp_path / "a.csv", rows=6)))
    changed = tmp_path / "b.csv"
    changed.write_text(
        "Name,Email,City,Tags\nPerson 1,user1@example.com,Dammam,gold\nBrand New,bn@example.com,Abha,\n",
        encoding="utf-8",
    )
    twin("contact", "import", str(changed), "--on-duplicate", "update")
    conn = sqlite3.connect(twin.dbs[0])
    ops = {(r[0], r[1]) for r in conn.execute("SELECT tbl, op FROM change_rows WHERE change_id = 5")}
    assert ("contacts", "update") in ops and ("contacts", "insert") not in ops
    assert conn.execute("SELECT count(*) FROM change_ranges WHERE change_id = 5").fetchone()[0] >= 1
    conn.close()
    twin("history", "--json")
    twin("history", "Person 1", "--json")
    twin("undo")
    _same(twin)
    twin("undo")
    _same(twin)


def test_undo_of_a_large_two_core_import_restores_the_database_exactly(crm, tmp_path, db_path, monkeypatch):
    monkeypatch.setenv("CRM_IMPORT_STREAM_MIN_LINES", "1")
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "Old Friend", "--email", "old@example.com", "--tag", "vip")
    before = _user_rows(db_path)
    fts_before = sqlite3.connect(db_path).execute("SELECT rowid FROM contacts_fts ORDER BY 1").fetchall()
    result = crm.ok("contact", "import", str(_file(tmp_path / "big.csv", rows=30_000)), "--json").json()
    assert result["added"] > 29_000
    history = crm.ok("history", "-n", "1", "--json").json()[0]
    assert history["command"] == "contact import big.csv" and history["status"] == "undoable"
    assert history["row_count"] > 30_000
    undone = crm.ok("undo")
    assert "rows restored" in undone.stderr
    assert _user_rows(db_path) == before
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT rowid FROM contacts_fts ORDER BY 1").fetchall() == fts_before
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    snapshot = dump(db_path)
    assert crm("undo", "99").exit_code == 3
    assert dump(db_path) == snapshot
