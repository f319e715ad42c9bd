"""Campaigns: create/edit/delete, launch, templates and preview, export, responses, imports, results."""

import csv
import io
import sqlite3

import pytest

from tests.conftest import dump
from tests.test_segments import cached_db


@pytest.fixture
def shop(crm, tmp_path, db_path):
    def campaigns_shop():
        crm.ok("config", "set", "default_currency", "SAR")
        crm.ok("contact", "add", "سارة الحداد", "--email", "sara@example.com", "--tag", "vip", "--field", "كود=RAM20")
        crm.ok("contact", "add", "Omar", "--email", "omar@example.com", "--tag", "vip", "--dnc")
        crm.ok("contact", "add", "Laila", "--phone", "+966501234567", "--tag", "vip")
        crm.ok("contact", "add", "Noor", "--email", "noor@example.com", "--tag", "vip", "--field", "كود=N10")
        crm.ok("contact", "add", "Quiet", "--email", "quiet@example.com")
        for who in ("سارة", "Omar", "Laila", "Noor"):
            crm.ok("log", "purchase", who, "earlier order", "--amount", "100", "--at", "-60d")
        crm.ok("campaign", "segment", "save", "vip-buyers", "tag:vip orders>=1")

    cached_db(db_path, campaigns_shop)
    (tmp_path / "offer.txt").write_text("أهلاً {first_name}، كودك {كود}\n", encoding="utf-8")
    return tmp_path


def create(crm, shop, name="Ramadan offer", *extra):
    return crm.ok(
        "campaign",
        "create",
        name,
        "--channel",
        "email",
        "--segment",
        "segment:vip-buyers",
        "--subject",
        "عرض رمضان لـ {first_name}",
        "--template",
        str(shop / "offer.txt"),
        "--cost",
        "300",
        *extra,
    )


# ---------------------------------------------------------------------------------------------
# create / list / show / edit / delete


def test_create_prints_the_id_and_show_lists_the_draft(crm, shop):
    result = create(crm, shop)
    assert result.stdout == "1\n"
    doc = crm.ok("campaign", "show", "Ramadan offer", "--json").json()
    assert doc["status"] == "draft" and doc["launched_at"] is None
    assert doc["segment"] == "segment:vip-buyers"
    assert doc["subject"] == "عرض رمضان لـ {first_name}"
    assert doc["template"] == "أهلاً {first_name}، كودك {كود}\n"
    assert (doc["cost"], doc["currency"]) == (300, "SAR")
    assert doc["members"] == []
    listed = crm.ok("campaign", "list", "--json").json()
    assert [(c["id"], c["name"], c["status"], c["cost"]) for c in listed] == [(1, "Ramadan offer", "draft", 300)]
    assert crm.ok("campaign", "show", "1", "--json").json()["name"] == "Ramadan offer"
    assert crm.ok("campaign", "show", "ramadan", "--json").json()["id"] == 1


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["Bad", "--channel", "email", "--segment", "nosuchfield:1"], 2, "'nosuchfield:1'"),
        (["Bad", "--segment", "segment:nope"], 2, "no segment named 'nope'"),
        (["Bad", "--segment", ""], 2, "--segment"),
        (["Bad", "--channel", "fax", "--segment", "tag:vip"], 2, "--channel"),
        (["Bad", "--segment", "tag:vip", "--cost", "abc"], 2, "--cost"),
        (["Bad", "--segment", "tag:vip", "--cost", "-5"], 2, "--cost"),
        (["Bad", "--segment", "tag:vip", "--currency", "riyal"], 2, "currency"),
        (["Bad", "--segment", "tag:vip", "--template", "/nonexistent/x.txt"], 2, "not found"),
        (["Bad", "--segment", "tag:vip", "--subject", "Hi {first_name"], 2, "subject"),
        (["Bad", "--segment", "tag:vip", "--body", "Hi {}"], 2, "empty {}"),
        (["Bad", "--segment", "tag:vip", "--body", "Hi {name!r}"], 2, "format"),
        (["Bad", "--segment", "tag:vip", "--starts", "2026-12-10", "--ends", "2026-12-01"], 2, "--ends"),
        (["Bad", "--segment", "tag:vip", "--starts", "someday"], 2, "--starts"),
        (["Ramadan offer", "--segment", "tag:vip"], 4, "already exists"),
    ],
)
def test_bad_create_exits_with_one_line_and_writes_nothing(crm, shop, db_path, args, code, needle):
    create(crm, shop)
    before = dump(db_path)
    result = crm("campaign", "create", *args)
    assert result.exit_code == code, result.stderr
    assert needle in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert dump(db_path) == before


