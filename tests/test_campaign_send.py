"""Sending e-mail campaigns through a real SMTP server on 127.0.0.1 and reading what it received."""

import email
import sqlite3
from email import policy

import pytest

from crm_cli import campaigns, mail
from tests.conftest import dump, free_port, local_smtp
from tests.test_segments import cached_db

SUBJECT = "عرض رمضان لـ {first_name}"
BODY = "السلام عليكم {first_name}،\nخصم ٢٠٪ لعملاء {company} فقط.\n"


def received(handler) -> list:
    return [email.message_from_bytes(m.original_content, policy=policy.default) for m in handler.messages]


def recipients(handler) -> list[str]:
    return sorted(r for m in handler.messages for r in m.rcpt_tos)


@pytest.fixture
def shop(crm, tmp_path, db_path):
    def send_shop():
        crm.ok("config", "set", "default_currency", "SAR")
        crm.ok(
            "contact", "add", "سارة الحداد", "--email", "sara@example.com", "--tag", "vip", "--company", "متجر الورد"
        )
        crm.ok(
            "contact", "add", "Omar Farouk", "--email", "omar@example.com", "--tag", "vip", "--company", "Acme", "--dnc"
        )
        crm.ok("contact", "add", "Laila", "--tag", "vip", "--company", "Acme")  # no e-mail
        crm.ok("contact", "add", "Noor Saleh", "--email", "noor@example.com", "--tag", "vip", "--company", "Acme")
        crm.ok("contact", "add", "Zaid", "--email", "zaid@example.com", "--tag", "vip", "--company", "Acme")
        (tmp_path / "offer.txt").write_text(BODY, encoding="utf-8")
        crm.ok(
            "campaign",
            "create",
            "Ramadan offer",
            "--channel",
            "email",
            "--segment",
            "tag:vip",
            "--subject",
            SUBJECT,
            "--template",
            str(tmp_path / "offer.txt"),
            "--cost",
            "300",
        )

    cached_db(db_path, send_shop)


@pytest.fixture
def smtp(crm, smtp_server):
    controller, handler = smtp_server
    crm.ok("config", "set", "smtp_host", "127.0.0.1")
    crm.ok("config", "set", "smtp_port", str(controller.port))
    crm.ok("config", "set", "smtp_security", "none")
    crm.ok("config", "set", "smtp_from", "Shop <shop@example.com>")
    return handler


