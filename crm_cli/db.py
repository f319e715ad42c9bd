"""Open, create and migrate the one SQLite file; run every write as one audited transaction.

- The file is created 0600 (its -wal/-shm copy that mode) in a 0700 directory.
- WAL + busy timeout so cron and a person can write at once; every write starts with BEGIN IMMEDIATE
  (a plain BEGIN that reads first fails at once with "database is locked", PITFALLS.md).
- Migrations are a list of functions; PRAGMA user_version counts how many ran. Every open migrates.
- Audit triggers copy each row's before/after image into change_rows under the current change, so
  history and undo see every write, whichever module made it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

from crm_cli.errors import CrmError, InvalidInput
from crm_cli.text import normalize

BUSY_TIMEOUT_MS = 30_000


def utc_iso(dt) -> str:
    """The one storage format for instants: 'YYYY-MM-DDTHH:MM:SSZ' (UTC, sortable as text)."""

    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# Migrations: append only. Each takes the connection inside the migration transaction.


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the caller's transaction (executescript would COMMIT first)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement[:60]!r}")


def _m001_initial(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        -- People and organisations. email/phone are the primary handles, copied from contact_handles
        -- (which holds every handle and enforces uniqueness on the normalised key).
        CREATE TABLE contacts (
            id          INTEGER PRIMARY KEY,
            kind        TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'organization')),
            name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
            org_id      INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
            company     TEXT,
            title       TEXT,
            email       TEXT,
            phone       TEXT,
            address     TEXT,
            city        TEXT,
            country     TEXT,
            source      TEXT,
            status      TEXT NOT NULL DEFAULT 'lead'
                        CHECK (status IN ('lead', 'prospect', 'customer', 'inactive')),
            dnc         INTEGER NOT NULL DEFAULT 0 CHECK (dnc IN (0, 1)),
            notes       TEXT,
            custom      TEXT NOT NULL DEFAULT '{}',   -- JSON object of custom fields
            every_days  INTEGER CHECK (every_days IS NULL OR every_days > 0),  -- stay-in-touch cadence
            birthday    TEXT,
            name_key    TEXT NOT NULL,                -- normalize(name): reference matching
            search_text TEXT NOT NULL DEFAULT '',     -- normalize(name email company notes): FTS5
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL
        );
        CREATE INDEX contacts_org ON contacts(org_id);
        CREATE INDEX contacts_status ON contacts(status);
        CREATE INDEX contacts_created ON contacts(created_at);
        CREATE INDEX contacts_name_key ON contacts(name_key);

        CREATE TABLE contact_handles (
            id         INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            type       TEXT NOT NULL CHECK (type IN ('email', 'phone')),
            value      TEXT NOT NULL,
            key        TEXT NOT NULL,     -- lower-cased e-mail / E.164 phone
            label      TEXT,
            is_primary INTEGER NOT NULL DEFAULT 0,
            UNIQUE (type, key)
        );
        CREATE INDEX contact_handles_contact ON contact_handles(contact_id);

        CREATE TABLE tags (
            id         INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            tag        TEXT NOT NULL,     -- normalize()d
            UNIQUE (contact_id, tag)
        );
        CREATE INDEX tags_tag ON tags(tag, contact_id);

        CREATE VIRTUAL TABLE contacts_fts USING fts5(
            search_text, content='contacts', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2', prefix='2 3'
        );
        CREATE TRIGGER contacts_fts_ai AFTER INSERT ON contacts BEGIN
            INSERT INTO contacts_fts(rowid, search_text) VALUES (new.id, new.search_text);
        END;
        CREATE TRIGGER contacts_fts_ad AFTER DELETE ON contacts BEGIN
            INSERT INTO contacts_fts(contacts_fts, rowid, search_text)
                VALUES ('delete', old.id, old.search_text);
        END;
        CREATE TRIGGER contacts_fts_au AFTER UPDATE OF search_text ON contacts BEGIN
            INSERT INTO contacts_fts(contacts_fts, rowid, search_text)
                VALUES ('delete', old.id, old.search_text);
            INSERT INTO contacts_fts(rowid, search_text) VALUES (new.id, new.search_text);
        END;

        -- Pipeline stages, in order; kind says which stages close a deal.
        CREATE TABLE stages (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            position    INTEGER NOT NULL,
            probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
            kind        TEXT NOT NULL DEFAULT 'open' CHECK (kind IN ('open', 'won', 'lost'))
        );
        INSERT INTO stages (name, position, probability, kind) VALUES
            ('lead', 1, 10, 'open'), ('qualified', 2, 25, 'open'), ('proposal', 3, 50, 'open'),
            ('negotiation', 4, 75, 'open'), ('won', 5, 100, 'won'), ('lost', 6, 0, 'lost');

        -- Money everywhere: INTEGER thousandths of the currency unit (exact; covers KWD/BHD/OMR).
        CREATE TABLE deals (
            id               INTEGER PRIMARY KEY,
            contact_id       INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            title            TEXT NOT NULL,
            value            INTEGER NOT NULL DEFAULT 0 CHECK (value >= 0),
            currency         TEXT NOT NULL,
            stage            TEXT NOT NULL REFERENCES stages(name) ON UPDATE CASCADE,
            probability      INTEGER CHECK (probability IS NULL OR probability BETWEEN 0 AND 100),
            expected_close   TEXT,          -- local date YYYY-MM-DD
            owner            TEXT,
            lost_reason      TEXT,
            closed_at        TEXT,
            stage_changed_at TEXT NOT NULL,
            created_at       TEXT NOT NULL,
            updated_at       TEXT NOT NULL
        );
        CREATE INDEX deals_stage ON deals(stage, value);
        CREATE INDEX deals_contact ON deals(contact_id);
        CREATE INDEX deals_close ON deals(expected_close);

        CREATE TABLE deal_stage_history (
            id         INTEGER PRIMARY KEY,
            deal_id    INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
            from_stage TEXT,
            to_stage   TEXT NOT NULL,
            changed_at TEXT NOT NULL
        );
        CREATE INDEX deal_stage_history_deal ON deal_stage_history(deal_id, changed_at);

        CREATE TABLE segments (
            id         INTEGER PRIMARY KEY,
            name       TEXT NOT NULL UNIQUE,
            expr       TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE campaigns (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'call', 'event', 'ad')),
            segment     TEXT NOT NULL,
            subject     TEXT,
            template    TEXT,
            cost        INTEGER NOT NULL DEFAULT 0 CHECK (cost >= 0),
            currency    TEXT NOT NULL,
            starts_at   TEXT,
            ends_at     TEXT,
            launched_at TEXT,               -- when the audience was frozen
            excluded_dnc      INTEGER NOT NULL DEFAULT 0,
            excluded_no_email INTEGER NOT NULL DEFAULT 0,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL
        );

        CREATE TABLE campaign_members (
            id              INTEGER PRIMARY KEY,
            campaign_id     INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            contact_id      INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            status          TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
            rendered_subject TEXT,
            rendered_body    TEXT,
            error           TEXT,
            sent_at         TEXT,
            delivered_at    TEXT,
            opened_at       TEXT,
            clicked_at      TEXT,
            replied_at      TEXT,
            purchased_at    TEXT,
            unsubscribed_at TEXT,
            UNIQUE (campaign_id, contact_id)
        );
        CREATE INDEX campaign_members_contact ON campaign_members(contact_id);

        -- The log: every call, message, meeting, purchase, support request and score.
        CREATE TABLE interactions (
            id           INTEGER PRIMARY KEY,
            contact_id   INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            kind         TEXT NOT NULL CHECK (kind IN
                         ('call', 'email', 'meeting', 'message', 'note', 'purchase', 'support')),
            summary      TEXT NOT NULL DEFAULT '',
            happened_at  TEXT NOT NULL,
            direction    TEXT CHECK (direction IS NULL OR direction IN ('in', 'out')),
            outcome      TEXT,
            duration_min INTEGER CHECK (duration_min IS NULL OR duration_min >= 0),
            amount       INTEGER,               -- thousandths, purchases
            currency     TEXT,
            score        INTEGER,               -- satisfaction: CSAT 1-5 or NPS 0-10
            score_scale  TEXT CHECK (score_scale IS NULL OR score_scale IN ('csat', 'nps')),
            status       TEXT CHECK (status IS NULL OR status IN ('open', 'resolved')),  -- support
            resolved_at  TEXT,
            follow_up_at TEXT,                  -- UTC instant the follow-up is due
            follow_up_done_at TEXT,
            deal_id      INTEGER REFERENCES deals(id) ON DELETE SET NULL,
            campaign_id  INTEGER REFERENCES campaigns(id) ON DELETE SET NULL,
            created_at   TEXT NOT NULL
        );
        CREATE INDEX interactions_contact_time ON interactions(contact_id, happened_at);
        CREATE INDEX interactions_purchases ON interactions(contact_id, happened_at, amount, kind)
            WHERE kind = 'purchase';
        CREATE INDEX interactions_time ON interactions(happened_at, kind);
        CREATE INDEX interactions_follow_up ON interactions(follow_up_at)
            WHERE follow_up_at IS NOT NULL AND follow_up_done_at IS NULL;
        CREATE INDEX interactions_open_support ON interactions(happened_at)
            WHERE kind = 'support' AND status = 'open';
        CREATE INDEX interactions_deal ON interactions(deal_id) WHERE deal_id IS NOT NULL;
        CREATE INDEX interactions_campaign ON interactions(campaign_id) WHERE campaign_id IS NOT NULL;

        -- One row per command that wrote; change_rows holds each row's before/after image.
        CREATE TABLE changes (
            id        INTEGER PRIMARY KEY,
            at        TEXT NOT NULL,
            command   TEXT NOT NULL,
            undoes    INTEGER REFERENCES changes(id),
            undone_by INTEGER REFERENCES changes(id)
        );
        CREATE TABLE change_rows (
            id        INTEGER PRIMARY KEY,
            change_id INTEGER REFERENCES changes(id) ON DELETE CASCADE,
            tbl       TEXT NOT NULL,
            row_id    TEXT NOT NULL,
            op        TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
            before    TEXT,
            after     TEXT
        );
        CREATE INDEX change_rows_change ON change_rows(change_id);
        CREATE INDEX change_rows_row ON change_rows(tbl, row_id);

        -- Things sent once per key (e.g. the daily agenda digest per day and address).
        CREATE TABLE sent_once (
            key     TEXT PRIMARY KEY,
            sent_at TEXT NOT NULL
        );
        """,
    )


