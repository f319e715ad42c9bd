"""Merge two contacts: everything OTHER has moves to KEEP, then OTHER is deleted.

Runs inside the caller's db.write(), so a merge is one change and `crm undo` reverts it whole.
- interactions, deals, campaign memberships, tags, handles (OTHER's e-mails and phones become KEEP's
  secondary ones, or primary where KEEP had none) and people linked to OTHER as their organisation;
- a campaign both belonged to keeps one membership: the further-along row, with the other's response
  times filled in (UNIQUE(campaign_id, contact_id));
- KEEP's empty fields and custom fields are filled from OTHER; notes are joined; the lifecycle status
  is the further one (customer > inactive > prospect > lead); do-not-contact if either asked for it;
  created_at is the earlier;
- any other table that points at contacts(id) (added by later features) is moved too.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from crm_cli import contacts
from crm_cli.db import utc_iso
from crm_cli.errors import Conflict, InvalidInput, NotFound

FILL = ("company", "title", "address", "city", "country", "source", "birthday", "every_days", "org_id")
STATUS_RANK = {"lead": 0, "prospect": 1, "inactive": 2, "customer": 3}
MEMBER_RANK = {"pending": 0, "failed": 1, "sending": 2, "sent": 3}
MEMBER_EVENTS = (
    "sent_at",
    "delivered_at",
    "opened_at",
    "clicked_at",
    "replied_at",
    "purchased_at",
    "unsubscribed_at",
)
HANDLED = {"contact_handles", "tags", "interactions", "deals", "campaign_members", "contacts"}


def _row(conn: sqlite3.Connection, contact_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        raise NotFound(f"no contact with id {contact_id}; see `crm contact list`")
    return row


def check(conn: sqlite3.Connection, keep_id: int, other_id: int) -> None:
    if keep_id == other_id:
        raise InvalidInput(f"cannot merge contact {keep_id} into itself; give two different contacts")
    keep, other = _row(conn, keep_id), _row(conn, other_id)
    if keep["kind"] != other["kind"]:
        raise InvalidInput(
            f"contact {keep_id} is {_a(keep['kind'])} and {other_id} {_a(other['kind'])}; merge only the same kind"
        )


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def counts(conn: sqlite3.Connection, other_id: int) -> dict[str, int]:
    """What OTHER brings along."""
    row = conn.execute(
        """SELECT (SELECT count(*) FROM interactions WHERE contact_id = :id),
                  (SELECT count(*) FROM deals WHERE contact_id = :id),
                  (SELECT count(*) FROM campaign_members WHERE contact_id = :id),
                  (SELECT count(*) FROM tags WHERE contact_id = :id),
                  (SELECT count(*) FROM contact_handles WHERE contact_id = :id),
                  (SELECT count(*) FROM contacts WHERE org_id = :id)""",
        {"id": other_id},
    ).fetchone()
    keys = ("interactions", "deals", "campaign_members", "tags", "handles", "members_of_org")
    return dict(zip(keys, row, strict=True))


def merge(conn: sqlite3.Connection, keep_id: int, other_id: int, *, now: datetime) -> dict:
    """Merge OTHER into KEEP inside the caller's transaction; returns {keep, other, filled, moved}."""
    check(conn, keep_id, other_id)
    keep, other = _row(conn, keep_id), _row(conn, other_id)
    moved = counts(conn, other_id)
    filled: list[str] = []

    # Fields: fill the empty ones, join notes, take the further status, keep the earlier creation.
    sets: dict[str, object] = {}
    for field in FILL:
        if keep[field] in (None, "") and other[field] not in (None, ""):
            if field == "org_id" and other[field] == keep_id:
                continue
            sets[field] = other[field]
            filled.append(field)
    if other["notes"] and other["notes"] != keep["notes"]:
        sets["notes"] = f"{keep['notes']}\n{other['notes']}" if keep["notes"] else other["notes"]
        filled.append("notes")
    if STATUS_RANK.get(other["status"], 0) > STATUS_RANK.get(keep["status"], 0):
        sets["status"] = other["status"]
        filled.append("status")
    if other["dnc"] and not keep["dnc"]:
        sets["dnc"] = 1
        filled.append("dnc")
    if other["created_at"] < keep["created_at"]:
        sets["created_at"] = other["created_at"]
    custom = json.loads(keep["custom"] or "{}")
    extra = {k: v for k, v in json.loads(other["custom"] or "{}").items() if custom.get(k) in (None, "")}
    if extra:
        sets["custom"] = json.dumps({**custom, **extra}, ensure_ascii=False)
        filled += [f"field:{k}" for k in extra]
    if sets:
        assignments = ", ".join(f"{k} = ?" for k in sets)
        conn.execute(f"UPDATE contacts SET {assignments} WHERE id = ?", [*sets.values(), keep_id])

    # Handles: OTHER's become KEEP's, secondary unless KEEP has none of that type.
    for kind in ("email", "phone"):
        has_primary = conn.execute(
            "SELECT key FROM contact_handles WHERE contact_id = ? AND type = ? AND is_primary = 1", (keep_id, kind)
        ).fetchone()
        handles = conn.execute(
            "SELECT id, key, is_primary FROM contact_handles WHERE contact_id = ? AND type = ? "
            "ORDER BY is_primary DESC, id",
            (other_id, kind),
        ).fetchall()
        for index, handle in enumerate(handles):
            primary = int(not has_primary and index == 0)
            conn.execute(
                "UPDATE contact_handles SET contact_id = ?, is_primary = ? WHERE id = ?",
                (keep_id, primary, handle["id"]),
            )
            if primary:
                conn.execute(f"UPDATE contacts SET {kind} = ? WHERE id = ?", (handle["key"], keep_id))
                filled.append(kind)
        if not has_primary and not handles and not keep[kind] and other[kind]:
            conn.execute(f"UPDATE contacts SET {kind} = ? WHERE id = ?", (other[kind], keep_id))
            filled.append(kind)

    # Tags: move the ones KEEP lacks, drop the duplicates.
    conn.execute(
        "UPDATE tags SET contact_id = ? WHERE contact_id = ? "
        "AND tag NOT IN (SELECT tag FROM tags WHERE contact_id = ?)",
        (keep_id, other_id, keep_id),
    )
    conn.execute("DELETE FROM tags WHERE contact_id = ?", (other_id,))

    # The log and the deals simply change hands.
    conn.execute("UPDATE interactions SET contact_id = ? WHERE contact_id = ?", (keep_id, other_id))
    conn.execute("UPDATE deals SET contact_id = ? WHERE contact_id = ?", (keep_id, other_id))
    conn.execute("UPDATE contacts SET org_id = ? WHERE org_id = ? AND id <> ?", (keep_id, other_id, keep_id))

    _merge_memberships(conn, keep_id, other_id)
    _move_other_references(conn, keep_id, other_id)

    conn.execute("DELETE FROM contacts WHERE id = ?", (other_id,))
    conn.execute("UPDATE contacts SET updated_at = ? WHERE id = ?", (utc_iso(now), keep_id))
    contacts._refresh_search(conn, keep_id)
    return {"keep": keep_id, "other": other_id, "filled": filled, "moved": moved}


