"""Show and change the settings kept in the database (region, currency, date order, SMTP …)."""

from typing import Annotated

import typer

from crm_cli import db, output, settings
from crm_cli.commands._common import open_db, options
from crm_cli.output import Column

app = typer.Typer(no_args_is_help=True)


@app.command("show")
@options(("json", "csv"))
def show() -> None:
    """List every setting with its value (defaults marked)."""
    conn = open_db()
    output.emit_rows(
        settings.all_settings(conn),
        [Column("key"), Column("value"), Column("default"), Column("help")],
    )


@app.command("get")
@options(("json",))
def get(key: Annotated[str, typer.Argument(help="Setting name.")]) -> None:
    """Print one setting's value."""
    conn = open_db()
    value = settings.get(conn, key)
    if output.output_format() == "json":
        output.emit_doc({"key": key, "value": value})
    else:
        print(value if value is not None else "")


@app.command("set")
@options(("json",))
def set_(
    key: Annotated[str, typer.Argument(help="Setting name (see `crm config show`).")],
    value: Annotated[str, typer.Argument(help="New value.")],
) -> None:
    """Change a setting."""
    conn = open_db()
    with db.write(conn, f"config set {key}"):
        stored = settings.set_value(conn, key, value)
    output.info(f"{key} = {stored}")


@app.command("unset")
@options(("json",))
def unset(key: Annotated[str, typer.Argument(help="Setting name.")]) -> None:
    """Go back to a setting's default."""
    conn = open_db()
    with db.write(conn, f"config unset {key}"):
        settings.unset(conn, key)
    output.info(f"{key} reset to its default")
