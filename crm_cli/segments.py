"""Saved segments: named filter expressions, usable anywhere a filter is (`segment:NAME`)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime

from crm_cli.db import utc_iso
from crm_cli.errors import InvalidInput, NotFound


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not re.fullmatch(r"[\w][\w.-]*", name):
        raise InvalidInput(f"invalid segment name {name!r}; use letters, digits, '-', '_' or '.' (no spaces)")
    return name


def expression(conn: sqlite3.Connection, name: str) -> str:
    row = conn.execute("SELECT expr FROM segments WHERE name = ?", (name,)).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT name FROM segments ORDER BY name")]
        hint = f"; saved segments: {', '.join(known)}" if known else "; save one with `crm campaign segment save`"
        raise NotFound(f"no segment named {name!r}{hint}")
    return row[0]


def save(conn: sqlite3.Connection, name: str, expr: str, now: datetime) -> int:
    """Create or replace a segment after checking its expression builds. Caller holds the transaction."""
    from crm_cli import filters

    name = _check_name(name)
    flt = filters.parse(expr)
    if any(t.key == "segment" and name in t.value.split(",") for t in flt.terms):
        raise InvalidInput(f"segment {name!r} cannot refer to itself")
    filters.to_sql(flt, filters.Context(conn, now, seen_segments=(name,)))
    stamp = utc_iso(now)
    row = conn.execute("SELECT id FROM segments WHERE name = ?", (name,)).fetchone()
    if row:
        conn.execute("UPDATE segments SET expr = ?, updated_at = ? WHERE id = ?", (expr, stamp, row[0]))
        return row[0]
    return conn.execute(
        "INSERT INTO segments (name, expr, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (name, expr, stamp, stamp),
    ).lastrowid


def all_segments(conn: sqlite3.Connection) -> list[dict]:
    return [dict(r) for r in conn.execute("SELECT id, name, expr, created_at, updated_at FROM segments ORDER BY name")]


def delete(conn: sqlite3.Connection, name: str) -> None:
    """Remove a segment; refused while another segment refers to it."""
    from crm_cli import filters
    from crm_cli.errors import Conflict

    expression(conn, name)  # NotFound when missing
    for other in all_segments(conn):
        terms = filters.parse(other["expr"]).terms
        if any(t.key == "segment" and name in t.value.split(",") for t in terms):
            raise Conflict(f"segment {other['name']!r} uses {name!r}; change or delete it first")
    conn.execute("DELETE FROM segments WHERE name = ?", (name,))
