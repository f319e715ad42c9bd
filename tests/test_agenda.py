"""`crm agenda`: the four sections, the terminal and piped views, and the daily e-mail digest."""

import email
import email.policy
import sqlite3

import pytest

from tests.conftest import dump, free_port


def add_deal(db_path, contact_id, title, *, close, stage="proposal", value=12_000_500, currency="SAR"):
    conn = sqlite3.connect(db_path)
    with conn:
        deal_id = conn.execute(
            """INSERT INTO deals (contact_id, title, value, currency, stage, expected_close,
                                  stage_changed_at, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, '2026-11-01T09:00:00Z', '2026-11-01T09:00:00Z', '2026-11-01T09:00:00Z')""",
            (contact_id, title, value, currency, stage, close),
        ).lastrowid
    conn.close()
    return deal_id


@pytest.fixture
def busy(crm, db_path):
    """A day with something in every section, and things that must stay off the agenda."""
    crm.ok("config", "set", "default_region", "SA")
    sara = int(crm.ok("contact", "add", "سارة الحداد", "--every", "14d", now="2026-10-01T09:00:00Z").stdout)
    omar = int(crm.ok("contact", "add", "Omar", now="2026-10-01T09:00:00Z").stdout)
    crm.ok("log", "call", "سارة", "Checked in", "--at", "-20d")
    crm.ok("log", "email", "Omar", "[VIP] <b>quote</b> & terms", "--at", "-5d", "--follow-up", "-2d")
    crm.ok("log", "call", "Omar", "today's call", "--at", "-1d", "--follow-up", "today 15:00")
    crm.ok("log", "call", "Omar", "later", "--at", "-1d", "--follow-up", "tomorrow")  # not today
    done = crm.ok("log", "call", "Omar", "done", "--at", "-1d", "--follow-up", "-1d").stdout.strip()
    crm.ok("log", "done", done)
    laila = int(crm.ok("contact", "add", "ليلى", now="2026-10-01T09:00:00Z").stdout)
    crm.ok("log", "support", "ليلى", "الطابعة لا تعمل", "--at", "-3d")
    closed = crm.ok("log", "support", "Omar", "fixed already", "--at", "-3d").stdout.strip()
    crm.ok("log", "done", closed)
    add_deal(db_path, omar, "Passed deal", close="2026-11-20")
    add_deal(db_path, sara, "Soon deal", close="2026-11-29")
    add_deal(db_path, sara, "Later deal", close="2026-12-05")
    add_deal(db_path, sara, "Won deal", close="2026-11-21", stage="won")
    add_deal(db_path, sara, "No date", close=None)
    return sara, omar, laila


def test_json_has_the_four_sections_in_order(crm, busy):
    sara, omar, laila = busy
    doc = crm.ok("agenda", "--json").json()
    assert list(doc) == ["date", "days", "follow_ups", "touches", "deals", "support"]
    assert (doc["date"], doc["days"]) == ("2026-11-22", 7)
    assert [(r["summary"], r["days_overdue"]) for r in doc["follow_ups"]] == [
        ("[VIP] <b>quote</b> & terms", 2),
        ("today's call", 0),
    ]
    [touch] = doc["touches"]
    assert (touch["contact"], touch["days_overdue"], touch["type"]) == ("سارة الحداد", 6, "touch")
    assert [(d["title"], d["days_left"]) for d in doc["deals"]] == [("Passed deal", -2), ("Soon deal", 7)]
    assert doc["deals"][0] == {
        "id": 1,
        "contact_id": omar,
        "contact": "Omar",
        "title": "Passed deal",
        "value": 12000.5,
        "currency": "SAR",
        "stage": "proposal",
        "expected_close": "2026-11-20",
        "days_left": -2,
    }
    [support] = doc["support"]
    assert support == {
        "id": support["id"],
        "contact_id": laila,
        "contact": "ليلى",
        "summary": "الطابعة لا تعمل",
        "opened_at": "2026-11-18T21:00:00Z",
        "days_open": 3,
    }
    wider = crm.ok("agenda", "--days", "14", "--json").json()
    assert [d["title"] for d in wider["deals"]] == ["Passed deal", "Soon deal", "Later deal"]


def test_piped_text_lists_sections_in_order(crm, busy):
    text = crm.ok("agenda").stdout
    assert text.startswith("Agenda for 2026-11-22\n")
    positions = [
        text.index(t)
        for t in (
            "Follow-ups due (2)",
            "Stay in touch (1)",
            "Deals closing (next 7 days or passed) (2)",
            "Open support",
        )
    ]
    assert positions == sorted(positions)
    assert "[VIP] <b>quote</b> & terms (due 2026-11-20 00:00, 2 days overdue)" in text
    assert "سارة الحداد: every 14 days, 6 days overdue (last call 2026-11-02 00:00: Checked in)" in text
    assert "#1 Passed deal — Omar, 12,000.50 SAR, proposal, close date passed 2 days ago (2026-11-20)" in text
    assert "الطابعة لا تعمل (open 3 days)" in text
    assert "later" not in text and "Won deal" not in text and "fixed already" not in text


def test_terminal_view_keeps_brackets(crm, busy):
    screen = crm.ok("agenda", tty=True).stdout
    assert "Agenda for 2026-11-22" in screen
    assert "[VIP] <b>quote</b>" in screen and "سارة" in screen and "Soon deal" in screen
    assert screen.index("Follow-ups due") < screen.index("Stay in touch") < screen.index("Deals closing")


