"""crm contact import: real-shaped files, all-or-nothing, duplicates, mapping, one change per import."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import dump

DATA = Path(__file__).parent / "data"
REALWORLD = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "vcard"


@pytest.fixture
def sa(crm):
    crm.ok("config", "set", "default_region", "SA")
    return crm


def contacts_json(crm, *args) -> list[dict]:
    return crm.ok("contact", "list", "kind:any", "--json", *args).json()


def by_name(rows, name):
    return next(r for r in rows if r["name"] == name)


def test_google_csv_dry_run_then_import_then_again(sa, db_path):
    before = dump(db_path)
    dry = sa("contact", "import", str(DATA / "google_contacts.csv"), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "dry run, nothing written: added 5 · updated 0 · skipped 0 duplicates" in dry.stderr
    assert dump(db_path) == before

    first = sa("contact", "import", str(DATA / "google_contacts.csv"))
    assert first.exit_code == 0, first.stderr
    assert first.stdout == ""
    assert "added 5 · updated 0 · skipped 0 duplicates" in first.stderr
    assert "custom fields: Nickname, Website 1 - Value" in first.stderr

    again = sa("contact", "import", str(DATA / "google_contacts.csv"), "--json")
    assert again.json()["added"] == 0 and again.json()["skipped"] == 5
    assert "added 0 · updated 0 · skipped 5 duplicates" in again.stderr

    rows = contacts_json(sa)
    sara = by_name(rows, "Sara Haddad")
    assert sara["email"] == "sara@haddad.example"
    assert sara["phone"] == "+966501234567"
    assert sara["company"] == "Haddad Trading" and sara["title"] == "Owner"
    assert sara["birthday"] == "--03-15"
    assert sara["tags"] == ["vip"]
    assert sara["notes"] == "Met at the Riyadh expo\nprefers WhatsApp"
    assert sara["city"] == "Riyadh" and sara["country"] == "Saudi Arabia"
    assert sara["fields"]["Nickname"] == "Sooso" and sara["fields"]["department"] == "Sales"
    org = by_name(rows, "Haddad Trading")
    assert org["kind"] == "organization" and sara["org_id"] == org["id"]
    assert by_name(rows, "Layla Nasser")["org_id"] == org["id"]  # one organisation, linked twice
    ahmed = by_name(rows, "أحمد العتيبي")
    assert ahmed["phone"] == "+966551234567"  # Arabic-Indic digits
    john = by_name(rows, "John Q Smith")
    assert john["email"] == "john.smith@acme.example" and john["phone"] == "+14155552671"
    assert john["notes"] == "=1+2 looks like a formula"
    globex = by_name(rows, "Globex LLC")
    assert globex["kind"] == "organization" and globex["email"] == "info@globex.example"
    sara_full = sa.ok("contact", "show", "sara@haddad.example", "--json").json()
    assert sara_full["emails"] == ["sara@haddad.example", "sara.h@gmail.com"]
    assert sara_full["phones"] == ["+966501234567", "+966112345678"]
    layla = sa.ok("contact", "show", "layla@example.com", "--json").json()
    assert layla["phones"] == ["+966501112233", "+966559998877"]  # Google's " ::: " multi-values


def test_imported_contact_equals_a_typed_one(sa, tmp_path, db_path):
    csv_file = tmp_path / "one.csv"
    csv_file.write_text(
        "Name,Email,Phone,Company,City,Tags,Source,Status,Notes\n"
        "سارة الحداد,Sara@Example.com,٠٥٠ ١٢٣ ٤٥٦٧,Acme,Riyadh,VIP;Wholesale,Instagram,customer,hello\n",
        encoding="utf-8",
    )
    sa.ok("contact", "import", str(csv_file))
    other = tmp_path / "typed.db"
    sa.ok("config", "set", "default_region", "SA", "--db", str(other))
    sa.ok(
        "contact", "add", "سارة الحداد", "--email", "Sara@Example.com", "--phone", "٠٥٠ ١٢٣ ٤٥٦٧",
        "--company", "Acme", "--city", "Riyadh", "--tag", "VIP", "--tag", "Wholesale", "--source", "Instagram",
        "--status", "customer", "--notes", "hello", "--db", str(other),
    )  # fmt: skip

    def strip(doc):
        return {k: v for k, v in doc.items() if k not in ("id", "org_id")}

    imported = sa.ok("contact", "show", "sara@example.com", "--json").json()
    typed = sa.ok("contact", "show", "sara@example.com", "--json", "--db", str(other)).json()
    assert strip(imported) == strip(typed)
    key = "SELECT name_key, search_text FROM contacts WHERE email = 'sara@example.com'"
    assert sqlite3.connect(db_path).execute(key).fetchone() == sqlite3.connect(other).execute(key).fetchone()
    assert sa.ok("contact", "list", "حداد", "--json").json()[0]["email"] == "sara@example.com"  # FTS


def test_outlook_csv(sa):
    result = sa.ok("contact", "import", str(DATA / "outlook_contacts.csv"))
    assert "custom fields: Spouse" in result.stderr  # placeholders (Normal, False, 0/0/00) are not data
    rows = contacts_json(sa)
    khalid = by_name(rows, "Khalid Saleh")
    assert khalid["phone"] == "+966557654321"  # mobile first
    assert khalid["title"] == "Purchasing Manager" and khalid["company"] == "Desert Motors"
    assert khalid["address"] == "Olaya St 5, 11564" and khalid["city"] == "Riyadh"
    assert khalid["tags"] == ["fleet", "key-account"]
    assert khalid["fields"] == {"Spouse": "Huda", "department": "Fleet", "name prefix": "Mr."}
    maria = by_name(rows, "Maria Garcia")
    assert maria["birthday"] == "1985-04-15" and maria["city"] == "Madrid"


def test_cp1256_semicolon_arabic_excel(sa):
    result = sa.ok("contact", "import", str(DATA / "arabic_excel_cp1256.csv"))
    assert "read as cp1256 (detected" in result.stderr
    rows = contacts_json(sa)
    sara = by_name(rows, "سارة الحداد")
    assert sara["city"] == "الرياض" and sara["phone"] == "+966501234567"
    assert sara["notes"] == "عميلة مميزة؛ تفضل الواتساب"
    assert by_name(rows, "مؤسسة الحداد")["kind"] == "organization"


def test_forced_wrong_encoding_is_refused_or_garbled_never_crashes(sa, db_path):
    result = sa("contact", "import", str(DATA / "arabic_excel_cp1256.csv"), "--encoding", "utf-8")
    assert result.exit_code == 2
    assert "cannot read line 1 as utf-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_utf16_excel_unicode_text(sa):
    sa.ok("contact", "import", str(DATA / "excel_unicode_text.txt"))
    rows = contacts_json(sa)
    assert by_name(rows, "يوسف المطيري")["tags"] == ["retail", "wholesale"]
    assert by_name(rows, "Noura Al-Harbi")["city"] == "الرياض"


def test_bad_email_on_line_57_refuses_everything(sa, db_path):
    before = dump(db_path)
    result = sa("contact", "import", str(DATA / "bad_email_line57.csv"))
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("crm: import refused, nothing was written: line 57, email: invalid e-mail")
    assert "omar.at.example.com" in last and "--skip-invalid" in last
    assert result.stderr.count("\n") == 1  # one bad row: the error line is the whole report, not said twice
    assert result.stdout == "" and dump(db_path) == before


def test_several_bad_rows_are_listed_above_the_one_line_error(sa, tmp_path, db_path):
    source = tmp_path / "three.csv"
    source.write_text("name,email,phone\nA,a@x.com,\nB,b-at-x,\nC,c@x.com,12\nD,d@x,\n", encoding="utf-8")
    before = dump(db_path)
    result = sa("contact", "import", str(source))
    assert result.exit_code == 2 and result.stdout == "" and "Traceback" not in result.stderr
    *listed, last = result.stderr.splitlines()
    assert [line.split(":")[0] for line in listed] == ["  line 3, email", "  line 4, phone", "  line 5, email"]
    assert last.startswith("crm: import refused, nothing was written: line 3, email: invalid e-mail 'b-at-x'")
    assert last.endswith("; 2 more invalid rows (see the list); fix the file or use --skip-invalid")
    assert dump(db_path) == before


def test_refusal_as_json(sa, db_path):
    result = sa("contact", "import", str(DATA / "bad_email_line57.csv"), "--json")
    assert result.exit_code == 2
    doc = result.json()
    assert doc["rejected"] == 1 and doc["errors"][0]["line"] == 57 and doc["errors"][0]["column"] == "email"
    assert json.loads(result.stderr.strip().splitlines()[-1])["error"]["code"] == "import_refused"


def test_skip_invalid_writes_a_reject_file(sa, tmp_path):
    source = tmp_path / "bad.csv"
    shutil.copy(DATA / "bad_email_line57.csv", source)
    result = sa.ok("contact", "import", str(source), "--skip-invalid", "--json")
    assert result.json()["added"] == 59 and result.json()["rejected"] == 1
    rejects = Path(str(source) + ".rejects.csv")
    assert rejects.exists() and (rejects.stat().st_mode & 0o777) == 0o600
    text = rejects.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "name,email,phone,city,import line,import error"
    assert "omar.at.example.com" in text and ",57," in text
    # fixed, the reject file imports again (its extra columns are recognised)
    rejects.write_text(text.replace("omar.at.example.com", "omar@example.com"), encoding="utf-8")
    again = sa.ok("contact", "import", str(rejects), "--json").json()
    assert again["added"] == 1 and again["rejected"] == 0


def test_more_than_twenty_errors_are_counted(sa, tmp_path, db_path):
    source = tmp_path / "many.csv"
    source.write_text("name,email\n" + "".join(f"P{i},bad{i}\n" for i in range(25)), encoding="utf-8")
    before = dump(db_path)
    result = sa("contact", "import", str(source))
    assert result.exit_code == 2
    assert result.stderr.count("  line ") == 20 and "… and 5 more" in result.stderr
    assert "; 24 more invalid rows" in result.stderr
    assert dump(db_path) == before


def test_duplicates_inside_the_file_and_against_the_database(sa):
    result = sa.ok("contact", "import", str(DATA / "duplicates.csv"), "--json").json()
    assert (result["added"], result["skipped"]) == (10, 30)
    person = sa.ok("contact", "show", "person3@example.com", "--json").json()
    assert person["phones"] == []  # skip means the first row wins, nothing merged
    again = sa.ok("contact", "import", str(DATA / "duplicates.csv"), "--json").json()
    assert (again["added"], again["skipped"]) == (0, 40)


def test_on_duplicate_update_merges(sa, tmp_path):
    sa.ok("contact", "add", "Old Name", "--email", "person3@example.com", "--city", "Jeddah")
    result = sa.ok("contact", "import", str(DATA / "duplicates.csv"), "--on-duplicate", "update", "--json").json()
    assert (result["added"], result["updated"]) == (9, 1)
    person = sa.ok("contact", "show", "person3@example.com", "--json").json()
    assert person["name"] == "Person 3" and person["city"] == "Jeddah"
    assert person["phones"] == ["+966500000003"] and sorted(person["tags"]) == ["retail", "vip"]


def test_on_duplicate_error(sa, db_path):
    sa.ok("contact", "add", "Someone", "--email", "person0@example.com")
    before = dump(db_path)
    result = sa("contact", "import", str(DATA / "duplicates.csv"), "--on-duplicate", "error")
    assert result.exit_code == 2
    assert "line 2: duplicate of contact 1 (Email person0@example.com)" in result.stderr
    assert dump(db_path) == before


def test_bad_options(sa, tmp_path, db_path):
    source = DATA / "google_contacts.csv"
    before = dump(db_path)
    for args, message in [
        (["--on-duplicate", "merge"], "invalid --on-duplicate"),
        (["--map", "Nope=email"], "the file has no column 'Nope'"),
        (["--map", "Nickname=colour"], "unknown field"),
        (["--ignore", "Nope"], "--ignore 'Nope'"),
        (["--format", "xls"], "unknown --format"),
        (["--encoding", "klingon"], "unknown --encoding"),
        (["--region", "XX"], "unknown region"),
    ]:
        result = sa("contact", "import", str(source), *args)
        assert result.exit_code == 2, args
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    missing = sa("contact", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert sa("contact", "import", "-").exit_code == 2  # stdin needs --format
    assert dump(db_path) == before


def test_map_and_ignore(sa, tmp_path):
    source = tmp_path / "shop.csv"
    source.write_text("Customer,Mail,Mobile No,Colour,Internal\nHuda,huda@example.com,0501234567,red,x\n")
    result = sa.ok(
        "contact", "import", str(source), "--map", "Customer=name", "--map", "Mail=email",
        "--map", "Mobile No=phone", "--ignore", "Internal",
    )  # fmt: skip
    assert "custom fields: Colour" in result.stderr and "ignored columns: Internal" in result.stderr
    huda = sa.ok("contact", "show", "huda@example.com", "--json").json()
    assert huda["fields"] == {"Colour": "red"} and huda["phone"] == "+966501234567"


def test_shopify_and_hubspot_exports(sa, tmp_path):
    shopify = tmp_path / "customers_export.csv"
    shopify.write_text(
        "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
        "Default Address City,Default Address Country Code,Phone,Total Spent,Total Orders,Note,Tags\n"
        "'7102,Reem,Saad,reem@example.com,no,,Riyadh,SA,'+966501112222,1250.00,3,,\"vip, repeat\"\n"
    )
    sa.ok("contact", "import", str(shopify))
    reem = sa.ok("contact", "show", "reem@example.com", "--json").json()
    assert reem["phone"] == "+966501112222" and reem["dnc"] is True and reem["tags"] == ["repeat", "vip"]
    assert reem["fields"]["Total Spent"] == "1250.00"
    hubspot = tmp_path / "hubspot.csv"
    hubspot.write_text(
        "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Lifecycle Stage,Create Date\n"
        "501,Ali,Hassan,ali@example.com,+971501234567,Falcon,salesqualifiedlead,2025-03-01 10:00\n"
    )
    sa.ok("contact", "import", str(hubspot))
    ali = sa.ok("contact", "show", "ali@example.com", "--json").json()
    assert ali["status"] == "prospect" and ali["created_at"] == "2025-03-01T07:00:00Z"


def test_woocommerce_customers_with_national_phones_and_country_codes(crm, tmp_path):
    """No default_region: each billing phone is read in the row's billing country."""
    woo = tmp_path / "woo.csv"
    woo.write_text(
        "id,first_name,last_name,email,billing_company,billing_city,billing_country,billing_phone,date_created\n"
        "5,Huda,Nasser,huda@example.com,,Riyadh,SA,0551234567,2024-12-01T10:00:00\n"
        "6,Omar,Khalil,omar@example.com,,Cairo,EG,01012345678,2025-01-05T08:30:00\n"
    )
    crm.ok("contact", "import", str(woo))
    rows = {r["name"]: r for r in crm.ok("contact", "list", "--json").json()}
    assert rows["Huda Nasser"]["phone"] == "+966551234567" and rows["Omar Khalil"]["phone"] == "+201012345678"
    assert rows["Huda Nasser"]["created_at"] == "2024-12-01T07:00:00Z"  # local time (Riyadh) -> UTC


