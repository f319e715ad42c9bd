"""Deals and the sales pipeline: stages, deals, their stage history, winning and losing.

- Stages live in `stages` (name, position, default probability, kind open|won|lost). There is exactly one
  won and one lost stage; they can be renamed and reordered but not removed. A stage that still holds
  deals cannot be removed (Conflict, exit 4). Renames follow into deals (FK ON UPDATE CASCADE) and into
  the stage history.
- Money is INTEGER thousandths; a deal has one currency. A deal's probability is its own override, else
  its stage's.
- Every stage change (including the first stage and won/lost) is a row in deal_stage_history.
- Winning logs a purchase interaction (kind='purchase', amount=value, currency, deal_id) and makes the
  contact a customer, so revenue and retention reports, which read purchases only, count it. Moving a won
  deal back to an open stage (or to lost) removes that purchase; a contact left with no purchase then goes
  back to `prospect`.
- Last activity = the newest of: a linked interaction, the last stage change, the last edit.

Writers expect the caller's db.write() transaction.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from crm_cli.db import utc_iso
from crm_cli.errors import Conflict, InvalidInput, NotFound
from crm_cli.money import SCALE, to_decimal
from crm_cli.text import clean

RESERVED_STAGE_NAMES = ("total", "overdue", "open", "closed", "any")
_STAGE_NAME = re.compile(r"[\w][\w.-]{0,39}")

# ---------------------------------------------------------------------------------------------
# Money helpers


def weighted(value_x_probability: int | None) -> Decimal | None:
    """sum(value * probability) (thousandths x percent) -> the exact weighted amount as a Decimal."""
    if value_x_probability is None:
        return None
    amount = Decimal(int(value_x_probability)) / (SCALE * 100)
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize()


def exact_average(total: int, count: int) -> Decimal | None:
    """An average amount of thousandths, to the nearest thousandth (half-even), as a Decimal."""
    if not count:
        return None
    return to_decimal(int((Decimal(int(total)) / count).quantize(Decimal(1))))


# ---------------------------------------------------------------------------------------------
# Stages


@dataclass
class Stage:
    id: int
    name: str
    position: int
    probability: int
    kind: str


def stages(conn: sqlite3.Connection) -> list[Stage]:
    return [
        Stage(r["id"], r["name"], r["position"], r["probability"], r["kind"])
        for r in conn.execute("SELECT id, name, position, probability, kind FROM stages ORDER BY position, id")
    ]


def stage_rows(conn: sqlite3.Connection) -> list[dict]:
    counts = {r[0]: r[1] for r in conn.execute("SELECT stage, count(*) FROM deals GROUP BY stage")}
    return [
        {
            "position": s.position,
            "name": s.name,
            "probability": s.probability,
            "kind": s.kind,
            "deals": counts.get(s.name, 0),
        }
        for s in stages(conn)
    ]


def _stage_list(conn: sqlite3.Connection) -> str:
    return ", ".join(s.name for s in stages(conn))


def get_stage(conn: sqlite3.Connection, raw: str, *, option: str = "stage") -> Stage:
    """A stage by name (case-insensitive); unknown names exit 2 listing the stages."""
    name = (raw or "").strip().casefold()
    for s in stages(conn):
        if s.name == name:
            return s
    raise InvalidInput(f"unknown {option} {raw!r}; stages: {_stage_list(conn)}")


def closing_stage(conn: sqlite3.Connection, kind: str) -> Stage:
    for s in stages(conn):
        if s.kind == kind:
            return s
    raise InvalidInput(f"there is no {kind} stage; see `crm deal stages`")  # pragma: no cover - kept by rules


def first_open_stage(conn: sqlite3.Connection) -> Stage:
    for s in stages(conn):
        if s.kind == "open":
            return s
    raise InvalidInput("there is no open stage; add one with `crm deal stages add NAME --probability P`")


def _check_stage_name(conn: sqlite3.Connection, raw: str, *, except_id: int | None = None) -> str:
    name = (clean(raw) or "").casefold()
    if not _STAGE_NAME.fullmatch(name):
        raise InvalidInput(f"invalid stage name {raw!r}; use one word of letters, digits, '-', '_' or '.' (at most 40)")
    if name in RESERVED_STAGE_NAMES:
        raise InvalidInput(f"stage name {name!r} is reserved (reports use it); choose another name")
    row = conn.execute("SELECT id FROM stages WHERE name = ?", (name,)).fetchone()
    if row and row[0] != except_id:
        raise Conflict(f"a stage named {name!r} already exists; see `crm deal stages`")
    return name


def check_probability(value: int | None, *, option: str = "--probability") -> int | None:
    if value is None:
        return None
    if not 0 <= value <= 100:
        raise InvalidInput(f"invalid {option} {value}; use a whole percentage from 0 to 100")
    return value


def _renumber(conn: sqlite3.Connection, ordered_ids: list[int]) -> None:
    # Two passes so positions never collide mid-way (no UNIQUE today, but cheap insurance).
    for i, stage_id in enumerate(ordered_ids, start=1):
        conn.execute("UPDATE stages SET position = ? WHERE id = ?", (-i, stage_id))
    conn.execute("UPDATE stages SET position = -position WHERE position < 0")


def _target_index(conn: sqlite3.Connection, ids: list[int], position, before, after) -> int:
    given = [x for x in (position, before, after) if x is not None]
    if len(given) > 1:
        raise InvalidInput("give one of POSITION, --before or --after")
    if position is not None:
        if not 1 <= position <= len(ids) + 1:
            raise InvalidInput(f"invalid position {position}; use 1 to {len(ids) + 1}")
        return position - 1
    if before is not None:
        return ids.index(get_stage(conn, before, option="--before stage").id)
    if after is not None:
        return ids.index(get_stage(conn, after, option="--after stage").id) + 1
    # Default for new stages: after the last open stage (before won/lost).
    open_positions = [i for i, s in enumerate(stages(conn)) if s.kind == "open"]
    return (open_positions[-1] + 1) if open_positions else 0


def add_stage(
    conn: sqlite3.Connection,
    name: str,
    probability: int,
    *,
    position: int | None = None,
    before: str | None = None,
    after: str | None = None,
) -> int:
    """A new open stage; by default placed after the last open stage."""
    name = _check_stage_name(conn, name)
    check_probability(probability)
    ids = [s.id for s in stages(conn)]
    index = _target_index(conn, ids, position, before, after)
    new_id = conn.execute(
        "INSERT INTO stages (name, position, probability, kind) VALUES (?, ?, ?, 'open')",
        (name, len(ids) + 1, probability),
    ).lastrowid
    ids.insert(index, new_id)
    _renumber(conn, ids)
    return new_id


def set_stage(
    conn: sqlite3.Connection, raw: str, *, probability: int | None = None, new_name: str | None = None
) -> list[str]:
    """Change a stage's probability and/or name; returns what changed."""
    stage = get_stage(conn, raw)
    changed = []
    if probability is not None:
        check_probability(probability)
        if stage.kind != "open" and probability != stage.probability:
            raise InvalidInput(
                f"the {stage.kind} stage {stage.name!r} always counts {stage.probability}%; "
                "only open stages take another probability"
            )
        if probability != stage.probability:
            conn.execute("UPDATE stages SET probability = ? WHERE id = ?", (probability, stage.id))
            changed.append("probability")
    if new_name is not None:
        name = _check_stage_name(conn, new_name, except_id=stage.id)
        if name != stage.name:
            # deals.stage follows through ON UPDATE CASCADE; the history is plain text, so rename it too.
            conn.execute("UPDATE stages SET name = ? WHERE id = ?", (name, stage.id))
            conn.execute("UPDATE deal_stage_history SET to_stage = ? WHERE to_stage = ?", (name, stage.name))
            conn.execute("UPDATE deal_stage_history SET from_stage = ? WHERE from_stage = ?", (name, stage.name))
            changed.append("name")
    return changed


