"""Keep every customer and lead: add, list, show, edit and delete contacts."""

from typing import Annotated

import typer

from crm_cli import contacts, db, output
from crm_cli import env as envmod
from crm_cli.commands._common import FilterCommand, confirm, open_db, options
from crm_cli.output import Column

app = typer.Typer(no_args_is_help=True)

LIST_COLUMNS = [
    Column("id", kind="int"),
    Column("name"),
    Column("email"),
    Column("phone"),
    Column("company"),
    Column("city"),
    Column("status"),
    Column("tags"),
    Column("last_contact_at", "last contact", kind="datetime"),
]

Email = Annotated[str | None, typer.Option("--email", "-e", help="E-mail address (unique).")]
Phone = Annotated[str | None, typer.Option("--phone", "-p", help="Phone; national numbers use default_region.")]
Text = str | None


def _text_option(name: str, help_: str):
    return Annotated[Text, typer.Option(f"--{name}", help=help_)]


Company = _text_option("company", "Company (linked to the organisation of that name).")
Title = _text_option("title", "Job title.")
City = _text_option("city", "City.")
Country = _text_option("country", "Country.")
Address = _text_option("address", "Postal address.")
Source = _text_option("source", "Where the contact came from (instagram, referral …).")
Status = _text_option("status", "lead, prospect, customer or inactive.")
Notes = _text_option("notes", "Free notes.")
Birthday = _text_option(
    "birthday", "Birthday: 1990-03-15, 15/03/1990 (in date_order), or --03-15 without a year; stored ISO."
)
Every = _text_option("every", "Stay-in-touch cadence, e.g. 14d, 2w, 1m (none to clear).")
Tags = Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).")]
Fields = Annotated[list[str] | None, typer.Option("--field", "-f", help="Custom field key=value (repeatable).")]


def _now():
    return envmod.current().now


@app.command("add")
@options(("json",))
def add(
    name: Annotated[str, typer.Argument(help="Full name (or the organisation's name with --org).")],
    email: Email = None,
    phone: Phone = None,
    company: Company = None,
    title: Title = None,
    city: City = None,
    country: Country = None,
    address: Address = None,
    source: Source = None,
    status: Status = None,
    tag: Tags = None,
    notes: Notes = None,
    field: Fields = None,
    birthday: Birthday = None,
    every: Every = None,
    dnc: Annotated[bool, typer.Option("--dnc", help="Do not contact (no campaigns).")] = False,
    org: Annotated[bool, typer.Option("--org", help="This is an organisation, not a person.")] = False,
) -> None:
    """Add a contact; prints its id."""
    conn = open_db()
    fields = contacts.parse_fields(field or [])
    with db.write(conn, f"contact add {name}"):
        contact_id = contacts.add(
            conn,
            name=name,
            now=_now(),
            email=email,
            phone=phone,
            status=status,
            source=source,
            tags=tag or [],
            fields=fields,
            dnc=dnc,
            every=every,
            kind="organization" if org else "person",
            company=company,
            title=title,
            city=city,
            country=country,
            address=address,
            notes=notes,
            birthday=birthday,
        )
    if output.output_format() == "json":
        output.emit_doc(contacts.get(conn, contact_id))
    else:
        output.emit_id(contact_id)


@app.command("list", cls=FilterCommand)
@options()
def list_(
    filter_: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[FILTER]...", help="Filter terms, e.g. tag:vip city:Riyadh last-contact>90d, or words."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most this many (1 or more; all without it).")
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="id, name, created, updated or last-contact.")] = "id",
) -> None:
    """List contacts matching a filter (see README: the filter language)."""
    conn = open_db()
    if output.output_format() == "tsv":  # piped: just the shown values, no record per row
        keys = [c.key for c in LIST_COLUMNS]
        output.emit_lines(contacts.list_lines(conn, filter_ or [], keys, now=_now(), limit=limit, sort=sort))
        return
    rows = contacts.list_contacts(conn, filter_ or [], now=_now(), limit=limit, sort=sort)
    output.emit_rows(rows, LIST_COLUMNS, empty="no contacts match")


@app.command("show")
@options(("json",))
def show(ref: Annotated[str, typer.Argument(help="Id, e-mail, phone or part of the name.")]) -> None:
    """Show a contact with its timeline and deals."""
    from crm_cli import interactions

    conn = open_db()
    contact = contacts.get(conn, contacts.resolve(conn, ref))
    contact["timeline"] = list(interactions.list_interactions(conn, contact_id=contact["id"]))
    contact["deals"] = [
        dict(r) | {"value": _money(r["value"])}
        for r in conn.execute(
            "SELECT id, title, value, currency, stage, expected_close FROM deals WHERE contact_id = ? ORDER BY id",
            (contact["id"],),
        )
    ]
    output.emit_doc(contact, lambda console: _render_contact(console, contact))