def test_edit_and_frozen_audience(crm, shop, tmp_path):
    create(crm, shop)
    edited = crm.ok(
        "campaign", "edit", "Ramadan offer", "--cost", "450.5", "--starts", "2026-12-01", "--subject", "Hi {name}"
    )
    assert edited.stdout == "1\n" and "cost" in edited.stderr
    doc = crm.ok("campaign", "show", "1", "--json").json()
    assert (doc["cost"], doc["starts"], doc["subject"]) == (450.5, "2026-12-01", "Hi {name}")
    crm.ok("campaign", "edit", "1", "--segment", "tag:vip")
    crm.ok("campaign", "launch", "1")
    frozen = crm("campaign", "edit", "1", "--segment", "tag:other")
    assert frozen.exit_code == 4 and "frozen" in frozen.stderr
    crm.ok("campaign", "edit", "1", "--name", "Renamed")
    assert crm("campaign", "show", "Ramadan offer").exit_code == 3
    crm.ok("campaign", "create", "Other", "--segment", "tag:vip")
    clash = crm("campaign", "edit", "Other", "--name", "Renamed")
    assert clash.exit_code == 4


def test_delete_is_confirmed(crm, shop, db_path, db):
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    crm.ok("campaign", "respond", "Ramadan offer", "Noor", "opened")
    before = dump(db_path)
    refused = crm("campaign", "delete", "Ramadan offer")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert dump(db_path) == before
    assert crm("campaign", "delete", "nope", "--yes").exit_code == 3
    crm.ok("campaign", "delete", "Ramadan offer", "--yes")
    conn = db()
    assert conn.execute("SELECT count(*) FROM campaign_members").fetchone()[0] == 0
    # the timeline keeps the response note, unlinked
    assert conn.execute("SELECT campaign_id FROM interactions WHERE kind = 'note'").fetchall()[0][0] is None
    assert crm.ok("campaign", "list", "--json").json() == []


# ---------------------------------------------------------------------------------------------
# launch, templates, preview


def test_launch_freezes_the_audience_and_counts_exclusions(crm, shop):
    create(crm, shop)
    result = crm.ok("campaign", "launch", "Ramadan offer")
    assert result.stdout == "1\n"
    assert "excluded 1 do-not-contact, 1 without e-mail" in result.stderr
    doc = crm.ok("campaign", "show", "Ramadan offer", "--json").json()
    assert [m["contact"] for m in doc["members"]] == ["سارة الحداد", "Noor"]
    assert {m["status"] for m in doc["members"]} == {"pending"}
    assert (doc["audience"], doc["excluded_dnc"], doc["excluded_no_email"]) == (2, 1, 1)
    assert doc["status"] == "launched" and doc["launched_at"] == "2026-11-22T09:00:00Z"
    again = crm("campaign", "launch", "Ramadan offer")  # README: exit 4 for an audience already frozen
    assert again.exit_code == 4 and again.stdout == "" and "already launched" in again.stderr


def test_preview_renders_arabic_and_custom_fields(crm, shop):
    create(crm, shop)
    first = crm.ok("campaign", "preview", "Ramadan offer")
    assert first.stdout == "To: سارة الحداد <sara@example.com>\nSubject: عرض رمضان لـ سارة\n\nأهلاً سارة، كودك RAM20\n"
    noor = crm.ok("campaign", "preview", "Ramadan offer", "Noor", "--json").json()
    assert noor["subject"] == "عرض رمضان لـ Noor"
    assert noor["body"] == "أهلاً Noor، كودك N10\n"
    assert noor["to"] == "noor@example.com"


def test_missing_field_names_contact_and_field(crm, shop, db_path):
    create(crm, shop)
    crm.ok("contact", "add", "Hala", "--email", "hala@example.com", "--tag", "vip")
    crm.ok("log", "purchase", "Hala", "x", "--amount", "5", "--at", "-1d")
    preview = crm("campaign", "preview", "Ramadan offer", "Hala")
    assert preview.exit_code == 2
    assert "contact 6 (Hala) has no field 'كود' for {كود} in the template" in preview.stderr
    assert "--field كود=" in preview.stderr
    before = dump(db_path)
    launch = crm("campaign", "launch", "Ramadan offer")
    assert launch.exit_code == 2 and "contact 6 (Hala)" in launch.stderr
    assert dump(db_path) == before
    crm.ok(
        "campaign",
        "create",
        "City",
        "--segment",
        "tag:vip dnc:no has:email",
        "--subject",
        "{city} deals",
        "--body",
        "x",
    )
    city = crm("campaign", "preview", "City")
    assert city.exit_code == 2
    assert "contact 1 (سارة الحداد) has no city for {city} in the subject" in city.stderr
    assert "crm contact edit 1 --city" in city.stderr


