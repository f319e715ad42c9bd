"""country: matches by country when both sides name one (SA = Saudi Arabia = السعودية), as phones do."""

import pytest


@pytest.fixture
def people(crm):
    crm.ok("contact", "add", "Amal", "--country", "SA")
    crm.ok("contact", "add", "Badr", "--country", "Saudi Arabia")
    crm.ok("contact", "add", "Carla", "--country", "السعودية")
    crm.ok("contact", "add", "Dana", "--country", "KSA")
    crm.ok("contact", "add", "Eman", "--country", "United Arab Emirates")
    crm.ok("contact", "add", "Fadi", "--country", "Atlantis")


def names(crm, *args):
    return sorted(r["name"] for r in crm.ok("contact", "list", *args, "--json").json())


SAUDI = ["Amal", "Badr", "Carla", "Dana"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["country:SA"], SAUDI),
        (["country:sa"], SAUDI),
        (["country:Saudi Arabia"], SAUDI),
        (['country:"Saudi Arabia"'], SAUDI),
        (["country:السعودية"], SAUDI),
        (["country:SA,AE"], [*SAUDI, "Eman"]),
        (["-country:SA"], ["Eman", "Fadi"]),
        (["country:Atlantis"], ["Fadi"]),  # not a known country: the text still matches
        (["country:atlantis,UAE"], ["Eman", "Fadi"]),
        (["country:Narnia"], []),
    ],
)
def test_country_matches_by_country(crm, people, args, expected):
    assert names(crm, *args) == expected


def test_segments_and_exports_agree(crm, people):
    saved = crm.ok("campaign", "segment", "save", "ksa", "country:Saudi Arabia", "--json").json()
    assert saved["contacts"] == 4
    rows = crm.ok("contact", "export", "country:SA", "--format", "json").json()
    assert sorted(r["name"] for r in rows) == SAUDI
