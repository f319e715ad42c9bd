"""`crm report pipeline|forecast|sales|stale|conversion`: the sales pipeline at a glance."""

from typing import Annotated

import typer

from crm_cli import env as envmod
from crm_cli import output
from crm_cli.commands._common import open_db, options
from crm_cli.commands.report import app
from crm_cli.output import Column

PIPELINE_COLUMNS = [
    Column("stage"),
    Column("currency"),
    Column("deals", kind="int"),
    Column("total_value", "total", kind="money"),
    Column("weighted_value", "weighted", kind="money"),
    Column("avg_age_days", "avg days"),
    Column("bar", " ", kind="bar"),
]
FORECAST_COLUMNS = [
    Column("period"),
    Column("currency"),
    Column("deals", kind="int"),
    Column("total_value", "expected", kind="money"),
    Column("weighted_value", "weighted", kind="money"),
    Column("bar", " ", kind="bar"),
]
OVERDUE_COLUMNS = [
    Column("id", kind="int"),
    Column("title"),
    Column("contact"),
    Column("stage"),
    Column("expected_close", "close"),
    Column("days_overdue", "days overdue", kind="int"),
    Column("value", kind="money", currency_key="currency"),
    Column("weighted_value", "weighted", kind="money", currency_key="currency"),
]
SALES_COLUMNS = [
    Column("currency"),
    Column("won_count", "won", kind="int"),
    Column("won_value", "won value", kind="money"),
    Column("lost_count", "lost", kind="int"),
    Column("lost_value", "lost value", kind="money"),
    Column("win_rate", "win rate", kind="pct"),
    Column("avg_deal_size", "avg deal", kind="money"),
    Column("avg_cycle_days", "avg cycle days"),
]
REASON_COLUMNS = [Column("reason"), Column("count", kind="int"), Column("share", kind="pct")]
STALE_COLUMNS = [
    Column("id", kind="int"),
    Column("title"),
    Column("contact"),
    Column("stage"),
    Column("value", kind="money", currency_key="currency"),
    Column("last_activity_at", "last activity", kind="datetime"),
    Column("days_idle", "idle days", kind="int"),
    Column("expected_close", "close"),
    Column("owner"),
]
CONVERSION_COLUMNS = [
    Column("stage"),
    Column("reached", kind="int"),
    Column("next_stage", "next"),
    Column("advanced", kind="int"),
    Column("conversion", kind="pct"),
    Column("median_days_in_stage", "median days"),
    Column("bar", " ", kind="bar"),
]


def _now():
    return envmod.current().now


def _is_table() -> bool:
    return output.output_format() == "table"


def _with_bars(rows: list[dict], key: str, *, skip=lambda row: False) -> list[dict]:
    """Terminal only: a copy of the rows with a `bar` value (JSON/CSV rows stay as documented)."""
    return [dict(r, bar=None if skip(r) else float(r.get(key) or 0)) for r in rows]


@app.command("pipeline")
@options()
def pipeline() -> None:
    """Open deals by stage: count, total and weighted value, average days in stage; totals per currency."""
    from crm_cli.reports import pipeline as report

    rows = report.pipeline(open_db(), _now())
    if not _is_table():
        output.emit_rows(rows, PIPELINE_COLUMNS)
        return
    # On a terminal: one table per currency (bars compare like with like), the total as its footer.
    console = output.console()
    columns = [c for c in PIPELINE_COLUMNS if c.key != "currency"]
    for currency in dict.fromkeys(r["currency"] for r in rows):
        stage_rows = [r for r in rows if r["currency"] == currency and r["stage"] != "total"]
        total = next(r for r in rows if r["currency"] == currency and r["stage"] == "total")
        console.print(
            output.table(
                _with_bars(stage_rows, "weighted_value"),
                columns,
                title=f"Pipeline, open deals ({currency})",
                footer=dict(total, stage="total"),
            )
        )