def test_literal_braces_and_standard_fields(crm, shop):
    crm.ok("contact", "edit", "Noor", "--company", "Acme", "--city", "Riyadh", "--name", "Noor Saleh")
    crm.ok(
        "campaign",
        "create",
        "Fields",
        "--segment",
        "Noor",
        "--subject",
        "{{promo}} {last_name}",
        "--body",
        "{name}|{first_name}|{company}|{email}|{city}|{phone}",
    )
    crm.ok("contact", "edit", "Noor Saleh", "--phone", "+966501111111")
    doc = crm.ok("campaign", "preview", "Fields", "--json").json()
    assert doc["subject"] == "{promo} Saleh"
    assert doc["body"] == "Noor Saleh|Noor|Acme|noor@example.com|Riyadh|+966501111111"


def test_preview_with_an_empty_audience(crm, shop):
    crm.ok("campaign", "create", "Nobody", "--segment", "tag:nobody", "--body", "x")
    result = crm("campaign", "preview", "Nobody")
    assert result.exit_code == 2 and "nobody in its audience" in result.stderr


# ---------------------------------------------------------------------------------------------
# export (other channels)


def test_export_csv_launches_and_is_spreadsheet_safe(crm, shop):
    crm.ok(
        "campaign",
        "create",
        "Texts",
        "--channel",
        "sms",
        "--segment",
        "tag:vip",
        "--body",
        '=HYPERLINK("x") {first_name}',
    )
    result = crm.ok("campaign", "export", "Texts", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["name"] for r in rows] == ["سارة الحداد", "Laila", "Noor"]  # sms: no e-mail needed, dnc left out
    assert rows[1]["phone"] == "'+966501234567"
    assert rows[0]["message"] == '\'=HYPERLINK("x") سارة'
    assert "launched; 3 members" in result.stderr
    doc = crm.ok("campaign", "show", "Texts", "--json").json()
    assert doc["sent"] == 3 and doc["launched_at"] == "2026-11-22T09:00:00Z"  # handed over at launch
    assert crm.ok("campaign", "export", "Texts", "--json").json()[0]["message"] == '=HYPERLINK("x") سارة'


# ---------------------------------------------------------------------------------------------
# responses


def test_respond_is_logged_idempotent_and_unsubscribe_sets_dnc(crm, shop, db):
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    clicked = crm.ok("campaign", "respond", "Ramadan offer", "سارة", "clicked")
    assert clicked.stdout.strip().isdigit()
    twice = crm.ok("campaign", "respond", "Ramadan offer", "سارة", "clicked")
    assert twice.stdout == "" and "already recorded" in twice.stderr
    crm.ok("campaign", "respond", "Ramadan offer", "سارة", "opened")  # implied by the click: nothing new
    crm.ok("campaign", "respond", "Ramadan offer", "Noor", "unsubscribed", "--at", "-1d")
    conn = db()
    notes = conn.execute(
        "SELECT contact_id, kind, summary, outcome, campaign_id, happened_at FROM interactions "
        "WHERE kind = 'note' ORDER BY id"
    ).fetchall()
    assert [tuple(n) for n in notes] == [
        (1, "note", "Campaign Ramadan offer: clicked", "clicked", 1, "2026-11-22T09:00:00Z"),
        (
            4,
            "note",
            "Campaign Ramadan offer: unsubscribed (now do-not-contact)",
            "unsubscribed",
            1,
            "2026-11-20T21:00:00Z",
        ),
    ]
    assert conn.execute("SELECT dnc FROM contacts WHERE name = 'Noor'").fetchone()[0] == 1
    member = conn.execute("SELECT opened_at, clicked_at, status FROM campaign_members WHERE contact_id = 1").fetchone()
    assert tuple(member) == ("2026-11-22T09:00:00Z", "2026-11-22T09:00:00Z", "sent")
    report = crm.ok("report", "campaign", "Ramadan offer", "--json").json()
    assert (report["opened"], report["clicked"], report["unsubscribed"]) == (1, 1, 1)


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["Ramadan offer", "Quiet", "opened"], 3, "not in the audience"),
        (["Ramadan offer", "nobody-like-this", "opened"], 3, "no contact"),
        (["Ramadan offer", "Noor", "liked"], 2, "invalid response"),
        (["Ramadan offer", "Noor", "opened", "--amount", "5"], 2, "--amount"),
        (["Ramadan offer", "Noor", "purchased", "--amount", "x"], 2, "--amount"),
        (["No such", "Noor", "opened"], 3, "no campaign"),
        (["Draft", "Noor", "opened"], 2, "not been launched"),
    ],
)
def test_bad_responses(crm, shop, db_path, args, code, needle):
    create(crm, shop)
    crm.ok("campaign", "create", "Draft", "--segment", "tag:vip")
    crm.ok("campaign", "launch", "Ramadan offer")
    before = dump(db_path)
    result = crm("campaign", "respond", *args)
    assert result.exit_code == code, result.stderr
    assert needle in result.stderr and result.stderr.count("\n") == 1
    assert dump(db_path) == before