def _m002_purchase_index_currency(conn: sqlite3.Connection) -> None:
    # Reports never sum across currencies, so revenue per customer groups by currency; without it in the
    # covering purchase index every purchase costs a table lookup (RFM on 1M rows: 0.8 s -> 0.15 s CPU).
    run_script(
        conn,
        """
        DROP INDEX IF EXISTS interactions_purchases;
        CREATE INDEX interactions_purchases ON interactions(contact_id, happened_at, amount, currency, kind)
            WHERE kind = 'purchase';
        """,
    )


def _m003_change_ranges(conn: sqlite3.Connection) -> None:
    # A bulk insert (contact import) is recorded as the id range it inserted per table instead of one
    # change_rows image per row: every row of `tbl` with first_id <= id <= last_id was inserted by the change
    # (ids are contiguous: the write lock is held and ids are max+1). history.py shows them from the rows
    # themselves (or the before image of the first later change), undo deletes the range. Updates and
    # deletes keep their full images in change_rows.
    run_script(
        conn,
        """
        CREATE TABLE change_ranges (
            id        INTEGER PRIMARY KEY,
            change_id INTEGER NOT NULL REFERENCES changes(id) ON DELETE CASCADE,
            tbl       TEXT NOT NULL,
            first_id  INTEGER NOT NULL,
            last_id   INTEGER NOT NULL CHECK (last_id >= first_id)
        );
        CREATE INDEX change_ranges_change ON change_ranges(change_id);
        """,
    )