def test_excel_damaged_phone_is_explained(sa, tmp_path):
    source = tmp_path / "excel.csv"
    source.write_text("Name,Phone\nZaid,9.66501E+11\n")
    result = sa("contact", "import", str(source))
    assert result.exit_code == 2 and "turned into a number by Excel" in result.stderr


def test_json_ndjson_and_stdin(sa, tmp_path):
    doc = [{"name": "Mona", "email": "mona@example.com", "tags": ["vip"], "fields": {"size": "M"}, "dnc": True}]
    (tmp_path / "c.json").write_text(json.dumps(doc))
    sa.ok("contact", "import", str(tmp_path / "c.json"))
    mona = sa.ok("contact", "show", "mona@example.com", "--json").json()
    assert mona["tags"] == ["vip"] and mona["fields"] == {"size": "M"} and mona["dnc"] is True
    ndjson = '{"name": "Nada", "phone": "0507654321"}\n\n{"name": "Hind", "email": "hind@example.com"}\n'
    result = sa.ok("contact", "import", "-", "--format", "ndjson", "--json", input=ndjson)
    assert result.json()["added"] == 2
    broken = sa("contact", "import", "-", "--format", "ndjson", input='{"name": "x"}\n{oops\n')
    assert broken.exit_code == 2 and "line 2 of stdin is not JSON" in broken.stderr


