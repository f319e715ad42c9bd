"""report campaign: the attribution window compares stored instants as text, and any other ISO form
(an offset, fractional seconds: older data, hand edits) as instants, with the same answer."""

import pytest

from tests.conftest import run_sql
from tests.test_campaigns import create, shop  # noqa: F401  (the shop fixture)


@pytest.mark.parametrize(
    ("members", "purchases"),
    [
        ("sent_at", "happened_at"),  # stored form everywhere: compared as text
        ("replace(sent_at, 'Z', '+00:00')", "happened_at"),
        ("sent_at", "replace(happened_at, 'Z', '.000+00:00')"),
        ("replace(sent_at, 'Z', '.5+00:00')", "replace(happened_at, 'Z', '+03:00')"),
    ],
)
def test_window_edges_in_any_iso_form(crm, shop, db_path, members, purchases):  # noqa: F811
    create(crm, shop)
    crm.ok("campaign", "launch", "Ramadan offer")
    for who in ("سارة", "Noor"):
        crm.ok("campaign", "respond", "Ramadan offer", who, "opened", now="2026-11-01T09:00:00Z")
    # exactly at the send, one second before the window closes, exactly when it closes
    crm.ok("log", "purchase", "سارة", "at send", "--amount", "10", "--at", "2026-11-01T09:00:00Z")
    crm.ok("log", "purchase", "سارة", "last second", "--amount", "20", "--at", "2026-12-01T08:59:59Z",
           now="2026-12-02T00:00:00Z")  # fmt: skip
    crm.ok("log", "purchase", "Noor", "too late", "--amount", "40", "--at", "2026-12-01T09:00:00Z",
           now="2026-12-02T00:00:00Z")  # fmt: skip
    run_sql(
        db_path,
        (f"UPDATE campaign_members SET sent_at = {members} WHERE sent_at IS NOT NULL", ()),
        (f"UPDATE interactions SET happened_at = {purchases} WHERE kind = 'purchase' AND summary <> 'earlier order'",
         ()),
    )  # fmt: skip
    doc = crm.ok("report", "campaign", "Ramadan offer", "--json", now="2026-12-12T00:00:00Z").json()
    if "+03:00" in purchases:  # 3 hours earlier: the first is before the send, Noor's inside the window
        assert (doc["conversions"], doc["revenue"]) == (2, 60)
    else:
        assert (doc["conversions"], doc["revenue"]) == (1, 30)
    both = crm.ok("report", "campaigns", "--json", now="2026-12-12T00:00:00Z").json()
    assert both[0]["conversions"] == doc["conversions"] and both[0]["revenue"] == doc["revenue"]
