"""crm report quality: each check counts the right records and names the command that lists them."""

import shlex

from tests.conftest import dump, run_sql

DEAL = (
    "INSERT INTO deals (contact_id, title, value, currency, stage, expected_close, stage_changed_at, created_at,"
    " updated_at) VALUES (1, ?, ?, 'SAR', ?, ?, 'x', 'x', 'x')"
)
FOLLOW_UP = (
    "INSERT INTO interactions (contact_id, kind, summary, happened_at, follow_up_at, follow_up_done_at, created_at)"
    " VALUES (2, 'call', ?, '2026-11-01T09:00:00Z', ?, ?, 'x')"
)


def _setup(crm, db_path):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("config", "set", "required_fields", "email,phone")
    crm.ok("contact", "add", "Sara Haddad", "--email", "sara@example.com", "--phone", "0501234567")  # 1 complete
    crm.ok("contact", "add", "Omar Khalil")  # 2 unreachable
    crm.ok("contact", "add", "Huda Saleh", "--email", "huda@example.com")  # 3 no phone
    crm.ok("contact", "add", "Tariq Aziz", "--dnc")  # 4 asked not to be contacted: not "unreachable"
    crm.ok("contact", "add", "Sarah Haddad")  # 5 a duplicate of 1, unreachable
    crm.ok("contact", "add", "Acme", "--org")  # organisations are not people
    run_sql(
        db_path,
        # Older data: phones that never went through validation.
        ("UPDATE contacts SET phone = '0509999999' WHERE id = 3", ()),
        (
            "INSERT INTO contact_handles (contact_id, type, value, key) VALUES (4, 'phone', '+1 555', '+1555')",
            (),
        ),
        (DEAL, ("no close date", 1000, "proposal", None)),
        (DEAL, ("no value", 0, "qualified", "2026-12-31")),
        (DEAL, ("complete", 5000, "proposal", "2026-12-31")),
        (DEAL, ("won without a date", 0, "won", None)),
        (FOLLOW_UP, ("overdue", "2026-11-20T09:00:00Z", None)),
        (FOLLOW_UP, ("done", "2026-11-20T09:00:00Z", "2026-11-21T09:00:00Z")),
        (FOLLOW_UP, ("later", "2026-11-30T09:00:00Z", None)),
    )


def test_quality_report_counts_and_commands(crm, db_path):
    _setup(crm, db_path)
    rows = {r["check"]: r for r in crm.ok("report", "quality", "--json").json()}
    assert list(rows) == [
        "unreachable",
        "missing_email",
        "missing_phone",
        "invalid_phones",
        "duplicates",
        "incomplete_deals",
        "overdue_follow_ups",
    ]
    assert {k: r["count"] for k, r in rows.items()} == {
        "unreachable": 2,
        "missing_email": 3,
        "missing_phone": 3,  # Omar, Tariq (a handle but no primary phone), Sarah
        "invalid_phones": 2,
        "duplicates": 1,
        "incomplete_deals": 2,
        "overdue_follow_ups": 1,
    }
    assert rows["unreachable"]["filter"] == "-has:email -has:phone dnc:no"
    assert rows["unreachable"]["command"] == "crm contact list -has:email -has:phone dnc:no"
    assert rows["duplicates"]["command"] == "crm contact duplicates"
    assert rows["invalid_phones"]["filter"] is None
    # Each command lists exactly the records counted.
    for check, row in rows.items():
        args = shlex.split(row["command"])[1:]
        listed = crm.ok(*args, "--json").json()
        if check != "overdue_follow_ups":  # `crm log due` also lists stay-in-touch reminders
            assert len(listed) == row["count"], check
        shown = crm.ok("report", "quality", "--show", check, "--json").json()
        assert len(shown) == row["count"], check
    phones = crm.ok("report", "quality", "--show", "invalid-phones", "--json").json()
    assert phones == [
        {"id": 3, "name": "Huda Saleh", "phone": "0509999999"},
        {"id": 4, "name": "Tariq Aziz", "phone": "+1555"},
    ]
    deals = crm.ok("report", "quality", "--show", "incomplete_deals", "--json").json()
    assert [d["title"] for d in deals] == ["no close date", "no value"]
    assert crm.ok("report", "quality", "--show", "overdue_follow_ups", "--json").json()[0]["summary"] == "overdue"