def _m004_support_and_score_indexes(conn: sqlite3.Connection) -> None:
    # report service and report satisfaction read only support requests (9% of the log) and scored
    # interactions: covering partial indexes instead of a scan of the whole table (1M rows: service
    # 0.45 s -> 0.30 s CPU, satisfaction 0.20 s -> 0.13 s).
    run_script(
        conn,
        """
        CREATE INDEX interactions_support ON interactions(happened_at, status, resolved_at)
            WHERE kind = 'support';
        CREATE INDEX interactions_scores ON interactions(happened_at, score, score_scale)
            WHERE score IS NOT NULL;
        """,
    )


def _m005_follow_up_index(conn: sqlite3.Connection) -> None:
    # report activity counts every follow-up (done or not) per due day: a covering partial index instead of
    # a scan of the whole log (1M interactions, 118k follow-ups: 0.54 s -> 0.45 s CPU).
    run_script(
        conn,
        """
        CREATE INDEX interactions_follow_ups_all ON interactions(follow_up_at, follow_up_done_at)
            WHERE follow_up_at IS NOT NULL;
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m001_initial,
    _m002_purchase_index_currency,
    _m003_change_ranges,
    _m004_support_and_score_indexes,
    _m005_follow_up_index,
]

# Tables whose every write is kept in change_rows, with the expression naming the row.
AUDITED = {
    "settings": "key",
    "contacts": "id",
    "contact_handles": "id",
    "tags": "id",
    "stages": "id",
    "deals": "id",
    "deal_stage_history": "id",
    "segments": "id",
    "campaigns": "id",
    "campaign_members": "id",
    "interactions": "id",
}


def install_audit_triggers(conn: sqlite3.Connection) -> None:
    """(Re)create the audit triggers from the tables' current columns; runs after every migration."""
    for table, key in AUDITED.items():
        cols = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]

        def image(alias: str, cols=cols) -> str:
            pairs = ", ".join(f"'{c}', {alias}.{c}" for c in cols)
            return f"json_object({pairs})"

        change = "(SELECT max(id) FROM changes)"
        for op, when, before, after, ref in (
            ("insert", "AFTER INSERT", "NULL", image("new"), "new"),
            ("update", "AFTER UPDATE", image("old"), image("new"), "new"),
            ("delete", "AFTER DELETE", image("old"), "NULL", "old"),
        ):
            name = f"audit_{table}_{op}"
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            conn.execute(
                f"CREATE TRIGGER {name} {when} ON {table} BEGIN "
                f"INSERT INTO change_rows (change_id, tbl, row_id, op, before, after) "
                f"VALUES ({change}, '{table}', {ref}.{key}, '{op}', {before}, {after}); END"
            )


