"""Record every call, meeting, message, purchase and support request; follow-ups that are never forgotten."""

from typing import Annotated

import typer

from crm_cli import contacts, db, interactions, output, settings
from crm_cli import env as envmod
from crm_cli.commands._common import open_db, options
from crm_cli.output import Column

app = typer.Typer(no_args_is_help=True)

LIST_COLUMNS = [
    Column("id", kind="int"),
    Column("happened_at", "when", kind="datetime"),
    Column("contact"),
    Column("kind"),
    Column("summary"),
    Column("amount", kind="money", currency_key="currency"),
    Column("status"),
    Column("follow_up_at", "follow-up", kind="datetime"),
]
# --csv and piped: the currency in its own column beside the amount (a terminal shows "50.00 USD" in one cell)
PLAIN_LIST_COLUMNS = output.beside(LIST_COLUMNS, "amount", Column("currency"))
DUE_COLUMNS = [
    Column("type"),
    Column("id", kind="int"),
    Column("due_at", "due", kind="datetime"),
    Column("days_overdue", "overdue days", kind="int"),
    Column("contact"),
    Column("summary"),
]

_KIND_HELP = {
    "call": "Log a phone call.",
    "email": "Log an e-mail sent or received.",
    "meeting": "Log a meeting.",
    "message": "Log a message (WhatsApp, SMS, DM …).",
    "note": "Add a note to a contact's timeline.",
    "purchase": "Log a purchase (needs --amount).",
    "support": "Open a support request (close it with `crm log done ID`).",
}


def _parse_when(conn, raw: str | None):
    from crm_cli.dates import parse_datetime

    if raw is None:
        return None
    return parse_datetime(raw, envmod.current().now, settings.date_order(conn))


# The options of `crm log call|email|…`, built once for the seven commands (each def evaluates them).
_Ref = Annotated[str, typer.Argument(help="Contact: id, e-mail, phone or part of the name.")]
_Summary = Annotated[str, typer.Argument(help="What happened.")]
_At = Annotated[str | None, typer.Option("--at", help="When (default now): 2026-11-02 15:30, yesterday 15:00, -2d.")]
_FollowUp = Annotated[str | None, typer.Option("--follow-up", help="Follow-up due: tomorrow, +3d, 02/12/2026.")]
_Duration = Annotated[int | None, typer.Option("--duration", help="Minutes.")]
_Outcome = Annotated[str | None, typer.Option("--outcome", help="Outcome, e.g. interested, no answer.")]
_Direction = Annotated[str | None, typer.Option("--direction", help="in or out.")]
_Amount = Annotated[str | None, typer.Option("--amount", help="Purchase amount, exact (249.90).")]
_Currency = Annotated[str | None, typer.Option("--currency", help="Currency (default from config).")]
_Score = Annotated[int | None, typer.Option("--score", help="Satisfaction score (CSAT 1-5 or NPS 0-10).")]
_Deal = Annotated[int | None, typer.Option("--deal", help="Link to this deal id.")]


def _make_kind_command(kind: str):
    @options(("json",))
    def log_kind(
        ref: _Ref,
        summary: _Summary = "",
        at: _At = None,
        follow_up: _FollowUp = None,
        duration: _Duration = None,
        outcome: _Outcome = None,
        direction: _Direction = None,
        amount: _Amount = None,
        currency: _Currency = None,
        score: _Score = None,
        deal: _Deal = None,
    ) -> None:
        from crm_cli.money import parse_amount, parse_currency

        conn = open_db()
        now = envmod.current().now
        when = _parse_when(conn, at)
        due = _parse_when(conn, follow_up)
        value = parse_amount(amount) if amount is not None else None
        code = parse_currency(currency) if currency else None
        contact_id = contacts.resolve(conn, ref)
        with db.write(conn, f"log {kind} {contact_id}"):
            new_id = interactions.add(
                conn,
                contact_id=contact_id,
                kind=kind,
                summary=summary,
                now=now,
                at=when,
                direction=direction,
                outcome=outcome,
                duration_min=duration,
                amount=value,
                currency=code,
                score=score,
                follow_up=due,
                deal_id=deal,
            )
        if output.output_format() == "json":
            output.emit_doc(interactions.get(conn, new_id))
        else:
            output.emit_id(new_id)

    log_kind.__doc__ = _KIND_HELP[kind]
    return log_kind


