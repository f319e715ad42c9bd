"""Campaigns: segments, messages, sending, responses (results: crm report campaign)."""

from typing import Annotated

import typer

from crm_cli import campaigns, db, output
from crm_cli import env as envmod
from crm_cli.commands._common import confirm, open_db, options
from crm_cli.errors import CrmError, InvalidInput
from crm_cli.output import Column

app = typer.Typer(no_args_is_help=True)
segment_app = typer.Typer(no_args_is_help=True)
app.add_typer(segment_app, name="segment", help="Saved, named filters: save, list, show, delete.")

LIST_COLUMNS = [
    Column("id", kind="int"),
    Column("name"),
    Column("channel"),
    Column("status"),
    Column("audience", kind="int"),
    Column("sent", kind="int"),
    Column("failed", kind="int"),
    Column("cost", kind="money", currency_key="currency"),
    Column("launched_at", "launched", kind="datetime"),
]
MEMBER_COLUMNS = [
    Column("contact_id", "id", kind="int"),
    Column("contact"),
    Column("email"),
    Column("status"),
    Column("sent_at", "sent", kind="datetime"),
    Column("opened_at", "opened", kind="datetime"),
    Column("clicked_at", "clicked", kind="datetime"),
    Column("replied_at", "replied", kind="datetime"),
    Column("purchased_at", "purchased", kind="datetime"),
    Column("unsubscribed_at", "unsubscribed", kind="datetime"),
    Column("error"),
]
EXPORT_COLUMNS = [
    Column("contact_id", kind="int"),
    Column("name"),
    Column("email"),
    Column("phone"),
    Column("city"),
    Column("status"),
    Column("subject"),
    Column("message"),
]
SEGMENT_COLUMNS = [
    Column("id", kind="int"),
    Column("name"),
    Column("expr", "expression"),
    Column("contacts", kind="int"),
]

Name = Annotated[str, typer.Argument(help="Campaign name (or id).")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (scripts).")]


def _now():
    return envmod.current().now


# ---------------------------------------------------------------------------------------------
# create / list / show / edit / delete / launch


@app.command("create")
@options(("json",))
def create(
    name: Annotated[str, typer.Argument(help='A unique name, e.g. "Ramadan offer".')],
    channel: Annotated[str, typer.Option("--channel", help="email, sms, call, event or ad.")] = "email",
    segment: Annotated[
        str, typer.Option("--segment", help='Who: a filter, e.g. "tag:vip orders>=1" or segment:NAME.')
    ] = "",
    subject: Annotated[str | None, typer.Option("--subject", help="Subject; may use {first_name} etc.")] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="Message file (UTF-8) with {first_name}, {company} … fields.")
    ] = None,
    body: Annotated[str | None, typer.Option("--body", help="The message text itself (instead of --template).")] = None,
    cost: Annotated[str | None, typer.Option("--cost", help="What the campaign cost, exact (300, 249.90).")] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help="Currency of --cost (default from config).")
    ] = None,
    starts: Annotated[str | None, typer.Option("--starts", help="Start date.")] = None,
    ends: Annotated[str | None, typer.Option("--ends", help="End date.")] = None,
) -> None:
    """Create a campaign (a draft until launched); prints its id."""
    conn = open_db()
    if template and body is not None:
        raise InvalidInput("give --template FILE or --body TEXT, not both")
    text = campaigns.read_template(template) if template else body
    with db.write(conn, f"campaign create {name}"):
        campaign_id = campaigns.create(
            conn,
            name=name,
            channel=channel,
            segment=segment,
            now=_now(),
            subject=subject,
            template=text,
            cost=cost,
            currency=currency,
            starts=starts,
            ends=ends,
        )
    if output.output_format() == "json":
        output.emit_doc(campaigns.record(conn, campaigns.get_row(conn, campaign_id)))
    else:
        output.emit_id(campaign_id)


