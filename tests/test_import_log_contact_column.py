"""`crm log import`: a single `contact` column may hold a name, an e-mail or a phone number."""

import pytest


@pytest.mark.parametrize("who", ["Omar Saleh", "omar@example.com", "OMAR@example.com", "+966501234567", "050 123 4567"])
def test_a_contact_column_finds_the_contact_by_name_email_or_phone(crm, tmp_path, who):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "Omar Saleh", "--email", "omar@example.com", "--phone", "+966501234567")
    source = tmp_path / "log.csv"
    source.write_text(f"contact,kind,summary,happened_at\n{who},call,asked for prices,2026-11-01\n", encoding="utf-8")
    result = crm.ok("log", "import", str(source), "--json")
    assert result.json()["added"] == 1
    rows = crm.ok("log", "list", "--json").json()
    assert [(r["contact"], r["summary"]) for r in rows] == [("Omar Saleh", "asked for prices")]


def test_an_unknown_email_in_the_contact_column_is_refused_by_that_email(crm, tmp_path, db_path):
    from tests.conftest import dump

    crm.ok("contact", "add", "Omar Saleh", "--email", "omar@example.com")
    before = dump(db_path)
    source = tmp_path / "log.csv"
    source.write_text("contact,kind,summary\nnobody@example.com,call,hello\n", encoding="utf-8")
    result = crm("log", "import", str(source))
    assert result.exit_code == 2 and "no contact 'nobody@example.com'" in result.stderr
    assert dump(db_path) == before
