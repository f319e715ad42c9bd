"""Contacts: the issue's examples, references, and every bad-input path."""

import pytest

from tests.conftest import dump


@pytest.fixture
def three(crm):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok(
        "contact",
        "add",
        "سارة الحداد",
        "--email",
        "sara@example.com",
        "--phone",
        "٠٥٠ ١٢٣ ٤٥٦٧",
        "--city",
        "Riyadh",
        "--tag",
        "vip",
        "--source",
        "instagram",
    )
    crm.ok("contact", "add", "John Smith", "--email", "john@example.com", "--company", "Acme", "--status", "customer")
    crm.ok("contact", "add", "John Doe", "--email", "jdoe@example.com")


def test_add_prints_the_new_id_alone(crm):
    result = crm.ok("contact", "add", "Sara", "--email", "s@example.com")
    assert result.stdout == "1\n"
    assert crm.ok("contact", "add", "Omar").stdout == "2\n"


def test_phone_with_arabic_indic_digits_is_stored_e164(crm, three):
    rows = crm.ok("contact", "list", "tag:vip", "--json").json()
    assert [r["phone"] for r in rows] == ["+966501234567"]
    assert rows[0]["tags"] == ["vip"] and rows[0]["source"] == "instagram"


@pytest.mark.parametrize("query", ["ساره", "سارَة", "SARA@example.com", "حداد", "سارة الحداد"])
def test_free_text_search_is_arabic_aware(crm, three, query):
    rows = crm.ok("contact", "list", query, "--json").json()
    assert [r["name"] for r in rows] == ["سارة الحداد"]


def test_company_links_an_organisation_listed_only_on_request(crm, three):
    people = crm.ok("contact", "list", "--json").json()
    assert [p["name"] for p in people] == ["سارة الحداد", "John Smith", "John Doe"]
    orgs = crm.ok("contact", "list", "kind:organization", "--json").json()
    assert [o["name"] for o in orgs] == ["Acme"]
    john = crm.ok("contact", "show", "john@example.com", "--json").json()
    assert john["org_id"] == orgs[0]["id"] and john["company"] == "Acme"
    crm.ok("contact", "add", "Jane", "--company", "ACME")  # same organisation, not a second one
    assert len(crm.ok("contact", "list", "kind:org", "--json").json()) == 1


def test_show_includes_timeline_and_status(crm, three):
    crm.ok("log", "call", "سارة", "Asked for wholesale prices", "--at", "yesterday 15:00", "--follow-up", "tomorrow")
    doc = crm.ok("contact", "show", "سارة", "--json").json()
    assert doc["status"] == "lead"
    assert [t["summary"] for t in doc["timeline"]] == ["Asked for wholesale prices"]
    assert doc["timeline"][0]["happened_at"] == "2026-11-21T12:00:00Z"  # 15:00 Riyadh
    assert doc["emails"] == ["sara@example.com"] and doc["phones"] == ["+966501234567"]


def test_show_on_a_terminal_renders_markup_literally(crm):
    crm.ok("contact", "add", "[VIP] أحمد", "--notes", "[bold]not bold[/bold]")
    out = crm.ok("contact", "show", "1", tty=True).stdout
    assert "[VIP] أحمد" in out and "[bold]not bold[/bold]" in out


def test_piped_list_is_tab_separated_without_box_drawing(crm, three):
    out = crm.ok("contact", "list").stdout
    assert out.splitlines()[0].split("\t")[:3] == ["1", "سارة الحداد", "sara@example.com"]
    assert "│" not in out and "\x1b" not in out


def test_csv_is_spreadsheet_safe(crm, three):
    out = crm.ok("contact", "list", "tag:vip", "--csv").stdout.splitlines()
    assert out[0].startswith("id,name,email,phone")
    assert "'+966501234567" in out[1]


def test_edit_changes_fields_tags_and_custom_fields(crm, three):
    # ids: 1 سارة, 2 John Smith, 3 the organisation Acme, 4 John Doe
    assert (
        crm.ok("contact", "edit", "jdoe@example.com", "--city", "Jeddah", "--tag", "cold", "--field", "size=L").stdout
        == "4\n"
    )
    doc = crm.ok("contact", "show", "4", "--json").json()
    assert doc["city"] == "Jeddah" and doc["tags"] == ["cold"] and doc["fields"] == {"size": "L"}
    crm.ok("contact", "edit", "4", "--untag", "cold", "--field", "size=", "--city", "")
    doc = crm.ok("contact", "show", "4", "--json").json()
    assert doc["city"] is None and doc["tags"] == [] and doc["fields"] == {}


def test_edit_email_replaces_the_primary_address(crm, three):
    crm.ok("contact", "edit", "4", "--email", "john.doe@example.com")
    doc = crm.ok("contact", "show", "4", "--json").json()
    assert doc["email"] == "john.doe@example.com" and doc["emails"] == ["john.doe@example.com"]
    crm.ok("contact", "add", "Reuse", "--email", "jdoe@example.com")  # the old address is free again


def test_reference_by_phone_in_any_form(crm, three):
    assert crm.ok("contact", "show", "0501234567", "--json").json()["id"] == 1
    assert crm.ok("contact", "show", "+966 50 123 4567", "--json").json()["id"] == 1