def members(db_path) -> dict[str, str]:
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute(
            "SELECT c.email, m.status FROM campaign_members m JOIN contacts c ON c.id = m.contact_id"
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


def test_send_delivers_exact_arabic_and_never_twice(crm, shop, smtp, db, db_path):
    first = crm.ok("campaign", "send", "Ramadan offer", "--yes")
    assert first.stdout == ""
    assert "sent 3, failed 0" in first.stderr
    assert "excluded 1 do-not-contact, 1 without e-mail" in first.stderr
    assert recipients(smtp) == ["noor@example.com", "sara@example.com", "zaid@example.com"]
    by_to = {m["To"].addresses[0].addr_spec: m for m in received(smtp)}
    sara = by_to["sara@example.com"]
    assert sara["Subject"] == "عرض رمضان لـ سارة"
    assert sara.get_content() == "السلام عليكم سارة،\nخصم ٢٠٪ لعملاء متجر الورد فقط.\n"
    assert sara["To"].addresses[0].display_name == "سارة الحداد"
    assert sara["From"] == "Shop <shop@example.com>"
    assert sara.get_content_charset() == "utf-8"
    raw = smtp.messages[0].original_content
    assert raw.isascii()  # RFC 2047 subject, base64 body: survives any relay
    assert by_to["noor@example.com"]["Subject"] == "عرض رمضان لـ Noor"

    second = crm.ok("campaign", "send", "Ramadan offer", "--yes")
    assert "nothing to send" in second.stderr
    assert len(smtp.messages) == 3

    conn = db()
    logged = conn.execute(
        "SELECT contact_id, kind, direction, summary, campaign_id FROM interactions ORDER BY contact_id"
    ).fetchall()
    assert [tuple(r) for r in logged] == [
        (1, "email", "out", "عرض رمضان لـ سارة", 1),
        (6, "email", "out", "عرض رمضان لـ Noor", 1),
        (7, "email", "out", "عرض رمضان لـ Zaid", 1),
    ]
    assert members(db_path) == {"sara@example.com": "sent", "noor@example.com": "sent", "zaid@example.com": "sent"}
    shown = crm.ok("campaign", "show", "Ramadan offer", "--json").json()
    assert (shown["audience"], shown["sent"], shown["excluded_dnc"], shown["excluded_no_email"]) == (3, 3, 1, 1)
    assert shown["status"] == "done"


def test_member_is_marked_sending_and_committed_before_the_smtp_transaction(crm, shop, smtp, db_path):
    seen = []
    original = mail.Connection.send

    def spying_send(self, message):
        conn = sqlite3.connect(db_path)  # another connection: sees only committed rows
        seen.append(
            dict(
                conn.execute("SELECT c.email, m.status FROM campaign_members m JOIN contacts c ON c.id = m.contact_id")
            )
        )
        conn.close()
        return original(self, message)

    mail.Connection.send = spying_send
    try:
        crm.ok("campaign", "send", "Ramadan offer", "--yes")
    finally:
        mail.Connection.send = original
    assert seen[0]["sara@example.com"] == "sending"
    assert seen[1] == {"sara@example.com": "sent", "noor@example.com": "sending", "zaid@example.com": "pending"}


def test_interrupted_run_resumes_without_double_sending(crm, shop, smtp, db_path, monkeypatch):
    original = mail.Connection.send
    calls = []

    def dies_on_second(self, message):
        calls.append(message["To"])
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C (or a crash) in the middle of the SMTP transaction
        return original(self, message)

    monkeypatch.setattr(mail.Connection, "send", dies_on_second)
    stopped = crm("campaign", "send", "Ramadan offer", "--yes")
    assert stopped.exit_code == 130
    assert members(db_path) == {
        "sara@example.com": "sent",
        "noor@example.com": "sending",
        "zaid@example.com": "pending",
    }
    monkeypatch.setattr(mail.Connection, "send", original)

    resumed = crm.ok("campaign", "send", "Ramadan offer", "--yes")
    assert "1 members were being sent when an earlier run stopped (Noor Saleh)" in resumed.stderr
    assert "--retry-unknown" in resumed.stderr
    assert recipients(smtp) == ["sara@example.com", "zaid@example.com"]  # Noor is not sent blindly
    assert members(db_path)["noor@example.com"] == "sending"

    again = crm.ok("campaign", "send", "Ramadan offer", "--yes", "--json")
    assert again.json()["sent"] == 0 and again.json()["unknown"][0]["contact"] == "Noor Saleh"
    crm.ok("campaign", "send", "Ramadan offer", "--yes", "--retry-unknown")
    assert recipients(smtp) == ["noor@example.com", "sara@example.com", "zaid@example.com"]
    assert set(members(db_path).values()) == {"sent"}
    report = crm.ok("report", "campaign", "Ramadan offer", "--json").json()
    assert (report["sent"], report["unknown"], report["pending"]) == (3, 0, 0)


def test_without_a_terminal_and_without_yes_nothing_is_sent(crm, shop, smtp, db_path):
    before = dump(db_path)
    result = crm("campaign", "send", "Ramadan offer")
    assert result.exit_code == 2
    assert "--yes" in result.stderr.splitlines()[-1]
    assert smtp.messages == []
    assert dump(db_path) == before  # not even launched


def test_do_not_contact_after_launch_is_honoured(crm, shop, smtp, db_path):
    crm.ok("campaign", "launch", "Ramadan offer")
    crm.ok("contact", "edit", "Zaid", "--dnc")
    result = crm.ok("campaign", "send", "Ramadan offer", "--yes")
    assert "skipping 1 members now do-not-contact" in result.stderr
    assert recipients(smtp) == ["noor@example.com", "sara@example.com"]


def test_a_refused_recipient_is_marked_failed_and_the_rest_go_out(crm, shop, db_path):
    class Picky:
        def __init__(self):
            self.messages = []

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("noor@"):
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    handler = Picky()
    with local_smtp(handler) as controller:
        port = controller.port
        crm.ok("config", "set", "smtp_host", "127.0.0.1")
        crm.ok("config", "set", "smtp_port", str(port))
        crm.ok("config", "set", "smtp_security", "none")
        crm.ok("config", "set", "smtp_from", "shop@example.com")
        result = crm("campaign", "send", "Ramadan offer", "--yes")
        assert result.exit_code == 1
        last = result.stderr.splitlines()[-1]
        assert "1 of 3 messages failed" in last and "Noor Saleh" in last and "550" in last
        assert recipients(handler) == ["sara@example.com", "zaid@example.com"]
        assert members(db_path)["noor@example.com"] == "failed"

        rerun = crm.ok("campaign", "send", "Ramadan offer", "--yes")
        assert "1 failed earlier (--retry-failed)" in rerun.stderr
        assert len(handler.messages) == 2
        retried = crm("campaign", "send", "Ramadan offer", "--yes", "--retry-failed")
        assert retried.exit_code == 1  # still refused
        assert len(handler.messages) == 2
    report = crm.ok("report", "campaign", "Ramadan offer", "--json").json()
    assert (report["sent"], report["delivered"], report["failed"]) == (2, 2, 1)


def test_connection_failure_is_one_line_and_changes_nothing(crm, shop, db_path):
    port = free_port()  # nobody listens there
    crm.ok("config", "set", "smtp_host", "127.0.0.1")
    crm.ok("config", "set", "smtp_port", str(port))
    crm.ok("config", "set", "smtp_security", "none")
    before = dump(db_path)
    result = crm("campaign", "send", "Ramadan offer", "--yes")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(f"crm: cannot reach SMTP server 127.0.0.1:{port}")
    assert "Traceback" not in result.stderr
    assert dump(db_path) == before


def test_no_smtp_host_is_exit_2(crm, shop, db_path):
    before = dump(db_path)
    result = crm("campaign", "send", "Ramadan offer", "--yes")
    assert result.exit_code == 2 and "smtp_host" in result.stderr
    assert dump(db_path) == before


def test_missing_field_stops_before_anything_is_sent(crm, shop, smtp, db_path):
    crm.ok("contact", "edit", "Zaid", "--company", "")
    before = dump(db_path)
    result = crm("campaign", "send", "Ramadan offer", "--yes")
    assert result.exit_code == 2
    assert "contact 7 (Zaid) has no company for {company}" in result.stderr
    assert smtp.messages == [] and dump(db_path) == before


def test_dry_run_writes_eml_files_and_changes_nothing(crm, shop, db_path, tmp_path):
    before = dump(db_path)
    out = tmp_path / "out"
    result = crm.ok("campaign", "send", "Ramadan offer", "--dry-run", "--out", str(out))
    files = sorted(out.glob("*.eml"))
    assert [p.name for p in files] == [
        "000001-sara_example.com.eml",
        "000006-noor_example.com.eml",
        "000007-zaid_example.com.eml",
    ]
    assert result.stdout.splitlines() == [str(p) for p in files]
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["Subject"] == "عرض رمضان لـ سارة"
    assert message.get_content().startswith("السلام عليكم سارة،")
    assert dump(db_path) == before


def test_rate_limit_spaces_messages_without_sleeping(crm, shop, smtp, monkeypatch):
    clock = [100.0]
    slept = []

    def fake_sleep(seconds):
        slept.append(round(seconds, 6))
        clock[0] += seconds

    monkeypatch.setattr(campaigns, "_sleep", fake_sleep)
    monkeypatch.setattr(campaigns, "_monotonic", lambda: clock[0])
    crm.ok("campaign", "send", "Ramadan offer", "--yes", "--rate", "30")  # 30 per minute: one every 2 s
    assert slept == [2.0, 2.0]
    assert len(smtp.messages) == 3
    conn = sqlite3.connect(crm_db := __import__("os").environ["CRM_DB"])
    sent = [r[0] for r in conn.execute("SELECT sent_at FROM campaign_members WHERE status = 'sent' ORDER BY id")]
    conn.close()
    assert crm_db and sent == ["2026-11-22T09:00:00Z", "2026-11-22T09:00:02Z", "2026-11-22T09:00:04Z"]
    bad = crm("campaign", "send", "Ramadan offer", "--yes", "--rate", "0")
    assert bad.exit_code == 2 and "--rate" in bad.stderr


def test_other_channels_are_not_sent_by_email(crm, shop, smtp):
    crm.ok("campaign", "create", "Texts", "--channel", "sms", "--segment", "tag:vip", "--body", "hi")
    result = crm("campaign", "send", "Texts", "--yes")
    assert result.exit_code == 2 and "crm campaign export" in result.stderr
    assert smtp.messages == []


def test_on_a_terminal_it_asks_first(shop, smtp, db_path, monkeypatch):
    import io
    import sys

    from crm_cli import cli

    def run(answer: str) -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        return cli.run(["campaign", "send", "Ramadan offer"], stdin_isatty=True, stdout_isatty=False)

    before = dump(db_path)
    assert run("n\n") == 2
    assert smtp.messages == [] and dump(db_path) == before
    assert run("y\n") == 0
    assert len(smtp.messages) == 3


def test_a_connection_lost_mid_run_stops_and_leaves_the_member_unknown(crm, shop, smtp, db_path, monkeypatch):
    original = mail.Connection.send
    calls = []

    def drops_on_second(self, message):
        calls.append(1)
        if len(calls) == 2:
            raise mail.MailError("connection to the SMTP server was lost")
        return original(self, message)

    monkeypatch.setattr(mail.Connection, "send", drops_on_second)
    result = crm("campaign", "send", "Ramadan offer", "--yes")
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert "stopped after 1 sent" in last and "Noor Saleh is unknown" in last
    assert members(db_path) == {
        "sara@example.com": "sent",
        "noor@example.com": "sending",
        "zaid@example.com": "pending",
    }
