"""History and undo, read from the audit tables that db.py's triggers fill for every write.

Each `db.write(conn, command)` is one row in `changes`; every row it inserted, updated or deleted in an
audited table is one row in `change_rows` with the row's JSON image before and after.

A bulk insert (contact import) records instead the id range it inserted per table (change_ranges): its
rows are shown from the before image of the first later change that touched them, else from the row as it
is now (what the per-row image would have held), and undo deletes the range.

Undo applies the before images in reverse order (insert -> delete, update -> restore the old values,
delete -> re-insert with the same id) inside a new change whose command is "undo N"; the original is
marked `undone_by`. Foreign keys are checked at commit (defer_foreign_keys), so a contact deleted with
its handles, tags and log (ON DELETE CASCADE fires the audit triggers of the children too) comes back
whole. The FTS index follows because contacts rows are restored through ordinary INSERT/UPDATE/DELETE.
"""

from __future__ import annotations

import json
import sqlite3

from crm_cli import db
from crm_cli.errors import Conflict, CrmError, InvalidInput, NotFound

# Columns that are derived from others: left out of "what changed".
HIDDEN = {"name_key", "search_text", "updated_at"}
# Tables whose rows belong to one contact through a contact_id column.
CONTACT_CHILDREN = ("contact_handles", "tags", "interactions", "deals", "campaign_members")
# Parents whose re-insertion/deletion matters to rows that point at them.
PARENT_COLUMNS = {"contact_id": "contacts", "deal_id": "deals", "campaign_id": "campaigns", "org_id": "contacts"}
FORGET_PREFIX = "contact forget "
ROW_LIMIT = 200  # rows shown per change in `crm history` (an import may hold 100k; row_count tells)


class NotUndoable(Conflict):
    code = "not_undoable"


# ---------------------------------------------------------------------------------------------
# Reading


def _load(value: str | None) -> dict | None:
    return json.loads(value) if value else None


def field_changes(op: str, before: dict | None, after: dict | None) -> dict[str, dict]:
    """{field: {"before": old, "after": new}} for the fields that differ (derived fields left out)."""
    before, after = before or {}, after or {}
    result = {}
    for key in list(dict.fromkeys([*before, *after])):
        if key in HIDDEN or (key == "id" and op == "update"):
            continue
        old, new = before.get(key), after.get(key)
        if old == new or (op != "update" and old is None and new is None):
            continue
        result[key] = {"before": old, "after": new}
    return result


def _row_doc(row: sqlite3.Row) -> dict:
    return {
        "table": row["tbl"],
        "row_id": row["row_id"],
        "op": row["op"],
        "fields": field_changes(row["op"], _load(row["before"]), _load(row["after"])),
        "erased": row["before"] is None and row["after"] is None,
    }


def _summary(rows: list[dict], limit: int = 4) -> str:
    parts = []
    for r in rows[:limit]:
        label = f"{r['table']} #{r['row_id']}"
        if r["erased"]:
            parts.append(f"{r['op']} {label} (details erased)")
            continue
        if r["op"] == "update":
            fields = ", ".join(f"{k}: {_short(v['before'])} -> {_short(v['after'])}" for k, v in r["fields"].items())
            parts.append(f"{label} {fields}" if fields else f"{label} touched")
        else:
            sign = "+" if r["op"] == "insert" else "-"
            image = {k: (v["after"] if r["op"] == "insert" else v["before"]) for k, v in r["fields"].items()}
            shown = image.get("name") or image.get("key") or image.get("tag") or image.get("title")
            shown = shown or image.get("summary") or image.get("value")
            parts.append(f"{sign}{label}" + (f" {_short(shown)}" if shown not in (None, "") else ""))
    if len(rows) > limit:
        parts.append(f"… {len(rows) - limit} more rows")
    return "; ".join(parts)


def _short(value, width: int = 40) -> str:
    text = "∅" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _ranges(conn: sqlite3.Connection, change_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT tbl, first_id, last_id FROM change_ranges WHERE change_id = ? ORDER BY id", (change_id,)
    ).fetchall()