def move_stage(
    conn: sqlite3.Connection,
    raw: str,
    *,
    position: int | None = None,
    before: str | None = None,
    after: str | None = None,
) -> int:
    """Reorder: put a stage at POSITION (1-based) or before/after another. Returns its new position."""
    stage = get_stage(conn, raw)
    if position is None and before is None and after is None:
        raise InvalidInput("say where: a POSITION number, --before STAGE or --after STAGE")
    ids = [s.id for s in stages(conn)]
    if position is not None and not 1 <= position <= len(ids):
        raise InvalidInput(f"invalid position {position}; use 1 to {len(ids)}")
    for other, option in ((before, "--before"), (after, "--after")):
        if other is not None and get_stage(conn, other, option=f"{option} stage").id == stage.id:
            raise InvalidInput(f"{option} names the stage being moved; name another stage")
    index = _target_index(conn, ids, position, before, after)
    old = ids.index(stage.id)
    if position is None and index > old:
        index -= 1  # removing the stage first shifts the ones after it
    ids.pop(old)
    ids.insert(index, stage.id)
    _renumber(conn, ids)
    return index + 1


def remove_stage(conn: sqlite3.Connection, raw: str) -> Stage:
    stage = get_stage(conn, raw)
    if stage.kind != "open":
        raise Conflict(f"the {stage.kind} stage {stage.name!r} cannot be removed (rename it instead)")
    held = conn.execute("SELECT count(*) FROM deals WHERE stage = ?", (stage.name,)).fetchone()[0]
    if held:
        raise Conflict(
            f"stage {stage.name!r} still holds {held} deal{'s' if held != 1 else ''}; "
            f"move them first (crm deal list --stage {stage.name})"
        )
    if sum(1 for s in stages(conn) if s.kind == "open") == 1:
        raise Conflict(f"{stage.name!r} is the only open stage; add another before removing it")
    conn.execute("DELETE FROM stages WHERE id = ?", (stage.id,))
    _renumber(conn, [s.id for s in stages(conn)])
    return stage


