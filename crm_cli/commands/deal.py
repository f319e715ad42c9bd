"""Track deals through the sales pipeline: stages, values, won and lost.

Thin layer: parse arguments, call crm_cli.deals inside one db.write(), hand rows to output.
"""

from typing import Annotated

import typer

from crm_cli import db, deals, output, settings
from crm_cli import env as envmod
from crm_cli.commands._common import confirm, open_db, options
from crm_cli.output import Column

app = typer.Typer(no_args_is_help=True)
stages_app = typer.Typer(invoke_without_command=True)
app.add_typer(stages_app, name="stages", help="List the pipeline stages; add, set, rename, move or remove one.")

LIST_COLUMNS = [
    Column("id", kind="int"),
    Column("title"),
    Column("contact"),
    Column("stage"),
    Column("value", kind="money", currency_key="currency"),
    Column("probability", "prob %", kind="int"),
    Column("weighted_value", "weighted", kind="money", currency_key="currency"),
    Column("expected_close", "close"),
    Column("owner"),
    Column("last_activity_at", "last activity", kind="datetime"),
]
# --csv and piped: every field of a --json row, the terminal's columns first with the currency beside the value
PLAIN_LIST_COLUMNS = output.beside(LIST_COLUMNS, "value", Column("currency")) + [
    Column(key)
    for key in (
        "contact_id",
        "status",
        "probability_override",
        "lost_reason",
        "closed_at",
        "stage_changed_at",
        "days_in_stage",
        "created_at",
        "updated_at",
    )
]
STAGE_COLUMNS = [
    Column("position", "#", kind="int"),
    Column("name", "stage"),
    Column("probability", "prob %", kind="int"),
    Column("kind"),
    Column("deals", kind="int"),
]

DealId = Annotated[int, typer.Argument(help="The deal's id (see `crm deal list`).")]


def _now():
    return envmod.current().now


def _date(conn, raw: str | None):
    from crm_cli.dates import parse_date

    if raw is None or raw.strip() == "":
        return None
    return parse_date(raw, _now(), settings.date_order(conn))


def _amount(raw: str | None):
    from crm_cli.money import parse_amount

    return None if raw is None else parse_amount(raw, field="--value")


def _currency(raw: str | None):
    from crm_cli.money import parse_currency

    return None if raw is None else parse_currency(raw)


def _forget(conn, change_id: int) -> None:
    """Nothing changed: keep no empty entry in the change history (undo would have nothing to undo)."""
    conn.execute("DELETE FROM changes WHERE id = ?", (change_id,))


def _emit_deal(conn, deal_id: int) -> None:
    if output.output_format() == "json":
        output.emit_doc(deals.get(conn, deal_id, _now(), detail=True))
    else:
        output.emit_id(deal_id)


# ---------------------------------------------------------------------------------------------
# Deals


