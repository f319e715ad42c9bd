"""A filter passed as one quoted argument means what the same words mean split by the shell.

Scripts do `crm contact list "$FILTER"`; before the fix 'tag:vip city:Riyadh' became tag = "vip
city:Riyadh" and 'city:"New York"' looked for a city spelled with quotes: rc 0, no rows.
"""

import pytest

from crm_cli import filters
from tests.conftest import dump


@pytest.fixture
def people(crm):
    crm.ok("contact", "add", "Amal", "--city", "Riyadh", "--tag", "vip", "--notes", "free words here")
    crm.ok("contact", "add", "Sara", "--city", "Riyadh")
    crm.ok("contact", "add", "Quinn", "--city", "New York", "--tag", "vip")
    crm.ok("contact", "add", "Noor", "--city", "New York", "--company", "Al-Haddad Trading")
    crm.ok("contact", "add", "Huda", "--city", "مكة المكرمة", "--tag", "new customer")


def names(crm, *args):
    result = crm.ok("contact", "list", *args, "--json")
    return sorted(r["name"] for r in result.json())


@pytest.mark.parametrize(
    ("one_argument", "split", "expected"),
    [
        ("tag:vip city:Riyadh", ["tag:vip", "city:Riyadh"], ["Amal"]),
        ('city:"New York"', ["city:New York"], ["Noor", "Quinn"]),
        ('city:"New York" tag:vip', ["city:New York", "tag:vip"], ["Quinn"]),
        ("tag:vip -city:Riyadh", ["tag:vip", "-city:Riyadh"], ["Quinn"]),
        ("city:Riyadh sara", ["city:Riyadh", "sara"], ["Sara"]),
        ("city:Riyadh,Jeddah sara", ["city:Riyadh,Jeddah", "sara"], ["Sara"]),
        ("sara city:Riyadh", ["sara", "city:Riyadh"], ["Sara"]),
        ('city:Riyadh "free words"', ["city:Riyadh", "free words"], ["Amal"]),
        ("tag:vip free words", ["tag:vip", "free", "words"], ["Amal"]),
        ("city:مكة المكرمة", ["city:مكة المكرمة"], ["Huda"]),
        ('tag:"new customer"', ["tag:new customer"], ["Huda"]),
        ("company:Al-Haddad Trading", ["company:Al-Haddad Trading"], ["Noor"]),
    ],
)
def test_one_quoted_argument_equals_the_shell_split_words(crm, people, one_argument, split, expected):
    assert names(crm, one_argument) == expected
    assert names(crm, *split) == expected


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("city:New York", ["Noor", "Quinn"]),  # one shell word: the value has a space
        ("city: New York", ["Noor", "Quinn"]),
        ("city:New York tag:vip", ["Quinn"]),  # the value runs on up to the next term
        ("tag:vip city:New York", ["Quinn"]),
        ("city:Riyadh,New York", ["Amal", "Noor", "Quinn", "Sara"]),  # a comma list with a spaced value
        ("city:New York -tag:vip", ["Noor"]),
        ("free words", ["Amal"]),  # no term in it: one phrase
        ("words free", []),  # ... in its order
    ],
)
def test_multi_word_arguments(crm, people, argument, expected):
    assert names(crm, argument) == expected


def test_a_multi_word_argument_without_a_term_stays_one_phrase():
    assert filters.parse(["free words"]).words == ["free words"]
    assert filters.parse(["tag:vip city:Riyadh"]) == filters.parse(["tag:vip", "city:Riyadh"])
    assert filters.parse(['city:"New York"']) == filters.parse(["city:New York"])


def test_export_takes_the_quoted_filter_too(crm, people):
    rows = crm.ok("contact", "export", 'city:"New York"', "--format", "json").json()
    assert sorted(r["name"] for r in rows) == ["Noor", "Quinn"]
    rows = crm.ok("contact", "export", "tag:vip city:Riyadh", "--format", "json").json()
    assert [r["name"] for r in rows] == ["Amal"]


@pytest.mark.parametrize(
    "args",
    [["city:New York"], ['city:"New York"'], ["city:New", "York"], ["tag:vip city:Riyadh"]],
)
def test_segments_read_the_same_expression(crm, people, args):
    saved = crm.ok("campaign", "segment", "save", "s", *args, "--json").json()
    listed = names(crm, "segment:s")
    assert saved["contacts"] == len(listed)
    if args != ["city:New", "York"]:  # two arguments: city New and the word York, as on the command line
        assert listed == names(crm, *args)
        assert listed and saved["contacts"] == len(listed)


@pytest.mark.parametrize(
    "argument",
    ['tag:"vip city:Riyadh"', '"city:New York tag:vip"', "city:'Riyadh -tag:cold'"],
)
def test_a_term_inside_a_value_is_refused(crm, people, db_path, argument):
    before = dump(db_path)
    result = crm("contact", "list", argument)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "another term inside its value" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    saved = crm("campaign", "segment", "save", "bad", argument)
    assert saved.exit_code == 2 and len(saved.stderr.strip().splitlines()) == 1
    assert dump(db_path) == before


def test_time_values_with_spaces_still_read_whole(crm, people):
    assert names(crm, "created>2026-11-01 10:00") == ["Amal", "Huda", "Noor", "Quinn", "Sara"]
    assert names(crm, "created>2026-11-01 sara") == ["Sara"]  # the date, then a word