# ---------------------------------------------------------------------------------------------
# Deals: reads

SELECT = """
    SELECT d.*, c.name AS contact, s.kind AS stage_kind, s.position AS stage_position,
           coalesce(d.probability, s.probability) AS effective_probability,
           max(d.stage_changed_at, d.updated_at,
               coalesce((SELECT max(i.happened_at) FROM interactions i WHERE i.deal_id = d.id), '')
           ) AS last_activity_at
    FROM deals d JOIN contacts c ON c.id = d.contact_id JOIN stages s ON s.name = d.stage
"""


def _days_between(start_iso: str | None, now: datetime) -> float | None:
    if not start_iso:
        return None
    start = datetime.fromisoformat(start_iso.replace("Z", "+00:00"))
    return round((now - start).total_seconds() / 86400, 1)


def record(row: sqlite3.Row, now: datetime) -> dict:
    """A deals row (from SELECT) -> the documented JSON shape."""
    d = dict(row)
    kind = d["stage_kind"]
    probability = d["effective_probability"]
    return {
        "id": d["id"],
        "title": d["title"],
        "contact_id": d["contact_id"],
        "contact": d["contact"],
        "stage": d["stage"],
        "status": kind,  # open | won | lost
        "value": to_decimal(d["value"]),
        "currency": d["currency"],
        "probability": probability,
        "probability_override": d["probability"],
        "weighted_value": weighted(d["value"] * probability),
        "expected_close": d["expected_close"],
        "owner": d["owner"],
        "lost_reason": d["lost_reason"],
        "closed_at": d["closed_at"],
        "stage_changed_at": d["stage_changed_at"],
        "days_in_stage": _days_between(d["stage_changed_at"], now),
        "last_activity_at": d["last_activity_at"],
        "created_at": d["created_at"],
        "updated_at": d["updated_at"],
    }


def _row(conn: sqlite3.Connection, deal_id: int) -> sqlite3.Row:
    row = conn.execute(f"{SELECT} WHERE d.id = ?", (deal_id,)).fetchone()
    if row is None:
        raise NotFound(f"no deal with id {deal_id}; see `crm deal list`")
    return row