@app.command("list")
@options()
def list_() -> None:
    """List campaigns with their status, audience and cost."""
    conn = open_db()
    output.emit_rows(campaigns.list_campaigns(conn), LIST_COLUMNS, empty="no campaigns yet")


@app.command("show")
@options(("json",))
def show(name: Name) -> None:
    """Show a campaign, its message and its members."""
    conn = open_db()
    campaign = campaigns.resolve(conn, name)
    doc = campaigns.record(conn, campaign)
    doc["members"] = [
        {k: v for k, v in m.items() if k not in ("rendered_subject", "rendered_body")}
        for m in campaigns.members(conn, campaign["id"])
    ]
    output.emit_doc(doc, lambda console: _render_campaign(console, doc))


def _render_campaign(console, doc: dict) -> None:
    from rich.text import Text

    from crm_cli.money import format_money

    heading = Text(doc["name"], style="bold")
    heading.append(f"  #{doc['id']}  {doc['channel']}  {doc['status']}", style="dim")
    console.print(heading)
    cost = format_money(int(doc["cost"] * 1000), doc["currency"])
    details = [
        ("segment", doc["segment"]),
        ("subject", doc["subject"]),
        ("cost", cost),
        ("dates", " – ".join(x for x in (doc["starts"], doc["ends"]) if x)),
        ("launched", doc["launched_at"] and output.human(doc["launched_at"], Column("x", kind="datetime"), {})),
        (
            "audience",
            f"{doc['audience']} (excluded: {doc['excluded_dnc']} do-not-contact, "
            f"{doc['excluded_no_email']} without e-mail)"
            if doc["launched_at"]
            else "frozen at launch",
        ),
        ("sent", f"{doc['sent']} sent, {doc['pending']} pending, {doc['failed']} failed, {doc['sending']} unknown"),
    ]
    for label, value in details:
        if value:
            line = Text(f"  {label:<10}", style="cyan")
            line.append(str(value))
            console.print(line)
    if doc["template"]:
        console.print(Text("  message", style="cyan"))
        console.print(Text(doc["template"].rstrip()), style="dim")
    if doc["members"]:
        console.print(output.table(doc["members"], MEMBER_COLUMNS, title="Members"))


@app.command("edit")
@options(("json",))
def edit(
    name: Name,
    new_name: Annotated[str | None, typer.Option("--name", help="Rename.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Channel (before launch only).")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Filter (before launch only).")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Subject template ('' clears).")] = None,
    template: Annotated[str | None, typer.Option("--template", help="Message file.")] = None,
    body: Annotated[str | None, typer.Option("--body", help="Message text.")] = None,
    cost: Annotated[str | None, typer.Option("--cost", help="Cost.")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Currency of the cost.")] = None,
    starts: Annotated[str | None, typer.Option("--starts", help="Start date ('' clears).")] = None,
    ends: Annotated[str | None, typer.Option("--ends", help="End date ('' clears).")] = None,
) -> None:
    """Change a campaign. After launch the audience is frozen; an edited message applies to unsent members."""
    conn = open_db()
    if template and body is not None:
        raise InvalidInput("give --template FILE or --body TEXT, not both")
    text = campaigns.read_template(template) if template else body
    campaign = campaigns.resolve(conn, name)
    changes = {
        "name": new_name,
        "channel": channel,
        "segment": segment,
        "subject": subject,
        "template": text,
        "cost": cost,
        "currency": currency,
        "starts": starts,
        "ends": ends,
    }
    with db.write(conn, f"campaign edit {campaign['name']}"):
        changed = campaigns.update(conn, campaign["id"], changes, _now())
    output.info(f"changed: {', '.join(changed)}" if changed else "nothing changed")
    if output.output_format() == "json":
        output.emit_doc(campaigns.record(conn, campaigns.get_row(conn, campaign["id"])))
    else:
        output.emit_id(campaign["id"])