@app.command("forecast")
@options()
def forecast(
    period: Annotated[str, typer.Option("--period", help="month or quarter.")] = "month",
    months: Annotated[int, typer.Option("--months", help="How many months ahead to cover.")] = 6,
    overdue: Annotated[
        int, typer.Option("--overdue", help="List this many overdue deals, oldest first (0: all).")
    ] = 20,
) -> None:
    """Expected and weighted value of open deals by expected close period; overdue deals apart."""
    from crm_cli.reports import pipeline as report

    doc = report.forecast(open_db(), _now(), period=period.strip().lower(), months=months, overdue_limit=overdue)
    fmt = output.output_format()
    if fmt == "json":
        output.emit_doc(doc)
    elif fmt in ("csv", "tsv", "ndjson"):
        output.emit_rows(doc["rows"] + doc["overdue"], FORECAST_COLUMNS)
    else:
        console = output.console()
        columns = [c for c in FORECAST_COLUMNS if c.key != "currency"]
        for currency in dict.fromkeys(r["currency"] for r in doc["rows"]):
            console.print(
                output.table(
                    _with_bars([r for r in doc["rows"] if r["currency"] == currency], "weighted_value"),
                    columns,
                    title=f"Forecast by {doc['period']}, {doc['from']} to {doc['to']}, open deals ({currency})",
                )
            )
        listed, count = doc["overdue_deals"], doc["overdue_count"]
        if listed:
            title = "Overdue (close date passed, still open)"
            if count > len(listed):
                title += f": the {len(listed)} oldest of {count:,}"
            console.print(output.table(listed, OVERDUE_COLUMNS, title=title))
            if count > len(listed):
                output.info("see them all: crm deal list --open --closing-before today (or --overdue 0)")
        elif not count:
            output.info("no overdue deals")


@app.command("sales")
@options()
def sales(
    start: Annotated[str | None, typer.Option("--from", help="Deals closed on or after this date.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Deals closed on or before this date.")] = None,
) -> None:
    """Won and lost deals: win rate, won value, average deal size and sales cycle, lost reasons."""
    from crm_cli import periods
    from crm_cli.reports import pipeline as report

    conn = open_db()
    span = periods.parse_range(conn, start, end, _now())
    doc = report.sales(conn, _now(), start=span.start, end=span.end)
    fmt = output.output_format()
    if fmt == "json":
        output.emit_doc(doc)
    elif fmt in ("csv", "tsv", "ndjson"):
        output.emit_rows(
            [{k: v for k, v in r.items() if k != "lost_reasons"} for r in doc["by_currency"]], SALES_COLUMNS
        )
    else:
        from rich.text import Text

        console = output.console()
        window = f"{doc['from'] or 'start'} to {doc['to'] or 'now'}"
        rate = "n/a" if doc["win_rate"] is None else f"{doc['win_rate'] * 100:.1f}%"
        cycle = "n/a" if doc["avg_cycle_days"] is None else f"{doc['avg_cycle_days']} days"
        console.print(Text(f"Sales, deals closed {window}", style="bold"))
        console.print(Text(f"  won {doc['won_count']}  lost {doc['lost_count']}  win rate {rate}  avg cycle {cycle}"))
        if doc["by_currency"]:
            console.print(output.table(doc["by_currency"], SALES_COLUMNS, title="By currency"))
        if doc["lost_reasons"]:
            console.print(output.table(doc["lost_reasons"], REASON_COLUMNS, title="Lost reasons"))


@app.command("stale")
@options()
def stale(
    days: Annotated[int, typer.Option("--days", help="No activity for this many days.")] = 14,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most this many.")] = None,
) -> None:
    """Open deals with no activity (interaction, stage change, edit) in N days, oldest first."""
    from crm_cli.reports import pipeline as report

    conn = open_db()
    if output.output_format() == "tsv":  # piped: SQLite joins the shown values (one string per deal)
        keys = [c.key for c in STALE_COLUMNS]
        lines = report.stale_lines(conn, _now(), keys, days=days, limit=limit)
        if lines is not None:
            output.emit_lines(lines)
            return
    rows = report.stale(conn, _now(), days=days, limit=limit)
    output.emit_rows(rows, STALE_COLUMNS, title=f"Open deals idle for {days}+ days", empty="no stale deals")


@app.command("conversion")
@options()
def conversion(
    start: Annotated[str | None, typer.Option("--from", help="Deals created on or after this date.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Deals created on or before this date.")] = None,
) -> None:
    """Stage conversion: of the deals that reached each stage, the share reaching the next; median days."""
    from crm_cli import periods
    from crm_cli.reports import pipeline as report

    conn = open_db()
    span = periods.parse_range(conn, start, end, _now())
    rows = report.conversion(conn, _now(), start=span.start, end=span.end)
    if _is_table():
        rows = _with_bars(rows, "reached")
    output.emit_rows(rows, CONVERSION_COLUMNS, title="Stage conversion")
