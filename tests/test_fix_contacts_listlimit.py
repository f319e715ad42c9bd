"""`contact list --limit` takes 1 or more: 0 used to list nothing with exit 0 while -1 was refused."""

import pytest

from tests.conftest import dump


@pytest.mark.parametrize("limit", ["0", "-1"])
@pytest.mark.parametrize("fmt", [[], ["--json"]])
def test_limit_below_one_is_refused(crm, db_path, limit, fmt):
    crm.ok("contact", "add", "Sara")
    before = dump(db_path)
    result = crm("contact", "list", "--limit", limit, *fmt)
    assert result.exit_code == 2
    assert f"invalid --limit {limit}; use a positive number (1 or more)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert dump(db_path) == before


def test_limit_one_lists_one(crm):
    crm.ok("contact", "add", "Sara")
    crm.ok("contact", "add", "Omar")
    assert [r["name"] for r in crm.ok("contact", "list", "--limit", "1", "--json").json()] == ["Sara"]
    assert len(crm.ok("contact", "list", "-n", "1").lines) == 1
    assert "1 or more" in crm.ok("contact", "list", "--help").stdout
