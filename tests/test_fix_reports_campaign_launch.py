"""crm campaign launch NAME a second time: exit 4 with one line (README: "4 … an audience already
frozen"), nothing written; send and export still launch implicitly and go on."""

from __future__ import annotations

from tests.conftest import dump
from tests.test_campaigns import create, shop  # noqa: F401  (the shop fixture)


def test_second_launch_exits_4_and_changes_nothing(crm, shop, db_path):  # noqa: F811
    create(crm, shop)
    assert crm.ok("campaign", "launch", "Ramadan offer").stdout == "1\n"
    before = dump(db_path)
    again = crm("campaign", "launch", "Ramadan offer", now="2026-11-23T09:00:00Z")
    assert again.exit_code == 4 and again.stdout == ""
    assert again.stderr == (
        "crm: campaign 'Ramadan offer' was already launched 2026-11-22T09:00:00Z: its audience of 2 is frozen;"
        " `crm campaign send` or `export` goes on with it, or create a new campaign\n"
    )
    assert dump(db_path) == before
    as_json = crm("campaign", "launch", "1", "--json")
    assert as_json.exit_code == 4 and '"code": "conflict"' in as_json.stderr
    assert crm.ok("campaign", "export", "Ramadan offer", "--json").json()  # export goes on with the audience


def test_export_launches_then_launch_reports_it(crm, shop):  # noqa: F811
    create(crm, shop)
    crm.ok("campaign", "export", "Ramadan offer", "--csv")
    assert crm("campaign", "launch", "Ramadan offer").exit_code == 4
