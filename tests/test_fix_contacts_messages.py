"""Error messages are our own one line: no "a organization", no phonenumbers' "(1) The string …", no
full stop from email-validator in the middle of the import's refusal."""

import pytest

from tests.conftest import dump


def _refused(crm, db_path, *args, code=2):
    before = dump(db_path)
    result = crm(*args)
    assert result.exit_code == code, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert dump(db_path) == before
    return result.stderr.strip()


def test_merge_of_a_person_and_an_organization(crm, db_path):
    crm.ok("contact", "add", "Sara")
    crm.ok("contact", "add", "Acme", "--org")
    assert _refused(crm, db_path, "contact", "merge", "1", "2", "--yes") == (
        "crm: contact 1 is a person and 2 an organization; merge only the same kind"
    )
    assert "contact 2 is an organization and 1 a person" in _refused(
        crm, db_path, "contact", "merge", "2", "1", "--yes"
    )


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("abc", "crm: invalid phone 'abc': not a phone number; write it with the country code, e.g. +966501234567"),
        ("+999123", "invalid phone '+999123': no known country code after the +; write it with the country code"),
        ("123456789012345678901", "too long to be a phone number; write it with the country code"),
        ("++966", "too short to be a phone number"),
        ("12", "invalid phone '12': not a valid number for region SA; check the digits or write it with the country"),
    ],
)
def test_phone_messages_are_ours(crm, db_path, phone, message):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "Sara")
    for args in (["contact", "add", "X", "--phone", phone], ["contact", "edit", "1", "--phone", phone]):
        stderr = _refused(crm, db_path, *args)
        assert message in stderr and "The string supplied" not in stderr and "(1)" not in stderr


def test_email_message_has_no_full_stop_inside(crm, db_path):
    crm.ok("contact", "add", "Sara")
    stderr = _refused(crm, db_path, "contact", "add", "X", "--email", "a@b")
    assert stderr == (
        "crm: invalid e-mail 'a@b': the part after the @-sign is not valid; it should have a period; "
        "write it like sara@example.com"
    )


def test_import_refusal_reads_as_one_sentence(crm, db_path, tmp_path):
    crm.ok("contact", "add", "Someone")
    source = tmp_path / "people.csv"
    source.write_text("Name,Email\nA,abc\nB,a@b\n")
    before = dump(db_path)
    result = crm("contact", "import", str(source))
    assert result.exit_code == 2 and dump(db_path) == before
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "crm: import refused, nothing was written: line 2, Email: invalid e-mail 'abc': an email address must "
        "have an @-sign; write it like sara@example.com"
    )
    assert ". " not in last and "@-sign." not in last
