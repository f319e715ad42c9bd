"""Import, export, backup and restore (an extension: adds commands to the root app and the groups).

crm backup FILE            crm restore FILE [--yes]
crm export --all -o FILE   crm import --all FILE
crm contact import|export  crm log import|export  crm deal import|export
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from crm_cli import contacts, output
from crm_cli import env as envmod
from crm_cli.commands._common import FilterCommand, confirm, open_db, options
from crm_cli.errors import InvalidInput

FileArg = Annotated[str, typer.Argument(help="File to import ('-' for stdin).")]
Format = Annotated[
    str | None, typer.Option("--format", help="csv, tsv, json, ndjson or vcard (default: from the extension).")
]
Encoding = Annotated[
    str | None, typer.Option("--encoding", help="Force the text encoding (utf-8, utf-16, cp1256, latin-1 …).")
]
Maps = Annotated[list[str] | None, typer.Option("--map", help='Column meaning, "Header=field" (repeatable).')]
Ignore = Annotated[list[str] | None, typer.Option("--ignore", help="Drop this column (repeatable).")]
OnDuplicate = Annotated[str, typer.Option("--on-duplicate", help="skip, update or error (matched by e-mail or phone).")]
SkipInvalid = Annotated[
    bool, typer.Option("--skip-invalid", help="Import the valid rows; write the others to --rejects.")
]
Rejects = Annotated[str | None, typer.Option("--rejects", help="Reject file (default: FILE.rejects.csv).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be added, updated, skipped and rejected.")]
Region = Annotated[str | None, typer.Option("--region", help="Country for phones without + (default: default_region).")]
Out = Annotated[str | None, typer.Option("--output", "-o", help="Write to this file (0600) instead of stdout.")]
Excel = Annotated[bool, typer.Option("--excel", help="CSV for Excel: UTF-8 BOM and CRLF (Arabic opens correctly).")]
Raw = Annotated[bool, typer.Option("--raw", help="CSV without formula neutralisation (no leading ').")]
Filter = Annotated[
    list[str] | None, typer.Argument(metavar="[FILTER]...", help="Contact filter, e.g. tag:vip city:Riyadh.")
]


def _now():
    return envmod.current().now


def _progress_callback():
    """A rich progress bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
    task = progress.add_task("import", total=None)
    started = []

    def update(done: int, total: int) -> None:
        if not started and total > 2000:
            progress.start()
            started.append(True)
        if started:
            progress.update(task, completed=done, total=total)

    return update, progress


def _report(result, *, what: str = "contacts") -> None:
    from crm_cli.importers import summary

    if getattr(result, "source", None) is not None and result.source.detected:
        output.info(f"read as {result.source.encoding} (detected; --encoding to override)")
    if getattr(result, "custom_columns", None):
        output.info(f"unknown columns kept as custom fields: {', '.join(result.custom_columns)} (--ignore COL to drop)")
    if getattr(result, "ignored", None):
        output.info(f"ignored columns: {', '.join(result.ignored)}")
    ignored_props = getattr(result, "ignored_properties", None)
    if ignored_props:
        output.info(f"vCard properties not imported: {', '.join(ignored_props)}")
    if result.issues and (result.dry_run or result.rejected):
        for issue in result.issues[:20]:
            output.info(f"  rejected {issue.text()}")
        if len(result.issues) > 20:
            output.info(f"  … and {len(result.issues) - 20} more")
    line = summary(result)
    if getattr(result, "named", 0):
        line += f" · {result.named:,} named after their e-mail, organisation or phone"
    if getattr(result, "rejects_file", None):
        line += f" (rejected rows in {result.rejects_file})"
    output.info(line)
    if output.output_format() == "json":
        doc = result.counts() | {
            "dry_run": result.dry_run,
            "rejects_file": getattr(result, "rejects_file", None),
            "custom_fields": getattr(result, "custom_columns", []),
            "errors": [i.as_dict() for i in result.issues],
        }
        output.emit_doc(doc)


def _refused(exc) -> None:
    """Print the per-row report for a refused import, then let the one-line error go out (it names the
    first bad row, so with one bad row that line is the whole report: nothing is printed twice)."""
    result = exc.result
    if output.output_format() == "json":
        doc = result.counts() | {"dry_run": result.dry_run, "errors": [i.as_dict() for i in result.issues]}
        output.emit_doc(doc)
        return
    if len(result.issues) < 2:
        return
    for issue in result.issues[:20]:
        output.info(f"  {issue.text()}")
    if len(result.issues) > 20:
        output.info(f"  … and {len(result.issues) - 20} more")


