"""crm contact import on two cores (a forked child validates while the parent writes) gives exactly the
database the one-process import gives: same ids, organisations, handles, tags, audit rows and search."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from crm_cli.importers import contacts as importer_mod

DATA = Path(__file__).parent / "data"


def _rows(path: Path) -> list[str]:
    """Every row of every table but the FTS index's own storage (its segments may be cut differently),
    sorted: a trigger dropped and re-created during the load moves in sqlite_master but is the same."""
    conn = sqlite3.connect(path)
    try:
        return sorted(line for line in conn.iterdump() if "contacts_fts_" not in line)
    finally:
        conn.close()


def _search(crm, db: Path, words: list[str]) -> list[list[int]]:
    found = [crm.ok("contact", "list", w, "kind:any", "--json", "--db", str(db)).json() for w in words]
    return [[r["id"] for r in rows] for rows in found]


def _mixed_file(path: Path) -> None:
    lines = ["Name,Email,Phone,Company,City,Tags,Notes"]
    lines.append("Acme Person,acme.p@example.com,0501000001,Acme,Riyadh,vip,first mention of Acme")
    for i in range(60):
        company = ["Acme", "Globex", "Initech", "", "الحداد للتجارة"][i % 5]
        lines.append(f"Person {i},user{i}@example.com,05010{i:05d},{company},Jeddah,retail;vip,note {i}")
    lines.append("Dup Of Zero,USER0@example.com,,Globex,,,duplicate by e-mail")  # skipped
    lines.append("Broken,not-an-email,,Acme,,,")  # rejected with --skip-invalid
    lines.append(",info@globex.example,,Globex,,,")  # an organisation row after people named it
    lines.append("سارة الحداد,sara@example.com,٠٥٠ ١٢٣ ٤٥٦٧,Existing Org,الرياض,عميل,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def two(tmp_path, crm):
    """Two databases prepared the same way: one imports in one process, the other on two cores."""
    dbs = []
    for name in ("one.db", "two.db"):
        db = tmp_path / name
        crm.ok("config", "set", "default_region", "SA", "--db", str(db))
        crm.ok("contact", "add", "Existing Org", "--org", "--db", str(db))
        crm.ok("contact", "add", "Old Friend", "--email", "old@example.com", "--db", str(db))
        dbs.append(db)
    return dbs


def _run_both(crm, monkeypatch, dbs, *args):
    monkeypatch.setenv("CRM_IMPORT_STREAM_MIN_LINES", "1000000000")
    one = crm("contact", "import", *args, "--db", str(dbs[0]), "--json")
    forks = []
    real_fork = os.fork

    def counting_fork():
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counting_fork)
    monkeypatch.setenv("CRM_IMPORT_STREAM_MIN_LINES", "1")
    two = crm("contact", "import", *args, "--db", str(dbs[1]), "--json")
    return one, two, forks


@pytest.mark.parametrize(
    "args",
    [
        ("MIXED", "--skip-invalid"),
        ("MIXED",),
        (str(DATA / "google_contacts.csv"),),
        (str(DATA / "duplicates.csv"),),
        (str(DATA / "outlook_contacts.csv"), "--on-duplicate", "error"),
        (str(DATA / "phone_contacts.vcf"),),
        (str(DATA / "arabic_excel_cp1256.csv"),),
        ("JSON",),
    ],
)
def test_two_cores_give_the_same_database(crm, two, tmp_path, monkeypatch, args):
    mixed = tmp_path / "mixed.csv"
    _mixed_file(mixed)
    as_json = tmp_path / "people.json"  # one line: more records than lines
    people = [{"name": f"J {i}", "email": f"j{i}@example.com", "company": "Acme"} for i in range(30)]
    as_json.write_text(json.dumps(people))
    args = tuple({"MIXED": str(mixed), "JSON": str(as_json)}.get(a, a) for a in args)
    one, other, forks = _run_both(crm, monkeypatch, two, *args)
    assert forks, "the two-core path was not taken"
    assert (one.exit_code, one.stdout) == (other.exit_code, other.stdout)
    assert one.stderr == other.stderr
    assert _rows(two[0]) == _rows(two[1])
    words = ["acme", "globex", "حداد", "person", "sara"]
    assert _search(crm, two[0], words) == _search(crm, two[1], words)
    if one.exit_code == 0:
        undo = [crm.ok("undo", "--db", str(db)) for db in two]
        assert undo[0].stdout == undo[1].stdout
        assert _rows(two[0]) == _rows(two[1])


def test_refused_import_on_two_cores_writes_nothing(crm, two, tmp_path, monkeypatch):
    mixed = tmp_path / "mixed.csv"
    _mixed_file(mixed)
    before = _rows(two[1])
    one, other, forks = _run_both(crm, monkeypatch, two, str(mixed))
    assert forks and other.exit_code == 2
    assert _rows(two[1]) == before


def test_a_child_that_fails_falls_back_to_one_process(crm, two, tmp_path, monkeypatch):
    mixed = tmp_path / "mixed.csv"
    _mixed_file(mixed)

    def broken_child(self, *args):
        raise RuntimeError("child died")

    monkeypatch.setattr(importer_mod.ContactImporter, "_child", broken_child)
    one, other, forks = _run_both(crm, monkeypatch, two, str(mixed), "--skip-invalid")
    assert forks and other.exit_code == one.exit_code == 0
    assert _rows(two[0]) == _rows(two[1])


def test_an_enormous_row_is_rejected_the_same_on_two_cores(crm, two, tmp_path, monkeypatch):
    mixed = tmp_path / "mixed.csv"
    _mixed_file(mixed)
    with mixed.open("a", encoding="utf-8") as handle:
        handle.write("Z" * 200_000 + ",huge@example.com,,,,,\n")
    one, other, forks = _run_both(crm, monkeypatch, two, str(mixed), "--skip-invalid")
    assert forks and one.exit_code == other.exit_code == 0
    assert one.stdout == other.stdout and json.loads(one.stdout)["rejected"] == 2
    assert _rows(two[0]) == _rows(two[1])


@pytest.mark.parametrize("tail", ['Last,"never closed,,,,,\n', "Z" * 100 + ',"' + "x" * 1_100_000 + "\n"])
def test_a_file_unreadable_near_its_end_is_refused_the_same_on_two_cores(crm, two, tmp_path, monkeypatch, tail):
    """The child reads the file; when it cannot, this process reads it again itself and says why."""
    mixed = tmp_path / "mixed.csv"
    _mixed_file(mixed)
    with mixed.open("a", encoding="utf-8") as handle:
        handle.write(tail)
    before = _rows(two[1])
    one, other, forks = _run_both(crm, monkeypatch, two, str(mixed), "--skip-invalid")
    assert forks and one.exit_code == other.exit_code == 2
    assert one.stderr == other.stderr and len(other.stderr.strip().splitlines()) == 1
    assert "line" in other.stderr and "Traceback" not in other.stderr
    assert _rows(two[1]) == before
