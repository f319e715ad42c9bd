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


def _bad_phones(conn: sqlite3.Connection, odd_phones: list[str] | None = None) -> dict[int, list[str]]:
    """contact id -> phone values that are not valid E.164 (older data, imports before validation).
    odd_phones: the primary phone values that may not be a handle's key (duplicates.survey().odd_phones;
    None: every primary phone)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    if odd_phones is None:
        odd_phones = [phone for (phone,) in cursor.execute("SELECT DISTINCT phone FROM contacts WHERE phone <> ''")]
    keys = set(odd_phones)
    keys.discard("")
    # The handles' keys are grouped by SQLite (one scan, no sort in Python).
    grouped = cursor.execute(
        "SELECT substr(key, 1, 4), length(key), group_concat(key, char(10)), instr(key, char(10)) > 0 "
        "FROM contact_handles WHERE type = 'phone' GROUP BY 1, 2, CASE WHEN instr(key, char(10)) THEN key END"
    ).fetchall()
    invalid = {key for key in _unsettled(keys, grouped) if not _valid_phone(key)}
    bad: dict[int, set[str]] = {}
    if invalid:
        for contact_id, key in cursor.execute(
            "SELECT contact_id, key FROM contact_handles "
            "WHERE type = 'phone' AND key IN (SELECT value FROM json_each(?)) "
            "UNION ALL SELECT id, phone FROM contacts WHERE phone <> '' AND phone IN (SELECT value FROM json_each(?))",
            (_json(sorted(invalid)),) * 2,
        ):
            bad.setdefault(contact_id, set()).add(key)
    return {contact_id: sorted(bad[contact_id]) for contact_id in sorted(bad)}


def _valid_phone(key: str) -> bool:
    import phonenumbers

    from crm_cli.importers import fast

    # The importer's fast path (proven to agree with phonenumbers) settles plain E.164 keys.
    if fast.phone(key, None) == key:
        return True
    if not key.startswith("+"):
        return False
    try:
        number = phonenumbers.parse(key, None)
        return phonenumbers.is_valid_number(number) and (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == key
        )
    except phonenumbers.NumberParseException:
        return False


_HEADS: dict[str, tuple | None] = {}
_PATTERN_CHARS = frozenset("0123456789[]{}()|?:\\d,-")


def _unsettled(keys: set[str], grouped: list | None = None) -> list[str]:
    """The keys _plain_e164() does not settle as valid. Keys of one calling code and length are checked
    together by one regular expression over their joined national numbers (100k phones: ~20 ms instead of
    ~150 ms); a group that does not fully match is checked key by key. grouped: more keys, as rows
    (key[:4], len(key), the keys joined by line breaks, 0) or a key holding a line break alone (…, key, 1)."""
    import re

    groups: dict[tuple[str, int], list[str]] = {}
    texts = []
    for key in keys:
        if "\n" in key:
            texts.append((key[:4], len(key), key, True))
        else:
            groups.setdefault((key[:4], len(key)), []).append(key)
    texts += [(head, length, "\n".join(group), False) for (head, length), group in groups.items()]
    texts += grouped or ()
    left = []
    for head, length, text, lone in texts:
        if lone:  # one key with a line break in it
            if not _plain_e164(text):
                left.append(text)
            continue
        entry = _HEADS.get(head, False)
        if entry is False:
            entry = _HEADS[head] = _e164_head(head[1:]) if head[:1] == "+" else None
        sample = text[:length]
        pattern = _group_pattern(entry, length - 1 - entry[0], sample) if entry and length <= 18 else None
        if pattern is not None:
            # every line starts with the same head (cut <= 4 characters): drop it from each
            cut = 1 + entry[0]
            national = ("\n" + text).replace("\n" + text[:cut], "\n")[1:] + "\n"
            if re.fullmatch(pattern, national, re.ASCII):  # \d: 0-9 only, like _plain_e164
                continue
        left.extend(key for key in text.split("\n") if not _plain_e164(key))
    return left


def _group_pattern(entry: tuple, size: int, sample: str) -> str | None:
    """A regex matching lines of national numbers of this size exactly when _plain_e164() holds for each:
    not starting with 0 or the national prefix, the general pattern and one type's pattern."""
    import re

    number, meta = entry
    if size < 2 or not _plain_e164(sample):  # also fills meta.by_length[size]
        return None
    combined = meta.by_length.get(size)
    if meta.general is None:
        return None
    lengths, general = meta.general
    if combined is None or (lengths and size not in lengths):
        return None
    parts = [general.pattern, combined.pattern] + ([meta.prefix_re.pattern] if meta.prefix_re else [])
    if not all(set(p) <= _PATTERN_CHARS for p in parts):
        return None  # only digit patterns: each line is matched on its own
    prefix = f"(?!{re.escape(meta.prefix)})" if meta.prefix else ""
    not_re = f"(?!(?:{meta.prefix_re.pattern}))" if meta.prefix_re else ""
    return f"(?:(?!0){prefix}{not_re}(?=(?:{general.pattern})\n)(?:{combined.pattern})\n)*"


def _plain_e164(key: str) -> bool:
    """True only when fast.phone(key, None) == key, for '+' and ASCII digits, with fast.phone's steps
    after the first digits were settled once per calling code (False = ask _valid_phone)."""
    head = key[:4]
    entry = _HEADS.get(head, False)
    if entry is False:
        entry = _HEADS[head] = _e164_head(head[1:]) if head[:1] == "+" else None
    if entry is None or len(key) > 18 or not (key.isascii() and key[1:].isdigit()):
        return False
    from crm_cli.importers import fast

    size, meta = entry
    nsn = key[1 + size :]
    return fast._plain_nsn(meta, nsn) and meta.valid(nsn)


def _e164_head(body: str) -> tuple | None:
    """fast.phone's calling code and region metadata for a number starting with these (up to 3) digits."""
    from crm_cli.importers import fast

    if not body or not (body.isascii() and body.isdigit()) or body[0] == "0":
        return None
    codes = fast._calling_codes()
    for size in (1, 2, 3):
        if int(body[:size]) in codes:
            break
    else:
        return None
    code = fast._single_region(int(body[:size]))
    meta = fast._region(code) if code is not None else None
    return (size, meta) if meta is not None else None


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
    facts = duplicates.survey(conn)
    invalid = len(_bad_phones(conn, facts.odd_phones))
    add("invalid_phones", "contacts with an invalid or unnormalised phone", invalid, None)
    add("duplicates", "likely duplicate pairs", duplicates.count(conn, facts=facts), None, "crm contact duplicates")
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