def _range_count(ranges) -> int:
    return sum(r["last_id"] - r["first_id"] + 1 for r in ranges)


def _image_sql(conn: sqlite3.Connection, table: str) -> str:
    """The audit triggers' json_object(...) image of a row of table (db.install_audit_triggers)."""
    return "json_object(" + ", ".join(f"'{c}', {c}" for c in _columns(conn, table)) + ")"


def _range_row(conn: sqlite3.Connection, change_id: int, table: str, row_id: int, image: str) -> dict:
    """The change_rows-shaped insert row of one row a range holds: its image just after the change is the
    before image of the first later change that touched it (None when erased by forget), else the row now."""
    later = conn.execute(
        "SELECT before, after FROM change_rows WHERE tbl = ? AND row_id = ? AND change_id > ? ORDER BY id LIMIT 1",
        (table, str(row_id), change_id),
    ).fetchone()
    if later is not None:
        after = later["before"]
    else:
        now = conn.execute(f"SELECT {image} FROM {table} WHERE {db.AUDITED[table]} = ?", (row_id,)).fetchone()
        after = now[0] if now else None
    return {"tbl": table, "row_id": str(row_id), "op": "insert", "before": None, "after": after}


def _range_rows(
    conn: sqlite3.Connection, change_id: int, ranges, *, limit: int | None = None, contact_id: int | None = None
) -> list[dict]:
    """The rows the ranges of a change inserted, as change_rows-shaped dicts, in id order per range (the
    order the per-row images had): the first `limit`, or those of one contact."""
    rows: list[dict] = []
    for r in ranges:
        table, first, last = r["tbl"], r["first_id"], r["last_id"]
        if contact_id is None:
            if limit is not None:
                last = min(last, first + limit - len(rows) - 1)
            ids = list(range(first, last + 1))
        elif table == "contacts":
            ids = [contact_id] if first <= contact_id <= last else []
        elif "contact_id" in _columns(conn, table):
            ids = sorted(
                {
                    x[0]
                    for x in conn.execute(
                        f"""SELECT id FROM {table} WHERE id BETWEEN :a AND :b AND contact_id = :c
                            UNION SELECT CAST(row_id AS INTEGER) FROM change_rows
                             WHERE tbl = :t AND change_id > :n AND CAST(row_id AS INTEGER) BETWEEN :a AND :b
                               AND json_extract(before, '$.contact_id') = :c""",
                        {"a": first, "b": last, "c": contact_id, "t": table, "n": change_id},
                    )
                }
            )
        else:
            ids = []
        image = _image_sql(conn, table)
        rows += [_range_row(conn, change_id, table, i, image) for i in ids]
        if limit is not None and len(rows) >= limit:
            break
    return rows


def _range_erased(conn: sqlite3.Connection, change_id: int, ranges) -> bool:
    """A row a range holds was erased by `contact forget` (its later images are blank)."""
    return any(
        conn.execute(
            """SELECT 1 FROM change_rows WHERE change_id > ? AND tbl = ? AND before IS NULL AND after IS NULL
                AND CAST(row_id AS INTEGER) BETWEEN ? AND ? LIMIT 1""",
            (change_id, r["tbl"], r["first_id"], r["last_id"]),
        ).fetchone()
        for r in ranges
    )


def status_of(change: sqlite3.Row | dict, row_count: int, *, erased: bool = False) -> str:
    if change["command"].startswith(FORGET_PREFIX):
        return "not undoable (forget)"
    if change["undone_by"]:
        return f"undone by {change['undone_by']}"
    if not row_count:
        return "nothing changed"
    if erased:
        return "not undoable (erased by forget)"
    if change["undoes"]:
        return f"undo of {change['undoes']}"
    return "undoable"