def get(conn: sqlite3.Connection, deal_id: int, now: datetime, *, detail: bool = False) -> dict:
    """One deal; with detail, its stage history (oldest first) and linked interactions (newest first)."""
    deal = record(_row(conn, deal_id), now)
    if detail:
        from crm_cli.interactions import row_dict

        deal["history"] = [
            dict(r)
            for r in conn.execute(
                "SELECT from_stage, to_stage, changed_at FROM deal_stage_history WHERE deal_id = ? "
                "ORDER BY changed_at, id",
                (deal_id,),
            )
        ]
        deal["interactions"] = [
            row_dict(r)
            for r in conn.execute(
                "SELECT i.*, c.name AS contact FROM interactions i JOIN contacts c ON c.id = i.contact_id "
                "WHERE i.deal_id = ? ORDER BY i.happened_at DESC, i.id DESC",
                (deal_id,),
            )
        ]
    return deal


def exists(conn: sqlite3.Connection, deal_id: int) -> None:
    if not conn.execute("SELECT 1 FROM deals WHERE id = ?", (deal_id,)).fetchone():
        raise NotFound(f"no deal with id {deal_id}; see `crm deal list`")


@dataclass
class ListFilter:
    stages: list[str] | None = None
    status: str | None = None  # open | won | lost
    owner: str | None = None
    closing_before: date | None = None  # expected_close < this
    closing_after: date | None = None  # expected_close > this
    contact_filter: list[str] | None = None  # the contact filter language
    limit: int | None = None


def list_deals(conn: sqlite3.Connection, flt: ListFilter, now: datetime) -> Iterator[dict]:
    from crm_cli import filters

    clauses, params = [], []
    if flt.stages:
        names = []
        for raw in flt.stages:
            names += [get_stage(conn, part, option="--stage").name for part in raw.split(",") if part.strip()]
        clauses.append(f"d.stage IN ({','.join('?' * len(names))})")
        params += names
    if flt.status:
        clauses.append("s.kind = ?")
        params.append(flt.status)
    if flt.owner:
        clauses.append("lower(d.owner) = lower(?)")
        params.append(flt.owner.strip())
    if flt.closing_before:
        clauses.append("d.expected_close < ?")
        params.append(flt.closing_before.isoformat())
    if flt.closing_after:
        clauses.append("d.expected_close > ?")
        params.append(flt.closing_after.isoformat())
    if flt.contact_filter:
        parsed = filters.parse(flt.contact_filter)
        if not parsed.empty:
            if not any(t.key == "kind" for t in parsed.terms):
                parsed.terms.insert(0, filters.Term("kind", ":", "any"))  # deals may belong to organisations
            where, args = filters.to_sql(parsed, filters.Context(conn, now, alias="c"))
            clauses.append(f"({where})")
            params += args
    sql = f"{SELECT} WHERE {' AND '.join(clauses) or '1'} ORDER BY d.id"
    if flt.limit is not None:
        if flt.limit < 0:
            raise InvalidInput(f"invalid --limit {flt.limit}; use a positive number")
        sql += f" LIMIT {int(flt.limit)}"
    for row in conn.execute(sql, params):
        yield record(row, now)


# ---------------------------------------------------------------------------------------------
# Deals: writes


def _history(conn: sqlite3.Connection, deal_id: int, from_stage: str | None, to_stage: str, stamp: str) -> None:
    conn.execute(
        "INSERT INTO deal_stage_history (deal_id, from_stage, to_stage, changed_at) VALUES (?, ?, ?, ?)",
        (deal_id, from_stage, to_stage, stamp),
    )


