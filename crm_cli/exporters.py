"""Getting data out: contacts, the log and deals as CSV, JSON, NDJSON or vCard, streamed.

Rows come straight from the cursor and go straight to the file: nothing is loaded whole (a million
interactions export in constant memory). For the log, SQLite itself builds each JSON object
(json_object(), PITFALLS.md: ~5x faster than json.dumps per row); money is written as exact decimal text.

CSV is spreadsheet-safe unless raw: a cell that would start a formula (= + - @ tab CR LF) gets a leading
`'`, which crm's importer removes again. `excel` adds the UTF-8 BOM (so Excel reads Arabic) and CRLF.
Files are created 0600: they hold personal data.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from crm_cli.errors import InvalidInput
from crm_cli.output import started

CONTACT_FORMATS = ("csv", "json", "ndjson", "vcard")
LOG_FORMATS = ("csv", "json", "ndjson", "ics")
DEAL_FORMATS = ("csv", "json", "ndjson", "ics")


def check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    value = (fmt or "").strip().lower()
    value = {"vcf": "vcard", "jsonl": "ndjson", "ical": "ics", "icalendar": "ics"}.get(value, value)
    if value not in allowed:
        raise InvalidInput(f"invalid --format {fmt!r}; choose one of: {', '.join(allowed)}")
    return value


# What an output file's extension says it holds (`-o c.vcf` without --format writes vCard).
EXTENSION_FORMATS = {
    ".csv": "csv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".vcf": "vcard",
    ".vcard": "vcard",
    ".ics": "ics",
    ".ical": "ics",
}


def format_for(fmt: str | None, out: str | None, allowed: tuple[str, ...], default: str) -> str:
    """The export format: --format when given, else the one -o's extension names, else the default.
    An extension the command cannot write (`crm log export -o x.vcf`) is refused rather than filled
    with another format; an extension that names no format (`.txt`, none) keeps the default."""
    if fmt:
        return check_format(fmt, allowed)
    implied = extension_format(out)
    if implied is None:
        return default
    if implied not in allowed:
        raise InvalidInput(
            f"{out!r} is named like a {implied} file, which this export does not write; "
            f"add --format ({', '.join(allowed)}) or use another file name"
        )
    return implied


def extension_format(out: str | None) -> str | None:
    if not out or out == "-":
        return None
    return EXTENSION_FORMATS.get(os.path.splitext(out)[1].lower())


@contextmanager
def open_output(path: str | None, *, binary: bool = False):
    """A text (or binary) stream: the file at path, created 0600, or stdout.

    A regular file is written beside it under a temporary name and renamed over it only when the
    export has finished: an export that fails (a bad filter term, an unknown segment, a full disk)
    leaves the file as it was. A device or a pipe (/dev/stdout, a FIFO) is written to directly."""
    if not path or path == "-":
        if binary:
            yield sys.stdout.buffer if hasattr(sys.stdout, "buffer") else _TextAsBinary(sys.stdout)
        else:
            yield sys.stdout
        return
    target = os.path.realpath(path)  # through a symlink: replace the file it points at, keep the link
    if os.path.exists(target) and not os.path.isfile(target):
        yield from _open_direct(path, binary)
        return
    import tempfile

    try:
        fd, part = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=os.path.dirname(target))
    except OSError as exc:
        raise InvalidInput(f"cannot write {path!r}: {exc.strerror}") from None
    try:
        with _stream(fd, binary) as handle:
            yield handle
        os.replace(part, target)  # mkstemp made it 0600
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise


def _open_direct(path: str, binary: bool):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path!r}: {exc.strerror}") from None
    with _stream(fd, binary) as handle:
        yield handle


def _stream(fd: int, binary: bool):
    return os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")


class _TextAsBinary:
    def __init__(self, stream):
        self.stream = stream

    def write(self, data: bytes) -> None:
        self.stream.write(data.decode("utf-8"))


def _safe(cells: list[str], raw: bool) -> list[str]:
    if raw:
        return cells
    from crm_cli.output import spreadsheet_safe

    return [spreadsheet_safe(c) for c in cells]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_csv(out, header: list[str], rows: Iterable[list], *, raw: bool = False, excel: bool = False) -> int:
    if excel:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n" if excel else "\n")
    rows = started(rows)  # a query that fails as it starts fails before the header is written
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(_safe([_cell(v) for v in row], raw))
        count += 1
    return count


def write_json_lines(out, docs: Iterable[str], *, array: bool) -> int:
    """docs are JSON texts. array: a JSON array with one element per line; else NDJSON."""
    count = 0
    docs = started(docs)  # a query that fails as it starts fails before the '[' is written
    if array:
        out.write("[")
        for doc in docs:
            out.write(("\n" if count == 0 else ",\n") + doc)
            count += 1
        out.write("\n]\n" if count else "]\n")
    else:
        for doc in docs:
            out.write(doc + "\n")
            count += 1
    return count


# ---------------------------------------------------------------------------------------------
# Contacts

CONTACT_COLUMNS = [
    "id",
    "kind",
    "name",
    "email",
    "phone",
    "other_emails",
    "other_phones",
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
    "every_days",
    "birthday",
    "last_contact_at",
    "created_at",
    "updated_at",
]

_CONTACT_SQL = """
    SELECT c.*,
           (SELECT group_concat(tag, ',') FROM (SELECT t.tag FROM tags t WHERE t.contact_id = c.id ORDER BY t.tag))
               AS tag_list,
           (SELECT max(i.happened_at) FROM interactions i WHERE i.contact_id = c.id) AS last_contact_at,
           (SELECT json_group_array(key) FROM (SELECT h.key FROM contact_handles h
               WHERE h.contact_id = c.id AND h.type = 'email' ORDER BY h.is_primary DESC, h.id)) AS email_list,
           (SELECT json_group_array(key) FROM (SELECT h.key FROM contact_handles h
               WHERE h.contact_id = c.id AND h.type = 'phone' ORDER BY h.is_primary DESC, h.id)) AS phone_list
    FROM contacts c
