"""Backups, restores and the whole-database dump.

- backup(): SQLite's online backup API copies a consistent snapshot while others may be writing (never
  copy the .db file itself, PITFALLS.md); the copy is checked with PRAGMA integrity_check and is 0600.
- restore(): the file must pass integrity_check, be a crm database, and have a schema this crm knows
  (a newer one is refused); it then replaces the live database through the backup API (inside SQLite's
  locking, so other connections never see a half-copied file) and is migrated to the current schema.
- dump()/load(): `crm export --all` / `crm import --all`. Every table except FTS5's internal ones
  (contacts_fts is rebuilt from contacts), including settings, stages, the change history (changes,
  change_rows: history and undo survive) and sent_once. One row per line, so a dump streams in and out;
  load() accepts only an empty database and writes the rows exactly as they were (no audit rows of its
  own, no change record), so export -> import -> export is byte-identical.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from crm_cli.errors import CrmError, InvalidInput

DUMP_FORMAT = "crm-dump"
DUMP_VERSION = 1
# Tables a crm database must have (restore checks them).
REQUIRED = ("contacts", "changes", "settings")


def _private(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def integrity(conn: sqlite3.Connection) -> str:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    return "ok" if rows == ["ok"] else "; ".join(rows[:3])


def backup(conn: sqlite3.Connection, target: str | Path, *, force: bool = False) -> dict:
    """Copy the live database to target (a new 0600 file); returns {path, bytes, pages}."""
    path = Path(target)
    if path.exists():
        if not force:
            raise InvalidInput(f"{path} already exists; choose another name or add --force to replace it")
        if path.is_dir():
            raise InvalidInput(f"{path} is a directory; give a file name")
        path.unlink()
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _private(path)
    except OSError as exc:
        raise InvalidInput(f"cannot create {path}: {exc.strerror}") from None
    dest = sqlite3.connect(str(path))
    try:
        conn.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
        status = integrity(dest)
        pages = dest.execute("PRAGMA page_count").fetchone()[0]
    except BaseException:
        dest.close()
        path.unlink(missing_ok=True)
        raise
    dest.close()
    if status != "ok":
        path.unlink(missing_ok=True)
        raise CrmError(f"the backup failed its integrity check ({status}); nothing was kept")
    os.chmod(path, 0o600)
    return {"path": str(path), "bytes": path.stat().st_size, "pages": pages, "integrity": status}


def inspect(source: str | Path) -> dict:
    """Check a file before restoring it: integrity, crm tables, schema version. Raises on problems."""
    from crm_cli.db import MIGRATIONS

    path = Path(source)
    if not path.is_file():
        raise InvalidInput(f"no such backup file {str(path)!r}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        status = integrity(conn)
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path} is not a SQLite database ({exc}); nothing was restored") from None
    try:
        if status != "ok":
            raise InvalidInput(f"{path} is damaged (integrity check: {status}); nothing was restored")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in REQUIRED if t not in tables]
        if missing:
            raise InvalidInput(f"{path} is not a crm database (no {missing[0]} table); nothing was restored")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise InvalidInput(
                f"{path} was written by a newer crm (schema {version}, this crm knows {len(MIGRATIONS)}); "
                "upgrade crm to restore it"
            )
        contacts = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
    finally:
        conn.close()
    return {"path": str(path), "schema_version": version, "contacts": contacts, "integrity": status}


def restore(conn: sqlite3.Connection, source: str | Path) -> dict:
    """Replace the live database (conn) with the checked file's content, then migrate it."""
    from crm_cli.db import migrate_db

    info = inspect(source)
    src = sqlite3.connect(f"file:{Path(source)}?mode=ro", uri=True)
    try:
        src.backup(conn)
    finally:
        src.close()
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    migrate_db(conn)
    info["integrity_after"] = integrity(conn)
    return info


# ---------------------------------------------------------------------------------------------
# dump / load


