"""The filter language: parse errors, each term's meaning, and hypothesis over the parser."""

from datetime import UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_cli import db, filters
from crm_cli.errors import CrmError


@pytest.fixture
def shop(crm):
    crm.ok(
        "contact", "add", "Amal", "--tag", "vip", "--city", "Riyadh", "--source", "Instagram", "--status", "customer"
    )
    crm.ok("contact", "add", "Badr", "--tag", "vip", "--tag", "cold", "--city", "Jeddah", "--email", "b@example.com")
    crm.ok("contact", "add", "Carla", "--city", "الرياض", "--company", "Acme", "--dnc", "--notes", "met at the fair")
    crm.ok("log", "purchase", "Amal", "one", "--amount", "600", "--at", "-200d")
    crm.ok("log", "purchase", "Amal", "two", "--amount", "500", "--at", "-190d")
    crm.ok("log", "call", "Badr", "hello", "--at", "-3d")


def names(crm, *expr):
    return [r["name"] for r in crm.ok("contact", "list", *expr, "--json").json()]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (["tag:vip"], ["Amal", "Badr"]),
        (["tag:vip", "-tag:cold"], ["Amal"]),
        (["tag:VIP,cold"], ["Amal", "Badr"]),
        (["status:customer"], ["Amal"]),
        (["city:riyadh"], ["Amal"]),
        (["city:Riyadh,Jeddah"], ["Amal", "Badr"]),
        (["source:instagram"], ["Amal"]),
        (["company:acme"], ["Carla"]),
        (["dnc:yes"], ["Carla"]),
        (["dnc:no"], ["Amal", "Badr"]),
        (["has:email"], ["Badr"]),
        (["-has:email"], ["Amal", "Carla"]),
        (["last-contact<7d"], ["Badr"]),
        (["last-contact>90d"], ["Amal", "Carla"]),  # never contacted counts as long ago
        (["last-purchase>180d"], ["Amal"]),
        (["last-purchase<180d"], []),
        (["orders>=2"], ["Amal"]),
        (["spent>=1000"], ["Amal"]),
        (["spent>=1100.01"], []),
        (["created>2026-11-21"], ["Amal", "Badr", "Carla"]),
        (["created<2026-11-22"], []),
        (["created<1d"], ["Amal", "Badr", "Carla"]),
        (["fair"], ["Carla"]),
        (["-fair"], ["Amal", "Badr"]),
        (["kind:organization"], ["Acme"]),
        (["met at"], ["Carla"]),
    ],
)
def test_terms(crm, shop, expr, expected):
    assert names(crm, *expr) == expected


def test_segments_can_be_used_as_terms(crm, shop, tmp_path):
    from crm_cli import env as envmod
    from crm_cli import segments

    conn = db.connect(tmp_path / "crm.db")
    with db.write(conn, "segment save"):
        segments.save(conn, "big", "spent>=1000", envmod.current().now)
    conn.close()
    assert names(crm, "segment:big") == ["Amal"]
    assert names(crm, "-segment:big", "tag:vip") == ["Badr"]
    missing = crm("contact", "list", "segment:nope")
    assert missing.exit_code == 3 and "no segment named 'nope'" in missing.stderr


@pytest.mark.parametrize(
    "expr",
    [
        "nosuchfield:1",
        "status:vip",
        "tag:",
        "orders>=many",
        "spent>=lots",
        "dnc:maybe",
        "name>3",
        "has:fax",
        "created:2026-01-01",
        "kind:robot",
        'tag:"unclosed',
    ],
)
def test_bad_terms_are_named(crm, expr):
    result = crm("contact", "list", expr)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=12),
            st.sampled_from(
                [
                    "tag:",
                    "-tag:",
                    "status:",
                    "city:",
                    "last-contact>",
                    "orders>=",
                    "spent>=",
                    "created<",
                    "segment:",
                    "has:",
                    "dnc:",
                ]
            ).flatmap(lambda k: st.text(max_size=8).map(lambda v: k + v)),
        ),
        max_size=4,
    )
)
def test_parser_and_builder_raise_only_documented_errors(tmp_path_factory, terms):
    from datetime import datetime

    conn = getattr(test_parser_and_builder_raise_only_documented_errors, "conn", None)
    if conn is None:
        conn = db.connect(tmp_path_factory.mktemp("f") / "f.db")
        test_parser_and_builder_raise_only_documented_errors.conn = conn
    try:
        where, params = filters.to_sql(filters.parse(terms), filters.Context(conn, datetime.now(UTC)))
        conn.execute(f"SELECT count(*) FROM contacts c WHERE {where}", params).fetchone()
    except CrmError:
        pass
