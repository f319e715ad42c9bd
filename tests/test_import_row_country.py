"""Phones typed without + in an imported row are read in the row's own country when no default_region
is set (contact_info.region_of_country), so a Google or Outlook export with addresses imports on a
fresh install; rows that give no country still need a region and refuse the import as before."""

from __future__ import annotations

import pytest

from crm_cli.contact_info import region_of_country
from tests.conftest import dump

CSV = (
    "Name,Phone,Country\r\n"
    "Sara Haddad,050 123 4567,Saudi Arabia\r\n"
    "Mona Adel,010 1234 5678,مصر\r\n"
    "Omar Khalil,0501112233,المملكة العربية السعودية\r\n"
    "Lina Saleh,+971 50 123 4567,\r\n"
)


@pytest.mark.parametrize(
    ("written", "region"),
    [
        ("Saudi Arabia", "SA"),
        ("  saudi   ARABIA ", "SA"),
        ("السعودية", "SA"),
        ("المملكة العربية السعوديه", "SA"),
        ("KSA", "SA"),
        ("sa", "SA"),
        ("Egypt", "EG"),
        ("مصر", "EG"),
        ("Arabia Saudita", "SA"),
        ("Deutschland", "DE"),
        ("UAE", "AE"),
        ("الإمارات", "AE"),
        ("United States", "US"),
        ("Atlantis", None),
        ("", None),
        (None, None),
    ],
)
def test_region_of_country(written, region):
    assert region_of_country(written) == region


@pytest.mark.parametrize("two_processes", [False, True])
def test_national_phones_read_in_the_rows_country(crm, tmp_path, monkeypatch, two_processes):
    if two_processes:
        monkeypatch.setenv("CRM_IMPORT_STREAM_MIN_LINES", "1")
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    result = crm("contact", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "added 4" in result.stderr
    phones = {r["name"]: r["phone"] for r in crm.ok("contact", "list", "--json").json()}
    assert phones == {
        "Sara Haddad": "+966501234567",
        "Mona Adel": "+201012345678",
        "Omar Khalil": "+966501112233",
        "Lina Saleh": "+971501234567",
    }


def test_default_region_wins_over_the_rows_country(crm, tmp_path):
    crm.ok("config", "set", "default_region", "EG")
    path = tmp_path / "people.csv"
    path.write_text("Name,Phone,Country\r\nMona Adel,010 1234 5678,Saudi Arabia\r\n", encoding="utf-8")
    crm.ok("contact", "import", str(path))
    assert crm.ok("contact", "list", "--json").json()[0]["phone"] == "+201012345678"


def test_row_without_a_country_still_needs_a_region(crm, tmp_path, db_path):
    path = tmp_path / "people.csv"
    path.write_text(CSV + "Nada Fares,0559876543,\r\n", encoding="utf-8")
    crm.ok("contact", "list")  # creates the database
    before = dump(db_path)
    result = crm("contact", "import", str(path))
    assert result.exit_code == 2
    assert "line 6, Phone: phone '0559876543' has no country code" in result.stderr
    assert "crm config set default_region" in result.stderr
    assert dump(db_path) == before


def test_unknown_country_is_not_guessed(crm, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Name,Phone,Country\r\nNada Fares,0559876543,Atlantis\r\n", encoding="utf-8")
    result = crm("contact", "import", str(path))
    assert result.exit_code == 2
    assert "has no country code" in result.stderr


def test_vcard_address_country(crm, tmp_path):
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:سارة الحداد\r\nTEL;TYPE=CELL:0501234567\r\n"
        "ADR;TYPE=HOME:;;King Fahd Rd;Riyadh;;12345;Saudi Arabia\r\nEND:VCARD\r\n"
    )
    path = tmp_path / "phone.vcf"
    path.write_text(card, encoding="utf-8")
    result = crm("contact", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert crm.ok("contact", "list", "--json").json()[0]["phone"] == "+966501234567"


def test_contact_add_and_edit_read_a_national_phone_in_the_contacts_country(crm, db_path):
    assert crm.ok("contact", "add", "Sara", "--phone", "050 123 4567", "--country", "Saudi Arabia").stdout == "1\n"
    crm.ok("contact", "add", "Omar")
    crm.ok("contact", "edit", "Omar", "--country", "مصر", "--phone", "010 1234 5678")
    crm.ok("contact", "edit", "Sara", "--phone", "055 123 4567")  # the stored country
    phones = {r["name"]: r["phone"] for r in crm.ok("contact", "list", "--json").json()}
    assert phones == {"Sara": "+966551234567", "Omar": "+201012345678"}

    before = dump(db_path)
    refused = crm("contact", "add", "Mona", "--phone", "010 1234 5679")
    assert refused.exit_code == 2
    assert refused.stderr.count("\n") == 1 and "has no country code" in refused.stderr
    assert dump(db_path) == before
