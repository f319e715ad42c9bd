"""`crm report retention|customers|dormant|acquisition|service|satisfaction|activity`.

Every report: `--json` prints its rows as an array (the same rows `--csv`/`--ndjson` and a pipe get);
`--summary` prints the headline figures instead (an object with --json). On a terminal: the rows as a
table with small charts, the headline figures below.
"""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli import env as envmod
from crm_cli import output
from crm_cli.commands._common import open_db, options
from crm_cli.commands.report import app
from crm_cli.output import Column

From = Annotated[str | None, typer.Option("--from", help="First day included, e.g. 2026-01-01 or -90d.")]
To = Annotated[str | None, typer.Option("--to", help="Last day included (default today).")]
Period = Annotated[str, typer.Option("--period", help="week, month, quarter or year.")]
Summary = Annotated[bool, typer.Option("--summary", help="Only the headline figures (an object with --json).")]


def _setup(from_: str | None, to: str | None, period: str | None = None):
    """Validate the common options before any work: bad dates and periods exit 2."""
    from crm_cli import periods

    if period is not None:
        periods.check_period(period)
    conn = open_db()
    now = envmod.current().now
    rng = periods.parse_range(conn, from_, to, now)
    if rng.start and rng.start > now:  # a --to after today ends at today (reports/buckets.py); a --from cannot
        from crm_cli.dates import local_now
        from crm_cli.errors import InvalidInput

        raise InvalidInput(
            f"--from {from_} is after today ({local_now(now).date().isoformat()}); reports cover what has"
            " happened: give a --from up to today"
        )
    return conn, now, rng


def _is_table() -> bool:
    return output.output_format() == "table"


def _summary_out(summary: dict, render) -> None:
    """--summary: an object for JSON; metric/value rows for csv and pipes; lines on a terminal."""
    fmt = output.output_format()
    if fmt in ("json", "ndjson"):
        output.emit_doc(summary)
    elif fmt == "table":
        render(output.console())
    else:
        rows = [{"metric": k, "value": v} for k, v in summary.items() if not isinstance(v, list | dict)]
        output.emit_rows(rows, [Column("metric"), Column("value")])


def _pct(value) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _num(value, places: int = 1) -> str:
    return "–" if value is None else f"{value:,.{places}f}"


def _compact(grid):
    """A wide table drawn tighter: a simple rule under the header, one space between columns."""
    from rich import box

    grid.box = box.SIMPLE_HEAD
    grid.padding = (0, 1, 0, 0)
    grid.pad_edge = False
    for column in grid.columns:
        column.no_wrap = True
    return grid


def _line(console, text: str, style: str | None = None) -> None:
    from rich.text import Text

    console.print(Text(text, style=style or ""))


# ---------------------------------------------------------------------------------------------
# retention


def _heat_style(share: float):
    """A background from dark to bright green by share (0-1), with readable text."""
    from rich.color import Color
    from rich.style import Style

    low, high = (24, 32, 28), (34, 197, 94)
    rgb = [round(a + (b - a) * share) for a, b in zip(low, high, strict=True)]
    return Style(bgcolor=Color.from_rgb(*rgb), color="black" if share >= 0.5 else "white")