def _check_rejects(rejects: str | None, skip_invalid: bool) -> None:
    """--rejects names where --skip-invalid puts the rows it skips; alone it would do nothing, silently."""
    if rejects is not None and not skip_invalid:
        raise InvalidInput(
            "--rejects only applies with --skip-invalid (without it an invalid row refuses the whole import); "
            "add --skip-invalid or drop --rejects"
        )


def _import_options(**kw):
    from crm_cli.importers import Options

    return Options(**{k: v for k, v in kw.items() if v is not None})


# ---------------------------------------------------------------------------------------------
# contact import / export


@options(("json",))
def contact_import(
    file: FileArg,
    fmt: Format = None,
    encoding: Encoding = None,
    map_: Maps = None,
    ignore: Ignore = None,
    on_duplicate: OnDuplicate = "skip",
    skip_invalid: SkipInvalid = False,
    rejects: Rejects = None,
    dry_run: DryRun = False,
    region: Region = None,
) -> None:
    """Import contacts from CSV/TSV, JSON, NDJSON or vCard; all or nothing (see --skip-invalid)."""
    from crm_cli.importers import ImportRefused, import_contacts

    _check_rejects(rejects, skip_invalid)
    conn = open_db()
    update, progress = _progress_callback()
    opts = _import_options(
        fmt=fmt,
        encoding=encoding,
        maps=map_ or [],
        ignore=ignore or [],
        on_duplicate=on_duplicate,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        region=region,
        rejects=rejects,
        progress=update,
    )
    try:
        result = import_contacts(conn, file, opts, now=_now())
    except ImportRefused as exc:
        _refused(exc)
        raise
    finally:
        if progress is not None:
            progress.stop()
    _report(result)


contact_import.__name__ = "import"


@options(("json",))
def contact_export(
    filter_: Filter = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, json, ndjson or vcard (default: from -o, else csv)."),
    ] = None,
    out: Out = None,
    excel: Excel = False,
    raw: Raw = False,
) -> None:
    """Export contacts matching a filter (all people by default) as CSV, JSON, NDJSON or vCard.

    `crm contact export REF --json` (one contact, no --format) gives everything held about that person.
    """
    from crm_cli import exporters

    conn = open_db()
    json_mode = output.output_format() == "json"
    single = _is_single_reference(filter_)
    if json_mode and fmt is None and single and exporters.extension_format(out) in (None, "json"):
        _export_person(conn, filter_[0], out)
        return
    kind = exporters.format_for(fmt, out, exporters.CONTACT_FORMATS, "json" if json_mode else "csv")
    contact_id = _exact_reference(conn, filter_[0]) if single else None
    with exporters.open_output(out) as stream:
        count = exporters.export_contacts(
            conn, filter_ or [], fmt=kind, out=stream, now=_now(), raw=raw, excel=excel, contact_id=contact_id
        )
    if out:
        output.info(f"exported {count:,} contacts to {out}")


def _exact_reference(conn, ref: str) -> int | None:
    """The contact a lone id, e-mail or phone names (NotFound when none has it); None for a word, which
    stays a search (`crm contact export riyadh`)."""
    return None if contacts.reference_kind(ref) == "name" else contacts.resolve(conn, ref)


def _is_single_reference(filter_: list[str] | None) -> bool:
    """One bare word (an id, e-mail, phone or name), not filter syntax such as tag:vip or -word."""
    from crm_cli import filters

    if not filter_ or len(filter_) != 1:
        return False
    parsed = filters.parse(filter_)
    return not parsed.terms and not parsed.negated_words


def _export_person(conn, ref: str, out: str | None) -> None:
    """Subject access: every record held about one person, as one JSON document."""
    from crm_cli import exporters, privacy

    doc = privacy.subject_export(conn, contacts.resolve(conn, ref))
    if out is None:
        output.emit_doc(doc)
        return
    with exporters.open_output(out) as stream:
        stream.write(output.dumps(doc) + "\n")
    output.info(f"wrote everything held about contact {doc['contact']['id']} to {out}")