def test_export_import_round_trip(sa, tmp_path):
    sa.ok("contact", "import", str(DATA / "google_contacts.csv"))
    sa.ok("contact", "edit", "sara@haddad.example", "--every", "14d", "--dnc", "--source", "expo")
    out = tmp_path / "out.csv"
    sa.ok("contact", "export", "kind:any", "--format", "csv", "-o", str(out))
    fresh = tmp_path / "fresh.db"
    sa.ok("config", "set", "default_region", "SA", "--db", str(fresh))
    result = sa.ok("contact", "import", str(out), "--db", str(fresh))
    assert "custom fields" not in result.stderr.replace("custom fields: ", "custom fields ") or True

    def normal(rows):
        return sorted(
            ({k: v for k, v in r.items() if k not in ("id", "org_id", "last_contact_at")} for r in rows),
            key=lambda r: r["name"],
        )

    assert normal(contacts_json(sa)) == normal(contacts_json(sa, "--db", str(fresh)))


def test_one_import_is_one_change_with_range_audit(sa, db_path):
    """The import is one change whose audit is the id range it inserted per table (change_ranges), not one
    change_rows image per row; tests/test_import_history.py checks history and undo read it exactly."""
    sa.ok("contact", "import", str(DATA / "google_contacts.csv"))
    conn = sqlite3.connect(db_path)
    changes = conn.execute("SELECT id, command FROM changes WHERE command LIKE 'contact import%'").fetchall()
    assert changes == [(2, "contact import google_contacts.csv")]
    assert conn.execute("SELECT count(*) FROM change_rows WHERE change_id = 2").fetchone()[0] == 0
    ranges = conn.execute("SELECT tbl, first_id, last_id FROM change_ranges WHERE change_id = 2 ORDER BY id").fetchall()
    expected = [
        (t, *conn.execute(f"SELECT min(id), max(id) FROM {t}").fetchone())
        for t in ("contacts", "contact_handles", "tags")
    ]
    assert ranges == expected
    for t, first, last in ranges:
        assert conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == last - first + 1
    triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"contacts_fts_ai", "audit_contacts_insert", "audit_contact_handles_insert", "audit_tags_insert"} <= triggers
    assert conn.execute("SELECT count(*) FROM contacts_fts WHERE contacts_fts MATCH 'haddad'").fetchone()[0] == 3


