"""`crm report quality`: unreachable, incomplete, invalid and duplicate records, each with the command
that lists them."""

from typing import Annotated

import typer

from crm_cli import env as envmod
from crm_cli import output
from crm_cli.commands._common import open_db, options
from crm_cli.commands.report import app
from crm_cli.output import Column

QUALITY_COLUMNS = [
    Column("label", "check"),
    Column("count", kind="int"),
    Column("command", "list them with"),
]
RECORD_COLUMNS = {
    "contacts": [Column("id", kind="int"), Column("name"), Column("email"), Column("phone"), Column("company")],
    "phones": [Column("id", kind="int"), Column("name"), Column("phone")],
    "duplicates": [
        Column("a", kind="int"),
        Column("a_name", "name a"),
        Column("b", kind="int"),
        Column("b_name", "name b"),
        Column("score", kind="pct"),
        Column("reason"),
    ],
    "deals": [
        Column("id", kind="int"),
        Column("title"),
        Column("contact"),
        Column("stage"),
        Column("value", kind="money", currency_key="currency"),
        Column("expected_close", "close"),
    ],
    "follow_ups": [
        Column("id", kind="int"),
        Column("follow_up_at", "due", kind="datetime"),
        Column("contact"),
        Column("kind"),
        Column("summary"),
    ],
}


@app.command("quality")
@options()
def quality(
    show: Annotated[
        str | None,
        typer.Option("--show", help="List the records behind one check, e.g. --show invalid_phones."),
    ] = None,
) -> None:
    """Data quality: unreachable contacts, missing required fields, bad phones, duplicates, incomplete
    deals, overdue follow-ups."""
    from crm_cli.reports import quality as core

    conn = open_db()
    now = envmod.current().now
    if show:
        kind, rows = core.records(conn, show.strip().lower().replace("-", "_"), now)
        output.emit_rows(rows, RECORD_COLUMNS[kind], empty="nothing to fix")
        return
    output.emit_rows(core.quality(conn, now), QUALITY_COLUMNS, title="Data quality")
