"""`crm agenda`: today's follow-ups, touches due, deals closing, open support requests; by e-mail or .ics."""

import sys
from typing import Annotated

import typer

from crm_cli import env as envmod
from crm_cli import output
from crm_cli.commands._common import open_db, options
from crm_cli.output import Column

FOLLOW_UP_COLUMNS = [
    Column("id", kind="int"),
    Column("due_at", "due", kind="datetime"),
    Column("days_overdue", "overdue days", kind="int"),
    Column("contact"),
    Column("kind"),
    Column("summary"),
]
TOUCH_COLUMNS = [
    Column("contact"),
    Column("every_days", "every (days)", kind="int"),
    Column("due_at", "due", kind="date"),
    Column("days_overdue", "overdue days", kind="int"),
    Column("last_interaction_at", "last contact", kind="date"),
    Column("last_interaction", "what"),
]
DEAL_COLUMNS = [
    Column("id", kind="int"),
    Column("expected_close", "expected close", kind="date"),
    Column("days_left", "days left", kind="int"),
    Column("title"),
    Column("contact"),
    Column("stage"),
    Column("value", kind="money", currency_key="currency"),
]
SUPPORT_COLUMNS = [
    Column("id", kind="int"),
    Column("opened_at", "opened", kind="datetime"),
    Column("days_open", "days open", kind="int"),
    Column("contact"),
    Column("summary"),
]


def register(app: typer.Typer, targets: set[str]) -> None:
    app.command("agenda")(agenda)


@options(("json",))
def agenda(
    days: Annotated[
        int, typer.Option("--days", help="Deals closing within this many days (with --ics: touches due).")
    ] = 7,
    email: Annotated[
        str | None, typer.Option("--email", help="Send the agenda to this address instead of printing it.")
    ] = None,
    always: Annotated[bool, typer.Option("--always", help="With --email: send even when nothing is due.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --email: send again although it was sent today.")
    ] = False,
    ics: Annotated[
        bool, typer.Option("--ics", help="Write an iCalendar file: follow-ups, touches, deal close dates.")
    ] = False,
    out: Annotated[str | None, typer.Option("--output", "-o", help="With --ics: write to this file.")] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="With --email or -o: no messages unless it fails (for cron).")
    ] = False,
) -> None:
    """Today's agenda: follow-ups due, touches due, deals closing soon, open support requests."""
    from crm_cli import agenda as core
    from crm_cli.errors import InvalidInput

    if email is not None and ics:
        raise InvalidInput("choose --email or --ics, not both")
    if (always or force) and email is None:
        raise InvalidInput(f"{'--always' if always else '--force'} belongs to --email ADDRESS")
    if out is not None and not ics:
        raise InvalidInput("--output belongs to --ics, e.g. crm agenda --ics -o agenda.ics")
    if days < 0:
        raise InvalidInput(f"invalid --days {days}; use 0 or more")
    address = _address(email) if email is not None else None
    conn = open_db()
    now = envmod.current().now

    if ics:
        from crm_cli import calendar

        _write(calendar.agenda_ics(conn, now=now, days=days), out, say=_say(quiet))
        return

    doc = core.build(conn, now=now, days=days)
    if address is not None:
        _email(conn, core, doc, address, now, always=always, force=force, say=_say(quiet))
        return
    if output.output_format() not in ("json", "ndjson") and not envmod.current().stdout_isatty:
        # piped: the plain text of the e-mail, written without building a rich console (~25 ms)
        sys.stdout.write(core.render_text(doc))
        return
    output.emit_doc(doc, lambda console: _render(console, core, doc))


def _address(raw: str) -> str:
    from crm_cli.contact_info import normalize_email

    return normalize_email(raw)


def _say(quiet: bool):
    return (lambda message: None) if quiet else output.info


def _email(conn, core, doc: dict, address: str, now, *, always: bool, force: bool, say) -> None:
    key = core.digest_key(address, now)
    sent = core.already_sent(conn, key)
    if sent and not force:
        say(f"the agenda was already sent to {address} today (at {_local(sent)}); --force sends it again")
        return
    if core.is_empty(doc) and not always:
        say("nothing on the agenda today; no mail sent (--always sends it anyway)")
        return
    core.send_digest(conn, doc, address=address, now=now)
    say(f"sent the agenda ({core.count(doc)} items) to {address}")


def _local(iso: str) -> str:
    from crm_cli.dates import to_local

    return to_local(iso)


def _write(data: bytes, path: str | None, say) -> None:
    import sys

    if path is None or path == "-":
        sys.stdout.flush()
        target = getattr(sys.stdout, "buffer", None)
        if target is None:  # an in-memory text stream (tests): iCalendar is UTF-8 text
            sys.stdout.write(data.decode("utf-8"))
        else:
            target.write(data)
            target.flush()
        return
    from crm_cli.errors import CrmError

    try:
        with open(path, "wb") as handle:  # cli.main's umask makes it owner-only (0600)
            handle.write(data)
    except OSError as exc:
        raise CrmError(f"cannot write {path}: {exc.strerror}; choose another --output path") from None
    count = data.count(b"BEGIN:VEVENT")
    say(f"wrote {count} event{'s' if count != 1 else ''} to {path}")


def _render(console, core, doc: dict) -> None:
    """A terminal: one table per non-empty section; piped: the same plain text as the e-mail."""
    if not envmod.current().stdout_isatty:
        console.file.write(core.render_text(doc))
        return
    from rich.text import Text

    console.print(Text(f"Agenda for {doc['date']}", style="bold"))
    if core.is_empty(doc):
        console.print("Nothing due today.")
        return
    columns = {
        "follow_ups": FOLLOW_UP_COLUMNS,
        "touches": TOUCH_COLUMNS,
        "deals": DEAL_COLUMNS,
        "support": SUPPORT_COLUMNS,
    }
    for section in core.SECTIONS:
        rows = doc[section]
        if not rows:
            continue
        title = core.TITLES[section]
        if section == "deals":
            title += f" (next {doc['days']} days or passed)"
        console.print(output.table(rows, columns[section], title=f"{title} ({len(rows)})"))
