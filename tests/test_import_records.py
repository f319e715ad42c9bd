"""crm log import and crm deal import."""

from __future__ import annotations

import pytest

from tests.conftest import dump


@pytest.fixture
def shop(crm):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "Sara Haddad", "--email", "sara@example.com")
    crm.ok("contact", "add", "Omar Farouk", "--phone", "0501112222")
    return crm


LOG_CSV = (
    "Email,Phone,Type,Date,Amount,Currency,Summary,Follow up\n"
    "sara@example.com,,purchase,03/11/2026,249.90,SAR,Order 1001,\n"
    ",٠٥٠١١١٢٢٢٢,call,2026-11-20 10:30,,,Asked about wholesale,25/11/2026\n"
    'SARA@example.com,,,15/10/2026,"1,200",SAR,Order 1002,\n'
)


def test_log_import(shop, tmp_path):
    source = tmp_path / "log.csv"
    source.write_text(LOG_CSV, encoding="utf-8")
    result = shop.ok("log", "import", str(source), "--json").json()
    assert (result["added"], result["skipped"]) == (3, 0)
    rows = shop.ok("log", "list", "--json").json()
    purchases = sorted(
        (r["summary"], r["amount"], r["currency"], r["happened_at"]) for r in rows if r["kind"] == "purchase"
    )
    assert purchases == [
        ("Order 1001", 249.9, "SAR", "2026-11-02T21:00:00Z"),  # 03/11 local midnight in Riyadh (dmy)
        ("Order 1002", 1200, "SAR", "2026-10-14T21:00:00Z"),
    ]
    call = next(r for r in rows if r["kind"] == "call")
    assert call["contact"] == "Omar Farouk" and call["follow_up_at"] == "2026-11-24T21:00:00Z"
    assert shop.ok("contact", "show", "sara@example.com", "--json").json()["status"] == "customer"
    again = shop.ok("log", "import", str(source), "--json").json()
    assert (again["added"], again["skipped"]) == (0, 3)


def test_log_import_refuses_unknown_contacts_and_bad_amounts(shop, tmp_path, db_path):
    source = tmp_path / "log.csv"
    source.write_text(
        "email,kind,amount,date\nsara@example.com,purchase,12.3456,2026-11-01\nnobody@example.com,call,,2026-11-01\n"
    )
    before = dump(db_path)
    result = shop("log", "import", str(source))
    assert result.exit_code == 2
    assert "line 2, amount: invalid amount '12.3456': at most three decimal places" in result.stderr
    assert (
        "line 3: no contact 'nobody@example.com'; import the contacts first or use --create-contacts" in result.stderr
    )
    assert dump(db_path) == before
    skipped = shop.ok("log", "import", str(source), "--skip-invalid", "--rejects", str(tmp_path / "r.csv"), "--json")
    assert skipped.json()["rejected"] == 2 and (tmp_path / "r.csv").exists()
    assert dump(db_path) != before  # an empty import is still one (empty) change
    created = tmp_path / "new.csv"
    created.write_text("email,kind,date\nnew@example.com,call,2026-11-01\n")
    shop.ok("log", "import", str(created), "--create-contacts")
    assert shop.ok("contact", "show", "new@example.com", "--json").json()["name"] == "new@example.com"


def test_log_import_mixed_date_orders_are_refused(shop, tmp_path):
    source = tmp_path / "log.csv"
    source.write_text("email,kind,date\nsara@example.com,call,13/01/2026\nsara@example.com,note,01/13/2026\n")
    result = shop("log", "import", str(source))
    assert result.exit_code == 2 and "mixes dd/mm and mm/dd dates" in result.stderr


def test_log_import_dry_run_writes_nothing(shop, tmp_path, db_path):
    source = tmp_path / "log.csv"
    source.write_text(LOG_CSV, encoding="utf-8")
    before = dump(db_path)
    result = shop.ok("log", "import", str(source), "--dry-run")
    assert "dry run, nothing written: added 3" in result.stderr
    assert dump(db_path) == before


def test_log_export_import_round_trip(shop, tmp_path):
    source = tmp_path / "log.csv"
    source.write_text(LOG_CSV, encoding="utf-8")
    shop.ok("log", "import", str(source))
    out = tmp_path / "out.csv"
    shop.ok("log", "export", "-o", str(out))
    fresh = tmp_path / "fresh.db"
    contacts = tmp_path / "c.csv"
    shop.ok("contact", "export", "-o", str(contacts))
    shop.ok("contact", "import", str(contacts), "--db", str(fresh))
    result = shop.ok("log", "import", str(out), "--db", str(fresh), "--json").json()
    assert result["added"] == 3

    def rows(*args):
        keep = ("contact", "kind", "summary", "happened_at", "amount", "currency", "follow_up_at")
        return sorted(tuple(r[k] for k in keep) for r in shop.ok("log", "list", "--json", *args).json())

    assert rows() == rows("--db", str(fresh))


def test_deal_import(shop, tmp_path):
    source = tmp_path / "deals.csv"
    source.write_text(
        "contact_email,title,value,currency,stage,expected_close,owner\n"
        "sara@example.com,Wholesale order,12000,SAR,proposal,2026-12-15,Huda\n"
        "sara@example.com,Old order,500,SAR,won,,\n"
        "0501112222,Lost one,100,SAR,lost,,\n"
    )
    # the third row names its contact by phone in the e-mail column: refused, nothing written
    assert shop("deal", "import", str(source)).exit_code == 2
    source.write_text(source.read_text().replace("0501112222,Lost", "sara@example.com,Lost"))
    result = shop.ok("deal", "import", str(source), "--json").json()
    assert result["added"] == 3
    deals = {d["title"]: d for d in shop.ok("deal", "export", "--format", "json").json()}
    assert deals["Wholesale order"]["stage"] == "proposal" and deals["Wholesale order"]["value"] == 12000
    assert deals["Wholesale order"]["expected_close"] == "2026-12-15" and deals["Wholesale order"]["owner"] == "Huda"
    assert deals["Old order"]["stage"] == "won" and deals["Lost one"]["lost_reason"] == "imported as lost"
    purchases = shop.ok("log", "list", "--kind", "purchase", "--json").json()
    assert [p["amount"] for p in purchases] == [500]  # a won deal is a purchase
    assert shop.ok("deal", "import", str(source), "--json").json()["skipped"] == 3


def test_deal_import_unknown_stage(shop, tmp_path, db_path):
    source = tmp_path / "deals.csv"
    source.write_text("email,title,stage\nsara@example.com,X,imaginary\n")
    before = dump(db_path)
    result = shop("deal", "import", str(source))
    assert result.exit_code == 2 and "line 2" in result.stderr and "imaginary" in result.stderr
    assert dump(db_path) == before


def test_vcard_is_not_a_log(shop, tmp_path):
    source = tmp_path / "x.vcf"
    source.write_text("BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n")
    result = shop("log", "import", str(source))
    assert result.exit_code == 2 and "vCard files hold contacts" in result.stderr
