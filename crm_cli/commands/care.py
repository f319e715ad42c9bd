"""Data care: `crm history`, `crm undo`, and `crm contact duplicates|merge|forget`.

(Everything held about one person comes out through `crm contact export REF --json`, in transfer.py.)"""

from typing import Annotated

import typer

from crm_cli import contacts, db, output
from crm_cli import env as envmod
from crm_cli.commands._common import confirm, open_db, options
from crm_cli.errors import NotFound
from crm_cli.output import Column

HISTORY_COLUMNS = [
    Column("id", kind="int"),
    Column("at", "when", kind="datetime"),
    Column("command"),
    Column("summary", "what changed"),
    Column("status"),
]
UNDO_LIST_COLUMNS = [
    Column("id", kind="int"),
    Column("at", "when", kind="datetime"),
    Column("command"),
    Column("row_count", "rows", kind="int"),
    Column("status"),
]
DUPLICATE_COLUMNS = [
    Column("a", kind="int"),
    Column("a_name", "name a"),
    Column("b", kind="int"),
    Column("b_name", "name b"),
    Column("score", kind="pct"),
    Column("reason"),
]

Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed when not on a terminal).")]


def register(app: typer.Typer, targets: set[str]) -> None:
    """Attach to the words in `targets`: top-level history/undo, and the contact group."""
    if "history" in targets:
        app.command("history")(history)
    if "undo" in targets:
        app.command("undo")(undo)
    if "contact" in targets:
        from crm_cli.commands.contact import app as contact_app

        contact_app.command("duplicates")(duplicates)
        contact_app.command("merge")(merge)
        contact_app.command("forget")(forget)


def _now():
    return envmod.current().now


# ---------------------------------------------------------------------------------------------
# History and undo


def _contact_for_history(conn, ref: str) -> int:
    """A live contact, or the id of a deleted one that the history still knows."""
    try:
        return contacts.resolve(conn, ref)
    except NotFound:
        if (
            ref.strip().isdigit()
            and conn.execute(
                "SELECT 1 FROM change_rows WHERE tbl = 'contacts' AND row_id = ? LIMIT 1", (ref.strip(),)
            ).fetchone()
        ):
            return int(ref.strip())
        raise


@options()
def history(
    ref: Annotated[
        str | None, typer.Argument(help="Only changes touching this contact (id, e-mail, phone or name).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many changes.")] = 20,
) -> None:
    """What changed, newest first: time, command and each field's before -> after."""
    from crm_cli import history as hist

    conn = open_db()
    contact_id = _contact_for_history(conn, ref) if ref else None
    rows = hist.list_changes(conn, contact_id=contact_id, limit=limit)
    if output.output_format() == "table" and rows:
        output.console().print(_history_table(rows))
        return
    output.emit_rows(rows, HISTORY_COLUMNS, empty="no changes recorded")


def _history_table(rows: list[dict]):
    """Terminal view: one line per changed field."""
    from crm_cli.history import _short

    lines = []
    for change in rows:
        first = True
        details = change["rows"] or [None]
        for detail in details:
            if detail is None:
                what = ""
            elif detail["erased"]:
                what = f"{detail['op']} {detail['table']} #{detail['row_id']} (details erased)"
            else:
                fields = detail["fields"]
                if detail["op"] == "update":
                    parts = [f"{k}: {_short(v['before'])} → {_short(v['after'])}" for k, v in fields.items()]
                else:
                    key = "after" if detail["op"] == "insert" else "before"
                    parts = [f"{k}={_short(v[key], 30)}" for k, v in fields.items() if k != "id"]
                sign = {"insert": "+", "delete": "-", "update": "~"}[detail["op"]]
                what = f"{sign} {detail['table']} #{detail['row_id']}" + (f"  {'; '.join(parts)}" if parts else "")
            lines.append(
                {
                    "id": change["id"] if first else None,
                    "at": change["at"] if first else None,
                    "command": change["command"] if first else "",
                    "summary": what,
                    "status": change["status"] if first else "",
                }
            )
            first = False
    return output.table(lines, HISTORY_COLUMNS, title="History")


