"""Deals: stages, adding, moving, winning (a purchase), losing, editing, listing and every bad input."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import dump


@pytest.fixture
def people(crm):
    crm.ok("config", "set", "default_currency", "SAR")
    crm.ok("contact", "add", "سارة الحداد", "--email", "sara@example.com", "--tag", "vip", "--city", "Riyadh")
    crm.ok("contact", "add", "John Smith", "--email", "john@example.com", "--city", "Jeddah")


@pytest.fixture
def two_deals(crm, people):
    """The issue's opening: deal 1 (سارة, proposal, 12000 SAR), deal 2 (john, moved to negotiation)."""
    crm.ok(
        "deal", "add", "سارة", "Wholesale order Q1", "--value", "12000", "--currency", "SAR",
        "--stage", "proposal", "--close", "+20d",
    )  # fmt: skip
    crm.ok("deal", "add", "john", "Website redesign", "--value", "4000", "--currency", "SAR", "--close", "+45d")
    crm.ok("deal", "move", "2", "negotiation")


# ---------------------------------------------------------------------------------------------
# The issue's "What it must show"


def test_issue_walkthrough(crm, two_deals):
    proposal = [r for r in crm.ok("report", "pipeline", "--json").json() if r["stage"] == "proposal"]
    assert [r["weighted_value"] for r in proposal] == [6000]
    assert crm.ok("deal", "won", "1").stdout == "1\n"
    assert crm.ok("contact", "show", "سارة", "--json").json()["status"] == "customer"
    assert crm.ok("deal", "lost", "2", "--reason", "price too high").stdout == "2\n"
    assert crm.ok("report", "sales", "--json").json()["win_rate"] == 0.5
    assert crm.ok("report", "forecast", "--period", "month").exit_code == 0


def test_issue_walkthrough_with_the_installed_crm(crm, db_path):
    """The key lines of the block, run as a user would: the installed `crm`, its stdout and exit codes.
    (The set-up runs in-process on the same file, to keep the test quick.)"""
    exe = shutil.which("crm", path=str(Path(sys.executable).parent)) or shutil.which("crm")
    if exe is None:
        pytest.skip("crm is not installed")
    environ = dict(os.environ, CRM_DB=str(db_path))

    def run(*args):
        return subprocess.run([exe, *args], capture_output=True, text=True, env=environ, timeout=60)

    crm.ok("contact", "add", "سارة الحداد")
    crm.ok("contact", "add", "John Smith")
    first = run("deal", "add", "سارة", "Wholesale order Q1", "--value", "12000", "--currency", "SAR",
                "--stage", "proposal", "--close", "+20d")  # fmt: skip
    assert (first.returncode, first.stdout) == (0, "1\n")
    crm.ok("deal", "add", "john", "Website redesign", "--value", "4000", "--currency", "SAR", "--close", "+45d")
    crm.ok("deal", "move", "2", "negotiation")
    rows = json.loads(run("report", "pipeline", "--json").stdout)
    assert '"weighted_value": 6000' in json.dumps([r for r in rows if r["stage"] == "proposal"][0])
    assert run("deal", "won", "1").returncode == 0
    assert json.loads(run("contact", "show", "سارة", "--json").stdout)["status"] == "customer"
    crm.ok("deal", "lost", "2", "--reason", "price too high")
    assert json.loads(run("report", "sales", "--json").stdout)["win_rate"] == 0.5
    bad = run("deal", "add", "john", "X", "--value", "-5")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert run("deal", "move", "99", "won").returncode == 3
    nonsense = run("deal", "move", "1", "nonsense-stage")
    assert nonsense.returncode == 2 and "lead, qualified, proposal, negotiation, won, lost" in nonsense.stderr


# ---------------------------------------------------------------------------------------------
# Bad input: exit code, one line on stderr, nothing written