@app.command("delete")
@options(("json",))
def delete(name: Name, yes: Yes = False) -> None:
    """Delete a campaign and its members (logged e-mails stay on the timelines)."""
    conn = open_db()
    campaign = campaigns.resolve(conn, name)
    count = campaigns.counts(conn, campaign["id"])["audience"]
    confirm(f"Delete campaign {campaign['name']!r} ({count} members)?", yes=yes)
    with db.write(conn, f"campaign delete {campaign['name']}"):
        campaigns.delete(conn, campaign["id"])
    output.info(f"deleted campaign {campaign['id']} ({campaign['name']})")
    if output.output_format() == "json":
        output.emit_doc({"deleted": campaign["id"]})


@app.command("launch")
@options(("json",))
def launch(name: Name) -> None:
    """Freeze the audience now (sending or exporting does it too); prints the campaign id."""
    conn = open_db()
    campaign = campaigns.resolve(conn, name)
    if campaign["launched_at"]:  # exit 4, as for a deal won twice: a script learns nothing was frozen now
        from crm_cli.errors import Conflict

        audience = campaigns.counts(conn, campaign["id"])["audience"]
        raise Conflict(
            f"campaign {campaign['name']!r} was already launched {campaign['launched_at']}: its audience of "
            f"{audience} is frozen; `crm campaign send` or `export` goes on with it, or create a new campaign"
        )
    with db.write(conn, f"campaign launch {campaign['name']}"):
        result = campaigns.launch(conn, campaign["id"], _now())
    output.info(
        f"{campaign['name']}: launched; {result['audience']} members "
        f"(excluded {result['excluded_dnc']} do-not-contact, {result['excluded_no_email']} without e-mail)"
    )
    if output.output_format() == "json":
        output.emit_doc(campaigns.record(conn, campaigns.get_row(conn, campaign["id"])))
    else:
        output.emit_id(campaign["id"])


# ---------------------------------------------------------------------------------------------
# Messages


@app.command("preview")
@options(("json",))
def preview(
    name: Name,
    ref: Annotated[str | None, typer.Argument(help="Contact (default: the first member).")] = None,
) -> None:
    """Render the message for one contact."""
    conn = open_db()
    campaign = campaigns.resolve(conn, name)
    doc = campaigns.preview(conn, campaign, ref, _now())
    output.emit_doc(doc, lambda console: _print_preview(doc))


def _print_preview(doc: dict) -> None:
    # Plain text, not rich: the message must come out exactly as it will be sent.
    import sys

    lines = [f"To: {doc['contact']} <{doc['to']}>" if doc["to"] else f"To: {doc['contact']}"]
    if doc["subject"]:
        lines.append(f"Subject: {doc['subject']}")
    print("\n".join(lines) + "\n\n" + doc["body"].rstrip("\n"), file=sys.stdout)


def _default_sender() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:
        user = "crm"
    return f"{user}@{socket.gethostname() or 'localhost'}"