def _render_retention(doc: dict, console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    rows, summary = doc["cohorts"], doc["summary"]
    width = max((len(r["retention"]) for r in rows), default=0)
    label_width = max(len(r["cohort"]) for r in rows)
    size_width = max(4, max(len(f"{r['size']:,}") for r in rows))
    # Each period takes 4 columns ("100" and a space); show as many as the terminal holds.
    fits = max(1, (console.width - label_width - size_width - 4) // 4)
    shown = min(width, fits)
    grid = Table(
        title=f"Retention by {summary['period']} of first purchase: % of each cohort buying again",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        header_style="bold",
        pad_edge=False,
        padding=(0, 1, 0, 0),
        collapse_padding=True,
    )
    grid.add_column("cohort", no_wrap=True, min_width=label_width)
    grid.add_column("size", justify="right", no_wrap=True, min_width=size_width)
    for k in range(shown):
        grid.add_column(f"+{k}", justify="right", no_wrap=True, min_width=3, max_width=3)
    for r in rows:
        cells = [Text(r["cohort"]), Text(f"{r['size']:,}")]
        for share in r["retention"][:shown]:
            cells.append(Text(f"{share * 100:3.0f}", style=_heat_style(share)))
        cells += [Text("")] * (shown - len(r["retention"][:shown]))
        grid.add_row(*cells)
    console.print(grid)
    if shown < width:
        _line(
            console,
            f"showing periods +0..+{shown - 1} of +{width - 1}: widen the terminal, use --period quarter, or --json",
            style="dim",
        )
    _render_retention_summary(summary, console)


def _render_retention_summary(s: dict, console) -> None:
    _line(
        console,
        f"customers {s['customers']:,} · repeat purchase rate {_pct(s['repeat_purchase_rate'])} "
        f"({s['repeat_customers']:,} bought 2+ times)",
    )
    if s["churn_period"]:
        trend = [c["churn_rate"] for c in s["churn"] if c["complete"]][-12:]
        _line(
            console,
            f"churn {s['churn_period']}: {_pct(s['churn_rate'])} of the previous {s['period']}'s buyers "
            f"did not buy again  {output.sparkline(trend)}",
        )
    else:
        _line(console, "churn: needs two complete periods with purchases", style="dim")


@app.command("retention")
@options()
def retention_cmd(
    from_: From = None,
    to: To = None,
    period: Period = "month",
    summary: Summary = False,
) -> None:
    """Cohorts by period of first purchase: share buying again 1, 2, 3 … periods later; repeat rate; churn."""
    from crm_cli.reports import retention

    conn, now, rng = _setup(from_, to, period)
    doc = retention.retention(conn, now=now, period=period, rng=rng)
    if summary:
        _summary_out(doc["summary"], lambda c: _render_retention_summary(doc["summary"], c))
        return
    fmt = output.output_format()
    if fmt == "table":
        if not doc["cohorts"]:
            output.info("no purchases in this range")
            return
        _render_retention(doc, output.console())
    elif fmt in ("json", "ndjson"):
        output.emit_rows(doc["cohorts"], [])
    else:
        width = max((len(r["retention"]) for r in doc["cohorts"]), default=0)
        flat = [
            {**r, **{f"period_{k}": (r["retention"][k] if k < len(r["retention"]) else None) for k in range(width)}}
            for r in doc["cohorts"]
        ]
        columns = [
            Column("cohort"),
            Column("cohort_start"),
            Column("size"),
            Column("repeat_customers"),
            Column("repeat_rate"),
            *[Column(f"period_{k}") for k in range(width)],
        ]
        output.emit_rows(flat, columns)


# ---------------------------------------------------------------------------------------------
# customers (RFM)

SEGMENT_COLUMNS = [
    Column("segment"),
    Column("customers", kind="int"),
    Column("share", kind="pct"),
    Column("customers", " ", kind="bar"),
    Column("revenue", kind="money", currency_key="currency"),
    Column("revenue_share", "rev share", kind="pct"),
    Column("orders", kind="int"),
    Column("avg_order_value", "avg order", kind="money"),
    Column("avg_recency_days", "avg days since"),
]
SEGMENT_CSV_COLUMNS = [
    Column("segment"),
    Column("customers"),
    Column("share"),
    Column("revenue"),
    Column("currency"),
    Column("revenue_share"),
    Column("orders"),
    Column("avg_order_value"),
    Column("avg_recency_days"),
    Column("rule"),
]
MEMBER_COLUMNS = [
    Column("id", kind="int"),
    Column("name"),
    Column("email"),
    Column("rfm", "RFM"),
    Column("recency_days", "days since", kind="int"),
    Column("orders", kind="int"),
    Column("revenue", kind="money"),
    Column("avg_order_value", "avg order", kind="money"),
    Column("lifetime_value", "lifetime", kind="money"),
]


@app.command("customers")
@options()
def customers_cmd(
    from_: From = None,
    to: To = None,
    segment: Annotated[
        str | None,
        typer.Option(
            "--segment",
            help="List one segment's customers: champions, loyal, potential-loyalists, new, at-risk, cant-lose, "
            "hibernating, lost (or all).",
        ),
    ] = None,
) -> None:
    """Best customers: RFM scores 1-5 by quintile, segments with counts and revenue, lifetime value."""
    from crm_cli.reports import rfm

    name = rfm.segment_name(segment) if segment is not None else None
    conn, now, rng = _setup(from_, to)
    table = _is_table()
    if name:
        if output.output_format() == "tsv":  # piped: SQLite joins the lines
            output.emit_lines(rfm.member_lines(conn, name, now=now, rng=rng))
            return
        rows = rfm.segment_members(conn, name, now=now, rng=rng)
        output.emit_rows(
            rows,
            MEMBER_COLUMNS if table else [Column(key) for key in rfm.MEMBER_CELLS],
            title=f"{name}: {len(rows):,} customers",
            empty=f"no customers in segment {name!r}",
        )
        return
    rows = rfm.segments(conn, now=now, rng=rng)
    if table and not any(r["customers"] for r in rows):
        output.info("no purchases in this range")
        return
    output.emit_rows(
        rows,
        SEGMENT_COLUMNS if table else SEGMENT_CSV_COLUMNS,
        title=f"RFM segments (revenue in {rows[0]['currency']}; as of {rfm.as_of(rng, now).isoformat()})",
    )
    if table:
        _line(output.console(), "list one: crm report customers --segment champions", style="dim")


# ---------------------------------------------------------------------------------------------
# dormant

DORMANT_COLUMNS = [
    Column("id", kind="int"),
    Column("name"),
    Column("email"),
    Column("last_purchase_at", "last purchase", kind="date"),
    Column("last_contact_at", "last contact", kind="date"),
    Column("days_since_contact", "days quiet", kind="int"),
    Column("orders", kind="int"),
    Column("lifetime_spend", "lifetime spend", kind="money", currency_key="currency"),
    Column("action"),
]
DORMANT_CSV_COLUMNS = [
    Column(key)
    for key in (
        "id",
        "name",
        "email",
        "phone",
        "status",
        "last_purchase_at",
        "last_contact_at",
        "days_since_contact",
        "orders",
        "lifetime_spend",
        "currency",
        "action",
    )
]


def _render_dormant_summary(s: dict, console) -> None:
    median = "–" if s["median_lifetime_spend"] is None else f"{s['median_lifetime_spend']:,} {s['currency']}"
    _line(
        console,
        f"{s['dormant']:,} of {s['customers']:,} customers quiet for more than {s['days']} days "
        f"({_pct(s['dormant_share'])}): win back {s['win_back']:,}, purge {s['purge']:,}",
    )
    _line(
        console,
        f"win back = 2+ orders or lifetime spend above the median ({median}); segment: {s['segment_expression']}",
        style="dim",
    )


@app.command("dormant")
@options()
def dormant_cmd(
    days: Annotated[int, typer.Option("--days", help="Quiet for more than this many days.")] = 180,
    from_: From = None,
    to: To = None,
    save_segment: Annotated[
        str | None, typer.Option("--save-segment", help="Save these customers as a segment (for a campaign).")
    ] = None,
    summary: Summary = False,
) -> None:
    """Customers with no purchase or contact for N days, with lifetime spend and win back / purge."""
    from crm_cli import db, segments
    from crm_cli.reports import dormant

    dormant.check_days(days)
    conn, now, rng = _setup(from_, to)
    if save_segment is None and not summary and output.output_format() == "tsv":
        # piped: SQLite picks, orders and joins the shown values (one string per customer)
        lines = dormant.dormant_lines(conn, [c.key for c in DORMANT_CSV_COLUMNS], now=now, days=days, rng=rng)
        if lines is not None:
            output.emit_lines(lines)
            return
    doc = dormant.dormant(conn, now=now, days=days, rng=rng)
    if save_segment is not None:
        expr = doc["summary"]["segment_expression"]
        with db.write(conn, f"report dormant --days {days} --save-segment {save_segment}"):
            segments.save(conn, save_segment, expr, now)
        output.info(f"saved segment {save_segment.strip()!r} ({len(doc['rows'])} contacts now): {expr}")
    if summary:
        _summary_out(doc["summary"], lambda c: _render_dormant_summary(doc["summary"], c))
        return
    table = _is_table()
    output.emit_rows(
        doc["rows"],
        DORMANT_COLUMNS if table else DORMANT_CSV_COLUMNS,
        title=f"Dormant customers: no purchase or contact for more than {days} days",
        empty=f"no customers quiet for more than {days} days",
    )
    if table:
        _render_dormant_summary(doc["summary"], output.console())


# ---------------------------------------------------------------------------------------------
# acquisition

ACQUISITION_COLUMNS = [
    Column("period"),
    Column("new_contacts", "new contacts", kind="int"),
    Column("new_contacts", " ", kind="bar"),
    Column("new_customers", "new customers", kind="int"),
    Column("new_customers", " ", kind="bar"),
    Column("customer_base", "customer base", kind="int"),
    Column("growth_rate", "growth", kind="pct"),
]
ACQUISITION_CSV_COLUMNS = [
    Column(k) for k in ("period", "period_start", "new_contacts", "new_customers", "customer_base", "growth_rate")
]
SOURCE_COLUMNS = [
    Column("source_label", "source"),
    Column("new_contacts", "new contacts", kind="int"),
    Column("converted", "bought", kind="int"),
    Column("conversion_rate", "conversion", kind="pct"),
    Column("conversion_rate", " ", kind="bar"),
    Column("new_customers", "new customers", kind="int"),
    Column("share_of_new_customers", "share", kind="pct"),
]
SOURCE_CSV_COLUMNS = [
    Column(k)
    for k in ("source", "new_contacts", "converted", "conversion_rate", "new_customers", "share_of_new_customers")
]


def _render_acquisition_summary(s: dict, console) -> None:
    _line(
        console,
        f"{s['new_contacts']:,} new contacts, {s['new_customers']:,} new customers · "
        f"lead -> customer {_pct(s['conversion_rate'])} · customer base {s['customers_at_start']:,} -> "
        f"{s['customers_at_end']:,} ({_pct(s['growth_rate'])})",
    )


@app.command("acquisition")
@options()
def acquisition_cmd(
    from_: From = None,
    to: To = None,
    period: Period = "month",
    by: Annotated[str, typer.Option("--by", help="period (default) or source.")] = "period",
    summary: Summary = False,
) -> None:
    """New contacts and customers per period and by source, conversion by source, growth of the base."""
    from crm_cli.errors import InvalidInput
    from crm_cli.reports import acquisition

    by = by.strip().lower()
    if by not in ("period", "source"):
        raise InvalidInput(f"invalid --by {by!r}; choose period or source")
    conn, now, rng = _setup(from_, to, period)
    doc = acquisition.acquisition(conn, now=now, period=period, rng=rng)
    if summary:
        _summary_out(doc["summary"], lambda c: _render_acquisition_summary(doc["summary"], c))
        return
    table = _is_table()
    sources = [{**r, "source_label": r["source"] or "(none)"} for r in doc["sources"]] if table else doc["sources"]
    if by == "source":
        output.emit_rows(sources, SOURCE_COLUMNS if table else SOURCE_CSV_COLUMNS, empty="no contacts in this range")
        return
    output.emit_rows(doc["rows"], ACQUISITION_COLUMNS if table else ACQUISITION_CSV_COLUMNS, title="Acquisition")
    if table:
        console = output.console()
        if sources:
            console.print(output.table(sources, SOURCE_COLUMNS, title="By source (contacts created in the range)"))
        _render_acquisition_summary(doc["summary"], console)


# ---------------------------------------------------------------------------------------------
# service

SERVICE_COLUMNS = [
    Column("period"),
    Column("opened", kind="int"),
    Column("resolved", kind="int"),
    Column("backlog", "open at end", kind="int"),
    Column("backlog", " ", kind="bar"),
    Column("mean_hours", "mean h"),
    Column("median_hours", "median h"),
]
SERVICE_CSV_COLUMNS = [
    Column(k) for k in ("period", "period_start", "opened", "resolved", "backlog", "mean_hours", "median_hours")
]
OLDEST_COLUMNS = [
    Column("id", kind="int"),
    Column("contact"),
    Column("summary"),
    Column("opened_at", "opened", kind="datetime"),
    Column("age_days", "age days"),
]


def _render_service_summary(s: dict, console) -> None:
    _line(
        console,
        f"opened {s['opened']:,}, resolved {s['resolved']:,} · time to resolution: mean "
        f"{_num(s['mean_resolution_hours'])} h, median {_num(s['median_resolution_hours'])} h · "
        f"open now {s['open_now']:,}",
    )
    if s["oldest_open"]:
        console.print(output.table(s["oldest_open"], OLDEST_COLUMNS, title="Oldest open requests"))


@app.command("service")
@options()
def service_cmd(
    from_: From = None,
    to: To = None,
    period: Period = "month",
    oldest: Annotated[int, typer.Option("--oldest", help="How many of the oldest open requests to show.")] = 5,
    summary: Summary = False,
) -> None:
    """Support requests opened/resolved per period, backlog, mean/median time to resolution, oldest open."""
    from crm_cli.errors import InvalidInput
    from crm_cli.reports import service

    if oldest < 0:
        raise InvalidInput(f"invalid --oldest {oldest}; use 0 or more")
    conn, now, rng = _setup(from_, to, period)
    doc = service.service(conn, now=now, period=period, rng=rng, oldest=oldest)
    if summary:
        _summary_out(doc["summary"], lambda c: _render_service_summary(doc["summary"], c))
        return
    table = _is_table()
    output.emit_rows(doc["rows"], SERVICE_COLUMNS if table else SERVICE_CSV_COLUMNS, title="Support requests")
    if table:
        _render_service_summary(doc["summary"], output.console())


# ---------------------------------------------------------------------------------------------
# satisfaction

SATISFACTION_COLUMNS = [
    Column("period"),
    Column("responses", kind="int"),
    Column("csat_average", "CSAT avg"),
    Column("csat_satisfied_rate", "satisfied", kind="pct"),
    Column("csat_satisfied_rate", " ", kind="bar"),
    Column("nps", "NPS"),
    Column("promoters", kind="int"),
    Column("passives", kind="int"),
    Column("detractors", kind="int"),
]
SATISFACTION_CSV_COLUMNS = [
    Column(k)
    for k in (
        "period",
        "period_start",
        "responses",
        "csat_responses",
        "csat_average",
        "csat_satisfied",
        "csat_satisfied_rate",
        "nps_responses",
        "promoters",
        "passives",
        "detractors",
        "nps",
    )
]


def _render_satisfaction_summary(s: dict, console, rows: list[dict] | None = None) -> None:
    csat_trend = output.sparkline([r["csat_average"] or 0 for r in rows or []][-12:])
    nps_trend = output.sparkline([r["nps"] or 0 for r in rows or []][-12:])
    _line(
        console,
        f"CSAT {_num(s['csat_average'], 2)} / 5 from {s['csat_responses']:,} scores, "
        f"{_pct(s['csat_satisfied_rate'])} satisfied (4-5)  {csat_trend}",
    )
    _line(
        console,
        f"NPS {_num(s['nps'])} from {s['nps_responses']:,} scores: {s['promoters']:,} promoters, "
        f"{s['passives']:,} passives, {s['detractors']:,} detractors  {nps_trend}",
    )
    _line(console, f"--score means {s['scale']} here (crm config set satisfaction_scale csat|nps)", style="dim")


@app.command("satisfaction")
@options()
def satisfaction_cmd(
    from_: From = None,
    to: To = None,
    period: Period = "month",
    summary: Summary = False,
) -> None:
    """Satisfaction scores per period: CSAT average and % satisfied, NPS (promoters - detractors)."""
    from crm_cli.reports import satisfaction

    conn, now, rng = _setup(from_, to, period)
    doc = satisfaction.satisfaction(conn, now=now, period=period, rng=rng)
    if summary:
        _summary_out(doc["summary"], lambda c: _render_satisfaction_summary(doc["summary"], c))
        return
    table = _is_table()
    output.emit_rows(doc["rows"], SATISFACTION_COLUMNS if table else SATISFACTION_CSV_COLUMNS, title="Satisfaction")
    if table:
        _render_satisfaction_summary(doc["summary"], output.console(), doc["rows"])


# ---------------------------------------------------------------------------------------------
# activity

ACTIVITY_COLUMNS = [
    Column("period"),
    *[Column(kind, kind="int") for kind in ("call", "email", "meeting", "message", "note", "purchase", "support")],
    Column("total", kind="int"),
    Column("follow_ups_due", "follow-ups", kind="int"),
    Column("done_on_time", "on time", kind="int"),
    Column("done_late", "late", kind="int"),
    Column("overdue", kind="int"),
    Column("on_time_rate", "on time %", kind="pct"),
]
ACTIVITY_CSV_COLUMNS = [
    Column(k)
    for k in (
        "period",
        "period_start",
        "call",
        "email",
        "meeting",
        "message",
        "note",
        "purchase",
        "support",
        "total",
        "follow_ups_due",
        "done_on_time",
        "done_late",
        "overdue",
        "upcoming",
        "on_time_rate",
    )
]


def _render_activity_summary(s: dict, console) -> None:
    _line(
        console,
        f"{s['total']:,} interactions · follow-ups: {s['done_on_time']:,} on time, {s['done_late']:,} late "
        f"({_pct(s['on_time_rate'])} on time), {s['overdue']:,} overdue, {s['upcoming']:,} upcoming",
    )


@app.command("activity")
@options()
def activity_cmd(
    from_: From = None,
    to: To = None,
    period: Period = "month",
    summary: Summary = False,
) -> None:
    """Interactions per period by kind; follow-ups done on time vs late, and overdue."""
    from crm_cli.reports import activity

    conn, now, rng = _setup(from_, to, period)
    doc = activity.activity(conn, now=now, period=period, rng=rng)
    if summary:
        _summary_out(doc["summary"], lambda c: _render_activity_summary(doc["summary"], c))
        return
    if _is_table():
        console = output.console()
        console.print(_compact(output.table(doc["rows"], ACTIVITY_COLUMNS, title="Interactions and follow-ups")))
        _render_activity_summary(doc["summary"], console)
        return
    output.emit_rows(doc["rows"], ACTIVITY_CSV_COLUMNS)