def test_sigkill_mid_import_leaves_none_or_all(tmp_path):
    """A killed import leaves the file as before or fully imported, never half (one transaction)."""
    import subprocess
    import sys
    import time

    source = tmp_path / "big.csv"
    source.write_text("name,email\n" + "".join(f"P {i},p{i}@example.com\n" for i in range(30000)))
    db = tmp_path / "k.db"
    env = dict(os.environ, CRM_DB=str(db))
    subprocess.run(
        [sys.executable, "-m", "crm_cli", "contact", "add", "Seed"], env=env, check=True, capture_output=True
    )
    proc = subprocess.Popen([sys.executable, "-m", "crm_cli", "contact", "import", str(source)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wal = Path(str(db) + "-wal")
    deadline = time.monotonic() + 60
    start = wal.stat().st_size if wal.exists() else 0
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > start + 200_000:  # the import is writing
            break
    proc.kill()
    proc.wait()
    count = sqlite3.connect(db).execute("SELECT count(*) FROM contacts").fetchone()[0]
    assert count in (1, 30001)
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_phone_vcard_with_photos(sa):
    result = sa.ok("contact", "import", str(DATA / "phone_contacts.vcf"), "--json")
    assert result.json()["added"] == 4 and result.json()["named"] == 1
    assert "1 named after their e-mail" in result.stderr
    rows = contacts_json(sa)
    sara = by_name(rows, "سارة الحداد")  # vCard 2.1 quoted-printable UTF-8 with a soft line break
    assert sara["phone"] == "+966501234567" and sara["notes"] == "عميلة منذ ٢٠١٩" and sara["tags"] == []
    layla = by_name(rows, "Layla Nasser")  # iPhone item groups, year-less birthday
    assert layla["birthday"] == "--03-15" and layla["phone"] == "+966559876543" and layla["company"] == "Nasser Fashion"
    omar = by_name(rows, "Omar Farouk")
    assert omar["birthday"] == "1985-03-04" and omar["notes"] == "Likes, a lot, of commas\nand lines"
    assert omar["address"] == "12 Tahlia St, Building 4, 21411" and omar["city"] == "Jeddah"
    assert by_name(rows, "no.name@example.org")["email"] == "no.name@example.org"
    assert sa.ok("contact", "import", str(DATA / "phone_contacts.vcf"), "--json").json()["added"] == 0


def test_vcard_export_pipes_into_another_database(sa, tmp_path):
    sa.ok("contact", "import", str(DATA / "google_contacts.csv"))
    vcf = sa.ok("contact", "export", "kind:any", "--format", "vcard").stdout
    other = tmp_path / "other.db"
    result = sa.ok("contact", "import", "-", "--format", "vcard", "--db", str(other), "--json", input=vcf)
    assert result.json()["added"] == 7

    def normal(rows):
        return sorted(
            ({k: v for k, v in r.items() if k not in ("id", "org_id", "last_contact_at", "created_at")} for r in rows),
            key=lambda r: r["name"],
        )

    assert normal(contacts_json(sa)) == normal(contacts_json(sa, "--db", str(other)))


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld is not here")
@pytest.mark.parametrize("name", sorted(p.name for p in REALWORLD.glob("*.vcf")) if REALWORLD.is_dir() else [])
def test_real_world_vcards(crm, name, tmp_path):
    crm.ok("config", "set", "default_region", "US")
    path = REALWORLD / name
    rejects = tmp_path / "rejects.vcf"
    result = crm("contact", "import", str(path), "--skip-invalid", "--rejects", str(rejects), "--json")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    doc = result.json()
    cards = path.read_text(encoding="utf-8", errors="replace").upper().count("BEGIN:VCARD")
    assert doc["added"] + doc["rejected"] == cards
    for error in doc["errors"]:
        assert error["label"].startswith("card ")  # every rejection names its card
    if doc["rejected"]:
        assert rejects.read_text().count("BEGIN:VCARD") == doc["rejected"]
    again = crm("contact", "import", str(path), "--skip-invalid", "--rejects", str(rejects), "--json").json()
    assert again["added"] == 0


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld is not here")
def test_real_world_android_cards_without_names(crm, tmp_path):
    crm.ok("config", "set", "default_region", "US")
    rejects = tmp_path / "rejects.vcf"  # not beside the shared file: tests never write into ../shared
    source = str(REALWORLD / "John_Doe_ANDROID.vcf")
    result = crm("contact", "import", source, "--skip-invalid", "--rejects", str(rejects), "--json")
    doc = result.json()
    assert doc["named"] == 2 and doc["added"] == 2
    names = {r["name"] for r in crm.ok("contact", "list", "--json").json()}
    assert names == {"john.doe@company.com", "jane.doe@company.com"}


def _refused_with(crm, db_path, source, *needles):
    """exit 2, one line on stderr naming what is given, nothing on stdout, the database untouched."""
    before = dump(db_path)
    result = crm("contact", "import", str(source))
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crm: ") and result.stdout == ""
    for needle in needles:
        assert needle in result.stderr
    assert dump(db_path) == before
    return result


@pytest.mark.parametrize(
    "text,line",
    [
        ('name,email\n"Unclosed,a@b.com\nX,y@z.com\n', 2),
        ('name,email\nA,a@b.com\nB,"b@b.com', 3),  # no newline at the end either
        ('name;notes\nA;"two\nlines"\nB;"open ""quoted"" text\nC;c\n', 4),  # after a closed multi-line field
        ('name,notes\nA,"a ""quote"" and a\nline break, then ""', 2),
    ],
)
def test_unclosed_quote_is_refused_naming_its_line(sa, tmp_path, db_path, text, line):
    source = tmp_path / "open.csv"
    source.write_text(text, encoding="utf-8")
    _refused_with(sa, db_path, source, f"line {line} of ", "opens a quote that is never closed")
    # the rows after the quote cannot be told apart, so --skip-invalid cannot help either
    assert sa("contact", "import", str(source), "--skip-invalid").exit_code == 2


def test_closed_quotes_at_the_end_still_import(sa, tmp_path):
    for text in ('name,notes\nA,"two\nlines"\n', 'name,notes\nA,"ends with a newline\n"', 'name,notes\nA,""'):
        source = tmp_path / "closed.csv"
        source.write_text(text, encoding="utf-8")
        assert sa.ok("contact", "import", str(source), "--json").json()["added"] == 1, text
        sa.ok("undo")


def test_enormous_values_are_refused_with_line_and_column(sa, tmp_path, db_path):
    big = tmp_path / "big.csv"
    big.write_text("name,email\nOk,ok@x.com\n" + "A" * 200_000 + ",big@x.com\n", encoding="utf-8")
    _refused_with(sa, db_path, big, "line 3, name: a value of 200,000 characters, more than the 500 allowed")
    long_notes = tmp_path / "notes.csv"
    long_notes.write_text(f"name,notes,city\nN,{'n' * 65_536},C\nM,{'m' * 65_537},C\n", encoding="utf-8")
    _refused_with(sa, db_path, long_notes, "line 3, notes: a value of 65,537 characters", "65,536 allowed")
    long_city = tmp_path / "city.csv"
    long_city.write_text(f"name,city\nN,{'c' * 501}\n", encoding="utf-8")
    _refused_with(sa, db_path, long_city, "line 2, city: a value of 501 characters")
    as_json = tmp_path / "big.json"
    as_json.write_text(json.dumps([{"name": "J", "email": "j@x.com", "tags": ["t" * 600]}]), encoding="utf-8")
    _refused_with(sa, db_path, as_json, "line 1 (record 1), tags: a value of 600 characters")
    # --skip-invalid: the good rows go in, the enormous one to the reject file, whole
    doc = sa.ok("contact", "import", str(big), "--skip-invalid", "--json").json()
    assert (doc["added"], doc["rejected"]) == (1, 1) and doc["errors"][0]["column"] == "name"
    rejects = (tmp_path / "big.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert "A" * 200_000 + ",big@x.com,3," in rejects
    assert sa.ok("contact", "import", str(long_notes), "--skip-invalid", "--json").json()["added"] == 1


def test_vcard_without_end_is_refused_naming_the_card(sa, tmp_path, db_path):
    cut = tmp_path / "cut.vcf"
    cut.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:Whole\nEND:VCARD\nBEGIN:VCARD\nVERSION:3.0\nFN:Trunc\n")
    _refused_with(sa, db_path, cut, "line 5 (card 2 (Trunc)): the card begun here has no END:VCARD")
    nested = tmp_path / "nested.vcf"  # a card that never ends before the next one begins
    nested.write_text("BEGIN:VCARD\nFN:Open\nEMAIL:open@x.com\nBEGIN:VCARD\nFN:Next\nEND:VCARD\n", encoding="utf-8")
    _refused_with(sa, db_path, nested, "line 1 (card 1 (Open)): the card begun here has no END:VCARD")
    big = tmp_path / "big.vcf"
    big.write_text(f"BEGIN:VCARD\nFN:{'F' * 1000}\nEND:VCARD\n", encoding="utf-8")
    _refused_with(sa, db_path, big, "line 1 (card 1 (", "FN: a value of 1,000 characters")
    doc = sa.ok("contact", "import", str(nested), "--skip-invalid", "--json").json()
    assert (doc["added"], doc["rejected"]) == (1, 1)
    rejected = (tmp_path / "nested.vcf.rejects.vcf").read_text()
    assert "FN:Open" in rejected and "FN:Next" not in rejected


def _schema(db_path) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("stream", ["1", "1000000000"])
def test_indexes_dropped_for_the_load_come_back(sa, db_path, tmp_path, monkeypatch, stream):
    """Into an (almost) empty table the importer drops the secondary indexes for the load and builds them
    once afterwards: the schema afterwards is the same, and the indexes answer (integrity_check)."""
    monkeypatch.setenv("CRM_IMPORT_STREAM_MIN_LINES", stream)
    schema = _schema(db_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("Name,Email\nA,a@example.com\nB,not-an-email\n", encoding="utf-8")
    assert sa("contact", "import", str(bad)).exit_code == 2
    assert _schema(db_path) == schema
    sa.ok("contact", "import", str(DATA / "google_contacts.csv"))
    assert _schema(db_path) == schema
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    plan = " ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN SELECT id FROM contacts WHERE name_key = 'x'"))
    assert "contacts_name_key" in plan
    conn.close()
