"""Contacts: people and organisations, their handles (e-mails, phones), tags and custom fields.

Every function takes an open connection; writers expect the caller's db.write() transaction.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from crm_cli import settings
from crm_cli.db import utc_iso
from crm_cli.errors import Ambiguous, Conflict, InvalidInput, NotFound
from crm_cli.text import clean, normalize

STATUSES = ("lead", "prospect", "customer", "inactive")
# Fields a user can require (config required_fields) and edit by name.
FIELDS = (
    "name",
    "email",
    "phone",
    "company",
    "title",
    "address",
    "city",
    "country",
    "source",
    "status",
    "notes",
    "birthday",
    "tags",
)
TEXT_FIELDS = ("company", "title", "address", "city", "country", "notes", "birthday")
# Longest value a contact may hold, in characters. Longer is a broken file or a paste gone wrong, not a
# contact: the importer refuses such a cell, so add and edit refuse it too (crm re-imports its own export).
MAX_VALUE = 500  # a name, e-mail, phone, company, title, address, city, country, tag, status, source …
MAX_TEXT = 65_536  # notes and custom fields (64 Ki)
_FIELD_KEY = r"[A-Za-z_\u0600-\u06ff][\w\u0600-\u06ff .-]{0,62}"  # compiled on first use (start-up)

SELECT = """
    SELECT c.*,
           (SELECT group_concat(t.tag, ',') FROM tags t WHERE t.contact_id = c.id) AS tag_list,
           (SELECT max(i.happened_at) FROM interactions i WHERE i.contact_id = c.id) AS last_contact_at
    FROM contacts c
