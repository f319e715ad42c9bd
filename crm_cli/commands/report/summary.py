"""`crm report summary` (and `crm` alone): the one-screen dashboard."""

from __future__ import annotations

from crm_cli import env as envmod
from crm_cli import output
from crm_cli.commands._common import open_db, options
from crm_cli.commands.report import app
from crm_cli.output import Column


def _money(value, currency: str) -> str:
    from crm_cli.money import format_money, parse_amount

    return format_money(parse_amount(str(value)), currency)


def _metric_rows(doc: dict) -> list[dict]:
    """The dashboard as metric/value rows (csv and pipes); pipeline per currency."""
    rows = [{"metric": k, "value": v} for k, v in doc.items() if not isinstance(v, list | dict)]
    for p in doc["open_pipeline"]:
        rows.append({"metric": f"open_pipeline_{p['currency']}", "value": p["value"]})
        rows.append({"metric": f"open_pipeline_deals_{p['currency']}", "value": p["deals"]})
    return rows


def _render(doc: dict, console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    cur = doc["currency"]
    grid = Table(box=box.ROUNDED, show_header=False, title=f"crm · {doc['today']}", title_justify="left")
    grid.add_column("what", style="bold")
    grid.add_column("figure", justify="right")
    grid.add_column("note")

    def row(label: str, figure: str, note: str = "", style: str = "") -> None:
        grid.add_row(Text(label), Text(figure, style=style), Text(note, style="dim"))

    overdue = doc["follow_ups_overdue"]
    row(
        "Follow-ups",
        f"{doc['follow_ups_due_today']:,} today",
        f"{overdue:,} overdue · crm log due" if overdue else "crm log due",
        "bold red" if overdue else "",
    )
    if doc["open_pipeline"]:
        for n, p in enumerate(doc["open_pipeline"]):
            row(
                "Open pipeline" if n == 0 else "",
                _money(p["value"], p["currency"]),
                f"{p['deals']:,} deals, weighted {_money(p['weighted_value'], p['currency'])}",
            )
    else:
        row("Open pipeline", "–", "no open deals")
    change = doc["revenue_change"]
    trend = output.sparkline([m["revenue"] for m in doc["revenue_by_month"]])
    row(
        f"Revenue {doc['month']}",
        _money(doc["revenue_this_month"], cur),
        f"last month {_money(doc['revenue_last_month'], cur)}; "
        f"to this day {_money(doc['revenue_last_month_to_date'], cur)}"
        + ("" if change is None else f" ({'+' if change >= 0 else ''}{change * 100:.1f}%)"),
        "green" if change is not None and change >= 0 else ("red" if change is not None else ""),
    )
    grid.add_row(Text("12 months"), Text(trend, style="cyan"), Text(""))
    row("New customers", f"{doc['new_customers_this_month']:,}", "this month")
    row(
        "Dormant",
        f"{doc['dormant_customers']:,}",
        f"no contact for {doc['dormant_days']}+ days · crm report dormant",
    )
    row("Open support", f"{doc['open_support_requests']:,}", "crm report service")
    console.print(grid)


@app.command("summary")
@options(("json", "csv"))
def summary() -> None:
    """The dashboard: follow-ups due, open pipeline, revenue this month vs last, new and dormant customers."""
    from crm_cli.reports import summary as core

    conn = open_db()
    doc = core.summary(conn, now=envmod.current().now)
    fmt = output.output_format()
    if fmt == "json":
        output.emit_doc(doc)
    elif fmt == "table":
        _render(doc, output.console())
        if conn.execute("SELECT 1 FROM contacts LIMIT 1").fetchone() is None:
            output.info(
                "no contacts yet: crm contact add NAME, crm contact import FILE, "
                "or crm demo --db demo.db to explore with sample data"
            )
    else:
        output.emit_rows(_metric_rows(doc), [Column("metric"), Column("value")])