def contact_change_ids(conn: sqlite3.Connection, contact_id: int) -> list[int]:
    """Ids of changes that touched the contact: its row, handles, tags, log, deals (and their stage
    history) and campaign memberships."""
    cid = str(contact_id)
    children = ",".join(f"'{t}'" for t in CONTACT_CHILDREN)
    ids = {
        r[0]
        for r in conn.execute(
            f"""SELECT change_id FROM change_rows WHERE tbl = 'contacts' AND row_id = ?
                UNION
                SELECT change_id FROM change_rows
                 WHERE tbl IN ({children})
                   AND coalesce(json_extract(after, '$.contact_id'), json_extract(before, '$.contact_id')) = ?""",
            (cid, contact_id),
        )
    }
    ids |= {
        r[0]
        for r in conn.execute(
            """SELECT change_id FROM change_ranges WHERE tbl = 'contacts' AND ? BETWEEN first_id AND last_id
               UNION
               SELECT r.change_id FROM change_ranges r JOIN contact_handles h ON h.id BETWEEN r.first_id AND r.last_id
                WHERE r.tbl = 'contact_handles' AND h.contact_id = ?
               UNION
               SELECT r.change_id FROM change_ranges r JOIN tags t ON t.id BETWEEN r.first_id AND r.last_id
                WHERE r.tbl = 'tags' AND t.contact_id = ?""",
            (contact_id, contact_id, contact_id),
        )
    }
    deal_ids = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT row_id FROM change_rows WHERE tbl = 'deals' AND change_id IN "
            "(SELECT value FROM json_each(?)) "
            "AND coalesce(json_extract(after, '$.contact_id'), json_extract(before, '$.contact_id')) = ?",
            (json.dumps(sorted(ids)), contact_id),
        )
    ]
    if deal_ids:
        ids |= {
            r[0]
            for r in conn.execute(
                "SELECT change_id FROM change_rows WHERE tbl = 'deal_stage_history' AND "
                "coalesce(json_extract(after, '$.deal_id'), json_extract(before, '$.deal_id')) "
                "IN (SELECT CAST(value AS INTEGER) FROM json_each(?))",
                (json.dumps(deal_ids),),
            )
        }
    return sorted(ids, reverse=True)


def list_changes(
    conn: sqlite3.Connection,
    *,
    contact_id: int | None = None,
    limit: int | None = 20,
    with_rows: bool = True,
) -> list[dict]:
    """Newest first: {id, at, command, undoes, undone_by, status, row_count, summary, rows}."""
    if limit is not None and limit <= 0:
        raise InvalidInput(f"invalid --limit {limit}; use a positive number")
    if contact_id is not None:
        ids = contact_change_ids(conn, contact_id)[: limit or None]
        changes = conn.execute(
            "SELECT * FROM changes WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id DESC",
            (json.dumps(ids),),
        ).fetchall()
    else:
        sql = "SELECT * FROM changes ORDER BY id DESC"
        changes = conn.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
    deal_ids: set[int] = set()
    if contact_id is not None:
        deal_ids = {
            int(r[0])
            for r in conn.execute(
                "SELECT DISTINCT row_id FROM change_rows WHERE tbl = 'deals' AND "
                "coalesce(json_extract(after, '$.contact_id'), json_extract(before, '$.contact_id')) = ?",
                (contact_id,),
            )
        }
    result = []
    for change in changes:
        row_count, erased = conn.execute(
            "SELECT count(*), coalesce(max(before IS NULL AND after IS NULL), 0) FROM change_rows WHERE change_id = ?",
            (change["id"],),
        ).fetchone()
        ranges = _ranges(conn, change["id"])
        if ranges:  # a bulk insert: its rows come first, as their per-row images did
            row_count += _range_count(ranges)
            erased = erased or _range_erased(conn, change["id"], ranges)
        if contact_id is None:
            rows = _range_rows(conn, change["id"], ranges, limit=ROW_LIMIT) if ranges else []
            rows += conn.execute(
                "SELECT * FROM change_rows WHERE change_id = ? ORDER BY id LIMIT ?",
                (change["id"], ROW_LIMIT - len(rows)),
            ).fetchall()
        else:
            rows = _range_rows(conn, change["id"], ranges, contact_id=contact_id) if ranges else []
            rows += [
                r
                for r in conn.execute("SELECT * FROM change_rows WHERE change_id = ? ORDER BY id", (change["id"],))
                if _row_belongs(r, contact_id, deal_ids)
            ]
        # Updates that only refreshed derived columns (search key, updated_at) are noise.
        docs = [d for d in (_row_doc(r) for r in rows) if d["erased"] or d["op"] != "update" or d["fields"]]
        doc = {
            "id": change["id"],
            "at": change["at"],
            "command": change["command"],
            "undoes": change["undoes"],
            "undone_by": change["undone_by"],
            "status": status_of(change, row_count, erased=bool(erased)),
            "row_count": row_count,
            "summary": _summary(docs),
        }
        if with_rows:
            doc["rows"] = docs
            doc["rows_truncated"] = contact_id is None and row_count > ROW_LIMIT
        result.append(doc)
    return result