def add(
    conn: sqlite3.Connection,
    *,
    contact_id: int,
    title: str,
    now: datetime,
    value: int = 0,
    currency: str | None = None,
    stage: str | None = None,
    expected_close: date | None = None,
    probability: int | None = None,
    owner: str | None = None,
) -> int:
    """Create an open deal; returns its id. Validates everything before writing."""
    from crm_cli import settings

    title = clean(title)
    if not title:
        raise InvalidInput('a deal needs a title; e.g. crm deal add sara "Wholesale order" --value 12000')
    if value < 0:
        raise InvalidInput("invalid --value: must not be negative")
    check_probability(probability)
    target = get_stage(conn, stage) if stage else first_open_stage(conn)
    if target.kind != "open":
        verb = "won" if target.kind == "won" else "lost --reason TEXT"
        raise InvalidInput(f"a new deal starts in an open stage, not {target.name!r}; add it, then `crm deal {verb}`")
    currency = currency or settings.default_currency(conn)
    stamp = utc_iso(now)
    deal_id = conn.execute(
        """INSERT INTO deals (contact_id, title, value, currency, stage, probability, expected_close, owner,
                              stage_changed_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            contact_id,
            title,
            value,
            currency,
            target.name,
            probability,
            expected_close.isoformat() if expected_close else None,
            clean(owner),
            stamp,
            stamp,
            stamp,
        ),
    ).lastrowid
    _history(conn, deal_id, None, target.name, stamp)
    return deal_id


_UNSET = object()


def edit(
    conn: sqlite3.Connection,
    deal_id: int,
    *,
    now: datetime,
    title: str | None = None,
    value: int | None = None,
    currency: str | None = None,
    contact_id: int | None = None,
    expected_close=_UNSET,  # date, or None to clear
    probability=_UNSET,  # int, or None to follow the stage
    owner=_UNSET,  # text, or None to clear
) -> list[str]:
    """Change a deal's fields (not its stage: see move/won/lost); returns the names of what changed.

    A won deal's purchase follows its value, currency and contact."""
    current = conn.execute("SELECT * FROM deals WHERE id = ?", (deal_id,)).fetchone()
    if current is None:
        raise NotFound(f"no deal with id {deal_id}; see `crm deal list`")
    sets: dict[str, object] = {}
    if title is not None:
        cleaned = clean(title)
        if not cleaned:
            raise InvalidInput("a deal's title cannot be empty")
        sets["title"] = cleaned
    if value is not None:
        if value < 0:
            raise InvalidInput("invalid --value: must not be negative")
        sets["value"] = value
    if currency is not None:
        sets["currency"] = currency
    if contact_id is not None:
        sets["contact_id"] = contact_id
    if expected_close is not _UNSET:
        sets["expected_close"] = expected_close.isoformat() if expected_close else None
    if probability is not _UNSET:
        sets["probability"] = check_probability(probability)
    if owner is not _UNSET:
        sets["owner"] = clean(owner)
    changed = [k for k, v in sets.items() if current[k] != v]
    if not changed:
        return []
    stamp = utc_iso(now)
    assignments = ", ".join(f"{k} = ?" for k in changed)
    conn.execute(
        f"UPDATE deals SET {assignments}, updated_at = ? WHERE id = ?",
        [sets[k] for k in changed] + [stamp, deal_id],
    )
    if {"value", "currency", "contact_id"} & set(changed):
        new = conn.execute("SELECT value, currency, contact_id FROM deals WHERE id = ?", (deal_id,)).fetchone()
        moved = conn.execute(
            "UPDATE interactions SET amount = ?, currency = ?, contact_id = ? WHERE deal_id = ? AND kind = 'purchase'",
            (new["value"], new["currency"], new["contact_id"], deal_id),
        ).rowcount
        if moved and "contact_id" in changed:
            from crm_cli import contacts

            contacts.set_status(conn, new["contact_id"], "customer", now)
            _demote_if_no_purchase(conn, current["contact_id"], now)
    return changed


def _demote_if_no_purchase(conn: sqlite3.Connection, contact_id: int, now: datetime) -> None:
    """Undoing a win: a customer whose only purchase it was goes back to prospect."""
    conn.execute(
        """UPDATE contacts SET status = 'prospect', updated_at = ?
           WHERE id = ? AND status = 'customer'
             AND NOT EXISTS (SELECT 1 FROM interactions WHERE contact_id = ? AND kind = 'purchase')""",
        (utc_iso(now), contact_id, contact_id),
    )


def _unwin(conn: sqlite3.Connection, deal: sqlite3.Row, now: datetime) -> None:
    conn.execute("DELETE FROM interactions WHERE deal_id = ? AND kind = 'purchase'", (deal["id"],))
    _demote_if_no_purchase(conn, deal["contact_id"], now)


def _deal_and_kind(conn: sqlite3.Connection, deal_id: int) -> sqlite3.Row:
    row = conn.execute(
        "SELECT d.*, s.kind AS stage_kind FROM deals d JOIN stages s ON s.name = d.stage WHERE d.id = ?", (deal_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no deal with id {deal_id}; see `crm deal list`")
    return row


def move(conn: sqlite3.Connection, deal_id: int, stage: str, now: datetime) -> str | None:
    """Move a deal to a stage. Returns the stage name, or None when it was already there.

    Moving to the won stage wins it at its value; moving to the lost stage needs `lost` (a reason)."""
    deal = _deal_and_kind(conn, deal_id)
    target = get_stage(conn, stage)
    if target.name == deal["stage"]:
        return None
    if target.kind == "won":
        return won(conn, deal_id, now)
    if target.kind == "lost":
        raise InvalidInput(f'a lost deal needs a reason: crm deal lost {deal_id} --reason "price too high"')
    stamp = utc_iso(now)
    if deal["stage_kind"] == "won":
        _unwin(conn, deal, now)
    conn.execute(
        """UPDATE deals SET stage = ?, stage_changed_at = ?, updated_at = ?, closed_at = NULL, lost_reason = NULL
           WHERE id = ?""",
        (target.name, stamp, stamp, deal_id),
    )
    _history(conn, deal_id, deal["stage"], target.name, stamp)
    return target.name


def won(conn: sqlite3.Connection, deal_id: int, now: datetime, *, value: int | None = None) -> str:
    """Win a deal: the won stage, closed_at, a purchase of its value, the contact a customer."""
    from crm_cli import contacts, interactions

    deal = _deal_and_kind(conn, deal_id)
    if deal["stage_kind"] == "won":
        raise Conflict(f"deal {deal_id} is already won; change its amount with `crm deal edit {deal_id} --value V`")
    if value is not None and value < 0:
        raise InvalidInput("invalid --value: must not be negative")
    target = closing_stage(conn, "won")
    amount = deal["value"] if value is None else value
    stamp = utc_iso(now)
    conn.execute(
        """UPDATE deals SET stage = ?, value = ?, closed_at = ?, lost_reason = NULL, stage_changed_at = ?,
                            updated_at = ? WHERE id = ?""",
        (target.name, amount, stamp, stamp, stamp, deal_id),
    )
    _history(conn, deal_id, deal["stage"], target.name, stamp)
    interactions.add(
        conn,
        contact_id=deal["contact_id"],
        kind="purchase",
        summary=f"Won deal #{deal_id}: {deal['title']}",
        now=now,
        amount=amount,
        currency=deal["currency"],
        deal_id=deal_id,
    )
    contacts.set_status(conn, deal["contact_id"], "customer", now)
    return target.name


def lost(conn: sqlite3.Connection, deal_id: int, reason: str, now: datetime) -> str:
    deal = _deal_and_kind(conn, deal_id)
    reason = clean(reason)
    if not reason:
        raise InvalidInput(f'say why the deal was lost: crm deal lost {deal_id} --reason "price too high"')
    if deal["stage_kind"] == "lost":
        raise Conflict(f"deal {deal_id} is already lost ({deal['lost_reason']})")
    target = closing_stage(conn, "lost")
    if deal["stage_kind"] == "won":
        _unwin(conn, deal, now)
    stamp = utc_iso(now)
    conn.execute(
        """UPDATE deals SET stage = ?, lost_reason = ?, closed_at = ?, stage_changed_at = ?, updated_at = ?
           WHERE id = ?""",
        (target.name, reason, stamp, stamp, stamp, deal_id),
    )
    _history(conn, deal_id, deal["stage"], target.name, stamp)
    return target.name


def delete(conn: sqlite3.Connection, deal_id: int, now: datetime) -> None:
    """Delete a deal and its history. The purchase its win logged goes too; other linked interactions stay,
    unlinked."""
    deal = _deal_and_kind(conn, deal_id)
    if deal["stage_kind"] == "won":
        _unwin(conn, deal, now)
    conn.execute("DELETE FROM deals WHERE id = ?", (deal_id,))
