"""Stay-in-touch cadences: `crm log due` touch rows, --only, ordering, and the cron-friendly --check."""

import pytest

from tests.conftest import dump


@pytest.fixture
def sara(crm):
    crm.ok("config", "set", "default_region", "SA")
    return crm.ok("contact", "add", "سارة الحداد", now="2026-10-01T09:00:00Z").stdout.strip()


def touches(crm, *args):
    return [r for r in crm.ok("log", "due", "--json", *args).json() if r["type"] == "touch"]


def test_issue_example_call_resets_the_clock(crm, sara):
    crm.ok("contact", "edit", "سارة", "--every", "14d")
    crm.ok("log", "call", "سارة", "Checked in", "--at", "-20d")
    [row] = touches(crm)
    assert row == {
        "type": "touch",
        "contact_id": int(sara),
        "contact": "سارة الحداد",
        "every_days": 14,
        "last_interaction_at": "2026-11-01T21:00:00Z",  # local midnight 20 days ago (Riyadh)
        "last_interaction": "Checked in",
        "last_interaction_kind": "call",
        "due_at": "2026-11-15T21:00:00Z",
        "days_overdue": 6,
    }
    check = crm("log", "due", "--check", "--quiet")
    assert (check.exit_code, check.stdout, check.stderr) == (1, "", "")

    crm.ok("log", "call", "سارة", "Checked in again")
    assert crm.ok("log", "due", "--json").json() == []
    check = crm("log", "due", "--check", "--quiet")
    assert (check.exit_code, check.stdout, check.stderr) == (0, "", "")


def test_piped_rows_say_why_a_touch_is_listed(crm, sara):
    crm.ok("contact", "edit", "سارة", "--every", "14d")
    crm.ok("log", "call", "سارة", "Checked in", "--at", "-20d")
    assert crm.ok("log", "due").lines == [
        "touch\t\t2026-11-15T21:00:00Z\t6\tسارة الحداد\tstay in touch (every 14 days; last call: Checked in)"
    ]
    table = crm.ok("log", "due", tty=True).stdout
    assert "سارة الحداد" in table and "touch" in table


def test_check_without_quiet_prints_the_rows_and_exits_1(crm, sara):
    crm.ok("contact", "edit", "سارة", "--every", "30d")
    result = crm("log", "due", "--check", "--json")
    assert result.exit_code == 1
    assert [r["contact"] for r in result.json()] == ["سارة الحداد"]


def test_never_contacted_is_due_from_creation(crm, sara):
    crm.ok("contact", "edit", "سارة", "--every", "2w")
    [row] = touches(crm)
    assert row["last_interaction_at"] is None and row["last_interaction"] is None
    assert row["due_at"] == "2026-10-15T09:00:00Z"  # created 2026-10-01 09:00Z + 14 days
    assert row["days_overdue"] == 38


def test_not_yet_due_until_look_ahead(crm, sara):
    crm.ok("contact", "edit", "سارة", "--every", "14d")
    crm.ok("log", "call", "سارة", "Checked in", "--at", "-10d")
    assert touches(crm) == []
    assert touches(crm, "--until", "+3d") == []
    [row] = touches(crm, "--until", "+4d")
    assert row["days_overdue"] == 0 and row["due_at"] == "2026-11-25T21:00:00Z"


def test_any_kind_resets_but_a_planned_meeting_does_not(crm, sara):
    crm.ok("contact", "edit", "سارة", "--every", "14d")
    crm.ok("log", "call", "سارة", "old call", "--at", "-30d")
    crm.ok("log", "meeting", "سارة", "planned", "--at", "+20d")  # not happened yet
    [row] = touches(crm)
    assert row["last_interaction"] == "old call"
    crm.ok("log", "note", "سارة", "", "--at", "-1d")
    assert touches(crm) == []


def test_last_interaction_falls_back_to_the_kind(crm, sara):
    crm.ok("contact", "edit", "سارة", "--every", "7d")
    crm.ok("log", "message", "سارة", "--at", "-9d")
    [row] = touches(crm)
    assert (row["last_interaction"], row["last_interaction_kind"], row["days_overdue"]) == ("message", "message", 2)