# ---------------------------------------------------------------------------------------------
# Opening


# 16 KiB pages: a quarter of the pages (and of the system calls) to write, read and checkpoint for the
# same rows, shallower B-trees; measured on the 100k-contact import: CPU 3.99 s -> 3.71 s, wall 2.50 ->
# 2.28 s (medians of 5 against 4 KiB, the SQLite default). A small write rewrites bigger pages into the
# WAL, which a command-line CRM's one transaction per command does not notice.
PAGE_SIZE = 16384


class SchemaTooNew(CrmError):
    code = "schema_too_new"


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def connect(path: Path | str, *, migrate: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) the database at path, migrated to this version's schema."""
    path = Path(path)
    if str(path) != ":memory:" and path.exists() and not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file"
        raise InvalidInput(f"{path} is {what}, not a database file; check --db / CRM_DB")
    new = str(path) != ":memory:" and not path.exists()
    if new:
        try:
            _create_private_file(path)
        except OSError as exc:
            raise CrmError(f"cannot create database {path}: {exc.strerror}; check --db / CRM_DB") from exc
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if new:  # only an empty file takes a page size (a WAL database keeps the one it was made with)
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        elif schema_version(conn) == 0:
            _refuse_foreign(conn, path)  # before WAL mode, which would change the file's header
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.create_function("crm_norm", 1, normalize, deterministic=True)
    except sqlite3.OperationalError as exc:
        if "readonly" in str(exc):
            raise CrmError(f"cannot write to {path}: the file or its folder is read-only; check permissions") from exc
        if "unable to open" in str(exc):
            raise CrmError(f"cannot open {path} ({exc}); check the path and its permissions") from exc
        raise CrmError(f"{path} is not a crm database ({exc}); check --db / CRM_DB") from exc
    except sqlite3.DatabaseError as exc:
        raise CrmError(f"{path} is not a crm database ({exc}); check --db / CRM_DB") from exc
    if migrate:
        migrate_db(conn, path)
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate_db(conn: sqlite3.Connection, path: Path | str = "database") -> None:
    latest = len(MIGRATIONS)
    version = schema_version(conn)
    if version > latest:
        raise SchemaTooNew(
            f"{path} was written by a newer crm (schema {version}, this crm knows {latest}); upgrade crm to open it"
        )
    if version == latest:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(conn)  # another process may have migrated while we waited
        for number in range(version, latest):
            MIGRATIONS[number](conn)
        if version < latest:
            install_audit_triggers(conn)
            conn.execute(f"PRAGMA user_version = {latest}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _refuse_foreign(conn: sqlite3.Connection, path: Path | str) -> None:
    """A file with no crm schema but tables of its own belongs to another program: leave it alone."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY rowid")]
    if names:
        shown = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
        raise CrmError(
            f"{path} is not a crm database (it holds another program's tables: {shown}); check --db / CRM_DB"
        )


# ---------------------------------------------------------------------------------------------
# Transactions


@contextmanager
def write(conn: sqlite3.Connection, command: str, *, at: str | None = None) -> Iterator[int]:
    """One command = one transaction = one change. Yields the change id.

    BEGIN IMMEDIATE takes the write lock up front, so a concurrent writer waits (busy timeout)
    instead of failing mid-way. sqlite-utils calls made inside join through savepoints.
    """
    from datetime import datetime

    from crm_cli import env as envmod

    stamp = at or utc_iso(envmod.current().now if envmod.current() else datetime.now(UTC))
    conn.execute("BEGIN IMMEDIATE")
    try:
        change_id = conn.execute("INSERT INTO changes (at, command) VALUES (?, ?)", (stamp, command)).lastrowid
        yield change_id
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def open_env_db(migrate: bool = True) -> sqlite3.Connection:
    """The database the current command is pointed at (--db, CRM_DB, or the user data dir)."""
    from crm_cli import env as envmod

    return connect(envmod.current().db_path(), migrate=migrate)
