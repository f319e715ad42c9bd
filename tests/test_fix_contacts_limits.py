"""`contact add`/`edit` apply the importer's size limits, so crm always re-imports its own export."""

import pytest

from tests.conftest import assert_refused, dump

LONG = "A" * 501
NOTES = "n" * 65_537


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["contact", "add", LONG], "name: a value of 501 characters, more than the 500 allowed; shorten it"),
        (["contact", "add", "X", "--notes", NOTES], "notes: a value of 65,537 characters, more than the 65,536"),
        (["contact", "add", "X", "--city", LONG], "city: a value of 501 characters, more than the 500 allowed"),
        (["contact", "add", "X", "--company", LONG], "company: a value of 501 characters"),
        (["contact", "add", "X", "--source", LONG], "source: a value of 501 characters"),
        (["contact", "add", "X", "--email", LONG + "@x.com"], "email: a value of 507 characters"),
        (["contact", "add", "X", "--tag", LONG], "tag: a value of 501 characters"),
        (["contact", "add", "X", "--field", f"gift={NOTES}"], "field gift: a value of 65,537 characters"),
        (["contact", "edit", "1", "--name", LONG], "name: a value of 501 characters"),
        (["contact", "edit", "1", "--notes", NOTES], "notes: a value of 65,537 characters"),
        (["contact", "edit", "1", "--title", LONG], "title: a value of 501 characters"),
        (["contact", "edit", "1", "--tag", LONG], "tag: a value of 501 characters"),
        (["contact", "edit", "1", "--field", f"gift={NOTES}"], "field gift: a value of 65,537 characters"),
    ],
    ids=lambda v: " ".join(a[:12] for a in v[:4]) if isinstance(v, list) else None,
)
def test_too_long_values_are_refused(crm, db_path, args, message):
    crm.ok("contact", "add", "Sara")
    before = dump(db_path)
    assert_refused(crm(*args), 2, message)
    assert dump(db_path) == before


def test_the_longest_values_round_trip_through_export_and_import(crm, tmp_path):
    """500 characters (even one a spreadsheet would read as a formula, exported with a ' prefix) and
    64 Ki of notes are accepted by add, and the CSV export imports into a fresh database."""
    name = "=" + "A" * 499
    crm.ok("contact", "add", name, "--notes", "n" * 65_536, "--city", "c" * 500, "--field", "gift=" + "g" * 65_536)
    crm.ok("contact", "add", "Sara", "--company", "-" + "b" * 499)
    exported = tmp_path / "out.csv"
    crm.ok("contact", "export", "--format", "csv", "-o", str(exported))
    fresh = tmp_path / "fresh.db"
    result = crm.ok("contact", "import", str(exported), "--db", str(fresh))
    assert "added 2" in result.stderr
    people = {r["name"]: r for r in crm.ok("contact", "list", "--db", str(fresh), "--json").json()}
    assert people[name]["notes"] == "n" * 65_536 and people[name]["city"] == "c" * 500
    assert people[name]["fields"] == {"gift": "g" * 65_536}
    assert people["Sara"]["company"] == "-" + "b" * 499