def test_tag_cadence_and_the_shortest_wins(crm, sara):
    crm.ok("config", "set", "cadence.vip", "14d")
    crm.ok("config", "set", "cadence.gold", "1w")
    crm.ok("contact", "add", "Omar", "--tag", "vip", now="2026-10-01T09:00:00Z")
    crm.ok("contact", "add", "Lina", "--tag", "VIP", "--tag", "gold", now="2026-11-10T09:00:00Z")
    crm.ok("contact", "add", "Plain", "--tag", "other", now="2026-01-01T09:00:00Z")
    rows = {r["contact"]: r for r in touches(crm)}
    assert set(rows) == {"Omar", "Lina"}
    assert rows["Omar"]["every_days"] == 14
    assert rows["Lina"]["every_days"] == 7 and rows["Lina"]["days_overdue"] == 5
    # The contact's own cadence beats its tags'.
    crm.ok("contact", "edit", "Lina", "--every", "30d")
    assert {r["contact"] for r in touches(crm)} == {"Omar"}
    # Clearing the own cadence brings the tag's back; removing the setting removes the touch.
    crm.ok("contact", "edit", "Lina", "--every", "none")
    crm.ok("config", "unset", "cadence.gold")
    assert {r["contact"]: r["every_days"] for r in touches(crm)} == {"Omar": 14}  # Lina: due 2026-11-24
    assert {r["contact"]: r["every_days"] for r in touches(crm, "--until", "+2d")} == {"Omar": 14, "Lina": 14}


def test_do_not_contact_is_never_due_for_a_touch(crm, sara):
    crm.ok("contact", "edit", "سارة", "--every", "7d", "--dnc")
    crm.ok("log", "call", "سارة", "asked us to stop", "--at", "-30d", "--follow-up", "-1d")
    rows = crm.ok("log", "due", "--json").json()
    assert [r["type"] for r in rows] == ["follow-up"]  # an explicit follow-up still shows


def test_only_and_ordering_oldest_due_first(crm, sara):
    crm.ok("contact", "edit", "سارة", "--every", "14d")
    crm.ok("log", "call", "سارة", "first", "--at", "-20d", "--follow-up", "-10d")
    crm.ok("contact", "add", "Omar", "--every", "7d", now="2026-11-01T09:00:00Z")
    crm.ok("log", "email", "Omar", "quote", "--at", "-3d", "--follow-up", "today")
    rows = crm.ok("log", "due", "--json").json()
    # Omar's e-mail reset his clock (touch due 2026-11-25); both follow-ups and Sara's touch are due.
    assert [(r["type"], r["contact"], r["due_at"]) for r in rows] == [
        ("follow-up", "سارة الحداد", "2026-11-11T21:00:00Z"),
        ("touch", "سارة الحداد", "2026-11-15T21:00:00Z"),
        ("follow-up", "Omar", "2026-11-21T21:00:00Z"),
    ]
    assert {r["type"] for r in crm.ok("log", "due", "--json", "--only", "follow-ups").json()} == {"follow-up"}
    assert [r["contact"] for r in crm.ok("log", "due", "--json", "--only", "touches").json()] == ["سارة الحداد"]


def test_invalid_only_exits_2(crm, sara, db_path):
    before = dump(db_path)
    result = crm("log", "due", "--only", "calls")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "calls" in result.stderr and "follow-ups" in result.stderr
    assert dump(db_path) == before


def test_check_maps_failures_to_2(crm, tmp_path):
    bogus = tmp_path / "not-a-db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    plain = crm("log", "due", "--db", str(bogus))
    assert plain.exit_code == 1
    checked = crm("log", "due", "--check", "--quiet", "--db", str(bogus))
    assert checked.exit_code == 2 and checked.stderr.startswith("crm: ") and checked.stdout == ""
    bad_date = crm("log", "due", "--check", "--until", "someday")
    assert bad_date.exit_code == 2 and "someday" in bad_date.stderr


def test_every_soon_exits_2_and_changes_nothing(crm, sara, db_path):
    before = dump(db_path)
    result = crm("contact", "edit", "سارة", "--every", "soon")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "'soon'" in result.stderr
    assert dump(db_path) == before
    added = crm("contact", "add", "Omar", "--every", "soon")
    assert added.exit_code == 2 and "'soon'" in added.stderr
    assert dump(db_path) == before


def test_every_none_clears(crm, sara, db):
    crm.ok("contact", "edit", "سارة", "--every", "14d")
    assert touches(crm)
    crm.ok("contact", "edit", "سارة", "--every", "none")
    assert db().execute("SELECT every_days FROM contacts WHERE id = ?", (int(sara),)).fetchone()[0] is None
    assert touches(crm) == []