@app.command("send")
@options(("json",))
def send(
    name: Name,
    yes: Yes = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write .eml files instead of sending.")] = False,
    out: Annotated[
        str | None, typer.Option("--out", help="Folder for --dry-run files (default: campaign-ID-eml).")
    ] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="At most this many messages per minute.")] = None,
    retry_unknown: Annotated[
        bool,
        typer.Option("--retry-unknown", help="Also send to members an interrupted run left unconfirmed."),
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Also retry members the server refused before.")
    ] = False,
) -> None:
    """Send an e-mail campaign through the configured SMTP server (resumable; nobody gets it twice)."""
    from crm_cli import mail

    conn = open_db()
    now = _now()
    if rate is not None and rate <= 0:
        raise InvalidInput(f"invalid --rate {rate:g}; give messages per minute, e.g. --rate 30")
    if out and not dry_run:
        raise InvalidInput("--out goes with --dry-run")
    campaign = campaigns.resolve(conn, name)
    plan = campaigns.plan_send(conn, campaign, now, retry_unknown=retry_unknown, retry_failed=retry_failed)
    _report_plan(plan)
    if dry_run:
        try:
            sender = mail.config(conn, default_sender=_default_sender()).sender
        except InvalidInput:
            sender = _default_sender()
        files = campaigns.write_eml(plan, out or f"campaign-{campaign['id']}-eml", sender, now)
        for path in files:
            print(path)
        output.info(f"dry run: wrote {len(files)} messages; nothing was sent or changed")
        return
    if not plan.outgoing:
        output.info(f"nothing to send: {_n(plan.already_sent, 'member')} already sent the message")
        _emit_result(campaign, plan, campaigns.SendResult())
        return
    cfg = mail.config(conn, default_sender=_default_sender())
    if cfg.sender == _default_sender():
        output.info(f"note: no smtp_from set; sending as {cfg.sender} (crm config set smtp_from you@example.com)")
    output.info(
        f"will send {_n(len(plan.outgoing), 'e-mail')} from {cfg.sender} via {cfg.host}:{cfg.port} ({cfg.security})"
        + (f", at most {rate:g} per minute" if rate else "")
    )
    confirm(f"Send {campaign['name']!r} to {_n(len(plan.outgoing), 'contact')}?", yes=yes)
    with mail.Connection(cfg) as smtp:
        plan = campaigns.prepare(conn, plan, now, retry_unknown=retry_unknown, retry_failed=retry_failed)
        result = campaigns.send(conn, plan, smtp, cfg.sender, now, rate=rate)
    _emit_result(campaign, plan, result)
    if result.interrupted:
        raise CrmError(
            f"stopped after {result.sent} sent: {result.interrupted['error']}; delivery to "
            f"{result.interrupted['contact']} is unknown; run the send again to continue "
            f"(--retry-unknown to include them)",
            code="smtp_error",
        )
    if result.failed:
        first = result.failed[0]
        raise CrmError(
            f"{len(result.failed)} of {len(plan.outgoing)} messages failed (first: {first['contact']}: "
            f"{first['error']}); see `crm campaign show {campaign['id']}`, fix and run with --retry-failed",
            code="send_failed",
        )


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _report_plan(plan) -> None:
    c = plan.campaign
    if not plan.launched:
        output.info(
            f"{c['name']}: launching now freezes the audience: {_n(len(plan.outgoing), 'contact')} "
            f"(excluded {plan.excluded_dnc} do-not-contact, {plan.excluded_no_email} without e-mail)"
        )
    else:
        output.info(
            f"{c['name']}: {len(plan.outgoing)} to send, {plan.already_sent} already sent"
            + (f", {plan.failed_before} failed earlier (--retry-failed)" if plan.failed_before else "")
        )
    if plan.unknown:
        names = ", ".join(u["contact"] for u in plan.unknown[:5]) + (" …" if len(plan.unknown) > 5 else "")
        output.info(
            f"warning: {len(plan.unknown)} members were being sent when an earlier run stopped ({names}); "
            f"they may have received it, so they are skipped (--retry-unknown sends to them again)"
        )
    if plan.skipped_dnc:
        output.info(f"skipping {len(plan.skipped_dnc)} members now do-not-contact or without e-mail")


def _emit_result(campaign, plan, result) -> None:
    doc = {
        "campaign_id": campaign["id"],
        "sent": result.sent,
        "failed": result.failed,
        "already_sent": plan.already_sent,
        "unknown": plan.unknown + ([result.interrupted] if result.interrupted else []),
        "skipped": plan.skipped_dnc,
    }
    if plan.outgoing:
        output.info(f"sent {result.sent}, failed {len(result.failed)}")
    if output.output_format() == "json":
        output.emit_doc(doc)


