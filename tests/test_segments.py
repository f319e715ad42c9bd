"""Saved segments (`crm campaign segment …`) and the purchase terms campaigns target with."""

import sqlite3
import tempfile
from pathlib import Path

import pytest

from tests.conftest import dump

_BUILT: dict[str, Path] = {}


def cached_db(db_path: Path, build) -> None:
    """Run `build` once per test session and copy the database it made into each later test's
    db_path (the same rows every time; keeps the many bad-input tests fast)."""
    source = _BUILT.get(build.__name__)
    if source is None:
        build()
        source = _BUILT[build.__name__] = Path(tempfile.mkdtemp()) / "shop.db"
        src, dst = sqlite3.connect(db_path), sqlite3.connect(source)
    else:
        src, dst = sqlite3.connect(source), sqlite3.connect(db_path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture
def shop(crm, db_path):
    def segments_shop():
        crm.ok("config", "set", "default_currency", "SAR")
        crm.ok("contact", "add", "سارة الحداد", "--email", "sara@example.com", "--tag", "vip")
        crm.ok("contact", "add", "Omar", "--email", "omar@example.com", "--tag", "vip", "--dnc")
        crm.ok("contact", "add", "Laila", "--tag", "vip")
        crm.ok("contact", "add", "Old Customer", "--email", "old@example.com")
        crm.ok("contact", "add", "Never Bought", "--email", "new@example.com", "--status", "customer")
        crm.ok("log", "purchase", "سارة", "first", "--amount", "200", "--at", "-30d")
        crm.ok("log", "purchase", "سارة", "second", "--amount", "250.5", "--at", "-3d")
        crm.ok("log", "purchase", "Omar", "big", "--amount", "1500", "--at", "-200d")
        crm.ok("log", "purchase", "Laila", "usd", "--amount", "2000", "--currency", "USD", "--at", "-10d")
        crm.ok("log", "purchase", "Old Customer", "old", "--amount", "999.999", "--at", "-400d")

    cached_db(db_path, segments_shop)


def names(crm, *expr):
    return sorted(r["name"] for r in crm.ok("contact", "list", *expr, "--json").json())


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # a customer gone quiet: bought, but not in the last 180 days (never-bought is not dormant)
        ("last-purchase>180d", ["Old Customer", "Omar"]),
        ("last-purchase<7d", ["سارة الحداد"]),
        ("orders>=1", ["Laila", "Old Customer", "Omar", "سارة الحداد"]),
        ("orders>=2", ["سارة الحداد"]),
        ("orders=0", ["Never Bought"]),
        # spent sums the default currency only: Laila's 2000 USD is not 2000 SAR
        ("spent>=450.5", ["Old Customer", "Omar", "سارة الحداد"]),
        ("spent>=450.501", ["Old Customer", "Omar"]),
        ("spent>=1000", ["Omar"]),
        ("dnc:yes", ["Omar"]),
        ("dnc:no", ["Laila", "Never Bought", "Old Customer", "سارة الحداد"]),
        ("has:email", ["Never Bought", "Old Customer", "Omar", "سارة الحداد"]),
        ("tag:vip orders>=1 dnc:no has:email", ["سارة الحداد"]),
    ],
)
def test_purchase_terms(crm, shop, expr, expected):
    assert names(crm, *expr.split()) == expected


def test_save_list_show_and_use_a_segment(crm, shop):
    result = crm.ok("campaign", "segment", "save", "dormant", "status:customer last-purchase>180d")
    assert result.stdout.strip().isdigit()
    assert "2 contacts match" in result.stderr
    assert names(crm, "segment:dormant") == ["Old Customer", "Omar"]
    assert names(crm, "segment:dormant", "dnc:no") == ["Old Customer"]
    assert names(crm, "-segment:dormant", "orders>=1") == ["Laila", "سارة الحداد"]

    listed = crm.ok("campaign", "segment", "list", "--json").json()
    assert listed == [
        {
            "id": 1,
            "name": "dormant",
            "expr": "status:customer last-purchase>180d",
            "created_at": "2026-11-22T09:00:00Z",
            "updated_at": "2026-11-22T09:00:00Z",
            "contacts": 2,
        }
    ]
    assert crm.ok("campaign", "segment", "list").stdout == "1\tdormant\tstatus:customer last-purchase>180d\t2\n"

    shown = crm.ok("campaign", "segment", "show", "dormant", "--json").json()
    assert shown["expr"] == "status:customer last-purchase>180d"
    assert shown["contacts_count"] == 2
    assert [c["name"] for c in shown["contacts"]] == ["Omar", "Old Customer"]


