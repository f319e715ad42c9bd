"""The per-row shortcut for simple CSV mappings (ContactImporter._candidate_simple) gives exactly what the
general path (candidate() + _build()) gives: same database rows, same counts, same refusals naming the
same line and column, same reject file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from crm_cli.importers.contacts import ContactImporter

DATA = Path(__file__).parent / "data"

HEADER = "Name,Email,Phone,Company,City,Country,Source,Status,Do Not Call,Birthday,Tags,Notes,Shoe Size,Every"
ROWS = [
    "Plain Person,plain@example.com,0501000001,Acme,Riyadh,SA,Website,customer,no,1990-04-03,vip;retail,hello,42,14",
    "'=Formula Name,'+966501000002@x.com,'+966501000002,'=Acme,Jeddah,,,,,,,'-note,,",
    "  ,  ,   ,Globex Org,,,,,,,,,,",  # blank name/e-mail/phone: the company is the contact
    ",only.mail@example.com,,,,,,,,,,,,",
    ",,0501000003,,,,,,,,,,,",
    "Multi,a1@example.com ::: a2@example.com,0501000004 ::: 0501000005,,,,,,,,,,,",
    "سارة الحداد,SARA@Example.COM,٠٥٠ ١٠٠ ٠٠٠٦,الحداد للتجارة,الرياض,,معرض,عميل,نعم,--0315,عميل;  vip ,ملاحظة,,",
    "Short Row,short@example.com",
    "Too Many,too@example.com,,,,,,,,,,,,,extra",
    "Trailing Blanks,trail@example.com,,,,,,,,,,,,,,,",
    "Bad Mail,not-an-email,,,,,,,,,,,,",
    "Bad Phone,,12,,,,,,,,,,,",
    "Bad Status,bs@example.com,,,,,,martian,,,,,,",
    "Bad Bool,bb@example.com,,,,,,,maybe,,,,,",
    "Bad Every,be@example.com,,,,,,,,,,,,soon",
    "Excel Phone,,9.66501E+11,,,,,,,,,,,",
    "Both Bad,worse-mail,12,,,,,,martian,,,,,",
    "Dup Of Plain,PLAIN@example.com,,,,,,,,,,,,",
    "Long Note,ln@example.com,,,,,,,,,,," + "n" * 600 + ",,",
    "Long Name " + "x" * 600 + ",long@example.com,,,,,,,,,,,,",
    "Tag Junk,tj@example.com,,,,,,,,,My Contacts ::: starred;*friends,,,",
    "Same Name,,,,,,,,,,,,,",
    "Same Name,,,,,,,,,,,,,",
    "\u200fRlm Person\u200e,\u200frlm@example.com,,Acme,,,,,,,,,,",
]


def _csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _rows(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return sorted(line for line in conn.iterdump() if "contacts_fts_" not in line)
    finally:
        conn.close()


def _both(crm, monkeypatch, tmp_path, file: Path, *args: str):
    """(general path result, shortcut result) of the same import into two fresh databases."""
    results = []
    real = ContactImporter._simple_plan
    for name, simple in (("general", False), ("simple", True)):
        db = tmp_path / f"{name}.db"
        crm.ok("config", "set", "default_region", "SA", "--db", str(db))
        crm.ok("contact", "add", "Old Friend", "--email", "old@example.com", "--db", str(db))
        used = []

        def plan(self, mapping, simple=simple, used=used, real=real):
            found = real(self, mapping) if simple else None
            used.append(found is not None)
            return found

        monkeypatch.setattr(ContactImporter, "_simple_plan", plan)
        rejects = tmp_path / "rejects.csv"  # one path: the summary names it
        rejects.unlink(missing_ok=True)
        extra = ["--rejects", str(rejects)] if "--skip-invalid" in args else []
        result = crm("contact", "import", str(file), *args, *extra, "--db", str(db), "--json")
        results.append((result, db, rejects.read_bytes() if rejects.exists() else None, used))
    return results


@pytest.mark.parametrize("args", [("--skip-invalid",), (), ("--on-duplicate", "error", "--skip-invalid")])
def test_shortcut_equals_general_path(crm, monkeypatch, tmp_path, args):
    file = _csv(tmp_path / "mixed.csv", ROWS)
    (general, gdb, grej, gused), (simple, sdb, srej, sused) = _both(crm, monkeypatch, tmp_path, file, *args)
    assert set(gused) == {False} and set(sused) == {True}
    assert (general.exit_code, general.stdout, general.stderr) == (simple.exit_code, simple.stdout, simple.stderr)
    assert _rows(gdb) == _rows(sdb)
    assert grej == srej
    if general.exit_code == 0:
        assert json.loads(simple.stdout)["added"] > 5


def test_refusal_names_the_same_line_and_column(crm, monkeypatch, tmp_path):
    file = _csv(tmp_path / "mixed.csv", ROWS)
    (general, *_), (simple, *_) = _both(crm, monkeypatch, tmp_path, file)
    assert general.exit_code == simple.exit_code == 2
    assert "line 10: 15 cells but 14 columns" in simple.stderr
    assert general.stderr == simple.stderr


@pytest.mark.parametrize(
    "header",
    [
        "Name,Email,E-mail 2,Phone",  # two e-mail columns: the general path ranks them
        "First Name,Last Name,Email,Phone",  # a split name
        "Name,Email,Phone,Address,City,Postal Code",  # address parts
        "Name,Email,Phone,Department,Company",
    ],
)
def test_other_mappings_take_the_general_path(crm, monkeypatch, tmp_path, header):
    rows = ["Ann,ann@example.com,0501000001,x,y,z", "Bob,bob@example.com,0501000002,x,y,z"]
    file = _csv(tmp_path / "other.csv", rows, header)
    (general, gdb, *_), (simple, sdb, *_) = _both(crm, monkeypatch, tmp_path, file)
    assert (general.exit_code, general.stdout, general.stderr) == (simple.exit_code, simple.stdout, simple.stderr)
    assert _rows(gdb) == _rows(sdb)


@pytest.mark.parametrize("name", ["google_contacts.csv", "duplicates.csv", "bad_email_line57.csv"])
def test_real_shaped_files(crm, monkeypatch, tmp_path, name):
    (general, gdb, *_), (simple, sdb, *_) = _both(crm, monkeypatch, tmp_path, DATA / name, "--skip-invalid")
    assert (general.exit_code, general.stdout, general.stderr) == (simple.exit_code, simple.stdout, simple.stderr)
    assert _rows(gdb) == _rows(sdb)
