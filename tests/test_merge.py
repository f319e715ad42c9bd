"""crm contact merge KEEP OTHER: everything moves, nothing is lost, one undoable change."""

import sqlite3

from tests.conftest import dump, run_sql


def _setup(crm, db_path):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok(
        "contact", "add", "Mohammed Al-Harbi", "--email", "m.harbi@example.com", "--tag", "vip",
        "--field", "size=M", "--notes", "prefers mornings",
    )  # fmt: skip
    crm.ok("contact", "add", "Someone Else")
    crm.ok(
        "contact", "add", "Mohamed Alharbi", "--email", "mo@work.example", "--phone", "0500001111", "--tag", "vip",
        "--tag", "wholesale", "--city", "Riyadh", "--field", "size=L", "--field", "color=blue",
        "--notes", "met at the fair", "--status", "customer",
    )  # fmt: skip
    crm.ok("log", "purchase", "3", "abaya", "--amount", "249.90")
    crm.ok("log", "note", "1", "first call")
    run_sql(
        db_path,
        (
            "INSERT INTO deals (contact_id, title, value, currency, stage, stage_changed_at, created_at, updated_at)"
            " VALUES (3, 'Wholesale', 5000000, 'SAR', 'proposal', 'x', 'x', 'x')",
            (),
        ),
        (
            "INSERT INTO campaigns (id, name, channel, segment, currency, created_at, updated_at) VALUES "
            "(1, 'Eid', 'email', 'all', 'SAR', 'x', 'x'), (2, 'Winter', 'email', 'all', 'SAR', 'x', 'x')",
            (),
        ),
        # Both were in Eid: KEEP's row is pending, OTHER's was sent and opened.
        ("INSERT INTO campaign_members (campaign_id, contact_id, status) VALUES (1, 1, 'pending')", ()),
        (
            "INSERT INTO campaign_members (campaign_id, contact_id, status, sent_at, opened_at, rendered_subject)"
            " VALUES (1, 3, 'sent', '2026-11-01T10:00:00Z', '2026-11-01T12:00:00Z', 'Eid offer')",
            (),
        ),
        ("INSERT INTO campaign_members (campaign_id, contact_id, status) VALUES (2, 3, 'sent')", ()),
    )


def _state(db_path):
    conn = sqlite3.connect(db_path)
    try:
        tables = ["contacts", "contact_handles", "tags", "interactions", "deals", "campaign_members"]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        conn.close()


def test_merge_moves_everything_and_undo_brings_it_back(crm, db_path, db):
    _setup(crm, db_path)
    before = _state(db_path)
    assert crm.ok("contact", "merge", "1", "3", "--yes").stdout == "1\n"
    kept = crm.ok("contact", "show", "1", "--json").json()
    assert crm("contact", "show", "3").exit_code == 3
    assert kept["name"] == "Mohammed Al-Harbi"
    assert kept["email"] == "m.harbi@example.com"  # KEEP's primary stays primary
    assert kept["emails"] == ["m.harbi@example.com", "mo@work.example"]
    assert kept["phone"] == "+966500001111" and kept["phones"] == ["+966500001111"]
    assert kept["tags"] == ["vip", "wholesale"]
    assert kept["city"] == "Riyadh" and kept["status"] == "customer"
    assert kept["fields"] == {"size": "M", "color": "blue"}  # KEEP's value wins, missing ones filled
    assert kept["notes"] == "prefers mornings\nmet at the fair"
    assert sorted(i["summary"] for i in kept["timeline"]) == ["abaya", "first call"]
    assert [d["title"] for d in kept["deals"]] == ["Wholesale"]
    conn = db()
    members = [dict(r) for r in conn.execute("SELECT * FROM campaign_members ORDER BY campaign_id")]
    assert [(m["campaign_id"], m["contact_id"], m["status"]) for m in members] == [(1, 1, "sent"), (2, 1, "sent")]
    assert members[0]["opened_at"] == "2026-11-01T12:00:00Z"
    # Found by the other's e-mail, phone and name words now.
    assert crm.ok("contact", "show", "mo@work.example", "--json").json()["id"] == 1
    assert crm.ok("contact", "show", "0500001111", "--json").json()["id"] == 1
    # One change in the history, undone as a whole.
    history = crm.ok("history", "1", "--json").json()
    assert history[0]["command"] == "contact merge 1 3"
    assert crm.ok("undo").stdout.strip() == str(history[0]["id"] + 1)
    assert _state(db_path) == before
    conn.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('integrity-check')")
    assert [c["id"] for c in crm.ok("contact", "list", "fair", "--json").json()] == [3]


def test_merge_dry_run_and_refusals_write_nothing(crm, db_path):
    _setup(crm, db_path)
    before = dump(db_path)
    plan = crm.ok("contact", "merge", "1", "3", "--dry-run", "--json").json()
    assert plan["keep"] == 1 and plan["other"] == 3
    assert plan["moved"] == {
        "interactions": 1,
        "deals": 1,
        "campaign_members": 2,
        "tags": 2,
        "handles": 2,
        "members_of_org": 0,
    }
    assert {"city", "phone", "status", "notes", "field:color"} <= set(plan["filled"])
    assert plan["result"]["emails"] == ["m.harbi@example.com", "mo@work.example"]
    assert dump(db_path) == before
    for args, code, message in [
        (("1", "3"), 2, "crm: Merge contact 3 (Mohamed Alharbi) into 1 and delete 3: refused without --yes"),
        (("1", "1", "--yes"), 2, "crm: cannot merge contact 1 into itself"),
        (("1", "99", "--yes"), 3, "crm: no contact with id 99"),
        (("harbi", "2", "--yes"), 4, "crm: 'harbi' matches several contacts"),
    ]:
        result = crm("contact", "merge", *args)
        assert result.exit_code == code, result.stderr
        assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
        assert dump(db_path) == before


def test_merge_refuses_a_person_into_an_organisation(crm, db_path):
    crm.ok("contact", "add", "Acme", "--org")
    crm.ok("contact", "add", "Sara Haddad")
    before = dump(db_path)
    result = crm("contact", "merge", "1", "2", "--yes")
    assert result.exit_code == 2 and "merge only the same kind" in result.stderr
    assert dump(db_path) == before


def test_merge_on_a_terminal_shows_the_result_first(crm, db_path):
    _setup(crm, db_path)
    before = dump(db_path)
    result = crm("contact", "merge", "1", "3", tty=True)  # stdin is not a terminal: it shows, then refuses
    assert "Merge contact 3 into 1" in result.stdout and "then deletes contact 3" in result.stdout
    assert "mo@work.example" in result.stdout
    assert result.exit_code == 2 and dump(db_path) == before


def test_merging_organisations_moves_their_people(crm):
    crm.ok("contact", "add", "Acme", "--org")
    crm.ok("contact", "add", "ACME Ltd", "--org")
    crm.ok("contact", "add", "Sara Haddad", "--company", "ACME Ltd")
    assert crm.ok("contact", "show", "3", "--json").json()["org_id"] == 2
    crm.ok("contact", "merge", "1", "2", "--yes")
    assert crm.ok("contact", "show", "3", "--json").json()["org_id"] == 1