def _row_belongs(row: sqlite3.Row, contact_id: int, deal_ids: set[int]) -> bool:
    if row["tbl"] == "contacts":
        return row["row_id"] == str(contact_id)
    image = _load(row["after"]) or _load(row["before"])
    if image is None:  # erased by forget: it was theirs
        return row["tbl"] in CONTACT_CHILDREN
    if row["tbl"] == "deal_stage_history":
        return image.get("deal_id") in deal_ids
    return image.get("contact_id") == contact_id


# ---------------------------------------------------------------------------------------------
# Undo


def _change(conn: sqlite3.Connection, change_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM changes WHERE id = ?", (change_id,)).fetchone()
    if row is None:
        raise NotFound(f"no change {change_id}; see `crm undo --list`")
    return row


def _depth(conn: sqlite3.Connection, change: sqlite3.Row) -> int:
    """0 for an ordinary change, 1 for an undo, 2 for an undo of an undo (a redo) …"""
    depth = 0
    while change["undoes"]:
        depth += 1
        change = _change(conn, change["undoes"])
    return depth


def latest_undoable(conn: sqlite3.Connection) -> int:
    """The change `crm undo` reverts: the newest that is not undone and is not itself an undo, so
    repeating `crm undo` walks back through the history."""
    for change in conn.execute("SELECT * FROM changes WHERE undone_by IS NULL ORDER BY id DESC"):
        if not conn.execute(
            "SELECT 1 FROM change_rows WHERE change_id = ? UNION ALL SELECT 1 FROM change_ranges WHERE change_id = ?",
            (change["id"], change["id"]),
        ).fetchone():
            continue
        if change["command"].startswith(FORGET_PREFIX):
            raise NotUndoable(
                f"the last change ({change['id']}: {change['command']}) cannot be undone: forgotten data is "
                "erased for good; undo an earlier change by id (crm undo --list)"
            )
        if _depth(conn, change) % 2 == 0:
            return change["id"]
    raise NotFound("nothing to undo")


def check_undoable(conn: sqlite3.Connection, change_id: int) -> list[sqlite3.Row]:
    """The change's rows, or a clear refusal: forget, already undone, erased details, or a later change
    that touched the same records."""
    change = _change(conn, change_id)
    if change["command"].startswith(FORGET_PREFIX):
        raise NotUndoable(
            f"change {change_id} ({change['command']}) cannot be undone: forgotten data is erased for good"
        )
    if change["undone_by"]:
        raise NotUndoable(
            f"change {change_id} ({change['command']}) was already undone by change {change['undone_by']}; "
            f"`crm undo {change['undone_by']}` redoes it"
        )
    rows = conn.execute("SELECT * FROM change_rows WHERE change_id = ? ORDER BY id", (change_id,)).fetchall()
    if not rows and not _ranges(conn, change_id):
        raise NotUndoable(f"change {change_id} ({change['command']}) changed nothing; nothing to undo")
    for r in rows:
        needed = r["after"] if r["op"] == "insert" else r["before"]
        if needed is None and r["op"] != "insert":
            raise NotUndoable(
                f"change {change_id} ({change['command']}) cannot be undone: its {r['tbl']} row {r['row_id']} "
                "was erased by `contact forget`"
            )
    blocker = _later_conflict(conn, change_id)
    if blocker:
        raise NotUndoable(
            f"cannot undo change {change_id} ({change['command']}): later change {blocker['id']} "
            f"({blocker['command']}) touched the same records; undo {blocker['id']} first"
        )
    return rows


def _neutral(conn: sqlite3.Connection, later: sqlite3.Row, change_id: int) -> bool:
    """A later change that cancels out inside the window: undone, or an undo of a change after change_id."""
    if later["undone_by"]:
        return True
    return bool(later["undoes"] and later["undoes"] > change_id)


def _later_conflict(conn: sqlite3.Connection, change_id: int) -> sqlite3.Row | None:
    # Later changes that touched one of this change's rows (set-based: an import holds 100k rows).
    candidates = {
        r[0]
        for r in conn.execute(
            """SELECT DISTINCT later.change_id FROM change_rows mine
               JOIN change_rows later ON later.tbl = mine.tbl AND later.row_id = mine.row_id
              WHERE mine.change_id = ? AND later.change_id > ?""",
            (change_id, change_id),
        )
    }
    # Rows added later under a parent this change created: undoing would delete them too (cascade).
    for column, parent in PARENT_COLUMNS.items():
        candidates |= {
            r[0]
            for r in conn.execute(
                f"""SELECT DISTINCT change_id FROM change_rows
                     WHERE change_id > ?
                       AND coalesce(json_extract(after, '$.{column}'), json_extract(before, '$.{column}')) IN
                           (SELECT CAST(row_id AS INTEGER) FROM change_rows
                             WHERE change_id = ? AND tbl = ? AND op = 'insert')""",
                (change_id, change_id, parent),
            )
        }
    candidates |= _range_conflicts(conn, change_id)
    for later_id in sorted(candidates):
        later = _change(conn, later_id)
        if not _neutral(conn, later, change_id):
            return later
    return None


def _range_conflicts(conn: sqlite3.Connection, change_id: int) -> set[int]:
    """Later changes that touched rows of this change's ranges, rows of later ranges this change touched,
    and later rows (per-row images or ranges) under a parent this change inserted (as a range or a row)."""
    found: set[int] = set()
    mine = _ranges(conn, change_id)
    for r in mine:  # later per-row writes and later ranges on the rows my ranges inserted
        found |= {
            x[0]
            for x in conn.execute(
                """SELECT change_id FROM change_rows WHERE change_id > :n AND tbl = :t
                      AND CAST(row_id AS INTEGER) BETWEEN :a AND :b
                   UNION SELECT change_id FROM change_ranges WHERE change_id > :n AND tbl = :t
                      AND first_id <= :b AND last_id >= :a""",
                {"n": change_id, "t": r["tbl"], "a": r["first_id"], "b": r["last_id"]},
            )
        }
    later = conn.execute(
        "SELECT change_id, tbl, first_id, last_id FROM change_ranges WHERE change_id > ?", (change_id,)
    ).fetchall()
    for r in later:
        if conn.execute(  # a later range reused an id one of my per-row writes touched
            """SELECT 1 FROM change_rows WHERE change_id = ? AND tbl = ?
                AND CAST(row_id AS INTEGER) BETWEEN ? AND ? LIMIT 1""",
            (change_id, r["tbl"], r["first_id"], r["last_id"]),
        ).fetchone():
            found.add(r["change_id"])
    for column, parent in PARENT_COLUMNS.items():
        for p in (x for x in mine if x["tbl"] == parent):  # later per-row writes under my range's rows
            found |= {
                x[0]
                for x in conn.execute(
                    f"""SELECT DISTINCT change_id FROM change_rows WHERE change_id > ?
                          AND coalesce(json_extract(after, '$.{column}'), json_extract(before, '$.{column}'))
                              BETWEEN ? AND ?""",
                    (change_id, p["first_id"], p["last_id"]),
                )
            }
        for r in later:  # later ranges whose rows point at a parent I inserted
            if r["change_id"] in found or column not in _columns(conn, r["tbl"]):
                continue
            inside = f"SELECT 1 FROM {r['tbl']} WHERE id BETWEEN ? AND ? AND {column} "
            args = (r["first_id"], r["last_id"])
            hit = conn.execute(
                inside + "IN (SELECT CAST(row_id AS INTEGER) FROM change_rows "
                "WHERE change_id = ? AND tbl = ? AND op = 'insert') LIMIT 1",
                (*args, change_id, parent),
            ).fetchone() or any(
                conn.execute(inside + "BETWEEN ? AND ? LIMIT 1", (*args, p["first_id"], p["last_id"])).fetchone()
                for p in mine
                if p["tbl"] == parent
            )
            if hit:
                found.add(r["change_id"])
    return found


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _revert_row(conn: sqlite3.Connection, row: sqlite3.Row, columns: dict[str, list[str]]) -> None:
    table = row["tbl"]
    if table not in db.AUDITED:
        raise CrmError(f"cannot undo rows of table {table!r}")
    key = db.AUDITED[table]
    cols = columns.setdefault(table, _columns(conn, table))
    row_id = row["row_id"]
    if row["op"] == "insert":
        conn.execute(f"DELETE FROM {table} WHERE {key} = ?", (row_id,))
        return
    before = {k: v for k, v in json.loads(row["before"]).items() if k in cols}
    if row["op"] == "delete":
        names = list(before)
        marks = ", ".join("?" * len(names))
        conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", [before[n] for n in names])
        return
    current = conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (row_id,)).fetchone()
    if current is None:
        raise NotUndoable(f"cannot undo: {table} row {row_id} no longer exists")
    sets = {k: v for k, v in before.items() if k != key and current[k] != v}
    if sets:
        assignments = ", ".join(f"{k} = ?" for k in sets)
        conn.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", [*sets.values(), row_id])


