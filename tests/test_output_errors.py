"""A listing that fails when its query starts (an unknown filter term or segment, a bad date) writes
nothing on stdout in any format: jq and CSV readers downstream never see half a document."""

import pytest


@pytest.fixture
def some(crm):
    crm.ok("contact", "add", "Sara", "--tag", "vip")
    crm.ok("deal", "add", "Sara", "Tiles", "--value", "100")
    return crm


@pytest.mark.parametrize("fmt", [(), ("--json",), ("--csv",), ("--ndjson",)])
@pytest.mark.parametrize(
    ("command", "code"),
    [
        (("contact", "list", "bogus:1"), 2),
        (("contact", "list", "segment:nope"), 3),
        (("deal", "list", "bogus:1"), 2),
        (("log", "list", "--since", "garbage"), 2),
    ],
)
def test_a_listing_that_fails_at_its_start_writes_nothing_on_stdout(some, command, code, fmt):
    result = some(*command, *fmt)
    assert result.exit_code == code
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1


def test_a_listing_that_works_is_unchanged(some):
    assert some.ok("contact", "list", "tag:vip", "--json").json()[0]["name"] == "Sara"
    assert some.ok("contact", "list", "tag:nobody", "--json").stdout == "[]\n"
    assert some.ok("contact", "list", "tag:vip", "--csv").stdout.splitlines()[1].split(",")[1] == "Sara"