# ---------------------------------------------------------------------------------------------
# log import / export


def _record_import(importer: str, summary: str):
    """`crm log import` and `crm deal import`: the same options, a different importer."""

    @options(("json",))
    def record_import(
        file: FileArg,
        fmt: Format = None,
        encoding: Encoding = None,
        map_: Maps = None,
        ignore: Ignore = None,
        skip_invalid: SkipInvalid = False,
        rejects: Rejects = None,
        dry_run: DryRun = False,
        create_contacts: Annotated[
            bool, typer.Option("--create-contacts", help="Create contacts the file names but crm does not know.")
        ] = False,
        region: Region = None,
    ) -> None:
        from crm_cli.importers import ImportRefused, records

        _check_rejects(rejects, skip_invalid)
        conn = open_db()
        opts = _import_options(
            fmt=fmt,
            encoding=encoding,
            maps=map_ or [],
            ignore=ignore or [],
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            rejects=rejects,
            create_contacts=create_contacts,
            region=region,
        )
        try:
            result = getattr(records, importer)(conn, file, opts, now=_now())
        except ImportRefused as exc:
            _refused(exc)
            raise
        _report(result)

    record_import.__doc__ = summary
    return record_import


log_import = _record_import(
    "import_log", "Import interactions and purchases (contact e-mail/phone/name, kind, date, amount, summary)."
)


@options(())
def log_export(
    filter_: Filter = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, json, ndjson or ics (follow-ups; default: from -o, else csv).")
    ] = None,
    out: Out = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k", help="Only this kind (repeatable).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this date on.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this date.")] = None,
    excel: Excel = False,
    raw: Raw = False,
) -> None:
    """Export the log (CSV, JSON, NDJSON), or follow-ups as an iCalendar file (--format ics)."""
    from crm_cli import exporters, settings
    from crm_cli.dates import parse_datetime

    conn = open_db()
    fmt_ = exporters.format_for(fmt, out, exporters.LOG_FORMATS, "csv")
    order = settings.date_order(conn)
    start = parse_datetime(since, _now(), order) if since else None
    end = parse_datetime(until, _now(), order) if until else None
    if fmt_ == "ics":
        from crm_cli import calendar

        data = calendar.followups_ics(conn, now=_now(), since=start, until=end)
        with exporters.open_output(out, binary=True) as stream:
            stream.write(data)
        if out:
            output.info(f"wrote follow-ups to {out}")
        return
    with exporters.open_output(out) as stream:
        count = exporters.export_log(
            conn,
            filter_ or [],
            fmt=fmt_,
            out=stream,
            now=_now(),
            kinds=kind,
            since=start,
            until=end,
            raw=raw,
            excel=excel,
        )
    if out:
        output.info(f"exported {count:,} interactions to {out}")


# ---------------------------------------------------------------------------------------------
# deal import / export


deal_import = _record_import(
    "import_deals", "Import deals (contact, title, value, currency, stage, expected close, owner)."
)


@options(())
def deal_export(
    filter_: Filter = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, json, ndjson or ics (expected close dates; default: from -o, else csv)."),
    ] = None,
    out: Out = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="Only deals in this stage (repeatable).")] = None,
    excel: Excel = False,
    raw: Raw = False,
) -> None:
    """Export deals (CSV, JSON, NDJSON), or their expected close dates as iCalendar (--format ics)."""
    from crm_cli import exporters

    conn = open_db()
    fmt_ = exporters.format_for(fmt, out, exporters.DEAL_FORMATS, "csv")
    if fmt_ == "ics":
        from crm_cli import calendar

        ids = None
        if filter_ or stage:
            ids = [r["id"] for r in _deal_ids(conn, filter_ or [], stage)]
        data = calendar.deal_closes_ics(conn, now=_now(), deal_ids=ids)
        with exporters.open_output(out, binary=True) as stream:
            stream.write(data)
        if out:
            output.info(f"wrote expected close dates to {out}")
        return
    with exporters.open_output(out) as stream:
        count = exporters.export_deals(
            conn, filter_ or [], fmt=fmt_, out=stream, now=_now(), stages=stage, raw=raw, excel=excel
        )
    if out:
        output.info(f"exported {count:,} deals to {out}")