for _kind in interactions.KINDS:
    app.command(_kind)(_make_kind_command(_kind))


@app.command("list")
@options()
def list_(
    ref: Annotated[str | None, typer.Argument(help="Only this contact.")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k", help="Only this kind (repeatable).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this date on.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this date.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most this many.")] = None,
) -> None:
    """List the log, newest first."""
    conn = open_db()
    contact_id = contacts.resolve(conn, ref) if ref else None
    rows = interactions.list_interactions(
        conn,
        contact_id=contact_id,
        kinds=kind,
        since=_parse_when(conn, since),
        until=_parse_when(conn, until),
        limit=limit,
    )
    columns = LIST_COLUMNS if output.output_format() == "table" else PLAIN_LIST_COLUMNS
    output.emit_rows(rows, columns, empty="nothing logged")


@app.command("due")
@options()
def due(
    until: Annotated[str | None, typer.Option("--until", help="Look ahead to this date (default today).")] = None,
    only: Annotated[
        str | None, typer.Option("--only", help="Only follow-ups or only touches: follow-ups|touches.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when something is due, 0 when nothing is (like grep).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing; implies --check.")] = False,
) -> None:
    """Follow-ups and stay-in-touch contacts due today or overdue, oldest first."""
    from datetime import timedelta

    from crm_cli import agenda
    from crm_cli.dates import local_day_start, parse_date

    check = check or quiet
    try:
        conn = open_db()
        now = envmod.current().now
        last_day = parse_date(until or "today", now, settings.date_order(conn))
        only = only.strip().lower() if only is not None else None
        rows = agenda.due(conn, until=local_day_start(last_day + timedelta(days=1)), now=now, only=only)
    except Exception as exc:
        if check:
            raise _check_error(exc) from None
        raise
    if not quiet:
        fmt = output.output_format()
        shown = rows if fmt in ("json", "ndjson") else [_due_view(r) for r in rows]
        output.emit_rows(shown, DUE_COLUMNS, empty="nothing due")
    if check and rows:
        raise typer.Exit(1)


def _check_error(exc: Exception) -> Exception:
    """Under --check, exit 1 means "something is due": a failure that would exit 1 exits 2 (like grep)."""
    import os

    from crm_cli.errors import CrmError

    if isinstance(exc, CrmError):
        if exc.exit_code == 1:
            exc.exit_code = 2
        return exc
    if os.environ.get("CRM_DEBUG"):
        return exc
    error = CrmError(f"unexpected error: {type(exc).__name__}: {exc} (run with CRM_DEBUG=1 for details)")
    error.code = "unexpected"
    error.exit_code = 2
    return error


def _due_view(row: dict) -> dict:
    """Tables and CSV: a touch row's summary says why it is listed."""
    if row["type"] != "touch":
        return row
    if row["last_interaction_at"]:
        last = f"last {row['last_interaction_kind']}: {row['last_interaction']}"
    else:
        last = "never contacted"
    return {**row, "summary": f"stay in touch (every {row['every_days']} days; {last})"}


@app.command("done")
@options(("json",))
def done(interaction_id: Annotated[int, typer.Argument(help="The interaction's id (see `crm log due`).")]) -> None:
    """Close a follow-up, or resolve a support request."""
    conn = open_db()
    with db.write(conn, f"log done {interaction_id}"):
        closed = interactions.mark_done(conn, interaction_id, envmod.current().now)
    output.info(f"closed the {closed} of interaction {interaction_id}")
    output.emit_id(interaction_id)
