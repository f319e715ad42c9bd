"""`crm config`: settings live in the database file and are validated."""

import pytest

from tests.conftest import dump


def test_set_show_get_unset(crm):
    crm.ok("config", "set", "default_region", "sa")
    crm.ok("config", "set", "date_order", "mdy")
    crm.ok("config", "set", "cadence.VIP", "14d")
    rows = {r["key"]: r for r in crm.ok("config", "show", "--json").json()}
    assert rows["default_region"]["value"] == "SA" and rows["default_region"]["default"] is False
    assert rows["default_currency"] == {
        "key": "default_currency",
        "value": "USD",
        "default": True,
        "help": rows["default_currency"]["help"],
    }
    assert rows["cadence.vip"]["value"] == "14d"
    assert crm.ok("config", "get", "date_order").stdout == "mdy\n"
    crm.ok("config", "unset", "date_order")
    assert crm.ok("config", "get", "date_order").stdout == "dmy\n"


def test_date_order_changes_how_slash_dates_read(crm):
    crm.ok("contact", "add", "Sara")
    crm.ok("log", "call", "sara", "x", "--at", "03/04/2026")
    crm.ok("config", "set", "date_order", "mdy")
    crm.ok("log", "call", "sara", "y", "--at", "03/04/2026")
    rows = crm.ok("log", "list", "--json").json()
    assert [r["happened_at"][:10] for r in rows] == ["2026-04-02", "2026-03-03"]  # local midnight, UTC text


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("default_region", "Narnia", "unknown region"),
        ("default_currency", "riyals", "invalid currency"),
        ("date_order", "ymd", "choose one of: dmy, mdy"),
        ("smtp_port", "http", "invalid port"),
        ("smtp_security", "tls1.0", "choose one of"),
        ("smtp_from", "not an address", "invalid e-mail"),
        ("required_fields", "email,shoe_size", "unknown contact field"),
        ("cadence.vip", "soon", "invalid period"),
        ("favourite_colour", "blue", "unknown setting"),
    ],
)
def test_invalid_settings_are_refused(crm, db_path, key, value, message):
    crm.ok("contact", "add", "Seed")
    before = dump(db_path)
    result = crm("config", "set", key, value)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert dump(db_path) == before