def test_empty_agenda(crm):
    assert crm.ok("agenda").stdout == "Agenda for 2026-11-22\n\nNothing due today.\n"
    doc = crm.ok("agenda", "--json").json()
    assert [doc[k] for k in ("follow_ups", "touches", "deals", "support")] == [[], [], [], []]
    assert "Nothing due today." in crm.ok("agenda", tty=True).stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--days", "-1"], "--days"),
        (["--always"], "--email"),
        (["--force"], "--email"),
        (["-o", "x.ics"], "--ics"),
        (["--email", "me@example.com", "--ics"], "--ics"),
        (["--email", "not an address"], "e-mail"),
    ],
)
def test_bad_options_exit_2(crm, db_path, args, words):
    crm.ok("contact", "add", "Omar")
    before = dump(db_path)
    result = crm("agenda", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and words in result.stderr
    assert dump(db_path) == before


# ---------------------------------------------------------------------------------------------
# The digest


@pytest.fixture
def smtp(crm, smtp_server):
    controller, handler = smtp_server
    crm.ok("config", "set", "smtp_host", "127.0.0.1")
    crm.ok("config", "set", "smtp_port", str(controller.port))
    crm.ok("config", "set", "smtp_security", "none")
    crm.ok("config", "set", "smtp_from", "crm@example.com")
    return handler


def received(handler):
    return [email.message_from_bytes(env.content, policy=email.policy.default) for env in handler.messages]


def test_digest_is_sent_once_a_day(crm, busy, smtp, db):
    result = crm.ok("agenda", "--email", "Me@Example.com")
    assert result.stdout == ""
    assert "sent the agenda (6 items) to me@example.com" in result.stderr
    [message] = received(smtp)
    assert smtp.messages[0].rcpt_tos == ["me@example.com"]
    assert message["From"] == "crm@example.com"
    assert message["Subject"] == (
        "Agenda for 2026-11-22: 2 follow-ups, 1 touch, 2 deals closing, 1 open support request"
    )
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "سارة الحداد: every 14 days, 6 days overdue" in text
    assert "[VIP] <b>quote</b> & terms" in text
    assert "[VIP] &lt;b&gt;quote&lt;/b&gt; &amp; terms" in html and "<b>quote" not in html
    assert "الطابعة لا تعمل" in html and "today&#x27;s call" in html
    assert [tuple(r) for r in db().execute("SELECT key, sent_at FROM sent_once")] == [
        ("agenda:me@example.com:2026-11-22", "2026-11-22T09:00:00Z")
    ]

    again = crm.ok("agenda", "--email", "me@example.com", now="2026-11-22T18:00:00Z")  # 21:00 local
    assert "already sent" in again.stderr and len(smtp.messages) == 1
    crm.ok("agenda", "--email", "me@example.com", "--force")
    assert len(smtp.messages) == 2
    crm.ok("agenda", "--email", "other@example.com")
    assert len(smtp.messages) == 3
    # The next local day (00:30 in Riyadh) sends again.
    crm.ok("agenda", "--email", "me@example.com", now="2026-11-22T21:30:00Z")
    assert len(smtp.messages) == 4


def test_nothing_due_sends_nothing_unless_always(crm, smtp, db):
    crm.ok("contact", "add", "Omar")
    result = crm.ok("agenda", "--email", "me@example.com")
    assert "nothing on the agenda" in result.stderr and smtp.messages == []
    assert db().execute("SELECT count(*) FROM sent_once").fetchone()[0] == 0
    assert crm.ok("agenda", "--email", "me@example.com", "--quiet").stderr == ""
    quiet = crm.ok("agenda", "--email", "me@example.com", "--always", "-q")
    assert (quiet.stdout, quiet.stderr) == ("", "")
    [message] = received(smtp)
    assert message["Subject"] == "Agenda for 2026-11-22: nothing due"
    assert "Nothing due today." in message.get_body(("plain",)).get_content()


def test_no_smtp_configured_exits_2_and_writes_nothing(crm, busy, db_path):
    before = dump(db_path)
    result = crm("agenda", "--email", "me@example.com")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "smtp_host" in result.stderr
    assert dump(db_path) == before


def test_unreachable_server_records_nothing(crm, busy, db_path):
    port = free_port()  # nobody listens there
    crm.ok("config", "set", "smtp_host", "127.0.0.1")
    crm.ok("config", "set", "smtp_port", str(port))
    crm.ok("config", "set", "smtp_security", "none")
    crm.ok("config", "set", "smtp_from", "crm@example.com")
    before = dump(db_path)
    result = crm("agenda", "--email", "me@example.com", "--json")
    assert result.exit_code == 1
    assert '"smtp_error"' in result.stderr and str(port) in result.stderr
    assert dump(db_path) == before


def test_money_text_equals_format_money():
    from hypothesis import given
    from hypothesis import strategies as st

    from crm_cli.agenda import money_text
    from crm_cli.money import format_money

    @given(st.integers(min_value=-(2**62) + 1, max_value=2**62 - 1), st.sampled_from([None, "SAR", "KWD"]))
    def check(stored, currency):
        assert money_text(stored, currency) == format_money(stored, currency)

    check()
    for stored in (0, 1, -1, 5, 10, 999, 1000, -1000, 1500, 1234567, 1234560, -5, -10, 12000000):
        assert money_text(stored, "SAR") == format_money(stored, "SAR")