def _money(value):
    from crm_cli.money import to_decimal

    return to_decimal(value)


def _render_contact(console, contact: dict) -> None:
    from rich.text import Text

    heading = Text(contact["name"], style="bold")
    heading.append(f"  #{contact['id']}  {contact['status']}", style="dim")
    if contact["dnc"]:
        heading.append("  do-not-contact", style="red")
    console.print(heading)
    details = [
        ("e-mail", ", ".join(contact["emails"])),
        ("phone", ", ".join(contact["phones"])),
        ("company", contact["company"]),
        ("title", contact["title"]),
        ("address", ", ".join(x for x in (contact["address"], contact["city"], contact["country"]) if x)),
        ("source", contact["source"]),
        ("tags", ", ".join(contact["tags"])),
        ("keep in touch", f"every {contact['every_days']} days" if contact["every_days"] else ""),
        ("birthday", contact["birthday"]),
        *[(k, v) for k, v in contact["fields"].items()],
        ("notes", contact["notes"]),
    ]
    for label, value in details:
        if value:
            line = Text(f"  {label:<14}", style="cyan")
            line.append(str(value))
            console.print(line)
    if contact["deals"]:
        output_deals = [
            Column("id", kind="int"),
            Column("title"),
            Column("value", kind="money", currency_key="currency"),
            Column("stage"),
            Column("expected_close", "close"),
        ]
        console.print(output.table(contact["deals"], output_deals, title="Deals"))
    if contact["timeline"]:
        columns = [
            Column("happened_at", "when", kind="datetime"),
            Column("kind"),
            Column("summary"),
            Column("amount", kind="money", currency_key="currency"),
            Column("follow_up_at", "follow-up", kind="datetime"),
            Column("id", kind="int"),
        ]
        console.print(output.table(contact["timeline"], columns, title="Timeline"))
    else:
        console.print(Text("  no interactions yet", style="dim"))


@app.command("edit")
@options(("json",))
def edit(
    ref: Annotated[str, typer.Argument(help="Id, e-mail, phone or part of the name.")],
    name: Annotated[Text, typer.Option("--name", help="New name.")] = None,
    email: Email = None,
    phone: Phone = None,
    company: Company = None,
    title: Title = None,
    city: City = None,
    country: Country = None,
    address: Address = None,
    source: Source = None,
    status: Status = None,
    tag: Tags = None,
    untag: Annotated[list[str] | None, typer.Option("--untag", help="Remove a tag (repeatable).")] = None,
    notes: Notes = None,
    field: Fields = None,
    birthday: Birthday = None,
    every: Every = None,
    dnc: Annotated[bool | None, typer.Option("--dnc/--no-dnc", help="Set or clear do-not-contact.")] = None,
) -> None:
    """Change a contact's fields, tags or custom fields; prints its id. An empty value clears a field."""
    conn = open_db()
    given = {
        "name": name,
        "email": email,
        "phone": phone,
        "company": company,
        "title": title,
        "city": city,
        "country": country,
        "address": address,
        "source": source,
        "status": status,
        "notes": notes,
        "birthday": birthday,
        "every": every,
        "dnc": dnc,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    fields = contacts.parse_fields(field or [])
    contact_id = contacts.resolve(conn, ref)
    with db.write(conn, f"contact edit {contact_id}"):
        changed = contacts.update(
            conn, contact_id, now=_now(), changes=changes, add_tags=tag or [], remove_tags=untag or [], fields=fields
        )
    output.info(f"updated {', '.join(changed)}" if changed else "nothing changed")
    if output.output_format() == "json":
        output.emit_doc(contacts.get(conn, contact_id))
    else:
        output.emit_id(contact_id)


@app.command("delete")
@options(("json",))
def delete(
    ref: Annotated[str, typer.Argument(help="Id, e-mail, phone or part of the name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed when not on a terminal).")] = False,
) -> None:
    """Delete a contact with its log, deals and campaign memberships (asks first)."""
    conn = open_db()
    contact_id = contacts.resolve(conn, ref)
    contact = contacts.get(conn, contact_id)
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM interactions WHERE contact_id = :id),"
        " (SELECT count(*) FROM deals WHERE contact_id = :id)",
        {"id": contact_id},
    ).fetchone()
    confirm(
        f"Delete contact {contact_id} ({contact['name']}) with {counts[0]} interactions and {counts[1]} deals?",
        yes=yes,
    )
    with db.write(conn, f"contact delete {contact_id}"):
        contacts.delete(conn, contact_id)
    output.info(f"deleted contact {contact_id} ({contact['name']})")
    output.emit_id(contact_id)
