"""Getting data in: contacts, the log and deals from CSV/TSV, JSON, NDJSON and vCard files.

    source.py   bytes -> text (encoding detection) -> records (CSV dialect sniffing, JSON, NDJSON)
    vcard.py    vCard 2.1/3.0/4.0 cards -> records
    mapping.py  column headers -> crm fields (our export, Google, Outlook, Shopify, WooCommerce, HubSpot)
    fast.py     exact fast paths for e-mail/phone validation
    contacts.py validate, match duplicates, bulk-write contacts
    records.py  the log and deals (row by row through the core modules)

Every import is all or nothing: the whole file is validated first inside one db.write() transaction; any
invalid row refuses the import (ImportRefused, exit 2) unless skip_invalid, which writes the bad rows to
a reject file instead.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from crm_cli.errors import InvalidInput

MAX_LISTED = 20


class ImportRefused(InvalidInput):
    """Invalid rows and no --skip-invalid: nothing was written. Carries the Result for the report."""

    def __init__(self, message: str, result):
        super().__init__(message, code="import_refused")
        self.result = result


@dataclass
class Options:
    fmt: str | None = None
    encoding: str | None = None
    maps: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    on_duplicate: str = "skip"
    skip_invalid: bool = False
    dry_run: bool = False
    region: str | None = None
    rejects: str | None = None
    create_contacts: bool = False
    progress: Callable[[int, int], None] | None = None  # (lines done, lines total)


def open_records(name: str, options: Options, fields=None):
    """(source, records iterator, mapping or None for vCard)."""
    from crm_cli.importers import mapping as mapmod
    from crm_cli.importers import source as srcmod

    fields = fields or mapmod.CONTACT_FIELDS
    src = srcmod.open_source(name, fmt=options.fmt, encoding=options.encoding)
    if src.format == "vcard":
        if options.maps:
            raise InvalidInput("--map applies to CSV and JSON columns, not to vCard properties")
        from crm_cli.importers.vcard import cards, has_cards

        if not has_cards(src.text):
            where = "stdin" if src.is_stdin else repr(src.name)
            raise InvalidInput(
                f"{where} holds no vCard (no BEGIN:VCARD line); if it is a CSV or JSON file, give --format"
            )
        return src, cards(src.text), None
    if src.format in ("csv", "tsv"):

        def known(header: str) -> bool:
            return mapmod.recognise(header) is not None

        records = srcmod.csv_records(src, known)
        headers = src.headers
    else:
        records_list = list(srcmod.json_records(src))
        headers = []
        seen = set()
        for r in records_list:
            for key in r.values:
                if key not in seen:
                    seen.add(key)
                    headers.append(key)
        src.headers = headers
        records = iter(records_list)
    mapping = mapmod.build(headers, options.maps, options.ignore, fields=fields)
    if src.format in ("json", "ndjson"):
        _mark_not_text(records_list, mapping, contacts=fields is mapmod.CONTACT_FIELDS)
    return src, records, mapping


# Contact fields a JSON value may fill with a list (crm's own export writes "emails": [...], "tags":
# [...], "fields": {...}); every other field takes text, a number or true/false.
_LIST_TARGETS = frozenset({"email", "phone", "other_emails", "other_phones", "tags"})


def _mark_not_text(records: list, mapping, *, contacts: bool) -> None:
    """Mark each record that holds a JSON list or object where its column takes text (record.refused):
    the importers refuse that row naming the column, instead of storing Python's repr ("['weird']")."""
    allowed: dict[str, str] = {}  # header -> what it may hold besides text: "list", "any"
    if contacts:
        for column in mapping.columns:
            target = column.target
            if target == "drop" or target == "fields" or target.startswith("custom:"):
                allowed[column.header] = "any"  # an object of custom fields; unknown columns keep JSON text
            elif target in _LIST_TARGETS:
                allowed[column.header] = "list"
    for record in records:
        values = record.values
        for key, value in values.items():
            if not isinstance(value, list | dict):
                continue
            may = allowed.get(key)
            if may == "any":
                continue
            if may == "list" and isinstance(value, list) and not any(isinstance(v, list | dict) for v in value):
                continue
            what = "an object" if isinstance(value, dict) else "a list"
            record.refused = (key, f"{what}, expected text")
            break


def _with_progress(records: Iterable, total: int, progress) -> Iterator:
    if progress is None:
        yield from records
        return
    for n, record in enumerate(records):
        if n % 500 == 0:
            progress(record.line, total)
        yield record
    progress(total, total)


def import_contacts(conn: sqlite3.Connection, name: str, options: Options, *, now: datetime):
    """Run a contact import; returns contacts.Result. Raises ImportRefused (nothing written)."""
    from crm_cli import db
    from crm_cli.importers.contacts import ContactImporter

    with _no_gc():
        src, records, mapping = open_records(name, options)
        total_lines = src.text.count("\n") + 1
        importer = ContactImporter(conn, now=now, on_duplicate=options.on_duplicate, region=options.region)
        label = "stdin" if name == "-" else Path(name).name
        if not options.dry_run and _two_cores(options, total_lines):
            # At most this many records: a CSV or vCard record takes a line or more; JSON's are listed.
            bound = max(total_lines, operator.length_hint(records))
            with _fast_writes(conn), db.write(conn, f"contact import {label}"):
                result = importer.plan_and_write_forked(
                    records, bound, mapping, lambda result: _check(result, options), options.progress
                )
            return _finish(result, src, options)
        records = _with_progress(records, total_lines, options.progress)
        if options.dry_run:
            result = importer.plan(records, mapping)
            result.dry_run = True
            _check(result, options)
            return _finish(result, src, options)
        with _fast_writes(conn), db.write(conn, f"contact import {label}"):
            result = importer.plan(records, mapping)
            _check(result, options)
            importer.write()
        return _finish(result, src, options)


