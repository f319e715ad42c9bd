"""Privacy: everything held about one person (subject export), and forgetting a person for good.

forget() erases the personal data of one contact everywhere while keeping anonymous figures:
- the contact row: name -> "forgotten #ID", every field, note, custom field, handle and tag removed,
  do-not-contact set; kind, status, source and the dates stay (customer counts still add up);
- their interactions keep kind, time, amount, currency, score and links, lose summary and outcome;
- their campaign memberships lose the rendered subject/body and error text; deal titles that name them
  become "deal #ID";
- history: every change_rows image of their rows is erased (the rows' identity stays, so later undo
  checks still see them), and commands, images and free text elsewhere that quote their name, e-mail
  or phone are scrubbed;
- the forget change itself keeps no images and can never be undone.
finish_forget() then compacts the FTS index, VACUUMs and truncates the WAL, so no byte of the old
values is left in the file, its -wal or -shm (a test greps them).
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime

from crm_cli import contacts
from crm_cli.db import utc_iso
from crm_cli.errors import CrmError, NotFound
from crm_cli.text import normalize

REDACTED = "[forgotten]"
CONTACT_CHILDREN = ("contact_handles", "tags", "interactions", "deals", "campaign_members")
# Columns of the contacts row that stay (anonymous: counts by status, source, dates).
KEEP_COLUMNS = ("id", "kind", "status", "source", "created_at", "updated_at")


def forgotten_name(contact_id: int) -> str:
    return f"forgotten #{contact_id}"


# ---------------------------------------------------------------------------------------------
# Subject export


def subject_export(conn: sqlite3.Connection, contact_id: int) -> dict:
    """Everything held about one person: the contact, handles, tags, custom fields, interactions, deals
    (with stage history), campaign memberships (with what was sent) and the history of changes."""
    from crm_cli import history

    contact = contacts.get(conn, contact_id)
    handles = [
        dict(r)
        for r in conn.execute(
            "SELECT id, type, value, key, label, is_primary FROM contact_handles WHERE contact_id = ? ORDER BY id",
            (contact_id,),
        )
    ]
    for h in handles:
        h["is_primary"] = bool(h["is_primary"])
    interactions = [
        _money_row(dict(r))
        for r in conn.execute("SELECT * FROM interactions WHERE contact_id = ? ORDER BY happened_at, id", (contact_id,))
    ]
    deals = []
    for r in conn.execute("SELECT * FROM deals WHERE contact_id = ? ORDER BY id", (contact_id,)):
        deal = _money_row(dict(r), "value")
        deal["stage_history"] = [
            dict(h)
            for h in conn.execute(
                "SELECT from_stage, to_stage, changed_at FROM deal_stage_history WHERE deal_id = ? "
                "ORDER BY changed_at, id",
                (r["id"],),
            )
        ]
        deals.append(deal)
    members = [
        dict(r)
        for r in conn.execute(
            """SELECT m.*, c.name AS campaign, c.channel FROM campaign_members m
               JOIN campaigns c ON c.id = m.campaign_id WHERE m.contact_id = ? ORDER BY m.id""",
            (contact_id,),
        )
    ]
    org = None
    if contact["org_id"]:
        row = conn.execute("SELECT id, name FROM contacts WHERE id = ?", (contact["org_id"],)).fetchone()
        org = dict(row) if row else None
    return {
        "contact": contact,
        "organization": org,
        "handles": handles,
        "tags": contact["tags"],
        "fields": contact["fields"],
        "interactions": interactions,
        "deals": deals,
        "campaigns": members,
        "history": history.list_changes(conn, contact_id=contact_id, limit=None),
    }


def _money_row(row: dict, key: str = "amount") -> dict:
    from crm_cli.money import to_decimal

    if row.get(key) is not None:
        row[key] = to_decimal(row[key])
    return row


# ---------------------------------------------------------------------------------------------
# Forget


def _needles(conn: sqlite3.Connection, contact_id: int) -> tuple[list[str], list[str]]:
    """(exact strings to scrub anywhere, name words to look for in commands) for one contact,
    including the values it had in the past (from the history images)."""
    names: set[str] = set()
    exact: set[str] = set()
    images = conn.execute(
        "SELECT before, after FROM change_rows WHERE tbl = 'contacts' AND row_id = ?", (str(contact_id),)
    ).fetchall()
    current = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    records = [dict(current)] + [json.loads(x) for r in images for x in r if x]
    for rec in records:
        if rec.get("name"):
            names.add(rec["name"])
        for key in ("email", "phone"):
            if rec.get(key):
                exact.add(rec[key])
    handle_rows = conn.execute(
        """SELECT value, key FROM contact_handles WHERE contact_id = :id
           UNION SELECT json_extract(i, '$.value'), json_extract(i, '$.key')
             FROM (SELECT coalesce(after, before) AS i FROM change_rows WHERE tbl = 'contact_handles')
            WHERE json_extract(i, '$.contact_id') = :id""",
        {"id": contact_id},
    ).fetchall()
    for value, key in handle_rows:
        exact |= {v for v in (value, key) if v}
    for name in names:
        exact |= {name, normalize(name)}
    words = {w for name in names for w in normalize(name).split() if len(w) >= 3}
    # A phone also appears without its +, and an e-mail in any letter case is the same address.
    exact |= {e.lstrip("+") for e in exact if e.startswith("+") and e[1:].isdigit()}
    return sorted((e for e in exact if len(e) >= 4), key=len, reverse=True), sorted(words)


def _text_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [
        r[1]
        for r in conn.execute(f"PRAGMA table_info({table})")
        if (r[2] or "").upper() in ("", "TEXT") or "CHAR" in (r[2] or "").upper()
    ]


# Free-text columns of other records that may quote a person (the contacts' own identity columns and
# the FTS index are handled separately).
SWEEP_SKIP = {
    "contacts": {"name", "name_key", "search_text", "kind", "status", "created_at", "updated_at"},
    "contact_handles": None,
    "tags": None,
    "change_rows": {"tbl", "row_id", "op"},
}


def _sweep(conn: sqlite3.Connection, needles: list[str], contact_id: int) -> set[int]:
    """Replace every needle in free text across the database; returns the other contacts touched."""
    touched_contacts: set[int] = set()
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'contacts_fts%'"
        )
    ]
    for table in tables:
        skip = SWEEP_SKIP.get(table, set())
        if skip is None:
            continue
        columns = [c for c in _text_columns(conn, table) if c not in skip]
        if not columns:
            continue
        for needle in needles:
            for column in columns:
                where = f"instr({column}, ?) > 0"
                if table == "contacts":
                    touched_contacts |= {
                        r[0] for r in conn.execute(f"SELECT id FROM contacts WHERE {where}", (needle,))
                    }
                conn.execute(
                    f"UPDATE {table} SET {column} = replace({column}, ?, ?) WHERE {where}",
                    (needle, REDACTED, needle),
                )
    touched_contacts.discard(contact_id)
    return touched_contacts


def _rederive_images(conn: sqlite3.Connection, contact_id: str) -> None:
    """Rebuild name_key and search_text in the history images of other contacts that the sweep redacted.

    search_text holds more than the values it is made of (the Arabic words without their article:
    الحداد -> حداد), so replacing the quoted name inside it leaves fragments; derive it again from the
    scrubbed name, e-mail, company and notes instead."""
    rows = conn.execute(
        "SELECT id, before, after FROM change_rows WHERE tbl = 'contacts' AND row_id <> ? "
        "AND (instr(before, ?) > 0 OR instr(after, ?) > 0)",
        (contact_id, REDACTED, REDACTED),
    ).fetchall()
    for row_id, *images in rows:
        for column, image in zip(("before", "after"), images, strict=True):
            if not image or REDACTED not in image:
                continue
            record = json.loads(image)
            derived = {}
            if record.get("search_text"):
                derived["$.search_text"] = contacts.search_text(
                    record.get("name") or "", record.get("email"), record.get("company"), record.get("notes")
                )
            if record.get("name_key") and record.get("name"):
                derived["$.name_key"] = normalize(record["name"])
            if derived:
                paths = ", ".join("?, ?" for _ in derived)
                conn.execute(
                    f"UPDATE change_rows SET {column} = json_set({column}, {paths}) WHERE id = ?",
                    [*(x for pair in derived.items() for x in pair), row_id],
                )


def _mentions(text: str | None, needles: list[str], words: list[str]) -> bool:
    if not text:
        return False
    norm = normalize(text)
    return any(n in text for n in needles) or any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", norm) for w in words)


def forget(conn: sqlite3.Connection, contact_id: int, *, change_id: int, now: datetime) -> dict:
    """Erase one person's personal data inside the caller's db.write(); returns what was erased.
    Call finish_forget(conn) after the transaction commits."""
    row = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        raise NotFound(f"no contact with id {contact_id}; see `crm contact list`")
    from crm_cli import history

    needles, words = _needles(conn, contact_id)
    touching = set(history.contact_change_ids(conn, contact_id)) - {change_id}
    stats = {"id": contact_id}
    cid = str(contact_id)

    # 1. The contact row and what hangs off it.
    stats["handles"] = conn.execute("DELETE FROM contact_handles WHERE contact_id = ?", (contact_id,)).rowcount
    stats["tags"] = conn.execute("DELETE FROM tags WHERE contact_id = ?", (contact_id,)).rowcount
    name = forgotten_name(contact_id)
    conn.execute(
        """UPDATE contacts SET name = ?, org_id = NULL, company = NULL, title = NULL, email = NULL, phone = NULL,
                  address = NULL, city = NULL, country = NULL, dnc = 1, notes = NULL, custom = '{}',
                  every_days = NULL, birthday = NULL, updated_at = ?
            WHERE id = ?""",
        (name, utc_iso(now), contact_id),
    )
    contacts._refresh_search(conn, contact_id)
    stats["interactions"] = conn.execute(
        "UPDATE interactions SET summary = '', outcome = NULL WHERE contact_id = ?", (contact_id,)
    ).rowcount
    stats["campaign_members"] = conn.execute(
        "UPDATE campaign_members SET rendered_subject = NULL, rendered_body = NULL, error = NULL WHERE contact_id = ?",
        (contact_id,),
    ).rowcount
    for deal in conn.execute("SELECT id, title, lost_reason FROM deals WHERE contact_id = ?", (contact_id,)).fetchall():
        if _mentions(deal["title"], needles, words):
            conn.execute("UPDATE deals SET title = ? WHERE id = ?", (f"deal #{deal['id']}", deal["id"]))
        if _mentions(deal["lost_reason"], needles, words):
            conn.execute("UPDATE deals SET lost_reason = NULL WHERE id = ?", (deal["id"],))

    # 2. Quotes of them elsewhere (other contacts' notes, other log entries, settings, sent_once …).
    for other in _sweep(conn, needles, contact_id):
        contacts._refresh_search(conn, other)
    _rederive_images(conn, cid)

    # 3. History: erase the images of their rows; redact commands that name them.
    children = ",".join(f"'{t}'" for t in CONTACT_CHILDREN)
    stats["history_rows"] = conn.execute(
        f"""UPDATE change_rows SET before = NULL, after = NULL
             WHERE (tbl = 'contacts' AND row_id = ?)
                OR (tbl IN ({children}) AND
                    coalesce(json_extract(after, '$.contact_id'), json_extract(before, '$.contact_id')) = ?)""",
        (cid, contact_id),
    ).rowcount
    # (exact values were scrubbed from every command by the sweep; name words only where they touched them)
    for change in conn.execute(
        "SELECT id, command FROM changes WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(touching)),)
    ).fetchall():
        if _mentions(change["command"], [], words):
            verb = " ".join(change["command"].split()[:2])
            conn.execute("UPDATE changes SET command = ? WHERE id = ?", (f"{verb} {REDACTED}", change["id"]))
    # The forget change keeps which rows it touched (undo checks), never their values.
    conn.execute("UPDATE change_rows SET before = NULL, after = NULL WHERE change_id = ?", (change_id,))
    # The FTS index still holds the old terms in its segments until they are merged.
    conn.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('optimize')")
    return stats


def finish_forget(conn: sqlite3.Connection) -> None:
    """After the forget transaction committed: rewrite the file so no freed page keeps old bytes."""
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as exc:
        raise CrmError(
            f"the contact was forgotten but the file could not be compacted ({exc}); "
            "close other crm sessions and run `crm contact forget` again"
        ) from None
    if busy:
        raise CrmError(
            "the contact was forgotten but another process holds the database open, so old bytes may remain "
            "in the -wal file; close other crm sessions and run `crm contact forget` again"
        )