@app.command("add")
@options(("json",))
def add(
    ref: Annotated[str, typer.Argument(help="Contact: id, e-mail, phone or part of the name.")],
    title: Annotated[str, typer.Argument(help="What is being sold, e.g. 'Wholesale order Q1'.")],
    value: Annotated[str | None, typer.Option("--value", "-v", help="Deal value, exact (12000, 249.90).")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Currency (default from config).")] = None,
    stage: Annotated[str | None, typer.Option("--stage", "-s", help="Open stage (default: the first).")] = None,
    close: Annotated[
        str | None, typer.Option("--close", help="Expected close date: 2026-12-15, 15/12/2026, +20d.")
    ] = None,
    probability: Annotated[
        int | None, typer.Option("--probability", help="Win probability %, instead of the stage's.")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who works the deal.")] = None,
) -> None:
    """Add a deal for a contact; prints its id."""
    from crm_cli import contacts

    conn = open_db()
    amount = _amount(value) or 0
    code = _currency(currency)
    expected = _date(conn, close)
    deals.check_probability(probability)
    contact_id = contacts.resolve(conn, ref)
    with db.write(conn, f"deal add {contact_id} {title}"):
        deal_id = deals.add(
            conn,
            contact_id=contact_id,
            title=title,
            now=_now(),
            value=amount,
            currency=code,
            stage=stage,
            expected_close=expected,
            probability=probability,
            owner=owner,
        )
    _emit_deal(conn, deal_id)


@app.command("list")
@options()
def list_(
    filter_: Annotated[
        list[str] | None,
        typer.Argument(metavar="[FILTER]...", help="Contact filter terms, e.g. tag:vip city:Riyadh, or words."),
    ] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", "-s", help="Only this stage (repeatable).")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only open deals.")] = False,
    won: Annotated[bool, typer.Option("--won", help="Only won deals.")] = False,
    lost: Annotated[bool, typer.Option("--lost", help="Only lost deals.")] = False,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's deals.")] = None,
    closing_before: Annotated[
        str | None, typer.Option("--closing-before", help="Expected close before this date.")
    ] = None,
    closing_after: Annotated[
        str | None, typer.Option("--closing-after", help="Expected close after this date.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most this many.")] = None,
) -> None:
    """List deals (by id), filtered by stage, status, owner, close date and the contact filter language."""
    chosen = [name for name, flag in (("open", open_), ("won", won), ("lost", lost)) if flag]
    if len(chosen) > 1:
        from crm_cli.errors import InvalidInput

        raise InvalidInput(f"choose one of --open, --won, --lost, not {' and '.join('--' + c for c in chosen)}")
    conn = open_db()
    flt = deals.ListFilter(
        stages=stage,
        status=chosen[0] if chosen else None,
        owner=owner,
        closing_before=_date(conn, closing_before),
        closing_after=_date(conn, closing_after),
        contact_filter=filter_,
        limit=limit,
    )
    columns = LIST_COLUMNS if output.output_format() == "table" else PLAIN_LIST_COLUMNS
    output.emit_rows(deals.list_deals(conn, flt, _now()), columns, empty="no deals match")


@app.command("show")
@options(("json",))
def show(deal_id: DealId) -> None:
    """Show a deal with its stage history and linked interactions."""
    conn = open_db()
    deal = deals.get(conn, deal_id, _now(), detail=True)
    output.emit_doc(deal, lambda console: _render_deal(console, deal))


def _render_deal(console, deal: dict) -> None:
    from rich.text import Text

    from crm_cli.money import format_money, parse_amount

    heading = Text(deal["title"], style="bold")
    heading.append(f"  #{deal['id']}  {deal['stage']}", style="dim")
    console.print(heading)

    def money(value) -> str:
        return format_money(parse_amount(value), deal["currency"]) if value is not None else ""

    details = [
        ("contact", f"{deal['contact']} (#{deal['contact_id']})"),
        ("value", money(deal["value"])),
        ("probability", f"{deal['probability']}%" + ("" if deal["probability_override"] is not None else " (stage)")),
        ("weighted", money(deal["weighted_value"])),
        ("expected close", deal["expected_close"]),
        ("owner", deal["owner"]),
        ("lost reason", deal["lost_reason"]),
        ("closed", output.human(deal["closed_at"], Column("closed_at", kind="datetime"), deal)),
        ("days in stage", deal["days_in_stage"]),
        ("last activity", output.human(deal["last_activity_at"], Column("x", kind="datetime"), deal)),
        ("created", output.human(deal["created_at"], Column("x", kind="datetime"), deal)),
    ]
    for label, value in details:
        if value not in (None, ""):
            line = Text(f"  {label:<15}", style="cyan")
            line.append(str(value))
            console.print(line)
    console.print(
        output.table(
            deal["history"],
            [Column("changed_at", "when", kind="datetime"), Column("from_stage", "from"), Column("to_stage", "to")],
            title="Stage history",
        )
    )
    if deal["interactions"]:
        columns = [
            Column("happened_at", "when", kind="datetime"),
            Column("kind"),
            Column("summary"),
            Column("amount", kind="money", currency_key="currency"),
            Column("id", kind="int"),
        ]
        console.print(output.table(deal["interactions"], columns, title="Interactions"))
    else:
        console.print(Text("  no linked interactions (crm log call REF --deal ID)", style="dim"))