"""


def _contact_where(conn: sqlite3.Connection, expression, now: datetime, contact_id: int | None) -> tuple[str, list]:
    """The WHERE clause over alias c: one contact by id, or the filter expression."""
    if contact_id is not None:
        return "c.id = ?", [contact_id]
    from crm_cli import filters

    return filters.to_sql(filters.parse(expression), filters.Context(conn, now))


def _contact_query(conn: sqlite3.Connection, expression, now: datetime, contact_id=None) -> tuple[str, list]:
    where, params = _contact_where(conn, expression, now, contact_id)
    return f"{_CONTACT_SQL} WHERE {where} ORDER BY c.id", params


def contact_rows(conn: sqlite3.Connection, expression, now: datetime, contact_id: int | None = None) -> Iterator[dict]:
    from crm_cli.contacts import record

    sql, params = _contact_query(conn, expression, now, contact_id)
    for row in conn.execute(sql, params):
        doc = record(row)
        doc["emails"] = json.loads(row["email_list"])
        doc["phones"] = json.loads(row["phone_list"])
        yield doc


def custom_keys(conn: sqlite3.Connection, expression, now: datetime, contact_id: int | None = None) -> list[str]:
    where, params = _contact_where(conn, expression, now, contact_id)
    rows = conn.execute(
        f"SELECT DISTINCT j.key FROM contacts c, json_each(c.custom) j WHERE {where} ORDER BY j.key", params
    )
    return [r[0] for r in rows]


def export_contacts(conn, expression, *, fmt: str, out, now: datetime, raw=False, excel=False, contact_id=None) -> int:
    """Contacts matching the filter expression (or the one contact_id) written to out as fmt."""
    rows = contact_rows(conn, expression, now, contact_id)
    if fmt == "csv":
        keys = custom_keys(conn, expression, now, contact_id)
        header = CONTACT_COLUMNS + [f"field:{k}" for k in keys]

        def cells():
            for doc in rows:
                doc["other_emails"] = "; ".join(doc["emails"][1:])
                doc["other_phones"] = "; ".join(doc["phones"][1:])
                doc["tags"] = ",".join(doc["tags"])
                yield [doc.get(c) for c in CONTACT_COLUMNS] + [doc["fields"].get(k) for k in keys]

        return write_csv(out, header, cells(), raw=raw, excel=excel)
    if fmt in ("json", "ndjson"):
        docs = (json.dumps(doc, ensure_ascii=False) for doc in rows)
        return write_json_lines(out, docs, array=fmt == "json")
    if fmt == "vcard":
        count = 0
        for doc in started(rows):
            out.write(vcard(doc))
            count += 1
        return count
    raise InvalidInput(f"invalid --format {fmt!r} for contacts")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def _fold(line: str) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (RFC 6350 3.2)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts, current, size = [], [], 0
    limit = 75
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, 74
        current.append(ch)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts) + "\r\n"


def vcard(doc: dict) -> str:
    """One contact as a vCard 3.0 card (crm's own fields as X-CRM-* so they come back on import)."""
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{_escape(doc['name'])}"]
    if doc["kind"] == "organization":
        lines += [f"N:{_escape(doc['name'])};;;;", f"ORG:{_escape(doc['name'])}", "X-ABSHOWAS:COMPANY"]
    else:
        lines.append(f"N:;{_escape(doc['name'])};;;")
        if doc.get("company"):
            lines.append(f"ORG:{_escape(doc['company'])}")
    if doc.get("title"):
        lines.append(f"TITLE:{_escape(doc['title'])}")
    for i, email in enumerate(doc.get("emails") or []):
        lines.append(f"EMAIL;TYPE=INTERNET{';TYPE=PREF' if i == 0 else ''}:{email}")
    for i, phone in enumerate(doc.get("phones") or []):
        lines.append(f"TEL{';TYPE=PREF' if i == 0 else ''}:{phone}")
    if doc.get("address") or doc.get("city") or doc.get("country"):
        parts = ["", "", doc.get("address") or "", doc.get("city") or "", "", "", doc.get("country") or ""]
        lines.append("ADR:" + ";".join(_escape(p) for p in parts))
    if doc.get("birthday"):
        lines.append(f"BDAY:{doc['birthday']}")
    if doc.get("tags"):
        lines.append("CATEGORIES:" + ",".join(_escape(t) for t in doc["tags"]))
    if doc.get("notes"):
        lines.append(f"NOTE:{_escape(doc['notes'])}")
    if doc.get("source"):
        lines.append(f"X-CRM-SOURCE:{_escape(doc['source'])}")
    lines.append(f"X-CRM-STATUS:{doc['status']}")
    if doc.get("dnc"):
        lines.append("X-CRM-DNC:yes")
    if doc.get("every_days"):
        lines.append(f"X-CRM-EVERY:{doc['every_days']}d")
    for key, value in (doc.get("fields") or {}).items():
        name = key.replace('"', "'")
        lines.append(f'X-CRM-FIELD;X-NAME="{name}":{_escape(str(value))}')
    lines.append(f"UID:crm-contact-{doc['id']}")
    lines.append("END:VCARD")
    return "".join(_fold(line) for line in lines)


# ---------------------------------------------------------------------------------------------
# The log and deals


def _decimal_sql(column: str) -> str:
    """Thousandths -> exact decimal text ('249.9', '12000', '-0.005') in SQL."""
    a = column
    return (
        f"CASE WHEN {a} IS NULL THEN NULL WHEN {a} % 1000 = 0 THEN CAST({a} / 1000 AS TEXT) "
        f"ELSE (CASE WHEN {a} < 0 THEN '-' ELSE '' END) || (abs({a}) / 1000) || '.' || "
        f"rtrim(printf('%03d', abs({a}) % 1000), '0') END"
    )


LOG_COLUMNS = [
    ("id", "i.id"),
    ("contact_id", "i.contact_id"),
    ("contact", "c.name"),
    ("contact_email", "c.email"),
    ("contact_phone", "c.phone"),
    ("kind", "i.kind"),
    ("summary", "i.summary"),
    ("happened_at", "i.happened_at"),
    ("direction", "i.direction"),
    ("outcome", "i.outcome"),
    ("duration_min", "i.duration_min"),
    ("amount", None),
    ("currency", "i.currency"),
    ("score", "i.score"),
    ("score_scale", "i.score_scale"),
    ("status", "i.status"),
    ("resolved_at", "i.resolved_at"),
    ("follow_up_at", "i.follow_up_at"),
    ("follow_up_done_at", "i.follow_up_done_at"),
    ("deal_id", "i.deal_id"),
    ("campaign_id", "i.campaign_id"),
    ("created_at", "i.created_at"),
]


def _contact_filter(conn, expression, now) -> tuple[str, list]:
    from crm_cli import filters

    flt = filters.parse(expression)
    if flt.empty:
        return "1", []
    where, params = filters.to_sql(flt, filters.Context(conn, now))
    return where, params


def export_log(
    conn,
    expression,
    *,
    fmt: str,
    out,
    now: datetime,
    kinds: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    raw=False,
    excel=False,
) -> int:
    from crm_cli.db import utc_iso
    from crm_cli.interactions import KINDS

    where, params = _contact_filter(conn, expression, now)
    clauses = [where]
    for kind in kinds or ():
        if kind not in KINDS:
            raise InvalidInput(f"invalid --kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if kinds:
        clauses.append(f"i.kind IN ({','.join('?' * len(kinds))})")
        params += list(kinds)
    if since:
        clauses.append("i.happened_at >= ?")
        params.append(utc_iso(since))
    if until:
        clauses.append("i.happened_at < ?")
        params.append(utc_iso(until))
    source = "FROM interactions i JOIN contacts c ON c.id = i.contact_id WHERE " + " AND ".join(clauses)
    order = " ORDER BY i.happened_at, i.id"
    return _export_table(conn, LOG_COLUMNS, "i.amount", source + order, params, fmt=fmt, out=out, raw=raw, excel=excel)


DEAL_COLUMNS = [
    ("id", "d.id"),
    ("contact_id", "d.contact_id"),
    ("contact", "c.name"),
    ("contact_email", "c.email"),
    ("contact_phone", "c.phone"),
    ("title", "d.title"),
    ("value", None),
    ("currency", "d.currency"),
    ("stage", "d.stage"),
    ("probability", "d.probability"),
    ("expected_close", "d.expected_close"),
    ("owner", "d.owner"),
    ("lost_reason", "d.lost_reason"),
    ("closed_at", "d.closed_at"),
    ("stage_changed_at", "d.stage_changed_at"),
    ("created_at", "d.created_at"),
    ("updated_at", "d.updated_at"),
]


def export_deals(conn, expression, *, fmt: str, out, now: datetime, stages=None, raw=False, excel=False) -> int:
    where, params = _contact_filter(conn, expression, now)
    clauses = [where]
    if stages:
        clauses.append(f"d.stage IN ({','.join('?' * len(stages))})")
        params += list(stages)
    source = "FROM deals d JOIN contacts c ON c.id = d.contact_id WHERE " + " AND ".join(clauses) + " ORDER BY d.id"
    return _export_table(conn, DEAL_COLUMNS, "d.value", source, params, fmt=fmt, out=out, raw=raw, excel=excel)


def _export_table(conn, columns, money_column, source_sql, params, *, fmt, out, raw, excel) -> int:
    money = _decimal_sql(money_column)
    if fmt == "csv":
        select = ", ".join(expr if expr else money for _, expr in columns)
        cursor = conn.execute(f"SELECT {select} {source_sql}", params)
        cursor.row_factory = None
        return write_csv(out, [name for name, _ in columns], cursor, raw=raw, excel=excel)
    if fmt in ("json", "ndjson"):
        pairs = ", ".join(f"'{name}', {expr if expr else f'json({money})'}" for name, expr in columns)
        cursor = conn.execute(f"SELECT json_object({pairs}) {source_sql}", params)
        cursor.row_factory = None
        return write_json_lines(out, (row[0] for row in cursor), array=fmt == "json")
    raise InvalidInput(f"invalid --format {fmt!r}")
