"""report campaign(s) --csv and piped: the JSON object's fields, flat, with the currency beside the money
figures and revenue in other currencies as one cell."""

from __future__ import annotations

import csv
import io

from tests.test_campaigns import create, shop  # noqa: F401  (the shop fixture)


def _campaign_with_revenue(crm, shop):  # noqa: F811
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    crm.ok("campaign", "respond", "Ramadan offer", "سارة", "opened")
    crm.ok("campaign", "respond", "Ramadan offer", "سارة", "purchased", "--amount", "500")
    crm.ok("campaign", "respond", "Ramadan offer", "Noor", "purchased", "--amount", "120", "--currency", "USD")
    crm.ok("campaign", "respond", "Ramadan offer", "Noor", "opened")
    crm.ok("log", "purchase", "Noor", "later", "--amount", "40", "--currency", "EUR")


def test_report_campaign_csv_mirrors_the_json(crm, shop):  # noqa: F811
    _campaign_with_revenue(crm, shop)
    doc = crm.ok("report", "campaign", "Ramadan offer", "--json").json()
    assert doc["revenue_other_currencies"] == [{"currency": "EUR", "amount": 40}, {"currency": "USD", "amount": 120}]
    (row,) = csv.DictReader(io.StringIO(crm.ok("report", "campaign", "Ramadan offer", "--csv").stdout))
    assert sorted(row) == sorted(doc)
    assert ",".join(row).startswith("campaign_id,name,channel,audience,excluded,sent,delivered,failed,open_rate,")
    assert ",conversions,revenue,currency,revenue_other_currencies,cost,cost_per_conversion," in ",".join(row)
    assert (row["revenue"], row["currency"], row["revenue_other_currencies"], row["cost"]) == (
        "500",
        "SAR",
        "40 EUR; 120 USD",
        "300",
    )
    assert row["status"] == doc["status"] and row["conversions"] == str(doc["conversions"])
    (line,) = crm.ok("report", "campaign", "Ramadan offer").stdout.splitlines()  # piped: no header
    assert dict(zip(row, line.split("\t"), strict=True)) == row


def test_report_campaigns_csv_and_piped_carry_the_currency(crm, shop):  # noqa: F811
    _campaign_with_revenue(crm, shop)
    create(crm, shop, "Second", "--currency", "USD")
    docs = crm.ok("report", "campaigns", "--json").json()
    rows = list(csv.DictReader(io.StringIO(crm.ok("report", "campaigns", "--csv").stdout)))
    assert [sorted(r) for r in rows] == [sorted(d) for d in docs]
    assert [(r["name"], r["revenue"], r["currency"], r["cost"]) for r in rows] == [
        ("Ramadan offer", "500", "SAR", "300"),
        ("Second", "0", "USD", "300"),
    ]
    piped = crm.ok("report", "campaigns").stdout.splitlines()
    assert [dict(zip(rows[0], line.split("\t"), strict=True)) for line in piped] == rows
    assert "excluded_dnc" not in crm.ok("report", "campaigns", tty=True).stdout  # the terminal table is unchanged