@app.command("export")
@options()
def export(name: Name) -> None:
    """The members with their rendered messages (for SMS, calls, events, ads or another mailer)."""
    conn = open_db()
    campaign = campaigns.resolve(conn, name)
    if not campaign["launched_at"]:
        with db.write(conn, f"campaign launch {campaign['name']}"):
            result = campaigns.launch(conn, campaign["id"], _now())
        output.info(
            f"{campaign['name']}: launched; {result['audience']} members "
            f"(excluded {result['excluded_dnc']} do-not-contact, {result['excluded_no_email']} without e-mail)"
        )
    output.emit_rows(campaigns.export_rows(conn, campaign["id"]), EXPORT_COLUMNS, empty="no members")


# ---------------------------------------------------------------------------------------------
# Responses


@app.command("respond")
@options(("json",))
def respond(
    name: Name,
    ref: Annotated[str, typer.Argument(help="Contact: id, e-mail, phone or part of the name.")],
    event: Annotated[str, typer.Argument(help="opened, clicked, replied, purchased or unsubscribed.")],
    amount: Annotated[
        str | None, typer.Option("--amount", help="With purchased: log the purchase too (exact amount).")
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help="Currency of --amount (default: the campaign's).")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="When (default now).")] = None,
) -> None:
    """Record a member's response; prints the timeline entry's id (nothing if already recorded)."""
    from crm_cli import contacts, settings
    from crm_cli.dates import parse_datetime
    from crm_cli.money import parse_amount, parse_currency

    conn = open_db()
    now = _now()
    what = event.strip().lower()
    if what not in campaigns.EVENTS:
        raise InvalidInput(f"invalid response {event!r}; choose one of: {', '.join(campaigns.EVENTS)}")
    value = parse_amount(amount, field="--amount") if amount is not None else None
    if value is not None and what != "purchased":
        raise InvalidInput("--amount goes with `purchased` only")
    code = parse_currency(currency) if currency else None
    when = parse_datetime(at, now, settings.date_order(conn)) if at else now
    campaign = campaigns.resolve(conn, name)
    contact_id = contacts.resolve(conn, ref)
    with db.write(conn, f"campaign respond {campaign['name']} {contact_id} {what}"):
        logged = campaigns.record_response(conn, campaign, contact_id, what, when, now, amount=value, currency=code)
    if logged is None:
        output.info(f"{what} was already recorded for contact {contact_id}; nothing changed")
    if output.output_format() == "json":
        output.emit_doc(
            {"campaign_id": campaign["id"], "contact_id": contact_id, "event": what, "interaction_id": logged}
        )
    elif logged is not None:
        output.emit_id(logged)


@app.command("import-responses")
@options(("json",))
def import_responses(
    name: Name,
    file: Annotated[str, typer.Argument(help="CSV with e-mail, event/status and time columns.")],
) -> None:
    """Record the responses in an e-mail service's event export (one change; a bad row changes nothing)."""
    conn = open_db()
    campaign = campaigns.resolve(conn, name)
    with db.write(conn, f"campaign import-responses {campaign['name']} {file}"):
        summary = campaigns.import_responses(conn, campaign, file, _now())
    recorded = ", ".join(f"{n} {e}" for e, n in summary.recorded.items()) or "nothing new"
    parts = [f"{summary.rows} rows: recorded {recorded}"]
    if summary.duplicates:
        parts.append(f"{summary.duplicates} already recorded")
    if summary.not_members or summary.unknown_emails:
        sample = ", ".join(summary.unmatched[:3]) + (" …" if len(summary.unmatched) > 3 else "")
        parts.append(f"{summary.not_members + summary.unknown_emails} not in the campaign ({sample})")
    if summary.ignored_events:
        parts.append(f"{summary.ignored_events} ignored events (processed/deferred …)")
    if summary.ignored_columns:
        parts.append(f"ignored columns: {', '.join(summary.ignored_columns)}")
    output.info("; ".join(parts))
    if output.output_format() == "json":
        output.emit_doc(summary.as_dict())


# ---------------------------------------------------------------------------------------------
# Segments


