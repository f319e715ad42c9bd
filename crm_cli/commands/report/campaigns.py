"""crm report campaign NAME / crm report campaigns: what each campaign reached and earned."""

from typing import Annotated

import typer

from crm_cli import output
from crm_cli.commands._common import open_db, options
from crm_cli.commands.report import app
from crm_cli.output import Column

Window = Annotated[
    str, typer.Option("--window", help="Attribution window after each send: purchases within it count (30d, 6w).")
]

COLUMNS = [
    Column("campaign_id", "id", kind="int"),
    Column("name"),
    Column("channel"),
    Column("audience", kind="int"),
    Column("excluded", kind="int"),
    Column("sent", kind="int"),
    Column("delivered", kind="int"),
    Column("failed", kind="int"),
    Column("open_rate", "open", kind="pct"),
    Column("click_rate", "click", kind="pct"),
    Column("reply_rate", "reply", kind="pct"),
    Column("unsubscribe_rate", "unsub", kind="pct"),
    Column("conversions", kind="int"),
    Column("revenue", kind="money", currency_key="currency"),
    Column("cost", kind="money", currency_key="currency"),
    Column("cost_per_conversion", "cost/conv", kind="money", currency_key="currency"),
    Column("return_on_spend", "return", kind="pct"),
]


# --csv and piped: the table's columns with the currency beside revenue (it applies to cost too) and revenue
# in other currencies (a list in JSON) as one cell "40 EUR; 120 USD", then the JSON's other fields
PLAIN_KEYS = [
    key
    for column in COLUMNS
    for key in ([column.key, "currency", "revenue_other_currencies"] if column.key == "revenue" else [column.key])
] + [
    "status",
    "launched_at",
    "window_days",
    "excluded_dnc",
    "excluded_no_email",
    "bounced",
    "pending",
    "unknown",
    "opened",
    "clicked",
    "replied",
    "unsubscribed",
    "conversion_rate",
]


def _emit_plain(docs: list[dict]) -> None:
    """csv/tsv rows for report docs: the JSON's fields, flat."""
    rows = [
        doc
        | {
            "revenue_other_currencies": "; ".join(
                f"{output.plain(o['amount'])} {o['currency']}" for o in doc["revenue_other_currencies"]
            )
        }
        for doc in docs
    ]
    output.emit_rows(rows, [Column(key) for key in PLAIN_KEYS])


def _window_days(raw: str) -> int:
    from crm_cli.dates import parse_age
    from crm_cli.errors import InvalidInput

    try:
        return parse_age(raw).days
    except InvalidInput:
        raise InvalidInput(f"invalid --window {raw!r}; use a period such as 30d, 6w or 3m") from None


@app.command("campaign")
@options(("json", "csv", "ndjson"))
def campaign(
    name: Annotated[str, typer.Argument(help="Campaign name (or id).")],
    window: Window = "30d",
) -> None:
    """One campaign's results: reach, responses, conversions, revenue, cost and return on spend."""
    from crm_cli import campaigns  # here, not at the top: every report command loads this module
    from crm_cli.reports import campaigns as report

    days = _window_days(window)
    conn = open_db()
    doc = report.campaign_report(conn, campaigns.resolve(conn, name), days)
    if output.output_format() in ("csv", "tsv"):
        _emit_plain([doc])
        return
    output.emit_doc(doc, lambda console: _render(console, doc))


def _render(console, doc: dict) -> None:
    from rich.text import Text

    def pct(value) -> str:
        return "–" if value is None else f"{float(value) * 100:.1f}%"

    def money(value) -> str:
        return (
            "–"
            if value is None
            else output.human(value, Column("x", kind="money", currency_key="c"), {"c": doc["currency"]})
        )

    heading = Text(doc["name"], style="bold")
    heading.append(f"  #{doc['campaign_id']}  {doc['channel']}  {doc['status']}", style="dim")
    console.print(heading)
    other = ", ".join(f"{o['amount']} {o['currency']}" for o in doc["revenue_other_currencies"])
    lines = [
        (
            "audience",
            f"{doc['audience']}  (excluded {doc['excluded_dnc']} do-not-contact, "
            f"{doc['excluded_no_email']} without e-mail)",
        ),
        (
            "sent",
            f"{doc['sent']}  delivered {doc['delivered']}, failed {doc['failed']}, pending {doc['pending']}"
            + (f", unknown {doc['unknown']}" if doc["unknown"] else ""),
        ),
        ("opened", f"{doc['opened']}  {pct(doc['open_rate'])}"),
        ("clicked", f"{doc['clicked']}  {pct(doc['click_rate'])}"),
        ("replied", f"{doc['replied']}  {pct(doc['reply_rate'])}"),
        ("unsubscribed", f"{doc['unsubscribed']}  {pct(doc['unsubscribe_rate'])}"),
        ("conversions", f"{doc['conversions']}  {pct(doc['conversion_rate'])}  within {doc['window_days']} days"),
        ("revenue", money(doc["revenue"]) + (f"  (also {other}, not converted)" if other else "")),
        ("cost", money(doc["cost"])),
        ("per conversion", money(doc["cost_per_conversion"])),
        ("return", pct(doc["return_on_spend"]) + "  (revenue - cost) / cost"),
    ]
    for label, value in lines:
        line = Text(f"  {label:<15}", style="cyan")
        line.append(value)
        console.print(line)


@app.command("campaigns")
@options()
def campaigns_(window: Window = "30d") -> None:
    """Every campaign side by side."""
    from crm_cli.reports import campaigns as report

    days = _window_days(window)
    conn = open_db()
    docs = report.all_campaigns(conn, days)
    if output.output_format() in ("csv", "tsv"):
        _emit_plain(docs)
        return
    output.emit_rows(docs, COLUMNS, empty="no campaigns yet")
