"""crm log KIND REF --deal ID: the deal must be the contact's (or its organisation's, or for an
organisation one of its people's); another customer's deal is refused and nothing is written."""

from __future__ import annotations

from tests.conftest import dump


def test_log_with_another_contacts_deal_is_refused(crm, db_path):
    crm.ok("contact", "add", "Sara", "--email", "sara@example.com")
    crm.ok("contact", "add", "John", "--email", "john@example.com")
    crm.ok("deal", "add", "John", "Big order", "--value", "1500")
    before = dump(db_path)
    result = crm("log", "call", "1", "x", "--deal", "1")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        "crm: deal 1 belongs to John (contact 2), not to Sara (contact 1); log it on contact 2 or leave out --deal\n"
    )
    assert dump(db_path) == before
    assert crm.ok("log", "call", "2", "x", "--deal", "1").stdout == "1\n"
    assert crm("log", "call", "1", "x", "--deal", "9").exit_code == 3


def test_log_with_the_organisations_deal_is_accepted(crm):
    crm.ok("contact", "add", "Acme", "--org")
    crm.ok("contact", "add", "Sara", "--company", "Acme")
    crm.ok("contact", "add", "Other")
    crm.ok("deal", "add", "Acme", "Acme order", "--value", "100")  # deal 1: the organisation's
    crm.ok("deal", "add", "Sara", "Sara order", "--value", "100")  # deal 2: a person's at Acme
    assert crm.ok("log", "meeting", "Sara", "about Acme's order", "--deal", "1").stdout == "1\n"
    assert crm.ok("log", "note", "Acme", "about Sara's order", "--deal", "2").stdout == "2\n"
    assert crm("log", "note", "Other", "x", "--deal", "1").exit_code == 2
    assert [i["deal_id"] for i in crm.ok("log", "list", "--json").json()] == [2, 1]