@options()
def undo(
    change: Annotated[int | None, typer.Argument(help="The change to revert (default: the latest).")] = None,
    list_: Annotated[
        bool, typer.Option("--list", "-l", help="Show recent changes and whether each can be undone.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="With --list: at most this many.")] = 20,
) -> None:
    """Revert the latest change (or change ID) as a new change; prints the new change's id."""
    from crm_cli import history as hist

    conn = open_db()
    if list_:
        rows = hist.list_changes(conn, limit=limit, with_rows=False)
        output.emit_rows(rows, UNDO_LIST_COLUMNS, empty="no changes recorded")
        return
    result = hist.undo(conn, change)
    output.info(f"undid change {result['undoes']} ({result['command']}): {result['rows']} rows restored")
    if output.output_format() == "json":
        output.emit_doc(result)
    else:
        output.emit_id(result["id"])


# ---------------------------------------------------------------------------------------------
# Duplicates and merge


@options()
def duplicates(
    min_score: Annotated[
        float, typer.Option("--min-score", help="Only pairs scoring at least this (0-1).", min=0.0, max=1.0)
    ] = 0.8,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most this many pairs.")] = None,
) -> None:
    """Likely duplicate contacts (same e-mail/phone or similar names), best match first."""
    from crm_cli import duplicates as dup

    conn = open_db()
    rows = dup.find(conn, min_score=min_score, limit=limit)
    output.emit_rows(rows, DUPLICATE_COLUMNS, empty="no likely duplicates")


class _DryRun(Exception):
    pass


def _preview(conn, keep_id: int, other_id: int) -> dict:
    """Run the merge in a transaction that is rolled back: exactly what it would do."""
    from crm_cli import merge as merging

    preview: dict = {}
    try:
        with db.write(conn, "contact merge (preview)"):
            preview.update(merging.merge(conn, keep_id, other_id, now=_now()))
            preview["result"] = contacts.get(conn, keep_id)
            raise _DryRun
    except _DryRun:
        pass
    return preview


def _render_preview(console, plan: dict) -> None:
    from rich.text import Text

    result = plan["result"]
    console.print(Text(f"Merge contact {plan['other']} into {plan['keep']} ({result['name']}):", style="bold"))
    moved = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in plan["moved"].items() if n) or "nothing"
    console.print(Text(f"  moves   {moved}"))
    if plan["filled"]:
        console.print(Text(f"  fills   {', '.join(plan['filled'])}"))
    console.print(Text(f"  e-mails {', '.join(result['emails']) or '-'}"))
    console.print(Text(f"  phones  {', '.join(result['phones']) or '-'}"))
    console.print(Text(f"  tags    {', '.join(result['tags']) or '-'}"))
    console.print(Text(f"  then deletes contact {plan['other']}", style="red"))


@options(("json",))
def merge(
    keep: Annotated[str, typer.Argument(help="The contact that stays (id, e-mail, phone or name).")],
    other: Annotated[str, typer.Argument(help="The contact merged into KEEP and then deleted.")],
    yes: Yes = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")] = False,
) -> None:
    """Merge OTHER into KEEP: log, deals, campaigns, tags, e-mails and phones move; OTHER is deleted."""
    from crm_cli import merge as merging

    conn = open_db()
    keep_id, other_id = contacts.resolve(conn, keep), contacts.resolve(conn, other)
    merging.check(conn, keep_id, other_id)
    current = envmod.current()
    if dry_run or (current.stdout_isatty and not yes):
        plan = _preview(conn, keep_id, other_id)
        if dry_run:
            output.emit_doc(plan, lambda console: _render_preview(console, plan))
            return
        _render_preview(output.console(), plan)
    other_name = contacts.get(conn, other_id)["name"]
    confirm(f"Merge contact {other_id} ({other_name}) into {keep_id} and delete {other_id}?", yes=yes)
    with db.write(conn, f"contact merge {keep_id} {other_id}"):
        merging.merge(conn, keep_id, other_id, now=_now())
    output.info(f"merged contact {other_id} into {keep_id}")
    if output.output_format() == "json":
        output.emit_doc(contacts.get(conn, keep_id))
    else:
        output.emit_id(keep_id)


# ---------------------------------------------------------------------------------------------
# Privacy


@options(("json",))
def forget(
    ref: Annotated[str, typer.Argument(help="Id, e-mail, phone or part of the name.")],
    yes: Yes = False,
) -> None:
    """Erase a person's personal data everywhere (history too); purchases stay as anonymous figures.
    Cannot be undone."""
    from crm_cli import privacy

    conn = open_db()
    contact_id = contacts.resolve(conn, ref)
    name = contacts.get(conn, contact_id)["name"]
    confirm(f"Forget contact {contact_id} ({name}) for good? This cannot be undone", yes=yes)
    with db.write(conn, f"contact forget {contact_id}") as change_id:
        stats = privacy.forget(conn, contact_id, change_id=change_id, now=_now())
    privacy.finish_forget(conn)
    output.info(f"forgot contact {contact_id}; its purchases stay as anonymous figures")
    if output.output_format() == "json":
        output.emit_doc(stats)
    else:
        output.emit_id(contact_id)
