"""Privacy: forget erases a person's data from every byte of the file; subject export; file modes."""

import os
import sqlite3
import stat

from crm_cli import db as dbmod
from tests.conftest import dump, file_bytes, run_sql

NAME = "محمد الحربي"
SECRETS = [
    "الحربي",
    "mh@example.com",
    "old.mh@example.com",
    "966500001111",
    "50 000 1111",
    "يحب القهوة",
    "عباية سوداء",
    "Hello Mohammed",
    "Apt 7, Olaya",
    "wants XL",
]


def _setup(crm, db_path):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok(
        "contact", "add", NAME, "--email", "old.mh@example.com", "--phone", "+966 50 000 1111", "--tag", "vip",
        "--notes", "يحب القهوة", "--field", "apartment=Apt 7, Olaya", "--source", "instagram",
    )  # fmt: skip
    crm.ok("contact", "edit", "1", "--email", "mh@example.com")
    crm.ok("log", "purchase", "1", "عباية سوداء", "--amount", "249.90")
    crm.ok("log", "call", "1", "asked about sizes", "--outcome", "wants XL")
    crm.ok("contact", "add", "Sara Haddad", "--notes", f"referred by {NAME}")
    run_sql(
        db_path,
        (
            "INSERT INTO deals (contact_id, title, value, currency, stage, stage_changed_at, created_at, updated_at)"
            " VALUES (1, ?, 900000, 'SAR', 'proposal', 'x', 'x', 'x')",
            (f"Wholesale for {NAME}",),
        ),
        (
            "INSERT INTO campaigns (id, name, channel, segment, currency, created_at, updated_at) "
            "VALUES (1, 'Eid', 'email', 'all', 'SAR', 'x', 'x')",
            (),
        ),  # fmt: skip
        (
            "INSERT INTO campaign_members (campaign_id, contact_id, status, rendered_subject, rendered_body) "
            "VALUES (1, 1, 'sent', 'Hello Mohammed', ?)",
            (f"Dear {NAME}, write to mh@example.com",),
        ),
        ("INSERT INTO sent_once (key, sent_at) VALUES ('agenda 2026-11-21 mh@example.com', 'x')", ()),
    )


def test_forget_leaves_no_byte_of_the_person(crm, db_path):
    _setup(crm, db_path)
    before = file_bytes(db_path)
    assert [s for s in SECRETS if s.encode() not in before] == []  # the test would see them
    assert crm.ok("contact", "forget", "1", "--yes").stdout == "1\n"
    data = file_bytes(db_path)
    left = [s for s in SECRETS if s.encode() in data]
    assert left == []
    # Anonymous figures stay: the purchase still counts, the contact is still a customer.
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT sum(amount) FROM interactions WHERE kind = 'purchase'").fetchone()[0] == 249900
    person = crm.ok("contact", "show", "1", "--json").json()
    assert person["name"] == "forgotten #1" and person["dnc"] is True and person["status"] == "customer"
    assert person["emails"] == [] and person["phones"] == [] and person["tags"] == [] and person["fields"] == {}
    assert person["source"] == "instagram"
    assert [i["kind"] for i in person["timeline"]] == ["call", "purchase"]
    assert all(i["summary"] == "" for i in person["timeline"])
    assert person["deals"][0]["title"].startswith("deal #")
    # Others who quoted them keep their record, minus the quote; search stays consistent.
    assert crm.ok("contact", "show", "2", "--json").json()["notes"] == "referred by [forgotten]"
    conn.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('integrity-check')")
    assert crm.ok("contact", "list", "الحربي", "--json").json() == []
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_forget_is_in_history_without_personal_data_and_cannot_be_undone(crm, db_path):
    _setup(crm, db_path)
    crm.ok("contact", "forget", NAME, "--yes")
    history = crm.ok("history", "1", "--json")
    assert history.json()[0]["command"] == "contact forget 1"
    assert history.json()[0]["status"] == "not undoable (forget)"
    assert not any(s in history.stdout for s in SECRETS)
    assert not any(s in crm.ok("history", "--json", "--limit", "100").stdout for s in SECRETS)
    before = dump(db_path)
    result = crm("undo")
    assert result.exit_code == 4
    assert result.stderr.startswith("crm: the last change (")
    assert "cannot be undone: forgotten data is erased for good" in result.stderr
    forget_id = history.json()[0]["id"]
    result = crm("undo", str(forget_id))
    assert result.exit_code == 4 and "cannot be undone" in result.stderr
    # Earlier changes that touched them are blocked by the forget (and their details are gone).
    result = crm("undo", "3")
    assert result.exit_code == 4 and len(result.stderr.strip().splitlines()) == 1
    assert dump(db_path) == before