def _merge_memberships(conn: sqlite3.Connection, keep_id: int, other_id: int) -> None:
    both = conn.execute(
        """SELECT k.id AS keep_row, o.id AS other_row FROM campaign_members k
           JOIN campaign_members o ON o.campaign_id = k.campaign_id AND o.contact_id = ?
           WHERE k.contact_id = ?""",
        (other_id, keep_id),
    ).fetchall()
    for pair in both:
        rows = {
            r["id"]: r
            for r in conn.execute(
                "SELECT * FROM campaign_members WHERE id IN (?, ?)", (pair["keep_row"], pair["other_row"])
            )
        }
        k, o = rows[pair["keep_row"]], rows[pair["other_row"]]
        # The further-along row survives; the other only lends its response times.
        base, spare = (o, k) if MEMBER_RANK.get(o["status"], 0) > MEMBER_RANK.get(k["status"], 0) else (k, o)
        conn.execute("DELETE FROM campaign_members WHERE id = ?", (spare["id"],))
        fills = {c: spare[c] for c in MEMBER_EVENTS if base[c] is None and spare[c] is not None}
        fills["contact_id"] = keep_id
        assignments = ", ".join(f"{c} = ?" for c in fills)
        conn.execute(f"UPDATE campaign_members SET {assignments} WHERE id = ?", [*fills.values(), base["id"]])
    conn.execute("UPDATE campaign_members SET contact_id = ? WHERE contact_id = ?", (keep_id, other_id))


def _move_other_references(conn: sqlite3.Connection, keep_id: int, other_id: int) -> None:
    """Tables added by later features that point at contacts(id): move their rows to KEEP."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'contacts_fts%'"
        )
    ]
    for table in tables:
        if table in HANDLED:
            continue
        for fk in conn.execute(f"PRAGMA foreign_key_list({table})").fetchall():
            if fk["table"] != "contacts":
                continue
            column = fk["from"]
            try:
                conn.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (keep_id, other_id))
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"cannot move {table} rows of contact {other_id} to {keep_id}: {exc}") from None