def _revert_all(conn: sqlite3.Connection, rows: list[sqlite3.Row], columns: dict[str, list[str]]) -> None:
    """Reverse order; a run of inserts into one table (an import) is deleted in one statement."""
    batch: list[str] = []
    batch_table = None

    def flush() -> None:
        if batch:
            key = db.AUDITED[batch_table]
            conn.execute(
                f"DELETE FROM {batch_table} WHERE {key} IN (SELECT value FROM json_each(?))", (json.dumps(batch),)
            )
            batch.clear()

    for row in reversed(rows):
        if row["op"] == "insert" and row["tbl"] in db.AUDITED:
            if row["tbl"] != batch_table:
                flush()
                batch_table = row["tbl"]
            batch.append(row["row_id"] if db.AUDITED[row["tbl"]] != "id" else int(row["row_id"]))
            continue
        flush()
        _revert_row(conn, row, columns)
    flush()


def undo(conn: sqlite3.Connection, change_id: int | None = None) -> dict:
    """Revert one change as a new change; returns {"id": new change, "undoes", "command", "rows"}."""
    target = change_id if change_id is not None else latest_undoable(conn)
    rows = check_undoable(conn, target)
    original = _change(conn, target)
    columns: dict[str, list[str]] = {}
    ranges = _ranges(conn, target)
    try:
        with db.write(conn, f"undo {target}") as new_id:
            conn.execute("PRAGMA defer_foreign_keys = ON")
            _revert_all(conn, rows, columns)
            for r in reversed(ranges):  # the bulk insert came first: its ranges are undone last
                key = db.AUDITED[r["tbl"]]
                conn.execute(f"DELETE FROM {r['tbl']} WHERE {key} BETWEEN ? AND ?", (r["first_id"], r["last_id"]))
            conn.execute("UPDATE changes SET undoes = ? WHERE id = ?", (target, new_id))
            conn.execute("UPDATE changes SET undone_by = ? WHERE id = ?", (new_id, target))
    except sqlite3.IntegrityError as exc:
        raise NotUndoable(
            f"cannot undo change {target} ({original['command']}): the old records clash with current data "
            f"({exc}); undo the later changes first"
        ) from None
    return {"id": new_id, "undoes": target, "command": original["command"], "rows": len(rows) + _range_count(ranges)}
