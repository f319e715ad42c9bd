"""Birthdays are read in the configured date order and stored as ISO dates (or --MM-DD without a year);
anything else is refused on add, edit and import, as every other bad value is."""

import pytest

from tests.conftest import assert_refused, dump


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("15/03/1990", "1990-03-15"),
        ("٢٠/٠٣/١٩٩٠", "1990-03-20"),
        ("1990-03-15", "1990-03-15"),
        ("19900315", "1990-03-15"),
        ("15 March 1990", "1990-03-15"),
        ("--03-15", "--03-15"),
        ("--0229", "--02-29"),
    ],
)
def test_add_stores_an_iso_birthday(crm, typed, stored):
    result = crm.ok("contact", "add", "Sara", "--birthday", typed, "--json")
    assert result.json()["birthday"] == stored


def test_add_reads_the_configured_date_order(crm):
    crm.ok("config", "set", "date_order", "mdy")
    assert crm.ok("contact", "add", "Sara", "--birthday", "03/15/1990", "--json").json()["birthday"] == "1990-03-15"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("garbage", "invalid birthday 'garbage'; write 1990-03-15, 15/03/1990, or --03-15"),
        ("31/02/1990", "invalid birthday '31/02/1990': day is out of range for month"),
        ("03/15/1990", "month 15 does not exist (date order is dd/mm/yyyy)"),
        ("--02-30", "invalid birthday '--02-30': no such day"),
        ("1445-09-15", "implausible year 1445"),
        ("15/03/2090", "2090-03-15 is after today"),
        ("tomorrow", "invalid birthday 'tomorrow'"),
    ],
)
def test_add_and_edit_refuse_a_bad_birthday(crm, db_path, typed, message):
    crm.ok("contact", "add", "Sara", "--birthday", "1990-03-15")
    before = dump(db_path)
    for args in (["contact", "add", "Omar", "--birthday", typed], ["contact", "edit", "1", "--birthday", typed]):
        assert_refused(crm(*args), 2, message)
        assert dump(db_path) == before


def test_edit_converts_and_clears_a_birthday(crm):
    crm.ok("contact", "add", "Sara")
    assert crm.ok("contact", "edit", "1", "--birthday", "1/2/1991", "--json").json()["birthday"] == "1991-02-01"
    assert crm.ok("contact", "edit", "1", "--birthday", "", "--json").json()["birthday"] is None


def test_import_refuses_a_row_with_a_bad_birthday(crm, tmp_path, db_path):
    crm.ok("contact", "add", "Someone")
    before = dump(db_path)
    source = tmp_path / "people.csv"
    source.write_text("Name,Email,Birthday\nA,,15/03/1990\nB,,garbage\nC,,31/02/1990\nD,,--03-15\n")
    result = crm("contact", "import", str(source))
    assert result.exit_code == 2
    assert "line 3, Birthday: invalid birthday 'garbage'" in result.stderr
    assert "line 4, Birthday: invalid birthday '31/02/1990'" in result.stderr
    assert dump(db_path) == before

    result = crm.ok("contact", "import", str(source), "--skip-invalid")
    rows = crm.ok("contact", "list", "--json").json()
    assert {r["name"]: r["birthday"] for r in rows} == {"Someone": None, "A": "1990-03-15", "D": "--03-15"}


def test_import_names_the_birthday_column_on_the_general_path(crm, tmp_path, db_path):
    """A row with two e-mails in one cell takes the general path; the column is still named."""
    crm.ok("contact", "add", "Someone")
    before = dump(db_path)
    source = tmp_path / "people.csv"
    source.write_text("name,email,date of birth\nA,a@x.com:::b@x.com,1/1/2030\n")
    result = crm("contact", "import", str(source))
    assert result.exit_code == 2
    assert "line 2, date of birth: invalid birthday '1/1/2030': 2030-01-01 is after today" in result.stderr
    assert dump(db_path) == before


def test_vcard_birthday_without_year_and_a_bad_one(crm, tmp_path):
    source = tmp_path / "phone.vcf"
    source.write_text(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Sara\nBDAY:--0315\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Omar\nBDAY:1990-02-31\nEND:VCARD\n"
    )
    result = crm("contact", "import", str(source))
    assert result.exit_code == 2 and "BDAY: invalid birthday '1990-02-31'" in result.stderr
    crm.ok("contact", "import", str(source), "--skip-invalid")
    assert [(r["name"], r["birthday"]) for r in crm.ok("contact", "list", "--json").json()] == [("Sara", "--03-15")]