def test_purchased_with_amount_logs_a_purchase(crm, shop, db):
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    crm.ok("campaign", "respond", "Ramadan offer", "Noor", "purchased", "--amount", "249.90")
    again = crm.ok("campaign", "respond", "Ramadan offer", "Noor", "purchased", "--amount", "249.90")
    assert "already recorded" in again.stderr
    conn = db()
    rows = conn.execute(
        "SELECT kind, amount, currency, campaign_id FROM interactions WHERE campaign_id IS NOT NULL"
    ).fetchall()
    assert [tuple(r) for r in rows] == [("purchase", 249900, "SAR", 1)]
    report = crm.ok("report", "campaign", "Ramadan offer", "--json").json()
    assert (report["conversions"], report["revenue"]) == (1, 249.9)


# ---------------------------------------------------------------------------------------------
# import-responses


def test_import_sendgrid_like_events_idempotently(crm, shop, tmp_path, db_path):
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    events = tmp_path / "events.csv"
    events.write_text(
        "email,event,timestamp,sg_message_id\n"
        "SARA@example.com,processed,1795338000,a\n"
        "sara@example.com,delivered,1795338000,a\n"
        "sara@example.com,open,1795341600,a\n"
        "sara@example.com,open,1795345200,a\n"
        "sara@example.com,click,1795345200,a\n"
        "noor@example.com,bounce,1795338000,b\n"
        "quiet@example.com,open,1795338000,c\n"
        "stranger@example.com,open,1795338000,d\n",
        encoding="utf-8",
    )
    result = crm.ok("campaign", "import-responses", "Ramadan offer", str(events), "--json")
    summary = result.json()
    assert summary["recorded"] == {"delivered": 1, "opened": 1, "clicked": 1, "bounced": 1}
    assert (summary["duplicates"], summary["not_members"], summary["unknown_emails"]) == (1, 1, 1)
    assert summary["ignored_events"] == 1 and summary["ignored_columns"] == ["sg_message_id"]
    conn = sqlite3.connect(db_path)
    opened = conn.execute("SELECT opened_at FROM campaign_members WHERE contact_id = 1").fetchone()[0]
    conn.close()
    assert opened == "2026-11-22T10:00:00Z"  # the first open is kept
    before = dump(db_path)
    again = crm.ok("campaign", "import-responses", "Ramadan offer", str(events), "--json").json()
    assert again["recorded_total"] == 0 and again["duplicates"] == 5
    # the second run changed nothing but the change log entry
    assert dump(db_path).count('INSERT INTO "interactions"') == before.count('INSERT INTO "interactions"')
    report = crm.ok("report", "campaign", "Ramadan offer", "--json").json()
    assert (report["sent"], report["delivered"], report["failed"], report["bounced"]) == (2, 1, 1, 1)
    assert report["open_rate"] == 1 and report["click_rate"] == 1


def test_import_mailchimp_like_headers_and_unsubscribes(crm, shop, tmp_path, db):
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    events = tmp_path / "mc.csv"
    events.write_text(
        "\ufeffEmail Address;Action;Timestamp\n"
        "noor@example.com;unsubscribe;2026-11-21 14:30\n"
        "sara@example.com;Opened;21/11/2026 10:00\n",
        encoding="utf-8",
    )
    result = crm.ok("campaign", "import-responses", "Ramadan offer", str(events))
    assert "recorded 1 opened, 1 unsubscribed" in result.stderr
    conn = db()
    assert conn.execute("SELECT dnc FROM contacts WHERE name = 'Noor'").fetchone()[0] == 1
    assert conn.execute("SELECT opened_at FROM campaign_members WHERE contact_id = 1").fetchone()[0] == (
        "2026-11-21T07:00:00Z"  # 10:00 Riyadh
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("email,event\nsara@example.com,liked\n", "line 2: unknown event 'liked'"),
        ("who,event\nsara@example.com,open\n", "no e-mail column"),
        ("email,when\nsara@example.com,2026-11-01\n", "event/status"),
        ("email,event,timestamp\nsara@example.com,open,yesterdayish\n", "line 2: bad time"),
        ("email,event\nnot-an-address,open\n", "line 2"),
        ("", "empty"),
    ],
)
def test_bad_response_files_change_nothing(crm, shop, tmp_path, db_path, content, needle):
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    before = dump(db_path)
    result = crm("campaign", "import-responses", "Ramadan offer", str(path))
    assert result.exit_code == 2, result.stderr
    assert needle in result.stderr and result.stderr.count("\n") == 1
    assert dump(db_path) == before
    missing = crm("campaign", "import-responses", "Ramadan offer", str(tmp_path / "none.csv"))
    assert missing.exit_code == 2 and "not found" in missing.stderr