"""


# ---------------------------------------------------------------------------------------------
# Keys


def search_text(name: str, email: str | None, company: str | None, notes: str | None) -> str:
    """What FTS5 indexes: normalised, plus Arabic words without their article (الحداد -> حداد)."""
    text = normalize(" ".join(x for x in (name, email, company, notes) if x))
    extra = [w[2:] for w in text.split() if w.startswith("ال") and len(w) > 3]
    return " ".join([text, *extra])


def too_long(size: int, limit: int) -> str:
    return f"a value of {size:,} characters, more than the {limit:,} allowed"


def check_size(field: str, value: str | None, limit: int = MAX_VALUE) -> None:
    """InvalidInput naming `field` when value is longer than `limit` characters (MAX_VALUE, MAX_TEXT)."""
    if value is not None and len(value) > limit:
        raise InvalidInput(f"{field}: {too_long(len(value), limit)}; shorten it")


def _limit(key: str) -> int:
    return MAX_TEXT if key == "notes" else MAX_VALUE


def parse_birthday(raw: str | None, now: datetime, order: str) -> str | None:
    """A birthday as stored: ISO YYYY-MM-DD, or --MM-DD when the year is not known (vCard's form); None
    for blank. Reads 1990-03-15, 19900315, 15/03/1990 in the configured date order (dates.parse_date),
    a month name with a year (15 March 1990), Arabic digits; anything else, an impossible day, a year
    before 1900 (Hijri) or a day after today is InvalidInput."""
    from crm_cli.text import ascii_digits, strip_invisible

    text = ascii_digits(strip_invisible(raw or "")).strip()
    if not text:
        return None
    m = re.fullmatch(r"--(\d{2})-?(\d{2})", text)
    if m:
        try:
            date(2000, int(m[1]), int(m[2]))  # a leap year: --02-29 is a birthday
        except ValueError:
            raise InvalidInput(f"invalid birthday {raw!r}: no such day; write --MM-DD, e.g. --03-15") from None
        return f"--{m[1]}-{m[2]}"
    from crm_cli.dates import local_now, parse_date

    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})(?:[T ].*)?", text)
    if m:
        text = f"{m[1]}-{m[2]}-{m[3]}"
    elif not (
        re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}", text)
        or re.search(r"[^\W\d_]{3}.*\d{4}|\d{4}.*[^\W\d_]{3}", text)  # 15 March 1990
    ):
        raise InvalidInput(f"invalid birthday {raw!r}; {_birthday_hint(order)}")
    try:
        day = parse_date(text, now, order)
    except InvalidInput as exc:
        if exc.message.startswith("cannot read"):
            raise InvalidInput(f"invalid birthday {raw!r}; {_birthday_hint(order)}") from None
        message = exc.message.replace("date '", "birthday '", 1)
        raise InvalidInput(message if ";" in message else f"{message}; {_birthday_hint(order)}") from None
    if day > local_now(now).date():
        raise InvalidInput(f"invalid birthday {raw!r}: {day.isoformat()} is after today")
    return day.isoformat()


def _birthday_hint(order: str) -> str:
    example = "15/03/1990" if order == "dmy" else "03/15/1990"
    return f"write 1990-03-15, {example}, or --03-15 when the year is not known"


def parse_every(raw: str | None) -> int | None:
    """`--every 14d` -> 14 (days); `none`/`off` clears."""
    if raw is None:
        return None
    from crm_cli.dates import parse_age

    if raw.strip().lower() in ("none", "off", "never", "0"):
        return 0
    return max(1, parse_age(raw).days)


def _status(value: str) -> str:
    v = (value or "").strip().lower()
    if v not in STATUSES:
        raise InvalidInput(f"invalid status {value!r}; choose one of: {', '.join(STATUSES)}")
    return v


def _tag(value: str) -> str:
    tag = normalize(value).replace(" ", "-")
    if not tag or "," in tag:
        raise InvalidInput(f"invalid tag {value!r}; a tag is one word (no commas)")
    return tag


def parse_fields(pairs: Iterable[str]) -> dict[str, str | None]:
    """`--field key=value` (empty value removes the field on edit)."""
    result: dict[str, str | None] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(_FIELD_KEY, key):
            raise InvalidInput(f"invalid --field {pair!r}; use key=value, e.g. --field birthday_gift=yes")
        result[key] = clean(value)
    return result


# ---------------------------------------------------------------------------------------------
# Handles


def email_key(raw: str) -> str:
    from crm_cli.contact_info import normalize_email

    return normalize_email(raw)


def phone_key(conn: sqlite3.Connection, raw: str, country: str | None = None) -> str:
    """E.164 of a phone; one typed without + is read in default_region, else in the contact's country."""
    from crm_cli.contact_info import normalize_phone, region_of_country

    region = settings.default_region(conn)
    if region is None and country and not raw.lstrip().startswith("+"):
        region = region_of_country(country)
    return normalize_phone(raw, region).e164


def _owner_of(conn: sqlite3.Connection, kind: str, key: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT c.id, c.name FROM contact_handles h JOIN contacts c ON c.id = h.contact_id "
        "WHERE h.type = ? AND h.key = ?",
        (kind, key),
    ).fetchone()


def _claim(conn: sqlite3.Connection, contact_id: int, kind: str, value: str, key: str, primary: bool) -> None:
    owner = _owner_of(conn, kind, key)
    if owner and owner["id"] != contact_id:
        what = "e-mail" if kind == "email" else "phone"
        raise Conflict(
            f"{what} {key} already belongs to contact {owner['id']} ({owner['name']}); "
            f"edit that contact or use `crm contact merge`"
        )
    if owner:
        conn.execute(
            "UPDATE contact_handles SET is_primary = ?, value = ? WHERE type = ? AND key = ?",
            (int(primary), value, kind, key),
        )
    else:
        conn.execute(
            "INSERT INTO contact_handles (contact_id, type, value, key, is_primary) VALUES (?, ?, ?, ?, ?)",
            (contact_id, kind, value, key, int(primary)),
        )
    if primary:
        conn.execute(
            "UPDATE contact_handles SET is_primary = 0 WHERE contact_id = ? AND type = ? AND key <> ?",
            (contact_id, kind, key),
        )
        conn.execute(f"UPDATE contacts SET {kind} = ? WHERE id = ?", (key, contact_id))


def _replace_primary(conn: sqlite3.Connection, contact_id: int, kind: str, new_key: str) -> None:
    """`contact edit --email` replaces the primary address (secondary ones, e.g. from a merge, stay)."""
    conn.execute(
        "DELETE FROM contact_handles WHERE contact_id = ? AND type = ? AND is_primary = 1 AND key <> ?",
        (contact_id, kind, new_key),
    )


def _refresh_search(conn: sqlite3.Connection, contact_id: int) -> None:
    row = conn.execute("SELECT name, email, company, notes FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    conn.execute(
        "UPDATE contacts SET name_key = ?, search_text = ? WHERE id = ?",
        (normalize(row["name"]), search_text(*row), contact_id),
    )


def ensure_org(conn: sqlite3.Connection, company: str, now: datetime) -> int:
    """The organisation contact named `company`, created if missing (a company is a record, not text)."""
    key = normalize(company)
    row = conn.execute(
        "SELECT id FROM contacts WHERE kind = 'organization' AND name_key = ? ORDER BY id LIMIT 1", (key,)
    ).fetchone()
    if row:
        return row[0]
    return add(conn, name=company, kind="organization", now=now, link_company=False)


# ---------------------------------------------------------------------------------------------
# Writes


def add(
    conn: sqlite3.Connection,
    *,
    name: str,
    now: datetime,
    email: str | None = None,
    phone: str | None = None,
    status: str | None = None,
    source: str | None = None,
    tags: Iterable[str] = (),
    fields: dict[str, str | None] | None = None,
    dnc: bool = False,
    every: str | None = None,
    kind: str = "person",
    link_company: bool = True,
    **text: str | None,
) -> int:
    """Create a contact; returns its id. Raises InvalidInput / Conflict before anything is kept."""
    name = clean(name)
    if not name:
        raise InvalidInput('a contact needs a name; e.g. crm contact add "Sara Haddad"')
    check_size("name", name)
    unknown = set(text) - set(TEXT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown contact field {sorted(unknown)[0]!r}")
    values = {k: clean(v) for k, v in text.items()}
    tags = list(tags)
    for key, value in values.items():
        check_size(key, value, _limit(key))
    for key, value in (("email", email), ("phone", phone), ("source", source), *(("tag", t) for t in tags)):
        check_size(key, value)
    for key, value in (fields or {}).items():
        check_size(f"field {key}", value, MAX_TEXT)
    if values.get("birthday"):
        values["birthday"] = parse_birthday(values["birthday"], now, settings.date_order(conn))
    every_days = parse_every(every) or None
    stamp = utc_iso(now)
    email_norm = email_key(email) if email else None
    phone_norm = phone_key(conn, phone, values.get("country")) if phone else None
    custom = {k: v for k, v in (fields or {}).items() if v is not None}
    contact_id = conn.execute(
        """INSERT INTO contacts (kind, name, company, title, address, city, country, source, status, dnc,
                                 notes, custom, every_days, birthday, name_key, search_text,
                                 created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            kind,
            name,
            values.get("company"),
            values.get("title"),
            values.get("address"),
            values.get("city"),
            values.get("country"),
            normalize(source) or None,
            _status(status) if status else "lead",
            int(bool(dnc)),
            values.get("notes"),
            _json_text(custom),
            every_days,
            values.get("birthday"),
            normalize(name),
            "",
            stamp,
            stamp,
        ),
    ).lastrowid
    if email_norm:
        _claim(conn, contact_id, "email", email_norm, email_norm, True)
    if phone_norm:
        _claim(conn, contact_id, "phone", phone, phone_norm, True)
    for tag in tags:
        conn.execute("INSERT OR IGNORE INTO tags (contact_id, tag) VALUES (?, ?)", (contact_id, _tag(tag)))
    if link_company and values.get("company"):
        org = ensure_org(conn, values["company"], now)
        conn.execute("UPDATE contacts SET org_id = ? WHERE id = ?", (org, contact_id))
    _refresh_search(conn, contact_id)
    return contact_id


def _json_text(custom: dict) -> str:
    if not custom:
        return "{}"  # json.dumps({}), without importing json for the usual contact
    import json

    return json.dumps(custom, ensure_ascii=False)


def update(
    conn: sqlite3.Connection,
    contact_id: int,
    *,
    now: datetime,
    changes: dict[str, str | None] | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    fields: dict[str, str | None] | None = None,
) -> list[str]:
    """Apply changes to a contact; returns the names of what changed."""
    current = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if current is None:
        raise NotFound(f"no contact with id {contact_id}")
    changed: list[str] = []
    sets: dict[str, object] = {}
    add_tags = list(add_tags)
    for key, value in (changes or {}).items():
        if isinstance(value, str):
            check_size(key, clean(value) if key == "name" or key in TEXT_FIELDS else value, _limit(key))
    for tag in add_tags:
        check_size("tag", tag)
    for key, value in (fields or {}).items():
        check_size(f"field {key}", value, MAX_TEXT)
    for key, value in (changes or {}).items():
        if key == "name":
            value = clean(value)
            if not value:
                raise InvalidInput("a contact's name cannot be empty")
            sets["name"] = value
        elif key == "birthday":
            sets[key] = parse_birthday(value, now, settings.date_order(conn))
        elif key in TEXT_FIELDS:
            sets[key] = clean(value)
        elif key == "status":
            sets["status"] = _status(value)
        elif key == "source":
            sets["source"] = normalize(value) or None
        elif key == "dnc":
            sets["dnc"] = int(bool(value))
        elif key == "every":
            days = parse_every(value)
            sets["every_days"] = days or None
        elif key == "email":
            if value:
                key_ = email_key(value)
                _replace_primary(conn, contact_id, "email", key_)
                _claim(conn, contact_id, "email", key_, key_, True)
            else:
                conn.execute("DELETE FROM contact_handles WHERE contact_id = ? AND type = 'email'", (contact_id,))
                sets["email"] = None
            changed.append("email")
        elif key == "phone":
            if value:
                country = clean(changes["country"]) if "country" in changes else current["country"]
                key_ = phone_key(conn, value, country)
                _replace_primary(conn, contact_id, "phone", key_)
                _claim(conn, contact_id, "phone", value, key_, True)
            else:
                conn.execute("DELETE FROM contact_handles WHERE contact_id = ? AND type = 'phone'", (contact_id,))
                sets["phone"] = None
            changed.append("phone")
        else:
            raise InvalidInput(f"unknown contact field {key!r}")
    for key, value in sets.items():
        if current[key] != value or key in ("email", "phone"):
            conn.execute(f"UPDATE contacts SET {key} = ? WHERE id = ?", (value, contact_id))
            if key not in changed:
                changed.append(key)
    if "company" in sets and sets["company"] and current["kind"] == "person":
        conn.execute(
            "UPDATE contacts SET org_id = ? WHERE id = ?", (ensure_org(conn, sets["company"], now), contact_id)
        )
    elif "company" in sets and not sets["company"]:
        conn.execute("UPDATE contacts SET org_id = NULL WHERE id = ?", (contact_id,))
    for tag in add_tags:
        if conn.execute("INSERT OR IGNORE INTO tags (contact_id, tag) VALUES (?, ?)", (contact_id, _tag(tag))).rowcount:
            changed.append(f"+tag:{_tag(tag)}")
    for tag in remove_tags:
        if conn.execute("DELETE FROM tags WHERE contact_id = ? AND tag = ?", (contact_id, _tag(tag))).rowcount:
            changed.append(f"-tag:{_tag(tag)}")
    if fields:
        import json

        custom = json.loads(current["custom"] or "{}")
        for k, v in fields.items():
            if v is None:
                custom.pop(k, None)
            else:
                custom[k] = v
        conn.execute(
            "UPDATE contacts SET custom = ? WHERE id = ?", (json.dumps(custom, ensure_ascii=False), contact_id)
        )
        changed.append("fields")
    if changed:
        conn.execute("UPDATE contacts SET updated_at = ? WHERE id = ?", (utc_iso(now), contact_id))
        _refresh_search(conn, contact_id)
    return changed


def delete(conn: sqlite3.Connection, contact_id: int) -> None:
    """Delete a contact with its log, deals and memberships (ON DELETE CASCADE)."""
    if conn.execute("DELETE FROM contacts WHERE id = ?", (contact_id,)).rowcount == 0:
        raise NotFound(f"no contact with id {contact_id}")


def set_status(conn: sqlite3.Connection, contact_id: int, status: str, now: datetime) -> bool:
    """Move a contact to `status` (e.g. a won deal makes a customer); True when it changed."""
    return bool(
        conn.execute(
            "UPDATE contacts SET status = ?, updated_at = ? WHERE id = ? AND status <> ?",
            (_status(status), utc_iso(now), contact_id, status),
        ).rowcount
    )


# ---------------------------------------------------------------------------------------------
# Reads


def record(row: sqlite3.Row, handles: list[sqlite3.Row] | None = None) -> dict:
    """A contacts row (from SELECT) -> the documented JSON shape."""
    import json

    data = dict(row)
    result = {
        "id": data["id"],
        "kind": data["kind"],
        "name": data["name"],
        "email": data["email"],
        "phone": data["phone"],
        "company": data["company"],
        "org_id": data["org_id"],
        "title": data["title"],
        "address": data["address"],
        "city": data["city"],
        "country": data["country"],
        "source": data["source"],
        "status": data["status"],
        "dnc": bool(data["dnc"]),
        "tags": sorted((data.get("tag_list") or "").split(",")) if data.get("tag_list") else [],
        "notes": data["notes"],
        "fields": json.loads(data["custom"] or "{}"),
        "every_days": data["every_days"],
        "birthday": data["birthday"],
        "last_contact_at": data.get("last_contact_at"),
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
    }
    if handles is not None:
        result["emails"] = [h["key"] for h in handles if h["type"] == "email"]
        result["phones"] = [h["key"] for h in handles if h["type"] == "phone"]
    return result


# record()'s keys in order (list_contacts builds the same records from plain tuples).
_ORDER = [
    "id",
    "kind",
    "name",
    "email",
    "phone",
    "company",
    "org_id",
    "title",
    "address",
    "city",
    "country",
    "source",
    "status",
    "dnc",
    "tags",
    "notes",
    "fields",
    "every_days",
    "birthday",
    "last_contact_at",
    "created_at",
    "updated_at",
]


def get(conn: sqlite3.Connection, contact_id: int) -> dict:
    row = conn.execute(SELECT + " WHERE c.id = ?", (contact_id,)).fetchone()
    if row is None:
        raise NotFound(f"no contact with id {contact_id}")
    handles = conn.execute(
        "SELECT type, key FROM contact_handles WHERE contact_id = ? ORDER BY is_primary DESC, id", (contact_id,)
    ).fetchall()
    return record(row, handles)


SORTS = {
    "id": "c.id",
    "name": "c.name_key, c.id",
    "created": "c.created_at DESC, c.id DESC",
    "updated": "c.updated_at DESC, c.id DESC",
    "last-contact": "last_contact_at DESC NULLS LAST, c.id",
}


def _list_sql(conn: sqlite3.Connection, expression, now: datetime, limit: int | None, sort: str, select: str):
    from crm_cli import filters

    if sort not in SORTS:
        raise InvalidInput(f"invalid sort {sort!r}; choose one of: {', '.join(SORTS)}")
    where, params = filters.to_sql(filters.parse(expression), filters.Context(conn, now))
    sql = f"{select} WHERE {where} ORDER BY {SORTS[sort]}"
    if limit is not None:
        if limit < 1:  # 0 listed nothing, silently: as pointless as a negative number
            raise InvalidInput(f"invalid --limit {limit}; use a positive number (1 or more), or leave it out for all")
        sql += f" LIMIT {int(limit)}"
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: dict(sqlite3.Row) per row was a third of the command's time
    cursor.execute(sql, params)
    return cursor


def list_contacts(
    conn: sqlite3.Connection, expression, *, now: datetime, limit: int | None = None, sort: str = "id"
) -> Iterator[dict]:
    cursor = _list_sql(conn, expression, now, limit, sort, SELECT)
    names = [d[0] for d in cursor.description]
    at = {name: n for n, name in enumerate(names)}
    tags, custom, dnc = at["tag_list"], at["custom"], at["dnc"]
    columns = [(key, {"tags": tags, "fields": custom}.get(key, at.get(key))) for key in _ORDER]
    from json import loads

    for row in cursor:
        result = {key: row[n] for key, n in columns}  # record()'s key order; three values fixed below
        result["dnc"] = bool(row[dnc])
        tag_list = row[tags]
        result["tags"] = sorted(tag_list.split(",")) if tag_list else []
        text = row[custom]
        result["fields"] = loads(text) if text and text != "{}" else {}
        yield result


# What list_lines() can show: record() keys whose plain() text is what SQLite gives for the value (text,
# integers, NULL as ''), as SQL over SELECT's `c`. tags come as one comma-joined string, sorted in Python.
_VALUES = {key: f"c.{key}" for key in _ORDER if key not in ("tags", "fields", "dnc", "last_contact_at")}
_VALUES["tags"] = "(SELECT group_concat(t.tag, ',') FROM tags t WHERE t.contact_id = c.id)"
_VALUES["last_contact_at"] = "(SELECT max(i.happened_at) FROM interactions i WHERE i.contact_id = c.id)"


def list_lines(
    conn: sqlite3.Connection,
    expression,
    keys: list[str],
    *,
    now: datetime,
    limit: int | None = None,
    sort: str = "id",
) -> Iterator[str]:
    """The contacts list_contacts() yields, as the tab-separated lines a piped listing of `keys` prints
    (output.emit_rows for tsv): SQLite joins the cells, so Python handles one string per row instead of
    a value per cell (turning 24k rows x 9 values into Python objects cost more than the query)."""
    from crm_cli.output import tsv_cells_sql

    unknown = [k for k in keys if k not in _VALUES]
    if unknown:
        raise ValueError(f"list_lines cannot show {unknown}")
    at = keys.index("tags") if "tags" in keys else len(keys)
    head, tail = keys[:at], keys[at + 1 :]
    select = [
        f"{tsv_cells_sql([_VALUES[k] for k in head])} AS head",
        f"{_VALUES['tags']} AS tags" if at < len(keys) else "NULL AS tags",
        f"{tsv_cells_sql([_VALUES[k] for k in tail])} AS tail",
    ]
    if sort == "last-contact":
        select.append(f"{_VALUES['last_contact_at']} AS last_contact_at")  # the sort names it
    cursor = _list_sql(conn, expression, now, limit, sort, f"SELECT {', '.join(select)} FROM contacts c")
    if at == len(keys):
        return (row[0] + "\n" for row in cursor)
    return _lines(cursor, bool(head), bool(tail))


def _lines(cursor, head: bool, tail: bool) -> Iterator[str]:
    for row in cursor:
        tags = row[1]
        if tags is None:
            tags = ""
        elif "," in tags:
            tags = ",".join(sorted(tags.split(",")))  # record()'s order, then plain()'s join
        if "\t" in tags or "\n" in tags:
            tags = tags.replace("\t", " ").replace("\n", " ")
        if head and tail:
            yield f"{row[0]}\t{tags}\t{row[2]}\n"
        elif head:
            yield f"{row[0]}\t{tags}\n"
        elif tail:
            yield f"{tags}\t{row[2]}\n"
        else:
            yield f"{tags}\n"


_PHONE_REFERENCE = re.compile(r"[+\d][\d\s().-]{5,}")


def reference_kind(ref: str) -> str:
    """How resolve() reads a reference: 'id' (digits, fewer than 9), 'email' (holds an @), 'phone' (a + or
    a digit, then 5 or more digits, spaces, dots, dashes or brackets), else 'name'. Arabic digits count."""
    from crm_cli.text import ascii_digits

    digits = ascii_digits((ref or "").strip())
    if digits.isdigit() and len(digits) < 9:
        return "id"
    if "@" in digits:
        return "email"
    return "phone" if _PHONE_REFERENCE.fullmatch(digits) else "name"


def resolve(conn: sqlite3.Connection, ref: str) -> int:
    """REF -> contact id: an id, an e-mail, a phone, or a unique fragment of a name.

    Name matching ignores case, diacritics, tatweel and Arabic letter variants; an exact name wins over
    fragments; with no name match, the words of e-mails, companies and notes are searched. Several
    matches raise Ambiguous listing them; none raises NotFound.
    """
    from crm_cli.text import ascii_digits

    text = (ref or "").strip()
    if not text:
        raise InvalidInput("empty contact reference; give an id, e-mail, phone or part of a name")
    kind = reference_kind(text)
    if kind == "id":
        digits = ascii_digits(text)
        if conn.execute("SELECT 1 FROM contacts WHERE id = ?", (int(digits),)).fetchone():
            return int(digits)
        raise NotFound(f"no contact with id {digits}; see `crm contact list`")
    if kind == "email":
        try:
            key = email_key(text)
        except InvalidInput:
            key = text.lower()
        row = conn.execute("SELECT contact_id FROM contact_handles WHERE type = 'email' AND key = ?", (key,)).fetchone()
        if row:
            return row[0]
        raise NotFound(f"no contact with e-mail {text!r}; see `crm contact list`")
    if kind == "phone":
        try:
            key = phone_key(conn, text)
        except InvalidInput:
            key = None
        row = (
            key
            and conn.execute(
                "SELECT contact_id FROM contact_handles WHERE type = 'phone' AND key = ?", (key,)
            ).fetchone()
        )
        if row:
            return row[0]
        raise NotFound(f"no contact with phone {text!r}; see `crm contact list`")
    key = normalize(text)
    exact = conn.execute("SELECT id, name FROM contacts WHERE name_key = ? ORDER BY id LIMIT 11", (key,)).fetchall()
    matches = (
        exact
        or conn.execute(
            "SELECT id, name FROM contacts WHERE instr(name_key, ?) > 0 ORDER BY id LIMIT 11", (key,)
        ).fetchall()
    )
    if not matches:
        # No name contains it: try the words of e-mails, companies and notes (FTS), e.g. "sara".
        from crm_cli.filters import fts_query

        query = fts_query(text)
        matches = (
            query
            and conn.execute(
                "SELECT c.id, c.name FROM contacts_fts JOIN contacts c ON c.id = contacts_fts.rowid "
                "WHERE contacts_fts MATCH ? ORDER BY c.id LIMIT 11",
                (query,),
            ).fetchall()
        )
    if matches and len(matches) == 1:
        return matches[0]["id"]
    if not matches:
        raise NotFound(f"no contact matches {text!r}; see `crm contact list`")
    listed = "; ".join(f"{m['id']}: {m['name']}" for m in matches[:10])
    more = " …" if len(matches) > 10 else ""
    raise Ambiguous(
        f"{text!r} matches several contacts ({listed}{more}); use the id or a longer name",
        details={"candidates": [{"id": m["id"], "name": m["name"]} for m in matches[:10]]},
    )
