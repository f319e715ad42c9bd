"""Data quality: records that make other answers wrong or incomplete.

quality() returns one row per check: {check, label, count, filter, command}. `filter` is a
`crm contact list` filter when the check is expressible in the filter language (else null); `command`
always lists the records (`crm report quality --show CHECK` for the rest). records(check) is that list.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from crm_cli import settings
from crm_cli.db import utc_iso
from crm_cli.errors import InvalidInput

ALWAYS_SET = {"name", "status"}


def _required(conn: sqlite3.Connection) -> list[str]:
    value = settings.get(conn, "required_fields") or ""
    return [f for f in value.split(",") if f and f not in ALWAYS_SET]


def _filter_count(conn: sqlite3.Connection, expression: str, now: datetime) -> int:
    from crm_cli import filters

    where, params = filters.to_sql(filters.parse(expression), filters.Context(conn, now))
    return conn.execute(f"SELECT count(*) FROM contacts c WHERE {where}", params).fetchone()[0]


def _bad_phones(conn: sqlite3.Connection) -> dict[int, list[str]]:
    """contact id -> phone values that are not valid E.164 (older data, imports before validation)."""
    import phonenumbers

    from crm_cli.importers import fast

    bad: dict[int, list[str]] = {}
    seen: dict[str, bool] = {}
    rows = conn.execute(
        "SELECT contact_id, key FROM contact_handles WHERE type = 'phone' "
        "UNION SELECT id, phone FROM contacts WHERE phone IS NOT NULL AND phone <> ''"
    )
    for contact_id, key in rows:
        ok = seen.get(key)
        if ok is None:
            # The importer's fast path (proven to agree with phonenumbers) settles plain E.164 keys.
            ok = fast.phone(key, None) == key
            if not ok and key.startswith("+"):
                try:
                    number = phonenumbers.parse(key, None)
                    ok = phonenumbers.is_valid_number(number) and (
                        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == key
                    )
                except phonenumbers.NumberParseException:
                    ok = False
            seen[key] = ok
        if not ok:
            bad.setdefault(contact_id, []).append(key)
    return bad


def _incomplete_deals_sql() -> str:
    return """SELECT d.id, d.title, d.contact_id, c.name AS contact, d.value, d.currency, d.stage, d.expected_close
              FROM deals d JOIN contacts c ON c.id = d.contact_id
             WHERE d.stage IN (SELECT name FROM stages WHERE kind = 'open')
               AND (d.expected_close IS NULL OR d.expected_close = '' OR d.value = 0)
             ORDER BY d.id"""


def _overdue_sql() -> str:
    return """SELECT i.id, i.contact_id, c.name AS contact, i.kind, i.summary, i.follow_up_at
              FROM interactions i JOIN contacts c ON c.id = i.contact_id
             WHERE i.follow_up_at IS NOT NULL AND i.follow_up_done_at IS NULL AND i.follow_up_at < ?
             ORDER BY i.follow_up_at, i.id"""


def checks(conn: sqlite3.Connection) -> list[str]:
    return [
        "unreachable",
        *[f"missing_{f}" for f in _required(conn)],
        "invalid_phones",
        "duplicates",
        "incomplete_deals",
        "overdue_follow_ups",
    ]


def quality(conn: sqlite3.Connection, now: datetime) -> list[dict]:
    from crm_cli import duplicates

    rows = []

    def add(check: str, label: str, count: int, filter_: str | None, command: str | None = None) -> None:
        if command is None:
            command = f"crm contact list {filter_}" if filter_ else f"crm report quality --show {check}"
        rows.append({"check": check, "label": label, "count": count, "filter": filter_, "command": command})

    unreachable = "-has:email -has:phone dnc:no"
    add("unreachable", "people with no e-mail and no phone", _filter_count(conn, unreachable, now), unreachable)
    for field in _required(conn):
        expression = f"-has:{field}"
        add(
            f"missing_{field}",
            f"people missing required field {field}",
            _filter_count(conn, expression, now),
            expression,
        )
    add("invalid_phones", "contacts with an invalid or unnormalised phone", len(_bad_phones(conn)), None)
    pairs = duplicates.find(conn)
    add("duplicates", "likely duplicate pairs", len(pairs), None, "crm contact duplicates")
    deals = conn.execute(f"SELECT count(*) FROM ({_incomplete_deals_sql()})").fetchone()[0]
    add("incomplete_deals", "open deals without a close date or value", deals, None)
    overdue = conn.execute(f"SELECT count(*) FROM ({_overdue_sql()})", (utc_iso(now),)).fetchone()[0]
    add("overdue_follow_ups", "follow-ups past due", overdue, None, "crm log due")
    return rows


def records(conn: sqlite3.Connection, check: str, now: datetime) -> tuple[str, list[dict]]:
    """The records behind one check: (kind of record, rows)."""
    from crm_cli import contacts

    known = checks(conn)
    if check not in known:
        raise InvalidInput(f"unknown check {check!r}; choose one of: {', '.join(known)}")
    if check == "unreachable":
        return "contacts", list(contacts.list_contacts(conn, "-has:email -has:phone dnc:no", now=now))
    if check.startswith("missing_"):
        return "contacts", list(contacts.list_contacts(conn, f"-has:{check.removeprefix('missing_')}", now=now))
    if check == "invalid_phones":
        bad = _bad_phones(conn)
        result = []
        for row in conn.execute(
            "SELECT id, name FROM contacts WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (_json(sorted(bad)),),
        ):
            result.append({"id": row["id"], "name": row["name"], "phone": ", ".join(bad[row["id"]])})
        return "phones", result
    if check == "duplicates":
        from crm_cli import duplicates

        return "duplicates", duplicates.find(conn)
    if check == "incomplete_deals":
        from crm_cli.money import to_decimal

        return "deals", [dict(r) | {"value": to_decimal(r["value"])} for r in conn.execute(_incomplete_deals_sql())]
    return "follow_ups", [dict(r) for r in conn.execute(_overdue_sql(), (utc_iso(now),))]


def _json(value) -> str:
    import json

    return json.dumps(value)