@app.command("edit")
@options(("json",))
def edit(
    deal_id: DealId,
    title: Annotated[str | None, typer.Option("--title", help="New title.")] = None,
    value: Annotated[str | None, typer.Option("--value", "-v", help="New value, exact.")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="New currency.")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Move the deal to another contact.")] = None,
    close: Annotated[str | None, typer.Option("--close", help="Expected close date ('' clears).")] = None,
    probability: Annotated[
        str | None, typer.Option("--probability", help="Win probability % ('' follows the stage again).")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Owner ('' clears).")] = None,
) -> None:
    """Change a deal's title, value, currency, contact, close date, probability or owner; prints its id.

    The stage changes with `move`, `won` and `lost`."""
    from crm_cli import contacts
    from crm_cli.errors import InvalidInput

    conn = open_db()
    changes: dict = {}
    if close is not None:
        changes["expected_close"] = _date(conn, close)
    if probability is not None:
        text = probability.strip()
        if text and not text.isdigit():
            raise InvalidInput(f"invalid --probability {probability!r}; use a whole percentage from 0 to 100")
        changes["probability"] = deals.check_probability(int(text)) if text else None
    if owner is not None:
        changes["owner"] = owner
    amount = _amount(value)
    code = _currency(currency)
    contact_id = contacts.resolve(conn, contact) if contact is not None else None
    deals.exists(conn, deal_id)
    with db.write(conn, f"deal edit {deal_id}") as change_id:
        changed = deals.edit(
            conn,
            deal_id,
            now=_now(),
            title=title,
            value=amount,
            currency=code,
            contact_id=contact_id,
            **changes,
        )
        if not changed:
            _forget(conn, change_id)
    output.info(f"updated {', '.join(changed)}" if changed else "nothing changed")
    _emit_deal(conn, deal_id)


@app.command("move")
@options(("json",))
def move(
    deal_id: DealId,
    stage: Annotated[str, typer.Argument(help="Target stage (see `crm deal stages`).")],
) -> None:
    """Move a deal to another stage (the change is recorded); prints its id."""
    conn = open_db()
    deals.exists(conn, deal_id)
    deals.get_stage(conn, stage)
    with db.write(conn, f"deal move {deal_id} {stage}") as change_id:
        moved = deals.move(conn, deal_id, stage, _now())
        if not moved:
            _forget(conn, change_id)
    output.info(f"deal {deal_id} moved to {moved}" if moved else f"deal {deal_id} is already in that stage")
    _emit_deal(conn, deal_id)


@app.command("won")
@options(("json",))
def won(
    deal_id: DealId,
    value: Annotated[str | None, typer.Option("--value", "-v", help="Final value, if not the deal's.")] = None,
) -> None:
    """Mark a deal won: logs a purchase of its value and makes the contact a customer; prints its id."""
    conn = open_db()
    amount = _amount(value)
    deals.exists(conn, deal_id)
    with db.write(conn, f"deal won {deal_id}"):
        deals.won(conn, deal_id, _now(), value=amount)
    output.info(f"deal {deal_id} won")
    _emit_deal(conn, deal_id)


@app.command("lost")
@options(("json",))
def lost(
    deal_id: DealId,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it was lost (required).")],
) -> None:
    """Mark a deal lost, with the reason; prints its id."""
    conn = open_db()
    deals.exists(conn, deal_id)
    with db.write(conn, f"deal lost {deal_id}"):
        deals.lost(conn, deal_id, reason, _now())
    output.info(f"deal {deal_id} lost")
    _emit_deal(conn, deal_id)


@app.command("delete")
@options(("json",))
def delete(
    deal_id: DealId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed when not on a terminal).")] = False,
) -> None:
    """Delete a deal and its stage history (asks first). A won deal's purchase goes with it."""
    conn = open_db()
    deal = deals.get(conn, deal_id, _now())
    extra = " and the purchase its win logged" if deal["status"] == "won" else ""
    confirm(f"Delete deal {deal_id} ({deal['title']}, {deal['contact']}){extra}?", yes=yes)
    with db.write(conn, f"deal delete {deal_id}"):
        deals.delete(conn, deal_id, _now())
    output.info(f"deleted deal {deal_id} ({deal['title']})")
    output.emit_id(deal_id)


