"""crm contact|log|deal export: formats, spreadsheet safety, Excel, file modes, streaming."""

from __future__ import annotations

import csv
import io
import json
import stat

import pytest


@pytest.fixture
def filled(crm):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", '=HYPERLINK("x")', "--email", "evil@example.com", "--notes", "@SUM(A1)")
    crm.ok(
        "contact", "add", "سارة الحداد", "--email", "sara@example.com", "--phone", "0501234567", "--tag", "vip",
        "--field", "size=M", "--company", "Acme", "--city", "Riyadh",
    )  # fmt: skip
    crm.ok("log", "purchase", "sara@example.com", "Order", "--amount", "249.905", "--currency", "KWD")
    crm.ok("log", "call", "sara@example.com", "--follow-up", "tomorrow", "--", "-tricky summary")
    return crm


def test_contact_csv_is_spreadsheet_safe(filled):
    out = filled.ok("contact", "export").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    evil = next(r for r in rows if r["email"] == "evil@example.com")
    assert evil["name"] == '\'=HYPERLINK("x")' and evil["notes"] == "'@SUM(A1)"
    sara = next(r for r in rows if r["email"] == "sara@example.com")
    assert sara["phone"] == "'+966501234567" and sara["tags"] == "vip" and sara["field:size"] == "M"
    assert not out.startswith("\ufeff") and "\r\n" not in out
    raw = filled.ok("contact", "export", "--raw").stdout
    assert "=HYPERLINK" in raw and "'=HYPERLINK" not in raw and ",+966501234567," in raw


def test_excel_csv_has_bom_and_crlf(filled, tmp_path):
    target = tmp_path / "excel.csv"
    result = filled.ok("contact", "export", "--excel", "-o", str(target))
    assert result.stdout == "" and "exported 2 contacts" in result.stderr
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert "سارة الحداد".encode() in data
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_contact_json_ndjson_vcard(filled):
    docs = filled.ok("contact", "export", "tag:vip", "--format", "json").json()
    assert [d["name"] for d in docs] == ["سارة الحداد"]
    assert docs[0]["emails"] == ["sara@example.com"] and docs[0]["fields"] == {"size": "M"}
    lines = filled.ok("contact", "export", "--format", "ndjson").stdout.splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["name"] == '=HYPERLINK("x")'  # JSON is never altered
    card = filled.ok("contact", "export", "tag:vip", "--format", "vcard").stdout
    assert card.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:سارة الحداد\r\n")
    assert "TEL;TYPE=PREF:+966501234567\r\n" in card and "CATEGORIES:vip\r\n" in card
    assert all(len(line.encode()) <= 75 for line in card.split("\r\n"))
    assert filled.ok("contact", "export", "--format", "json", "tag:nobody").stdout == "[]\n"


def test_log_export_exact_money(filled):
    rows = filled.ok("log", "export", "--format", "json").json()
    purchase = next(r for r in rows if r["kind"] == "purchase")
    assert purchase["amount"] == 249.905 and purchase["currency"] == "KWD"
    text = filled.ok("log", "export", "--format", "csv").stdout
    assert ",249.905,KWD," in text and "'-tricky summary" in text
    nd = filled.ok("log", "export", "--format", "ndjson", "--kind", "call").stdout.splitlines()
    assert len(nd) == 1 and json.loads(nd[0])["summary"] == "-tricky summary"


def test_log_export_ics(filled, tmp_path):
    target = tmp_path / "followups.ics"
    filled.ok("log", "export", "--format", "ics", "-o", str(target))
    data = target.read_bytes()
    assert data.startswith(b"BEGIN:VCALENDAR") and b"BEGIN:VEVENT" in data
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_deal_export(filled):
    filled.ok("deal", "add", "sara@example.com", "Wholesale", "--value", "12000.5", "--currency", "SAR",
              "--close", "2026-12-15")  # fmt: skip
    rows = filled.ok("deal", "export", "--format", "json").json()
    assert rows[0]["value"] == 12000.5 and rows[0]["contact_email"] == "sara@example.com"
    ics = filled.ok("deal", "export", "--format", "ics").stdout
    assert "BEGIN:VEVENT" in ics and "20261215" in ics


def test_bad_export_options(filled, tmp_path):
    for args, message in [
        (["contact", "export", "--format", "xml"], "invalid --format"),
        (["log", "export", "--format", "vcard"], "invalid --format"),
        (["contact", "export", "colour:red"], "unknown filter term"),
        (["log", "export", "--kind", "fax"], "invalid --kind"),
        (["contact", "export", "-o", str(tmp_path / "missing" / "x.csv")], "cannot write"),
        (["export"], "crm export needs --all"),
    ]:
        result = filled(*args)
        assert result.exit_code == 2, args
        assert message in result.stderr


def test_export_streams_from_the_cursor(crm, tmp_path, db_path):
    """Many interactions export without building a list (generator all the way)."""
    import sqlite3

    crm.ok("contact", "add", "A", "--email", "a@example.com")
    conn = sqlite3.connect(db_path)
    conn.execute(
        """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
           INSERT INTO interactions (contact_id, kind, summary, happened_at, amount, currency, created_at)
           SELECT 1, 'purchase', 'o' || i, '2026-01-01T00:00:00Z', i, 'SAR', '2026-01-01T00:00:00Z' FROM n"""
    )
    conn.commit()
    target = tmp_path / "log.ndjson"
    crm.ok("log", "export", "--format", "ndjson", "-o", str(target))
    lines = target.read_text().splitlines()
    assert len(lines) == 20000 and json.loads(lines[-1])["amount"] == 20


def test_export_json_routes_one_reference_to_the_subject_export_and_filters_to_a_list(crm):
    crm.ok("contact", "add", "Sara", "--email", "s@example.com", "--tag", "vip")
    crm.ok("contact", "add", "Omar")
    person = crm.ok("contact", "export", "sara", "--json").json()
    assert person["contact"]["name"] == "Sara" and "interactions" in person
    listed = crm.ok("contact", "export", "tag:vip", "--json").json()
    assert [c["name"] for c in listed] == ["Sara"]
    negated = crm.ok("contact", "export", "-tag:vip", "--format", "json").json()
    assert [c["name"] for c in negated] == ["Omar"]
    missing = crm("contact", "export", "nobody", "--json")
    assert missing.exit_code == 3 and missing.stdout == ""