STREAM_MIN_LINES = 20_000  # below this a second process costs more than it saves


def _two_cores(options: Options, lines: int) -> bool:
    """Validate in a forked child while this process writes (ContactImporter.plan_and_write_forked)?
    Large files, skip/error duplicates (update merges later rows into earlier ones), a machine with
    fork and a second core. CRM_IMPORT_STREAM_MIN_LINES overrides the size threshold (tests use 1)."""
    import os

    if options.on_duplicate not in ("skip", "error") or not hasattr(os, "fork"):
        return False
    try:
        threshold = int(os.environ.get("CRM_IMPORT_STREAM_MIN_LINES", STREAM_MIN_LINES))
    except ValueError:
        threshold = STREAM_MIN_LINES
    return lines >= threshold and (os.cpu_count() or 1) >= 2


class _no_gc:
    """The cyclic garbage collector off while an import runs.

    An import allocates a few container objects per row (records, candidates, row tuples) and frees
    almost none until it ends, so the collector keeps scanning a growing heap for cycles that are not
    there: about a third of the validation time of a 100k-row file. Nothing an import builds is cyclic
    (plain reference counting frees it); the previous setting is restored afterwards."""

    def __enter__(self):
        import gc

        self.was_enabled = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc):
        import gc

        if self.was_enabled:
            gc.enable()
        return False


def _check(result, options: Options) -> None:
    if result.issues and not options.skip_invalid:
        first = result.issues[0]
        others = result.rejected - 1
        more = f"; {others} more invalid row{'s' if others != 1 else ''} (see the list)" if others else ""
        what = first.text().rstrip(".")
        raise ImportRefused(
            f"import refused, nothing was written: {what}{more}; fix the file or use --skip-invalid", result
        )


def _finish(result, src, options: Options):
    result.source = src
    result.rejects_file = None
    if result.rejected_records and options.skip_invalid and not options.dry_run:
        result.rejects_file = write_rejects(src, result, options.rejects)
    return result


IMPORT_CACHE_KIB = 256 * 1024


class _fast_writes:
    """Foreign-key checks off for the bulk write (a PRAGMA that only works outside a transaction), and
    a larger page cache for it.

    Every id the importer writes was assigned or looked up inside the same transaction, so the checks
    cannot fail; they cost more than the audit triggers on a 100k-row import. Restored afterwards."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.before = self.conn.execute("PRAGMA foreign_keys").fetchone()[0]
        self.cache = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        self.conn.execute("PRAGMA foreign_keys = OFF")
        # A page cache that holds what a large import touches (grown only as pages are used): the
        # default 2 MiB spills index pages to the WAL and reads them back while keys arrive in random order.
        self.conn.execute(f"PRAGMA cache_size = {-IMPORT_CACHE_KIB}")
        return self

    def __exit__(self, *exc):
        self.conn.execute(f"PRAGMA foreign_keys = {'ON' if self.before else 'OFF'}")
        self.conn.execute(f"PRAGMA cache_size = {int(self.cache)}")
        return False


def default_rejects_path(src) -> str:
    ext = {"vcard": "vcf", "json": "ndjson", "ndjson": "ndjson"}.get(src.format, "csv")
    if src.is_stdin:
        return f"stdin.rejects.{ext}"
    return f"{src.name}.rejects.{ext}"


def write_rejects(src, result, path: str | None) -> str:
    """The rows that were not imported, in a form that can be fixed and imported again (0600)."""
    import csv
    import io
    import json
    import os

    target = path or default_rejects_path(src)
    reasons: dict[int, list[str]] = {}
    for issue in result.issues:
        reasons.setdefault(issue.line, []).append(f"{issue.column}: {issue.reason}" if issue.column else issue.reason)
    buffer = io.StringIO()
    if src.format == "vcard":
        for record in result.rejected_records:
            buffer.write(str(record.raw) + "\r\n")
    elif src.format in ("json", "ndjson"):
        for record in result.rejected_records:
            row = dict(record.values)
            row["import line"] = record.line
            row["import error"] = "; ".join(reasons.get(record.line, []))
            buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([*src.headers, "import line", "import error"])
        for record in result.rejected_records:
            cells = list(record.raw or [])
            cells = (cells + [""] * len(src.headers))[: len(src.headers)]
            writer.writerow([*cells, record.line, "; ".join(reasons.get(record.line, []))])
    data = buffer.getvalue().encode("utf-8-sig" if src.format in ("csv", "tsv") else "utf-8")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return target


def summary(result, *, what: str = "") -> str:
    """`added 1,204 · updated 31 · skipped 12 duplicates · rejected 2`"""
    parts = [f"added {result.added:,}"]
    parts.append(f"updated {result.updated:,}")
    parts.append(f"skipped {result.skipped:,} duplicate{'s' if result.skipped != 1 else ''}")
    if result.rejected:
        parts.append(f"rejected {result.rejected:,}")
    text = " · ".join(parts)
    return f"dry run, nothing written: {text}" if result.dry_run else text