def test_segments_nest_and_save_replaces(crm, shop):
    crm.ok("campaign", "segment", "save", "vip-buyers", "tag:vip orders>=1")
    crm.ok("campaign", "segment", "save", "reachable-vips", "segment:vip-buyers dnc:no has:email")
    assert names(crm, "segment:reachable-vips") == ["سارة الحداد"]
    again = crm.ok("campaign", "segment", "save", "vip-buyers", "tag:vip orders>=2")
    assert "replaced" in again.stderr
    assert names(crm, "segment:vip-buyers") == ["سارة الحداد"]
    assert len(crm.ok("campaign", "segment", "list", "--json").json()) == 2


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["save", "bad", "nosuchfield:1"], 2, "'nosuchfield:1'"),
        (["save", "bad", "orders>=many"], 2, "orders"),
        (["save", "bad", "spent>=12.3456"], 2, "three decimal"),
        (["save", "bad", "dnc:maybe"], 2, "dnc:yes"),
        (["save", "bad", "segment:nope"], 3, "no segment named 'nope'"),
        (["save", "has space", "tag:vip"], 2, "invalid segment name"),
        (["save", "loop", "segment:loop"], 2, "itself"),
        (["show", "nope"], 3, "no segment named 'nope'"),
        (["delete", "nope", "--yes"], 3, "no segment named 'nope'"),
    ],
)
def test_bad_segments_exit_with_one_line_and_change_nothing(crm, shop, db_path, args, code, needle):
    before = dump(db_path)
    result = crm("campaign", "segment", *args)
    assert result.exit_code == code, result.stderr
    assert needle in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert dump(db_path) == before


def test_delete_is_confirmed_and_guarded(crm, shop, db_path):
    crm.ok("campaign", "segment", "save", "vip-buyers", "tag:vip orders>=1")
    crm.ok("campaign", "segment", "save", "reachable", "segment:vip-buyers dnc:no")
    before = dump(db_path)
    refused = crm("campaign", "segment", "delete", "reachable")  # no tty, no --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    used = crm("campaign", "segment", "delete", "vip-buyers", "--yes")  # another segment uses it
    assert used.exit_code == 4 and "'reachable'" in used.stderr
    assert dump(db_path) == before

    crm.ok("campaign", "create", "Draft", "--segment", "segment:reachable")
    drafted = crm("campaign", "segment", "delete", "reachable", "--yes")
    assert drafted.exit_code == 4 and "'Draft'" in drafted.stderr

    crm.ok("campaign", "delete", "Draft", "--yes")
    crm.ok("campaign", "segment", "delete", "reachable", "--yes")
    assert [s["name"] for s in crm.ok("campaign", "segment", "list", "--json").json()] == ["vip-buyers"]
    gone = crm("contact", "list", "segment:reachable")
    assert gone.exit_code == 3


def test_campaign_audience_uses_the_segment_at_launch(crm, shop):
    crm.ok("campaign", "segment", "save", "vip-buyers", "tag:vip orders>=1")
    crm.ok("campaign", "create", "Offer", "--segment", "segment:vip-buyers", "--subject", "Hi", "--body", "x")
    # Redefining the segment before launch changes who gets it; after launch the audience is frozen.
    crm.ok("campaign", "segment", "save", "vip-buyers", "tag:vip")
    crm.ok("campaign", "launch", "Offer")
    shown = crm.ok("campaign", "show", "Offer", "--json").json()
    assert [m["contact"] for m in shown["members"]] == ["سارة الحداد"]
    assert (shown["excluded_dnc"], shown["excluded_no_email"]) == (1, 1)
    crm.ok("contact", "add", "Newcomer", "--email", "n@example.com", "--tag", "vip")
    assert crm.ok("campaign", "show", "Offer", "--json").json()["audience"] == 1