# ---------------------------------------------------------------------------------------------
# Stages

StageName = Annotated[str, typer.Argument(help="Stage name (see `crm deal stages`).")]
Before = Annotated[str | None, typer.Option("--before", help="Place it before this stage.")]
After = Annotated[str | None, typer.Option("--after", help="Place it after this stage.")]


def _list_stages() -> None:
    conn = open_db()
    output.emit_rows(deals.stage_rows(conn), STAGE_COLUMNS)


@stages_app.callback()
@options()
def stages(ctx: typer.Context) -> None:
    """List the pipeline stages in order, with their default win probability and deal count."""
    if ctx.invoked_subcommand is None:
        _list_stages()


@stages_app.command("list")
@options()
def stages_list() -> None:
    """List the pipeline stages in order (same as `crm deal stages`)."""
    _list_stages()


@stages_app.command("add")
@options(("json",))
def stages_add(
    name: Annotated[str, typer.Argument(help="New stage name, one word (e.g. demo).")],
    probability: Annotated[int, typer.Option("--probability", "-p", help="Default win probability %.")],
    position: Annotated[int | None, typer.Option("--position", help="1-based place in the order.")] = None,
    before: Before = None,
    after: After = None,
) -> None:
    """Add an open stage (by default after the last open stage); prints its id."""
    conn = open_db()
    with db.write(conn, f"deal stages add {name}"):
        stage_id = deals.add_stage(conn, name, probability, position=position, before=before, after=after)
    output.emit_id(stage_id)


@stages_app.command("set")
@options(("json",))
def stages_set(
    name: StageName,
    probability: Annotated[int | None, typer.Option("--probability", "-p", help="New default probability %.")] = None,
    rename: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
) -> None:
    """Give a stage another default probability and/or name."""
    from crm_cli.errors import InvalidInput

    if probability is None and rename is None:
        raise InvalidInput("nothing to change; give --probability P and/or --name NEW")
    conn = open_db()
    with db.write(conn, f"deal stages set {name}") as change_id:
        changed = deals.set_stage(conn, name, probability=probability, new_name=rename)
        if not changed:
            _forget(conn, change_id)
    output.info(f"updated {', '.join(changed)}" if changed else "nothing changed")
    output.emit_id(deals.get_stage(conn, rename or name).id)


@stages_app.command("rename")
@options(("json",))
def stages_rename(name: StageName, new_name: Annotated[str, typer.Argument(help="New name.")]) -> None:
    """Rename a stage; its deals and history follow."""
    conn = open_db()
    with db.write(conn, f"deal stages rename {name} {new_name}"):
        deals.set_stage(conn, name, new_name=new_name)
    output.emit_id(deals.get_stage(conn, new_name).id)


@stages_app.command("move")
@options(("json",))
def stages_move(
    name: StageName,
    position: Annotated[int | None, typer.Argument(help="New 1-based position.")] = None,
    before: Before = None,
    after: After = None,
) -> None:
    """Reorder: put a stage at POSITION, or --before/--after another stage."""
    conn = open_db()
    with db.write(conn, f"deal stages move {name}"):
        place = deals.move_stage(conn, name, position=position, before=before, after=after)
    output.info(f"stage {deals.get_stage(conn, name).name} is now number {place}")
    output.emit_id(deals.get_stage(conn, name).id)


@stages_app.command("remove")
@options(("json",))
def stages_remove(name: StageName) -> None:
    """Remove an empty open stage (a stage holding deals cannot be removed: exit 4)."""
    conn = open_db()
    with db.write(conn, f"deal stages remove {name}"):
        removed = deals.remove_stage(conn, name)
    output.info(f"removed stage {removed.name}")
    output.emit_id(removed.id)
