"""Listings piped and --csv carry the currency beside every amount, as --json does."""

from __future__ import annotations


def test_log_list_csv_and_piped_have_currency_beside_amount(crm):
    crm.ok("contact", "add", "A", "--email", "a@x.com")
    crm.ok("log", "purchase", "1", "p1", "--amount", "50", "--currency", "SAR", "--at", "2026-11-20")
    crm.ok("log", "purchase", "1", "p2", "--amount", "50", "--currency", "USD", "--at", "2026-11-21")
    crm.ok("log", "call", "1", "hi", "--at", "2026-11-19")
    assert crm.ok("log", "list", "--csv").stdout.splitlines() == [
        "id,happened_at,contact,kind,summary,amount,currency,status,follow_up_at",
        "2,2026-11-20T21:00:00Z,A,purchase,p2,50,USD,,",
        "1,2026-11-19T21:00:00Z,A,purchase,p1,50,SAR,,",
        "3,2026-11-18T21:00:00Z,A,call,hi,,,,",
    ]
    assert crm.ok("log", "list").stdout.splitlines() == [
        "2\t2026-11-20T21:00:00Z\tA\tpurchase\tp2\t50\tUSD\t\t",
        "1\t2026-11-19T21:00:00Z\tA\tpurchase\tp1\t50\tSAR\t\t",
        "3\t2026-11-18T21:00:00Z\tA\tcall\thi\t\t\t\t",
    ]
    assert [(r["amount"], r["currency"]) for r in crm.ok("log", "list", "--json").json()[:2]] == [
        (50, "USD"),
        (50, "SAR"),
    ]
    terminal = crm.ok("log", "list", tty=True).stdout
    assert "50.00 USD" in terminal and "currency" not in terminal


def test_deal_list_csv_and_piped_carry_currency_and_every_json_field(crm):
    import csv
    import io

    crm.ok("contact", "add", "A", "--email", "a@x.com")
    crm.ok("contact", "add", "B", "--email", "b@x.com")
    crm.ok("deal", "add", "1", "Big", "--value", "1500", "--currency", "USD")
    crm.ok("deal", "add", "2", "Big2", "--value", "1500", "--currency", "SAR")
    header, first, second = crm.ok("deal", "list", "--csv").stdout.splitlines()
    assert header.startswith("id,title,contact,stage,value,currency,probability,weighted_value,")
    assert first.startswith("1,Big,A,lead,1500,USD,10,150,") and second.startswith("2,Big2,B,lead,1500,SAR,10,150,")
    rows = list(csv.DictReader(io.StringIO(crm.ok("deal", "list", "--csv").stdout)))
    docs = crm.ok("deal", "list", "--json").json()
    assert [set(r) for r in rows] == [set(d) for d in docs]
    assert [(r["contact_id"], r["status"], r["currency"]) for r in rows] == [("1", "open", "USD"), ("2", "open", "SAR")]
    piped = [line.split("\t") for line in crm.ok("deal", "list").stdout.splitlines()]
    assert [p[:6] for p in piped] == [
        ["1", "Big", "A", "lead", "1500", "USD"],
        ["2", "Big2", "B", "lead", "1500", "SAR"],
    ]
    assert [len(p) for p in piped] == [len(header.split(","))] * 2
    terminal = crm.ok("deal", "list", tty=True).stdout
    assert "USD" in terminal and "contact_id" not in terminal and "probability_override" not in terminal
