"""Settings that belong to the data, kept in the database's `settings` table (`crm config`).

Each key has a validator that returns the canonical stored text or raises InvalidInput, and a default.
`cadence.<tag>` keys are a family: a stay-in-touch period for contacts carrying that tag.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from crm_cli.errors import InvalidInput


def _region(value: str) -> str:
    from crm_cli.contact_info import check_region

    return check_region(value)


def _currency(value: str) -> str:
    from crm_cli.money import parse_currency

    return parse_currency(value)


def _choice(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        v = value.strip().lower()
        if v not in choices:
            raise InvalidInput(f"invalid value {value!r}; choose one of: {', '.join(choices)}")
        return v

    return check


def _port(value: str) -> str:
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise InvalidInput(f"invalid port {value!r}; use a number between 1 and 65535")
    return str(int(value))


def _text(value: str) -> str:
    if not value.strip():
        raise InvalidInput("empty value; use `crm config unset KEY` to go back to the default")
    return value.strip()


def _email(value: str) -> str:
    from crm_cli.contact_info import normalize_email

    # Keep a display name if given ("Shop <shop@example.com>") but check the address.
    address = value.rsplit("<", 1)[-1].rstrip(">").strip()
    normalize_email(address)
    return value.strip()


def _fields(value: str) -> str:
    from crm_cli.contacts import FIELDS

    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        raise InvalidInput(f"unknown contact field {unknown[0]!r}; known: {', '.join(FIELDS)}")
    return ",".join(names)


def _period(value: str) -> str:
    from crm_cli.dates import parse_age

    parse_age(value)
    return value.strip().lower()


class Setting:
    """A key's validator, default and help (a plain class: dataclasses cost start-up time)."""

    __slots__ = ("check", "default", "help")

    def __init__(self, check: Callable[[str], str], default: str | None, help: str) -> None:
        self.check = check
        self.default = default
        self.help = help


KEYS: dict[str, Setting] = {
    "default_region": Setting(_region, None, "country for phones typed without +, e.g. SA"),
    "default_currency": Setting(_currency, "USD", "currency of amounts given without one"),
    "date_order": Setting(_choice("dmy", "mdy"), "dmy", "how 02/11/2026 reads: dmy or mdy"),
    "smtp_host": Setting(_text, None, "SMTP server (env CRM_SMTP_HOST)"),
    "smtp_port": Setting(_port, None, "SMTP port (env CRM_SMTP_PORT; default by security)"),
    "smtp_user": Setting(_text, None, "SMTP login (env CRM_SMTP_USER; password only via CRM_SMTP_PASSWORD)"),
    "smtp_security": Setting(_choice("starttls", "ssl", "none"), "starttls", "starttls, ssl or none"),
    "smtp_from": Setting(_email, None, "sender address (env CRM_SMTP_FROM)"),
    "required_fields": Setting(_fields, "", "contact fields report quality expects, e.g. email,phone"),
    "satisfaction_scale": Setting(_choice("csat", "nps"), "csat", "what --score means: csat (1-5) or nps (0-10)"),
}
FAMILIES: dict[str, Setting] = {
    "cadence.": Setting(_period, None, "stay-in-touch period for a tag, e.g. cadence.vip 14d"),
}


def _setting(key: str) -> Setting:
    if key in KEYS:
        return KEYS[key]
    for prefix, setting in FAMILIES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return setting
    raise InvalidInput(f"unknown setting {key!r}; known: {', '.join([*KEYS, 'cadence.<tag>'])}")


def get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else _setting(key).default


def set_value(conn: sqlite3.Connection, key: str, value: str) -> str:
    """Validate and store; returns the stored text. The caller holds the write transaction."""
    if key.startswith("cadence."):
        from crm_cli.text import normalize

        key = "cadence." + normalize(key.removeprefix("cadence."))
    stored = _setting(key).check(value)
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, stored),
    )
    return stored


def unset(conn: sqlite3.Connection, key: str) -> bool:
    _setting(key)
    return conn.execute("DELETE FROM settings WHERE key = ?", (key,)).rowcount > 0


def all_settings(conn: sqlite3.Connection) -> list[dict]:
    stored = {row[0]: row[1] for row in conn.execute("SELECT key, value FROM settings ORDER BY key")}
    rows = [
        {"key": k, "value": stored.get(k, s.default), "default": k not in stored, "help": s.help}
        for k, s in KEYS.items()
    ]
    rows += [
        {"key": k, "value": v, "default": False, "help": _setting(k).help} for k, v in stored.items() if k not in KEYS
    ]
    return rows


def date_order(conn: sqlite3.Connection) -> str:
    return get(conn, "date_order") or "dmy"


def default_currency(conn: sqlite3.Connection) -> str:
    return get(conn, "default_currency") or "USD"


def default_region(conn: sqlite3.Connection) -> str | None:
    return get(conn, "default_region")