BAD = [
    (["deal", "add", "john", "X", "--value", "-5"], 2, "must not be negative"),
    (["deal", "add", "john", "X", "--value", "12.3456"], 2, "three decimal places"),
    (["deal", "add", "john", "X", "--value", "lots"], 2, "invalid --value"),
    (["deal", "add", "nobody", "X"], 3, "no contact"),
    (["deal", "add", "john", "  "], 2, "needs a title"),
    (["deal", "add", "john", "X", "--stage", "nonsense"], 2, "stages: lead, qualified"),
    (["deal", "add", "john", "X", "--stage", "won"], 2, "open stage"),
    (["deal", "add", "john", "X", "--probability", "150"], 2, "0 to 100"),
    (["deal", "add", "john", "X", "--probability", "high"], 2, "--probability"),
    (["deal", "add", "john", "X", "--currency", "riyal"], 2, "three-letter"),
    (["deal", "add", "john", "X", "--close", "someday"], 2, "cannot read date"),
    (["deal", "add", "john", "X", "--close", "1445-09-15"], 2, "Hijri"),
    (["deal", "move", "99", "won"], 3, "no deal with id 99"),
    (["deal", "move", "1", "nonsense-stage"], 2, "lead, qualified, proposal, negotiation, won, lost"),
    (["deal", "move", "1", "lost"], 2, "needs a reason"),
    (["deal", "move", "abc", "won"], 2, "abc"),
    (["deal", "won", "99"], 3, "no deal"),
    (["deal", "won", "1", "--value", "-1"], 2, "negative"),
    (["deal", "lost", "1"], 2, "--reason"),
    (["deal", "lost", "1", "--reason", "   "], 2, "say why"),
    (["deal", "lost", "99", "--reason", "x"], 3, "no deal"),
    (["deal", "show", "99"], 3, "no deal"),
    (["deal", "edit", "99", "--title", "x"], 3, "no deal"),
    (["deal", "edit", "1", "--title", ""], 2, "title cannot be empty"),
    (["deal", "edit", "1", "--probability", "abc"], 2, "--probability"),
    (["deal", "edit", "1", "--probability", "101"], 2, "0 to 100"),
    (["deal", "edit", "1", "--contact", "nobody"], 3, "no contact"),
    (["deal", "delete", "1"], 2, "--yes"),
    (["deal", "delete", "99", "--yes"], 3, "no deal"),
    (["deal", "list", "--won", "--lost"], 2, "choose one"),
    (["deal", "list", "--stage", "nonsense"], 2, "unknown --stage"),
    (["deal", "list", "colour:red"], 2, "unknown filter term"),
    (["deal", "list", "--closing-before", "nope"], 2, "cannot read date"),
    (["deal", "stages", "remove", "proposal"], 4, "still holds 1 deal"),
    (["deal", "stages", "remove", "won"], 4, "cannot be removed"),
    (["deal", "stages", "remove", "nonsense"], 2, "unknown stage"),
    (["deal", "stages", "add", "proposal", "--probability", "5"], 4, "already exists"),
    (["deal", "stages", "add", "total", "--probability", "5"], 2, "reserved"),
    (["deal", "stages", "add", "two words", "--probability", "5"], 2, "one word"),
    (["deal", "stages", "add", "demo", "--probability", "101"], 2, "0 to 100"),
    (["deal", "stages", "add", "demo"], 2, "--probability"),
    (["deal", "stages", "add", "demo", "--probability", "5", "--after", "nope"], 2, "unknown --after stage"),
    (["deal", "stages", "add", "demo", "--probability", "5", "--position", "99"], 2, "invalid position"),
    (["deal", "stages", "set", "won", "--probability", "50"], 2, "always counts 100%"),
    (["deal", "stages", "set", "lead"], 2, "nothing to change"),
    (["deal", "stages", "set", "lead", "--name", "proposal"], 4, "already exists"),
    (["deal", "stages", "rename", "lead", "lost"], 4, "already exists"),
    (["deal", "stages", "move", "lead"], 2, "say where"),
    (["deal", "stages", "move", "lead", "0"], 2, "invalid position"),
    (["deal", "stages", "move", "lead", "--before", "lead"], 2, "names the stage being moved"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_input_changes_nothing(crm, people, db_path, args, code, message):
    crm.ok("deal", "add", "john", "Website redesign", "--value", "4000", "--stage", "proposal")
    before = dump(db_path)
    result = crm(*args)
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert dump(db_path) == before


def test_bad_input_with_json_is_a_json_error(crm, two_deals):
    result = crm("deal", "move", "99", "won", "--json")
    assert result.exit_code == 3
    assert json.loads(result.stderr)["error"]["code"] == "not_found"


def test_a_second_win_or_loss_is_a_conflict(crm, two_deals, db_path):
    crm.ok("deal", "won", "1")
    crm.ok("deal", "lost", "2", "--reason", "price")
    before = dump(db_path)
    again = crm("deal", "won", "1")
    assert again.exit_code == 4 and "already won" in again.stderr
    assert crm("deal", "lost", "2", "--reason", "x").exit_code == 4
    assert dump(db_path) == before


# ---------------------------------------------------------------------------------------------
# Deals


def test_add_defaults_and_json(crm, people):
    crm.ok("deal", "add", "john", "Small", "--owner", "Huda")
    deal = crm.ok("deal", "show", "1", "--json").json()
    assert deal["stage"] == "lead" and deal["currency"] == "SAR" and deal["value"] == 0
    assert deal["probability"] == 10 and deal["probability_override"] is None and deal["owner"] == "Huda"
    assert deal["status"] == "open" and deal["contact"] == "John Smith"
    assert deal["history"] == [{"from_stage": None, "to_stage": "lead", "changed_at": "2026-11-22T09:00:00Z"}]
    added = crm.ok("deal", "add", "sara", "Exact", "--value", "1,500.125", "--currency", "kwd", "--json").json()
    assert added["id"] == 2 and added["value"] == 1500.125 and added["currency"] == "KWD"


def test_values_are_exact_thousandths(crm, people, db):
    crm.ok("deal", "add", "john", "Odd", "--value", "0.015", "--probability", "33")
    assert db().execute("SELECT value FROM deals").fetchone()[0] == 15
    deal = crm.ok("deal", "show", "1", "--json").json()
    assert deal["weighted_value"] == 0.00495  # 15 thousandths x 33 % = 0.00495 exactly
    assert '"weighted_value": 0.00495' in crm.ok("deal", "list", "--json").stdout


def test_close_date_is_a_local_date(crm, people):
    crm.ok("deal", "add", "john", "X", "--close", "+20d")
    crm.ok("deal", "add", "john", "Y", "--close", "15/12/2026")
    assert [d["expected_close"] for d in crm.ok("deal", "list", "--json").json()] == ["2026-12-12", "2026-12-15"]


def test_every_stage_change_is_recorded_with_its_time(crm, people):
    crm.ok("deal", "add", "john", "X", now="2026-11-01T09:00:00Z")
    crm.ok("deal", "move", "1", "qualified", now="2026-11-05T09:00:00Z")
    crm.ok("deal", "move", "1", "proposal", now="2026-11-10T09:00:00Z")
    crm.ok("deal", "won", "1", now="2026-11-20T09:00:00Z")
    history = crm.ok("deal", "show", "1", "--json").json()["history"]
    assert [(h["from_stage"], h["to_stage"], h["changed_at"][:10]) for h in history] == [
        (None, "lead", "2026-11-01"),
        ("lead", "qualified", "2026-11-05"),
        ("qualified", "proposal", "2026-11-10"),
        ("proposal", "won", "2026-11-20"),
    ]
    deal = crm.ok("deal", "show", "1", "--json").json()
    assert deal["closed_at"] == "2026-11-20T09:00:00Z" and deal["days_in_stage"] == 2.0


def test_moving_to_the_same_stage_changes_nothing(crm, two_deals, db_path):
    before = dump(db_path)
    result = crm.ok("deal", "move", "1", "PROPOSAL")
    assert result.stdout == "1\n" and "already" in result.stderr
    assert dump(db_path) == before


def test_won_logs_a_purchase_and_makes_a_customer(crm, two_deals):
    assert crm.ok("contact", "show", "sara", "--json").json()["status"] == "lead"
    crm.ok("deal", "won", "1", "--value", "12500.50")
    purchases = crm.ok("log", "list", "--kind", "purchase", "--json").json()
    assert [(p["amount"], p["currency"], p["deal_id"], p["contact_id"]) for p in purchases] == [(12500.5, "SAR", 1, 1)]
    deal = crm.ok("deal", "show", "1", "--json").json()
    assert deal["value"] == 12500.5 and deal["stage"] == "won" and deal["status"] == "won"
    assert deal["interactions"][0]["kind"] == "purchase"
    contact = crm.ok("contact", "show", "sara", "--json").json()
    assert contact["status"] == "customer"
    # the purchase counts in the filter language like any other purchase
    assert [c["name"] for c in crm.ok("contact", "list", "orders>=1", "spent>=12500", "--json").json()] == [
        "سارة الحداد"
    ]


def test_move_to_the_won_stage_wins(crm, two_deals):
    crm.ok("deal", "move", "2", "won")
    assert crm.ok("log", "list", "--json").json()[0]["amount"] == 4000
    assert crm.ok("contact", "show", "john", "--json").json()["status"] == "customer"


def test_reopening_a_won_deal_removes_its_purchase(crm, two_deals, db):
    crm.ok("log", "purchase", "john", "Other order", "--amount", "99")
    crm.ok("deal", "won", "1")
    crm.ok("deal", "won", "2")
    crm.ok("deal", "move", "1", "negotiation")
    crm.ok("deal", "lost", "2", "--reason", "returned")
    amounts = [p["amount"] for p in crm.ok("log", "list", "--kind", "purchase", "--json").json()]
    assert amounts == [99]  # only the purchase logged by hand is left
    # sara had no other purchase: back to prospect; john keeps his own purchase: still a customer
    assert crm.ok("contact", "show", "sara", "--json").json()["status"] == "prospect"
    assert crm.ok("contact", "show", "john", "--json").json()["status"] == "customer"
    deal = crm.ok("deal", "show", "1", "--json").json()
    assert deal["closed_at"] is None and deal["stage"] == "negotiation"
    lost = crm.ok("deal", "show", "2", "--json").json()
    assert lost["lost_reason"] == "returned" and lost["closed_at"] == "2026-11-22T09:00:00Z"
    # winning a lost deal again clears the reason
    crm.ok("deal", "won", "2")
    assert crm.ok("deal", "show", "2", "--json").json()["lost_reason"] is None


def test_editing_a_won_deal_keeps_its_purchase_in_step(crm, two_deals):
    crm.ok("deal", "won", "1")
    crm.ok("deal", "edit", "1", "--value", "13000", "--currency", "AED")
    purchase = crm.ok("log", "list", "--kind", "purchase", "--json").json()[0]
    assert (purchase["amount"], purchase["currency"]) == (13000, "AED")
    crm.ok("deal", "edit", "1", "--contact", "john")
    purchase = crm.ok("log", "list", "--kind", "purchase", "--json").json()[0]
    assert purchase["contact"] == "John Smith"
    assert crm.ok("contact", "show", "john", "--json").json()["status"] == "customer"
    assert crm.ok("contact", "show", "sara", "--json").json()["status"] == "prospect"


def test_edit_sets_and_clears_fields(crm, two_deals):
    result = crm.ok(
        "deal", "edit", "1", "--title", "Renamed", "--close", "2027-01-31", "--probability", "80", "--owner", "Huda"
    )
    assert result.stdout == "1\n" and "updated" in result.stderr
    deal = crm.ok("deal", "show", "1", "--json").json()
    assert (deal["title"], deal["expected_close"], deal["probability"], deal["owner"]) == (
        "Renamed",
        "2027-01-31",
        80,
        "Huda",
    )
    assert deal["weighted_value"] == 9600
    crm.ok("deal", "edit", "1", "--close", "", "--probability", "", "--owner", "")
    deal = crm.ok("deal", "show", "1", "--json").json()
    assert (deal["expected_close"], deal["probability"], deal["owner"]) == (None, 50, None)
    assert "nothing changed" in crm.ok("deal", "edit", "1", "--title", "Renamed").stderr


def test_delete_asks_and_takes_the_won_purchase_along(crm, two_deals, db):
    crm.ok("log", "call", "sara", "talked price", "--deal", "1")
    crm.ok("deal", "won", "1")
    assert crm.ok("deal", "delete", "1", "--yes").stdout == "1\n"
    assert crm("deal", "show", "1").exit_code == 3
    rows = db().execute("SELECT kind, deal_id FROM interactions ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [("call", None)]  # the call stays, unlinked; the purchase is gone
    assert db().execute("SELECT count(*) FROM deal_stage_history WHERE deal_id = 1").fetchone()[0] == 0


def test_last_activity_is_the_newest_interaction_or_change(crm, people):
    crm.ok("deal", "add", "john", "X", now="2026-11-01T09:00:00Z")
    assert crm.ok("deal", "show", "1", "--json").json()["last_activity_at"] == "2026-11-01T09:00:00Z"
    crm.ok("log", "call", "john", "about X", "--deal", "1", "--at", "2026-11-10 12:00")
    deal = crm.ok("deal", "show", "1", "--json").json()
    assert deal["last_activity_at"] == "2026-11-10T09:00:00Z"
    assert [i["summary"] for i in deal["interactions"]] == ["about X"]
    crm.ok("deal", "move", "1", "proposal", now="2026-11-12T09:00:00Z")
    assert crm.ok("deal", "show", "1", "--json").json()["last_activity_at"] == "2026-11-12T09:00:00Z"
    assert crm("log", "call", "john", "x", "--deal", "42").exit_code == 3


def test_list_filters(crm, people):
    crm.ok("contact", "add", "Acme Trading", "--org", "--city", "Riyadh")
    crm.ok("deal", "add", "sara", "A", "--stage", "proposal", "--owner", "Huda", "--close", "2026-12-01")
    crm.ok("deal", "add", "john", "B", "--owner", "omar", "--close", "2027-02-01")
    crm.ok("deal", "add", "Acme", "C", "--close", "2026-12-20")
    crm.ok("deal", "add", "john", "D")
    crm.ok("deal", "won", "2")
    crm.ok("deal", "lost", "4", "--reason", "no budget")

    def titles(*args):
        return [d["title"] for d in crm.ok("deal", "list", *args, "--json").json()]

    assert titles() == ["A", "B", "C", "D"]
    assert titles("--open") == ["A", "C"]
    assert titles("--won") == ["B"]
    assert titles("--lost") == ["D"]
    assert titles("--stage", "proposal") == ["A"]
    assert titles("--stage", "lead,won") == ["B", "C"]
    assert titles("--owner", "huda") == ["A"]
    assert titles("--closing-before", "2026-12-15") == ["A"]
    assert titles("--closing-after", "2026-12-15") == ["B", "C"]
    assert titles("tag:vip") == ["A"]
    assert titles("city:Riyadh") == ["A", "C"]  # the organisation's deal too: deals are not people-only
    assert titles("kind:person", "city:Riyadh") == ["A"]
    assert titles("--open", "city:Riyadh") == ["A", "C"]
    assert titles("john") == ["B", "D"]
    assert titles("--limit", "1") == ["A"]
    assert crm.ok("deal", "list", "--csv").lines[0].startswith("id,title,contact,stage,value")
    assert crm.ok("deal", "list").lines[0].split("\t")[:4] == ["1", "A", "سارة الحداد", "proposal"]
    assert len(crm.ok("deal", "list", "--ndjson").lines) == 4


def test_show_renders_for_people(crm, two_deals):
    crm.ok("log", "meeting", "sara", "[VIP] demo", "--deal", "1")
    out = crm.ok("deal", "show", "1", tty=True).stdout
    assert "Wholesale order Q1" in out and "Stage history" in out and "[VIP] demo" in out
    assert "12,000.00 SAR" in out


# ---------------------------------------------------------------------------------------------
# Stages


def test_stages_list_defaults(crm):
    rows = crm.ok("deal", "stages", "--json").json()
    assert [(r["name"], r["probability"], r["kind"]) for r in rows] == [
        ("lead", 10, "open"),
        ("qualified", 25, "open"),
        ("proposal", 50, "open"),
        ("negotiation", 75, "open"),
        ("won", 100, "won"),
        ("lost", 0, "lost"),
    ]
    assert crm.ok("deal", "stages", "list", "--json").json() == rows
    assert crm.ok("deal", "stages").lines[0].split("\t") == ["1", "lead", "10", "open", "0"]


def test_stage_add_set_move_remove(crm, two_deals):
    assert crm.ok("deal", "stages", "add", "demo", "--probability", "40").stdout.strip().isdigit()
    names = [r["name"] for r in crm.ok("deal", "stages", "--json").json()]
    assert names == ["lead", "qualified", "proposal", "negotiation", "demo", "won", "lost"]
    crm.ok("deal", "stages", "move", "demo", "--after", "qualified")
    crm.ok("deal", "stages", "add", "Intro", "--probability", "5", "--position", "1")
    crm.ok("deal", "stages", "move", "lost", "--before", "won")
    rows = crm.ok("deal", "stages", "--json").json()
    assert [(r["position"], r["name"]) for r in rows] == [
        (1, "intro"),
        (2, "lead"),
        (3, "qualified"),
        (4, "demo"),
        (5, "proposal"),
        (6, "negotiation"),
        (7, "lost"),
        (8, "won"),
    ]
    crm.ok("deal", "stages", "move", "intro", "3")
    assert [r["name"] for r in crm.ok("deal", "stages", "--json").json()][:3] == ["lead", "qualified", "intro"]
    crm.ok("deal", "stages", "set", "demo", "--probability", "45")
    assert {r["name"]: r["probability"] for r in crm.ok("deal", "stages", "--json").json()}["demo"] == 45
    crm.ok("deal", "stages", "remove", "demo")
    crm.ok("deal", "stages", "remove", "intro")
    assert [r["position"] for r in crm.ok("deal", "stages", "--json").json()] == [1, 2, 3, 4, 5, 6]


def test_stage_probability_change_reweights_open_deals(crm, two_deals):
    crm.ok("deal", "stages", "set", "proposal", "--probability", "60")
    row = next(r for r in crm.ok("report", "pipeline", "--json").json() if r["stage"] == "proposal")
    assert row["weighted_value"] == 7200


def test_rename_follows_into_deals_and_history(crm, two_deals, db):
    crm.ok("deal", "stages", "rename", "negotiation", "closing")
    crm.ok("deal", "stages", "set", "proposal", "--name", "Offer")
    assert crm.ok("deal", "show", "2", "--json").json()["stage"] == "closing"
    history = crm.ok("deal", "show", "2", "--json").json()["history"]
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [(None, "lead"), ("lead", "closing")]
    assert crm.ok("deal", "list", "--stage", "offer", "--json").json()[0]["id"] == 1
    assert db().execute("SELECT count(*) FROM deals WHERE stage IN ('negotiation', 'proposal')").fetchone()[0] == 0
    crm.ok("deal", "stages", "rename", "won", "closed-won")
    crm.ok("deal", "won", "1")
    assert crm.ok("deal", "show", "1", "--json").json()["stage"] == "closed-won"


def test_the_last_open_stage_stays(crm):
    for name in ("qualified", "proposal", "negotiation"):
        crm.ok("deal", "stages", "remove", name)
    result = crm("deal", "stages", "remove", "lead")
    assert result.exit_code == 4 and "only open stage" in result.stderr


def test_stage_changes_are_undoable_changes(crm, two_deals, db):
    crm.ok("deal", "stages", "add", "demo", "--probability", "40")
    commands = [r[0] for r in db().execute("SELECT command FROM changes ORDER BY id")]
    assert "deal stages add demo" in commands and "deal move 2 negotiation" in commands