# ---------------------------------------------------------------------------------------------
# results


def test_report_matches_the_issue_example(crm, shop):
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    crm.ok("campaign", "respond", "Ramadan offer", "سارة", "clicked")  # marks sara sent (via another mailer)
    crm.ok("log", "purchase", "سارة", "Order #1002", "--amount", "500")
    doc = crm.ok("report", "campaign", "Ramadan offer", "--json").json()
    assert doc["conversions"] == 1
    assert doc["revenue"] == 500 and doc["currency"] == "SAR"
    assert doc["cost"] == 300 and doc["cost_per_conversion"] == 300
    assert doc["return_on_spend"] == 0.6667  # (500 - 300) / 300
    assert (doc["audience"], doc["excluded"], doc["sent"], doc["pending"]) == (2, 2, 1, 1)
    assert doc["click_rate"] == 1 and doc["conversion_rate"] == 1


def test_attribution_window_and_currencies(crm, shop):
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    for who in ("سارة", "Noor"):
        crm.ok("campaign", "respond", "Ramadan offer", who, "opened", now="2026-11-01T09:00:00Z")
    # Sara buys 20 days after, Noor 40 days after; Noor also pays in USD; an earlier order never counts.
    crm.ok("log", "purchase", "سارة", "in window", "--amount", "120.5", "--at", "2026-11-21 12:00")
    crm.ok("log", "purchase", "Noor", "late", "--amount", "80", "--at", "2026-12-11 12:00", now="2026-12-11T12:00:00Z")
    crm.ok("log", "purchase", "Noor", "usd", "--amount", "10", "--currency", "USD", "--at", "2026-11-10")
    doc = crm.ok("report", "campaign", "Ramadan offer", "--json", now="2026-12-12T00:00:00Z").json()
    assert doc["conversions"] == 2
    assert doc["revenue"] == 120.5
    assert doc["revenue_other_currencies"] == [{"currency": "USD", "amount": 10}]
    assert doc["cost_per_conversion"] == 150
    assert doc["return_on_spend"] == round((120.5 - 300) / 300, 4)
    wide = crm.ok("report", "campaign", "Ramadan offer", "--window", "60d", "--json").json()
    assert wide["revenue"] == 200.5
    assert crm("report", "campaign", "Ramadan offer", "--window", "soon").exit_code == 2


def test_a_purchase_linked_to_another_campaign_is_not_double_counted(crm, shop):
    create(crm, shop)
    create(crm, shop, "Second")
    for name in ("Ramadan offer", "Second"):
        crm.ok("campaign", "launch", name)
        crm.ok("campaign", "respond", name, "Noor", "opened")
    crm.ok("campaign", "respond", "Second", "Noor", "purchased", "--amount", "70")
    first = crm.ok("report", "campaign", "Ramadan offer", "--json").json()
    second = crm.ok("report", "campaign", "Second", "--json").json()
    assert (first["conversions"], first["revenue"]) == (0, 0)
    assert (second["conversions"], second["revenue"]) == (1, 70)


def test_report_campaigns_side_by_side(crm, shop):
    create(crm, shop)
    crm.ok("campaign", "create", "Texts", "--channel", "sms", "--segment", "tag:vip", "--cost", "0")
    rows = crm.ok("report", "campaigns", "--json").json()
    assert [(r["name"], r["audience"], r["return_on_spend"]) for r in rows] == [
        ("Ramadan offer", 0, -1),
        ("Texts", 0, None),
    ]
    table = crm.ok("report", "campaigns", "--csv").stdout.splitlines()
    assert table[0].startswith("campaign_id,name,channel,audience,excluded,sent,delivered,failed,open_rate")
    one = crm.ok("report", "campaign", "Texts", "--csv").stdout.splitlines()
    assert len(one) == 2 and one[1].startswith("2,Texts,sms")
    terminal = crm.ok("report", "campaign", "Ramadan offer", tty=True)
    assert "return" in terminal.stdout
    assert crm("report", "campaign", "nope").exit_code == 3