def test_forget_refusals_write_nothing(crm, db_path):
    crm.ok("contact", "add", "Sara Haddad")
    before = dump(db_path)
    result = crm("contact", "forget", "1")
    assert result.exit_code == 2 and "refused without --yes" in result.stderr
    result = crm("contact", "forget", "7", "--yes")
    assert result.exit_code == 3 and result.stderr.startswith("crm: no contact with id 7")
    assert dump(db_path) == before


def test_subject_export_has_everything_held(crm, db_path):
    _setup(crm, db_path)
    doc = crm.ok("contact", "export", "mh@example.com", "--json").json()
    assert doc["contact"]["name"] == NAME
    assert [h["key"] for h in doc["handles"]] == ["+966500001111", "mh@example.com"]
    assert doc["tags"] == ["vip"] and doc["fields"] == {"apartment": "Apt 7, Olaya"}
    assert [i["summary"] for i in doc["interactions"]] == ["عباية سوداء", "asked about sizes"]
    assert doc["interactions"][0]["amount"] == 249.9
    assert doc["deals"][0]["value"] == 900 and doc["deals"][0]["stage_history"] == []
    assert doc["campaigns"][0]["campaign"] == "Eid" and doc["campaigns"][0]["rendered_subject"] == "Hello Mohammed"
    commands = [c["command"] for c in doc["history"]]
    assert commands[-1] == f"contact add {NAME}" and "contact edit 1" in commands
    assert crm("contact", "export", "nobody@example.com", "--json").exit_code == 3


def test_subject_export_function_for_the_export_command():
    from crm_cli import privacy

    assert callable(privacy.subject_export)


def test_database_wal_and_shm_are_owner_only(db_path):
    conn = dbmod.connect(db_path)
    with dbmod.write(conn, "test"):
        conn.execute("INSERT INTO settings (key, value) VALUES ('date_order', 'dmy')")
    try:
        for suffix in ("", "-wal", "-shm"):
            mode = stat.S_IMODE(os.stat(f"{db_path}{suffix}").st_mode)
            assert mode == 0o600, (suffix, oct(mode))
    finally:
        conn.close()


def test_issue_block_end_to_end(tmp_path):
    """The issue's script, run by a shell against the real program (jq replaced by python)."""
    import json
    import subprocess
    import sys

    env = {**os.environ, "CRM_DB": str(tmp_path / "crm.db")}

    def crm(*args):
        return subprocess.run([sys.executable, "-m", "crm_cli", *args], env=env, capture_output=True, text=True)

    assert crm("config", "set", "default_region", "SA").returncode == 0
    assert crm("contact", "add", "Mohammed Al-Harbi", "--email", "m.harbi@example.com").stdout == "1\n"
    assert crm("contact", "add", NAME, "--phone", "+966 50 000 1111").stdout == "2\n"
    assert crm("contact", "add", "Mohamed Alharbi", "--email", "M.Harbi@Example.com").returncode == 4
    assert crm("contact", "add", "Mohamed Alharbi", "--phone", "0500001111").returncode == 4
    assert crm("contact", "add", "Mohamed Alharbi").stdout == "3\n"
    pairs = json.loads(crm("contact", "duplicates", "--json").stdout)
    assert len(pairs) >= 1 and all(p["reason"] for p in pairs)
    shown = crm("contact", "show", "3", "--json").stdout
    assert crm("contact", "merge", "1", "3", "--yes").returncode == 0
    history = crm("history", "1")
    assert history.returncode == 0 and "contact merge 1 3" in history.stdout
    assert crm("undo").returncode == 0
    assert crm("contact", "show", "3", "--json").stdout == shown
    assert crm("contact", "forget", "2", "--yes").returncode == 0
    grep = subprocess.run(["bash", "-c", 'grep -a "الحربي" "$CRM_DB"*'], env=env, capture_output=True)
    assert grep.returncode == 1, grep.stdout
