"""Import/export fixes: the export format follows -o's extension, a .vcf without cards is refused, JSON
lists/objects in text columns are invalid values, base64 vCard text, `contact export ID`, --rejects
without --skip-invalid, and the refusal message reads as one sentence."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import dump


@pytest.fixture
def two(crm):
    crm.ok("contact", "add", "سارة الحداد", "--email", "sara@example.com", "--tag", "vip")
    crm.ok("contact", "add", "Omar Faruq", "--email", "omar@example.com")
    return crm


# -- 3. the export format comes from -o's extension ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "starts"),
    [
        ("c.vcf", "BEGIN:VCARD"),
        ("c.VCARD", "BEGIN:VCARD"),
        ("c.json", "["),
        ("c.ndjson", '{"id": 1'),
        ("c.jsonl", '{"id": 1'),
        ("c.csv", "id,kind,name"),
        ("c.txt", "id,kind,name"),  # an extension that names no format keeps the default
        ("c", "id,kind,name"),
    ],
)
def test_contact_export_format_from_extension(two, tmp_path, name, starts):
    out = tmp_path / name
    result = two("contact", "export", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"exported 2 contacts to {out}" in result.stderr
    assert out.read_text(encoding="utf-8").startswith(starts)


def test_format_option_wins_over_extension(two, tmp_path):
    out = tmp_path / "c.vcf"
    two.ok("contact", "export", "--format", "csv", "-o", str(out))
    assert out.read_text(encoding="utf-8").startswith("id,kind,name")


def test_vcf_export_imports_into_a_new_database(two, tmp_path):
    out = tmp_path / "c.vcf"
    two.ok("contact", "export", "-o", str(out))
    fresh = tmp_path / "new.db"
    result = two("contact", "import", str(out), "--db", str(fresh))
    assert result.exit_code == 0, result.stderr
    assert "added 2 · updated 0 · skipped 0 duplicates" in result.stderr
    names = [r["name"] for r in two.ok("contact", "list", "--db", str(fresh), "--json").json()]
    assert sorted(names) == sorted(["سارة الحداد", "Omar Faruq"])


@pytest.mark.parametrize(("command", "name", "starts"), [("log", "l.json", "["), ("deal", "d.ndjson", "")])
def test_log_and_deal_export_format_from_extension(two, tmp_path, command, name, starts):
    two.ok("log", "call", "Omar", "hello")
    two.ok("deal", "add", "Omar", "Gifts", "--value", "100")
    out = tmp_path / name
    result = two(command, "export", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    if name.endswith(".json"):
        assert json.loads(text)[0]["summary"] == "hello"
    else:
        assert json.loads(text.splitlines()[0])["title"] == "Gifts"


def test_log_export_to_an_ics_name_writes_icalendar(two, tmp_path):
    two.ok("log", "call", "Omar", "hello", "--follow-up", "tomorrow")
    out = tmp_path / "f.ics"
    two.ok("log", "export", "-o", str(out))
    assert out.read_bytes().startswith(b"BEGIN:VCALENDAR")


def test_export_to_a_name_of_a_format_the_command_cannot_write_is_refused(two, tmp_path, db_path):
    before = dump(db_path)
    out = tmp_path / "log.vcf"
    result = two("log", "export", "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr.startswith("crm: ") and len(result.stderr.splitlines()) == 1
    assert "vcard" in result.stderr and "--format" in result.stderr
    assert not out.exists()
    assert dump(db_path) == before


def test_importing_a_vcf_without_cards_is_refused(two, tmp_path):
    csv_named_vcf = tmp_path / "c.vcf"
    two.ok("contact", "export", "--format", "csv", "-o", str(csv_named_vcf))
    fresh = tmp_path / "new.db"
    two.ok("contact", "list", "--db", str(fresh))  # an empty database
    before = dump(fresh)
    result = two("contact", "import", str(csv_named_vcf), "--db", str(fresh))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"crm: {str(csv_named_vcf)!r} holds no vCard (no BEGIN:VCARD line); if it is a CSV or JSON file, give --format"
    ]
    assert dump(fresh) == before
    empty = tmp_path / "empty.vcard"
    empty.write_text("", encoding="utf-8")
    assert two("contact", "import", str(empty), "--db", str(fresh)).exit_code == 2
    stdin = two("contact", "import", "-", "--format", "vcard", "--db", str(fresh), input="name\nX\n")
    assert stdin.exit_code == 2 and "stdin holds no vCard" in stdin.stderr
    assert dump(fresh) == before


# -- 4. JSON lists/objects in text columns ------------------------------------------------------------


def test_json_list_or_object_in_a_text_column_refuses_the_import(crm, tmp_path, db_path):
    crm.ok("contact", "list")
    before = dump(db_path)
    path = tmp_path / "j.json"
    path.write_text('[{"name":["weird"],"notes":{"a":1}}, {"name":"Fine","city":{"x":1}}]', encoding="utf-8")
    result = crm("contact", "import", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "  line 1 (record 1), name: a list, expected text",
        "  line 2 (record 2), city: an object, expected text",
        "crm: import refused, nothing was written: line 1 (record 1), name: a list, expected text; "
        "1 more invalid row (see the list); fix the file or use --skip-invalid",
    ]
    assert dump(db_path) == before
    assert "weird" not in dump(db_path)


def test_json_rows_with_lists_are_skipped_with_skip_invalid_and_kept_in_rejects(crm, tmp_path):
    path = tmp_path / "j.ndjson"
    rows = [
        {"name": ["weird"], "notes": {"a": 1}},
        {"name": "Ok", "email": ["ok@x.com", "ok2@x.com"], "tags": ["vip", "new"], "fields": {"k": "v"}, "n": 3},
        {"name": "Count", "every": 30, "dnc": True, "notes": 12.5},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = crm("contact", "import", str(path), "--skip-invalid", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert (doc["added"], doc["rejected"]) == (2, 1)
    assert doc["errors"] == [{"line": 1, "label": None, "column": "name", "reason": "a list, expected text"}]
    rejects = (tmp_path / "j.ndjson.rejects.ndjson").read_text(encoding="utf-8").splitlines()
    assert json.loads(rejects[0]) == {
        "name": ["weird"],
        "notes": {"a": 1},
        "import line": 1,
        "import error": "name: a list, expected text",
    }
    people = {r["name"]: r for r in crm.ok("contact", "list", "--json").json()}
    assert set(people) == {"Ok", "Count"}
    ok = crm.ok("contact", "show", "Ok", "--json").json()
    assert ok["emails"] == ["ok@x.com", "ok2@x.com"]
    assert sorted(ok["tags"]) == ["new", "vip"]
    assert ok["fields"]["k"] == "v" and ok["fields"]["n"] == "3"
    count = crm.ok("contact", "show", "Count", "--json").json()
    assert count["notes"] == "12.5" and count["dnc"] is True and count["every_days"] == 30


def test_json_list_in_a_log_import_is_an_invalid_row(crm, tmp_path, db_path):
    crm.ok("contact", "add", "Omar", "--email", "omar@example.com")
    before = dump(db_path)
    path = tmp_path / "log.json"
    path.write_text('[{"email":"omar@example.com","kind":"call","date":"2026-11-01","summary":["x"]}]')
    result = crm("log", "import", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "crm: import refused, nothing was written: line 1 (record 1), summary: a list, expected text; "
        "fix the file or use --skip-invalid"
    ]
    assert dump(db_path) == before


def test_crm_json_export_still_round_trips(two, tmp_path):
    out = tmp_path / "c.json"
    two.ok("contact", "export", "-o", str(out))
    fresh = tmp_path / "fresh.db"
    result = two("contact", "import", str(out), "--db", str(fresh))
    assert result.exit_code == 0, result.stderr
    sara = two.ok("contact", "show", "sara@example.com", "--db", str(fresh), "--json").json()
    assert sara["tags"] == ["vip"] and sara["name"] == "سارة الحداد"


# -- 5. base64 vCard text ----------------------------------------------------------------------------


def test_vcard_base64_name_is_decoded(crm, tmp_path):
    sara = base64.b64encode("سارة".encode()).decode()
    assert sara == "2LPYp9ix2Kk="
    omar = base64.b64encode("عمر الفاروق".encode()).decode()
    path = tmp_path / "b.vcf"
    path.write_text(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN;ENCODING=b:{sara}\r\nEND:VCARD\r\n"
        f"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=UTF-8;ENCODING=BASE64:{omar}\r\n\r\n"
        "TEL;CELL:+966501234567\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Photo Person\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    result = crm("contact", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "added 3" in result.stderr
    names = sorted(r["name"] for r in crm.ok("contact", "list", "--json").json())
    assert names == sorted(["سارة", "عمر الفاروق", "Photo Person"])


# -- 6. contact export REF ----------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["1", "sara@example.com", "١"])
def test_contact_export_one_reference_exports_that_contact(two, ref):
    result = two("contact", "export", ref)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("1,person,سارة الحداد,sara@example.com,")


def test_contact_export_one_id_as_vcard_and_ndjson(two):
    vcard = two.ok("contact", "export", "2", "--format", "vcard").stdout
    assert vcard.count("BEGIN:VCARD") == 1 and "FN:Omar Faruq" in vcard
    ndjson = two.ok("contact", "export", "2", "--format", "ndjson").stdout.splitlines()
    assert [json.loads(line)["name"] for line in ndjson] == ["Omar Faruq"]


def test_contact_export_unknown_id_is_not_found(two, tmp_path):
    out = tmp_path / "none.csv"
    result = two("contact", "export", "99", "-o", str(out))
    assert result.exit_code == 3
    assert result.stderr.splitlines() == ["crm: no contact with id 99; see `crm contact list`"]
    assert not out.exists()


def test_contact_export_a_word_still_searches(two):
    lines = two.ok("contact", "export", "omar").stdout.splitlines()
    assert len(lines) == 2 and ",Omar Faruq," in lines[1]


def test_contact_export_ref_json_is_still_the_subject_export(two):
    doc = two.ok("contact", "export", "1", "--json").json()
    assert doc["contact"]["name"] == "سارة الحداد" and "history" in doc


# -- 7. --rejects without --skip-invalid ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["contact", "log", "deal"])
def test_rejects_without_skip_invalid_is_refused(crm, tmp_path, db_path, command):
    crm.ok("contact", "add", "Omar", "--email", "omar@example.com")
    before = dump(db_path)
    path = tmp_path / "in.csv"
    path.write_text("name,email\nA,a@x.com\n", encoding="utf-8")
    rejects = tmp_path / "r.csv"
    result = crm(command, "import", str(path), "--rejects", str(rejects))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "crm: --rejects only applies with --skip-invalid (without it an invalid row refuses the whole import); "
        "add --skip-invalid or drop --rejects"
    ]
    assert not rejects.exists()
    assert dump(db_path) == before


def test_rejects_with_skip_invalid_still_works(crm, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("name,email\nA,a@x.com\nB,not-an-email\n", encoding="utf-8")
    rejects = tmp_path / "r.csv"
    result = crm("contact", "import", str(path), "--skip-invalid", "--rejects", str(rejects))
    assert result.exit_code == 0, result.stderr
    assert "B,not-an-email,3," in rejects.read_text(encoding="utf-8-sig")


# -- 8. the refusal reads as one sentence --------------------------------------------------------------


def test_refusal_with_several_bad_rows_reads_as_one_sentence(crm, tmp_path, db_path):
    crm.ok("contact", "list")
    before = dump(db_path)
    path = tmp_path / "in.csv"
    path.write_text("name,email\nA,a-at-x\nB,b-at-x\nC,c@x.com\n", encoding="utf-8")
    result = crm("contact", "import", str(path))
    assert result.exit_code == 2
    last = result.stderr.splitlines()[-1]
    assert last.startswith("crm: import refused, nothing was written: line 2, email: ")
    assert last.endswith("; 1 more invalid row (see the list); fix the file or use --skip-invalid")
    assert " and 1 more" not in last and ".;" not in last
    assert dump(db_path) == before


def test_vcard_with_odd_line_ends_is_still_a_vcard(crm, tmp_path):
    path = tmp_path / "iphone.vcf"
    path.write_bytes(b"BEGIN:VCARD\r\r\nVERSION:3.0\r\r\nFN:Old Mac\r\r\nEND:VCARD\r\r\n")
    other = tmp_path / "mac.vcf"
    other.write_bytes(b"begin:vcard\rversion:2.1\rFN:Carriage Return\rend:vcard\r")
    for file in (path, other):
        result = crm("contact", "import", str(file))
        assert result.exit_code == 0, result.stderr
    assert sorted(r["name"] for r in crm.ok("contact", "list", "--json").json()) == ["Carriage Return", "Old Mac"]