def test_exact_name_wins_over_fragments(crm):
    crm.ok("contact", "add", "Ali")
    crm.ok("contact", "add", "Ali Hassan")
    assert crm.ok("contact", "show", "ali", "--json").json()["name"] == "Ali"


def test_delete_with_yes(crm, three, db):
    crm.ok("log", "note", "4", "hello")
    result = crm.ok("contact", "delete", "John Doe", "--yes")
    assert result.stdout == "4\n" and "deleted contact 4" in result.stderr
    assert db().execute("SELECT count(*) FROM contacts WHERE id = 4").fetchone()[0] == 0
    assert db().execute("SELECT count(*) FROM interactions").fetchone()[0] == 0


# --- bad input: one line on stderr, the documented exit code, nothing written --------------------

BAD = [
    (["contact", "add", "X", "--email", "not-an-email"], 2, "invalid e-mail"),
    (["contact", "show", "nobody"], 3, "no contact matches 'nobody'"),
    (["contact", "add", "Sara Two", "--email", "sara@example.com"], 4, "already belongs to contact 1"),
    (["contact", "add", "Sara Two", "--email", "SARA@Example.COM"], 4, "already belongs to contact 1"),
    (["contact", "add", "Sara Two", "--phone", "+966501234567"], 4, "already belongs to contact 1"),
    (["log", "call", "john", "x"], 4, "2: John Smith; 4: John Doe"),
    (["log", "call", "سارة", "x", "--at", "32/13/2026"], 2, "32/13/2026"),
    (["contact", "delete", "John Doe"], 2, "refused without --yes"),
    (["contact", "add", "   "], 2, "needs a name"),
    (["contact", "add", "X", "--status", "vip"], 2, "invalid status"),
    (["contact", "add", "X", "--phone", "12"], 2, "invalid phone"),
    (["contact", "add", "X", "--field", "no-equals"], 2, "invalid --field"),
    (["contact", "add", "X", "--every", "soon"], 2, "invalid period"),
    (["contact", "list", "nosuchfield:1"], 2, "unknown filter term 'nosuchfield:1'"),
    (["contact", "list", "created>someday"], 2, "someday"),
    (["contact", "list", "--sort", "colour"], 2, "invalid sort"),
    (["contact", "show", "99"], 3, "no contact with id 99"),
    (["contact", "edit", "1", "--name", ""], 2, "cannot be empty"),
    (["contact", "list", "--json", "--csv"], 2, "choose one output format"),
    (["contact", "frobnicate"], 2, "No such command"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD, ids=[" ".join(b[0][:3]) for b in BAD])
def test_bad_input(crm, three, db_path, args, code, message):
    before = dump(db_path)
    result = crm(*args)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert dump(db_path) == before


def test_error_is_json_with_json_flag(crm, three):
    result = crm("contact", "show", "nobody", "--json")
    assert result.exit_code == 3
    import json

    assert json.loads(result.stderr) == {
        "error": {"code": "not_found", "message": "no contact matches 'nobody'; see `crm contact list`"}
    }


def test_ambiguous_lists_candidates_in_json(crm, three):
    result = crm("log", "call", "john", "x", "--json")
    assert result.exit_code == 4
    assert "John Smith" in result.stderr and "John Doe" in result.stderr


def test_phone_without_region_is_refused_with_advice(crm):
    result = crm("contact", "add", "X", "--phone", "0501234567")
    assert result.exit_code == 2
    assert "crm config set default_region" in result.stderr


# ---------------------------------------------------------------------------------------------
# Piped `contact list` selects just the shown values (contacts.list_values): the same lines as the
# records of --json printed the way every listing prints TSV.


def _tsv_from_json(records: list[dict]) -> list[str]:
    keys = ["id", "name", "email", "phone", "company", "city", "status", "tags", "last_contact_at"]
    lines = []
    for r in records:
        cells = []
        for key in keys:
            value = r[key]
            text = "" if value is None else ",".join(value) if isinstance(value, list) else str(value)
            cells.append(text.replace("\t", " ").replace("\n", " "))
        lines.append("\t".join(cells))
    return lines


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--sort", "name"),
        ("--sort", "last-contact", "--limit", "2"),
        ("--sort", "updated"),
        ("tag:vip",),
        ("kind:any", "--sort", "created"),
        ("Haddad",),
    ],
)
def test_piped_list_matches_json_records(crm, args):
    crm.ok("contact", "add", "Sara\tHaddad", "--company", "Acme\nTrading", "--tag", "zeta", "--tag", "vip",
           "--tag", "alpha", "--tag", "مميز", "--city", "Riyadh")  # fmt: skip
    crm.ok("contact", "add", "Omar Haddad", "--email", "omar@example.com", "--tag", "vip")
    crm.ok("contact", "add", "ليلى الحداد", "--status", "customer")
    crm.ok("log", "call", "Omar", "called about the offer")
    piped = crm.ok("contact", "list", *args).lines
    assert piped == _tsv_from_json(crm.ok("contact", "list", *args, "--json").json())
    assert piped  # every case lists someone
