"""`crm demo`: fill a database with realistic demo data (deterministic for a seed)."""

from typing import Annotated

import typer

from crm_cli import env as envmod
from crm_cli.commands._common import options
from crm_cli.errors import Conflict, InvalidInput

MAX_CONTACTS = 1_000_000


@options(())
def demo(
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data.")] = 7,
    contacts: Annotated[int, typer.Option("--contacts", help="How many people to create.")] = 300,
    force: Annotated[bool, typer.Option("--force", help="Replace a database that already holds data.")] = False,
) -> None:
    """Create a realistic demo database: ~300 contacts, two years of activity, deals, campaigns.

    Dates are relative to now (CRM_NOW pins it): the same seed and the same now give the same data.
    """
    from crm_cli import db, output
    from crm_cli import demo as demo_data

    if not 1 <= contacts <= MAX_CONTACTS:
        raise InvalidInput(f"invalid --contacts {contacts}; use a number from 1 to {MAX_CONTACTS:,}")
    current = envmod.current()
    path = current.db_path()
    conn = db.connect(path)
    if not demo_data.is_empty(conn):
        people = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
        if not force:
            raise Conflict(
                f"{path} already holds data ({people} contacts); use --force to replace it, or --db PATH for a new file"
            )
        conn.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        conn = db.connect(path)
    command = f"demo --seed {seed} --contacts {contacts}"
    summary = demo_data.generate(conn, seed=seed, contacts=contacts, now=current.now, command=command)
    conn.close()
    output.info(f"demo data written to {path}: {demo_data.summary_line(summary)}")
    output.info("next: crm (the dashboard), crm report retention, crm deal list, crm log due")


def register(app: typer.Typer, targets: set[str]) -> None:
    app.command("demo")(demo)