def test_quality_output_formats(crm, db_path):
    _setup(crm, db_path)
    lines = crm.ok("report", "quality").lines
    assert lines[0].split("\t") == [
        "people with no e-mail and no phone",
        "2",
        "crm contact list -has:email -has:phone dnc:no",
    ]
    csv = crm.ok("report", "quality", "--csv").lines
    assert csv[0] == "label,count,command"
    assert "Data quality" in crm.ok("report", "quality", tty=True).stdout


def test_quality_without_required_fields_and_on_an_empty_database(crm):
    rows = crm.ok("report", "quality", "--json").json()
    assert [r["check"] for r in rows] == [
        "unreachable",
        "invalid_phones",
        "duplicates",
        "incomplete_deals",
        "overdue_follow_ups",
    ]
    assert all(r["count"] == 0 for r in rows)


def test_required_field_filters_exist_for_every_field(crm):
    crm.ok("config", "set", "required_fields", "title,birthday,source,tags,country")
    crm.ok("contact", "add", "Sara Haddad", "--title", "Owner")
    rows = {r["check"]: r for r in crm.ok("report", "quality", "--json").json()}
    assert rows["missing_title"]["count"] == 0 and rows["missing_birthday"]["count"] == 1
    assert rows["missing_tags"]["command"] == "crm contact list -has:tags"
    assert len(crm.ok("contact", "list", "-has:birthday", "--json").json()) == 1


def test_quality_bad_show_is_refused(crm, db_path):
    crm.ok("contact", "add", "Sara Haddad")
    before = dump(db_path)
    result = crm("report", "quality", "--show", "typos")
    assert result.exit_code == 2
    assert result.stderr.startswith("crm: unknown check 'typos'; choose one of: unreachable,")
    assert len(result.stderr.strip().splitlines()) == 1
    assert dump(db_path) == before
    result = crm("config", "set", "required_fields", "email,shoe_size")
    assert result.exit_code == 2 and "unknown contact field 'shoe_size'" in result.stderr


def test_phones_checked_in_groups_agree_with_the_per_key_rule():
    """Example numbers of every region, and each one mutated (a digit changed, cut, lengthened, a 0 or the
    national prefix put first, spaces, Arabic digits): the grouped check settles exactly the same keys."""
    import random

    import phonenumbers

    from crm_cli.reports import quality

    rng = random.Random(5)
    keys = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            cc = str(example.country_code)
            nsn = e164[1 + len(cc) :]
            keys.add(e164)
            for _ in range(12):
                digits = list(nsn)
                digits[rng.randrange(len(digits))] = str(rng.randrange(10))
                keys.add(f"+{cc}{''.join(digits)}")
            keys |= {f"+{cc}{nsn[:-1]}", f"+{cc}{nsn}7", f"+{cc}0{nsn[1:]}", f"+{cc}0{nsn}", f"+{cc} {nsn}"}
            keys |= {f"+{cc}{nsn[:-2]}", f"+{cc}{nsn}12", e164.replace("5", "٥"), e164[1:], "0" + nsn}
    keys |= {"", "+", "+0", "+1", "+12", "+966", "+9665", "+96650", "+" + "9" * 20, "+999123456789"}
    keys = sorted(keys)
    unsettled = set(quality._unsettled(set(keys)))
    for key in keys:
        if key not in unsettled:
            assert quality._valid_phone(key), key
    assert {k for k in keys if not quality._valid_phone(k)} <= unsettled
    assert len(unsettled) < len(keys)  # the groups did settle most valid numbers


def test_invalid_phones_listed_once_per_contact_in_order(crm, db_path):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "Omar Khalil", "--phone", "+966500001111")
    crm.ok("contact", "add", "Sara Haddad", "--phone", "+966500002222")
    handle = "INSERT INTO contact_handles (contact_id, type, value, key) VALUES (?, 'phone', ?, ?)"
    run_sql(
        db_path,
        ("UPDATE contacts SET phone = '0500' WHERE id = 1", ()),
        (handle, (1, "+9665", "+9665")),
        (handle, (1, "0500", "0500")),
        (handle, (2, "+1 555", "+1 555")),
    )
    rows = crm.ok("report", "quality", "--show", "invalid_phones", "--json").json()
    assert rows == [
        {"id": 1, "name": "Omar Khalil", "phone": "+9665, 0500"},
        {"id": 2, "name": "Sara Haddad", "phone": "+1 555"},
    ]
    counts = {r["check"]: r["count"] for r in crm.ok("report", "quality", "--json").json()}
    assert counts["invalid_phones"] == 2