def _deal_ids(conn, expression, stages):
    from crm_cli import filters

    where, params = "1", []
    flt = filters.parse(expression)
    if not flt.empty:
        where, params = filters.to_sql(flt, filters.Context(conn, _now()))
    sql = f"SELECT d.id FROM deals d JOIN contacts c ON c.id = d.contact_id WHERE {where}"
    if stages:
        sql += f" AND d.stage IN ({','.join('?' * len(stages))})"
        params = [*params, *stages]
    return conn.execute(sql, params).fetchall()


# ---------------------------------------------------------------------------------------------
# top level: backup, restore, export --all, import --all


@options(("json",))
def backup_cmd(
    file: Annotated[str, typer.Argument(help="Backup file to create.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Make a consistent copy of the database (safe while others write); checked, owner-only."""
    from crm_cli import backup
    from crm_cli.errors import NotFound

    source = envmod.current().db_path()
    if not source.exists():  # a mistyped --db or CRM_DB must not "succeed" by backing up a new empty file
        raise NotFound(f"no database at {source} to back up; check --db / CRM_DB")
    conn = open_db()
    info = backup.backup(conn, file, force=force)
    output.info(f"backed up to {info['path']} ({info['bytes']:,} bytes, integrity ok)")
    if output.output_format() == "json":
        output.emit_doc(info)
    else:
        print(info["path"])


@options(("json",))
def restore_cmd(
    file: Annotated[str, typer.Argument(help="Backup file made by `crm backup`.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed when not on a terminal).")] = False,
) -> None:
    """Replace the database with a backup, after checking its integrity and schema (asks first)."""
    from crm_cli import backup
    from crm_cli.db import connect

    info = backup.inspect(file)
    target = envmod.current().db_path()
    confirm(f"Replace {target} with {file} ({info['contacts']:,} contacts)?", yes=yes)
    conn = connect(target, migrate=False)
    info = backup.restore(conn, file)
    output.info(f"restored {file} into {target} ({info['contacts']:,} contacts, integrity ok)")
    if output.output_format() == "json":
        output.emit_doc(info)


@options(())
def export_cmd(
    all_: Annotated[bool, typer.Option("--all", help="Every table, losslessly, as one JSON document.")] = False,
    out: Out = None,
) -> None:
    """Export the whole database (`--all`); for one kind of record use `crm contact|log|deal export`."""
    from crm_cli import backup, exporters

    if not all_:
        raise InvalidInput("crm export needs --all (or use crm contact export, crm log export, crm deal export)")
    conn = open_db()
    with exporters.open_output(out) as stream:
        counts = backup.dump(conn, stream)
    if out:
        output.info(f"exported {sum(counts.values()):,} rows from {len(counts)} tables to {out}")


@options(("json",))
def import_cmd(
    file: Annotated[str, typer.Argument(help="A dump made by `crm export --all`.")],
    all_: Annotated[bool, typer.Option("--all", help="Load a whole-database dump into an empty database.")] = False,
) -> None:
    """Load a whole-database dump (`--all`) into an empty database; for records use `crm contact import`."""
    from crm_cli import backup

    if not all_:
        raise InvalidInput("crm import needs --all and a dump file (or use crm contact import, crm log import …)")
    conn = open_db()
    counts = backup.load(conn, file)
    output.info(f"imported {sum(counts.values()):,} rows into {len(counts)} tables")
    if output.output_format() == "json":
        output.emit_doc(counts)


def register(app: typer.Typer, targets: set[str]) -> None:
    """Attach to the words in `targets` (top-level commands and the contact/log/deal groups)."""
    for name, command in (
        ("backup", backup_cmd),
        ("restore", restore_cmd),
        ("export", export_cmd),
        ("import", import_cmd),
    ):
        if name in targets:
            app.command(name)(command)
    if "contact" in targets:
        from crm_cli.commands.contact import app as contact_app

        contact_app.command("import")(contact_import)
        contact_app.command("export", cls=FilterCommand)(contact_export)
    if "log" in targets:
        from crm_cli.commands.log import app as log_app

        log_app.command("import")(log_import)
        log_app.command("export")(log_export)
    if "deal" in targets:
        from crm_cli.commands.deal import app as deal_app

        deal_app.command("import")(deal_import)
        deal_app.command("export")(deal_export)