def _segment_count(conn, name: str) -> int:
    from crm_cli import filters

    where, params = filters.to_sql(f"segment:{name}", filters.Context(conn, _now()))
    return conn.execute(f"SELECT count(*) FROM contacts c WHERE {where}", params).fetchone()[0]


@segment_app.command("save")
@options(("json",))
def segment_save(
    name: Annotated[str, typer.Argument(help="Segment name: letters, digits, - _ . (no spaces).")],
    expression: Annotated[
        list[str], typer.Argument(metavar="EXPRESSION...", help='Filter, e.g. "status:customer last-purchase>180d".')
    ],
) -> None:
    """Save (or replace) a named filter; use it as segment:NAME anywhere a filter goes. Prints its id."""
    from crm_cli import segments

    conn = open_db()
    # One quoted argument is the whole expression (quotes inside it are the filter's own).
    expr = " ".join(expression).strip()
    if not expr:
        raise InvalidInput('a segment needs an expression, e.g. "tag:vip orders>=1"')
    existed = conn.execute("SELECT 1 FROM segments WHERE name = ?", (name.strip(),)).fetchone()
    with db.write(conn, f"segment save {name}"):
        segment_id = segments.save(conn, name, expr, _now())
    count = _segment_count(conn, name.strip())
    output.info(f"segment {name.strip()} {'replaced' if existed else 'saved'}: {count} contacts match now")
    if output.output_format() == "json":
        output.emit_doc({"id": segment_id, "name": name.strip(), "expr": expr, "contacts": count})
    else:
        output.emit_id(segment_id)


@segment_app.command("list")
@options()
def segment_list() -> None:
    """List saved segments with how many contacts each matches now."""
    from crm_cli import segments

    conn = open_db()
    rows = [dict(s, contacts=_segment_count(conn, s["name"])) for s in segments.all_segments(conn)]
    output.emit_rows(rows, SEGMENT_COLUMNS, empty="no segments yet; save one with `crm campaign segment save`")


@segment_app.command("show")
@options(("json",))
def segment_show(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many contacts.")] = 50,
) -> None:
    """Show a segment's expression and the contacts it matches now."""
    from crm_cli import contacts, segments

    conn = open_db()
    expr = segments.expression(conn, name)
    row = conn.execute("SELECT * FROM segments WHERE name = ?", (name,)).fetchone()
    matched = list(contacts.list_contacts(conn, f"segment:{name}", now=_now()))
    doc = dict(row) | {
        "contacts_count": len(matched),
        "contacts": [{k: c[k] for k in ("id", "name", "email", "phone", "status", "dnc")} for c in matched[:limit]],
    }
    doc["expr"] = expr

    def render(console) -> None:
        from rich.text import Text

        heading = Text(doc["name"], style="bold")
        heading.append(f"  {doc['expr']}  ({doc['contacts_count']} contacts)", style="dim")
        console.print(heading)
        if doc["contacts"]:
            cols = [Column("id", kind="int"), Column("name"), Column("email"), Column("status"), Column("dnc")]
            console.print(output.table(doc["contacts"], cols))

    output.emit_doc(doc, render)


@segment_app.command("delete")
@options(("json",))
def segment_delete(name: Annotated[str, typer.Argument(help="Segment name.")], yes: Yes = False) -> None:
    """Delete a saved segment (refused while another segment or a draft campaign uses it)."""
    from crm_cli import segments
    from crm_cli.errors import Conflict

    conn = open_db()
    segments.expression(conn, name)  # not found -> exit 3 before asking
    users = campaigns.campaigns_using_segment(conn, name)
    if users:
        raise Conflict(f"campaign {users[0]!r} (not launched yet) uses segment {name!r}; change its --segment first")
    confirm(f"Delete segment {name!r}?", yes=yes)
    with db.write(conn, f"segment delete {name}"):
        segments.delete(conn, name)
    output.info(f"deleted segment {name}")
    if output.output_format() == "json":
        output.emit_doc({"deleted": name})