def dump_tables(conn: sqlite3.Connection) -> list[str]:
    """Every ordinary table, in creation order, without FTS5 shadow tables and sqlite_* internals."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid").fetchall()
    virtual = [r[0] for r in rows if (r[1] or "").upper().startswith("CREATE VIRTUAL TABLE")]
    tables = []
    for name, _sql in rows:
        if name.startswith("sqlite_") or name in virtual:
            continue
        if any(name.startswith(v + "_") for v in virtual):
            continue  # contacts_fts_data, _idx, _docsize, _config …
        tables.append(name)
    return tables


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]


def _value(v):
    if isinstance(v, bytes):
        return {"$blob": base64.b64encode(v).decode("ascii")}
    return v


def _unvalue(v):
    if isinstance(v, dict) and set(v) == {"$blob"}:
        return base64.b64decode(v["$blob"])
    return v


def dump(conn: sqlite3.Connection, out) -> dict[str, int]:
    """Write the whole database as one JSON document, one row per line. Returns rows per table."""
    from crm_cli.db import schema_version

    counts: dict[str, int] = {}
    out.write(
        "{" + f'"format": "{DUMP_FORMAT}", "version": {DUMP_VERSION}, "schema_version": {schema_version(conn)},'
        ' "tables": {\n'
    )
    tables = dump_tables(conn)
    for t_index, table in enumerate(tables):
        columns = _columns(conn, table)
        out.write(json.dumps(table) + ': {"columns": ' + json.dumps(columns) + ', "rows": [\n')
        order = "rowid" if _has_rowid(conn, table) else ", ".join(f'"{c}"' for c in columns)
        cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}')
        cursor.row_factory = None
        n = 0
        for row in cursor:
            out.write(("" if n == 0 else ",\n") + json.dumps([_value(v) for v in row], ensure_ascii=False))
            n += 1
        counts[table] = n
        out.write(("\n" if n else "") + "]}" + ("," if t_index < len(tables) - 1 else "") + "\n")
    out.write("}}\n")
    return counts


def _has_rowid(conn: sqlite3.Connection, table: str) -> bool:
    try:
        conn.execute(f'SELECT rowid FROM "{table}" LIMIT 0')
        return True
    except sqlite3.OperationalError:
        return False


def _read_dump(path: str) -> Iterator[tuple[str, object]]:
    """Events from a dump: ('header', dict), ('table', (name, columns)), ('row', list)."""
    handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed in finally
    try:
        first = handle.readline()
        if not first.startswith("{") or DUMP_FORMAT not in first:
            raise InvalidInput(f"{path} is not a crm dump (made by `crm export --all`)")
        header = json.loads(first.rstrip().removesuffix('"tables": {').rstrip().rstrip(",") + "}")
        yield "header", header
        for number, line in enumerate(handle, start=2):
            text = line.rstrip("\n")
            if not text or text in ("}}",):
                continue
            if text.startswith("]}"):
                continue
            if text.startswith('"'):
                name, _, rest = text.partition(": ")
                meta = json.loads(rest.removesuffix('"rows": [').rstrip().rstrip(",") + "}")
                yield "table", (json.loads(name), meta["columns"])
                continue
            try:
                row = json.loads(text.rstrip(","))
            except json.JSONDecodeError:
                raise InvalidInput(f"line {number} of {path} is damaged; nothing was imported") from None
            yield "row", row
    finally:
        handle.close()


USER_TABLES_MUST_BE_EMPTY = ("contacts", "interactions", "deals", "campaigns", "segments", "changes")


def load(conn: sqlite3.Connection, path: str) -> dict[str, int]:
    """Load a dump into this (empty) database, exactly. One transaction; nothing on failure."""
    from crm_cli.db import install_audit_triggers, schema_version

    if not Path(path).is_file():
        raise InvalidInput(f"no such file {path!r}")
    current = schema_version(conn)
    tables_here = set(dump_tables(conn))
    busy = [
        t
        for t in USER_TABLES_MUST_BE_EMPTY
        if t in tables_here and conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()
    ]
    if busy:
        raise InvalidInput(
            f"the database already holds data ({busy[0]}); `crm import --all` loads into an empty database "
            "only (use --db new.db, or `crm restore` for a backup)"
        )
    counts: dict[str, int] = {}
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN IMMEDIATE")
    try:
        triggers = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_%'"
        ).fetchall()
        for (name,) in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        insert = None
        table = None
        batch: list = []
        for kind, payload in _read_dump(path):
            if kind == "header":
                version = payload.get("schema_version", 0)
                if payload.get("version") != DUMP_VERSION:
                    raise InvalidInput(f"{path}: dump format version {payload.get('version')} is not supported")
                if version > current:
                    raise InvalidInput(
                        f"{path} comes from a newer crm (schema {version}, this crm knows {current}); upgrade crm"
                    )
            elif kind == "table":
                if batch:
                    conn.executemany(insert, batch)
                    batch = []
                table, columns = payload
                if table not in tables_here:
                    raise InvalidInput(f"{path}: table {table!r} does not exist in this crm's schema")
                here = set(_columns(conn, table))
                unknown = [c for c in columns if c not in here]
                if unknown:
                    raise InvalidInput(f"{path}: column {table}.{unknown[0]} does not exist in this crm's schema")
                conn.execute(f'DELETE FROM "{table}"')  # migration defaults (stages) give way to the dump
                cols = ", ".join(f'"{c}"' for c in columns)
                insert = f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("?" * len(columns))})'
                counts[table] = 0
            else:
                if insert is None:
                    raise InvalidInput(f"{path} is damaged (a row before any table); nothing was imported")
                batch.append([_unvalue(v) for v in payload])
                counts[table] += 1
                if len(batch) >= 5000:
                    conn.executemany(insert, batch)
                    batch = []
        if batch:
            conn.executemany(insert, batch)
        problems = conn.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            t, rowid, parent, _ = problems[0]
            raise InvalidInput(f"{path}: {t} row {rowid} points to a missing {parent} row; nothing was imported")
        if "contacts" in tables_here:
            conn.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")
        install_audit_triggers(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    return counts
