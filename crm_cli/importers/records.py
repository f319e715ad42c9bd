"""Import the log (interactions, purchases) and deals, row by row through the core modules.

Each row names its contact by e-mail, phone or exact name (our own export's contact_email/contact_phone
/contact columns, or Email/Phone/Name); ids from another database are ignored. Rows go through
interactions.add / deals.add (+ won/lost), the same code as `crm log …` and `crm deal add`, each inside a
SAVEPOINT so a refused row leaves nothing behind. The whole file is one db.write() transaction: any invalid
row and nothing is kept (unless skip_invalid). A row identical to an interaction already logged (same
contact, kind, time, amount and summary) or a deal with the same contact and title is skipped, so
importing a file twice adds nothing. Dates: ISO, or the configured day/month order, decided once per
column from the data when it is unambiguous.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime

from crm_cli import settings
from crm_cli.contacts import reference_kind
from crm_cli.errors import CrmError, InvalidInput
from crm_cli.importers import ImportRefused, Options, _check, _finish, open_records
from crm_cli.importers.contacts import Issue, Result, RowError, email_key, phone_key, unprotect
from crm_cli.importers.mapping import header_key
from crm_cli.text import clean, normalize

LOG_ALIASES = {
    "contact": "contact_name",
    "contactname": "contact_name",
    "name": "contact_name",
    "customer": "contact_name",
    "customername": "contact_name",
    "billingname": "contact_name",
    "الاسم": "contact_name",
    "email": "contact_email",
    "contactemail": "contact_email",
    "customeremail": "contact_email",
    "emailaddress": "contact_email",
    "البريدالالكتروني": "contact_email",
    "phone": "contact_phone",
    "contactphone": "contact_phone",
    "mobile": "contact_phone",
    "billingphone": "contact_phone",
    "الجوال": "contact_phone",
    "kind": "kind",
    "type": "kind",
    "activity": "kind",
    "activitytype": "kind",
    "summary": "summary",
    "subject": "summary",
    "description": "summary",
    "notes": "summary",
    "note": "summary",
    "details": "summary",
    "happenedat": "happened_at",
    "date": "happened_at",
    "when": "happened_at",
    "datetime": "happened_at",
    "time": "happened_at",
    "orderdate": "happened_at",
    "التاريخ": "happened_at",
    "paidat": "happened_at_alt",
    "createdat": "happened_at_alt",
    "processedat": "happened_at_alt",
    "amount": "amount",
    "total": "amount",
    "ordertotal": "amount",
    "price": "amount",
    "المبلغ": "amount",
    "currency": "currency",
    "direction": "direction",
    "outcome": "outcome",
    "durationmin": "duration",
    "duration": "duration",
    "minutes": "duration",
    "score": "score",
    "rating": "score",
    "scorescale": "score_scale",
    "status": "status",
    "resolvedat": "resolved_at",
    "followupat": "follow_up",
    "followup": "follow_up",
    "due": "follow_up",
    "followupdoneat": "follow_up_done",
    "id": "drop",
    "contactid": "drop",
    "dealid": "drop",
    "campaignid": "drop",
    "importline": "drop",
    "importerror": "drop",
}
DEAL_ALIASES = {
    "contact": "contact_name",
    "contactname": "contact_name",
    "name": "contact_name",
    "customer": "contact_name",
    "company": "contact_name",
    "email": "contact_email",
    "contactemail": "contact_email",
    "phone": "contact_phone",
    "contactphone": "contact_phone",
    "title": "title",
    "deal": "title",
    "dealname": "title",
    "subject": "title",
    "value": "value",
    "amount": "value",
    "currency": "currency",
    "stage": "stage",
    "dealstage": "stage",
    "pipelinestage": "stage",
    "probability": "probability",
    "expectedclose": "expected_close",
    "closedate": "expected_close",
    "expectedclosedate": "expected_close",
    "owner": "owner",
    "dealowner": "owner",
    "lostreason": "lost_reason",
    "closedlostreason": "lost_reason",
    "id": "drop",
    "contactid": "drop",
    "closedat": "drop",
    "stagechangedat": "drop",
    "createdat": "drop",
    "updatedat": "drop",
    "importline": "drop",
    "importerror": "drop",
}
_SLASH_DATE = re.compile(r"\s*(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})")


class _DryRun(Exception):
    pass


def _columns(headers: list[str], aliases: dict[str, str], options: Options) -> tuple[dict[str, str], list[str]]:
    """{target: header} and the headers nothing uses (reported, never silently dropped)."""
    explicit = {}
    for pair in options.maps:
        head, sep, target = pair.rpartition("=")
        match = next((h for h in headers if header_key(h) == header_key(head)), None)
        if not sep or match is None:
            raise InvalidInput(
                f"--map {pair!r}: the file has no column {head.strip()!r}; columns: {', '.join(headers)}"
            )
        if target.strip() not in set(aliases.values()) - {"drop"} and target.strip() not in ("drop", "ignore"):
            known = ", ".join(sorted(set(aliases.values()) - {"drop"}))
            raise InvalidInput(f"invalid --map {pair!r}: unknown field; use one of {known}")
        explicit[match] = "drop" if target.strip() == "ignore" else target.strip()
    ignore = {header_key(i) for i in options.ignore}
    for name in options.ignore:
        if not any(header_key(h) == header_key(name) for h in headers):
            raise InvalidInput(f"--ignore {name!r}: the file has no column of that name")
    chosen: dict[str, str] = {}
    unused = []
    for h in headers:
        target = explicit.get(h) or aliases.get(header_key(h))
        if header_key(h) in ignore:
            continue
        if target is None:
            unused.append(h)
        elif target != "drop":
            chosen.setdefault(target, h)
    return chosen, unused


def _date_order(values: list[str], configured: str) -> str | None:
    """dmy or mdy for one column, from the data when it says so; None when it contradicts itself."""
    day_first = month_first = False
    for v in values:
        m = _SLASH_DATE.match(v or "")
        if not m:
            continue
        a, b = int(m[1]), int(m[2])
        if a > 12 >= b:
            day_first = True
        elif b > 12 >= a:
            month_first = True
    if day_first and month_first:
        return None
    if day_first:
        return "dmy"
    if month_first:
        return "mdy"
    return configured


class _RowImporter:
    aliases: dict[str, str] = {}
    date_fields: tuple[str, ...] = ()
    noun = "rows"

    def __init__(self, conn: sqlite3.Connection, now: datetime, options: Options):
        self.conn, self.now, self.options = conn, now, options
        self.region = (options.region or settings.default_region(conn) or "").upper() or None
        self.configured_order = settings.date_order(conn)
        self.result = Result()
        self.orders: dict[str, str | None] = {}

    def run(self, name: str, command: str) -> Result:
        from crm_cli import db

        src, records, mapping = open_records(name, self.options, fields=("__none__",))
        if src.format == "vcard":
            raise InvalidInput(f"vCard files hold contacts; import {self.noun} from CSV, JSON or NDJSON")
        records = list(records)
        self.columns, unused = _columns(src.headers, self.aliases, self.options)
        self.result.ignored = unused
        for target in self.date_fields:
            header = self.columns.get(target)
            if header:
                self.orders[target] = _date_order(
                    [str(r.values.get(header) or "") for r in records], self.configured_order
                )
        self.result.dry_run = self.options.dry_run
        try:
            with db.write(self.conn, command):
                for record in records:
                    self.result.total += 1
                    self.conn.execute("SAVEPOINT import_row")
                    try:
                        if record.refused:
                            raise RowError(*record.refused)
                        outcome = self.row(record)
                    except (RowError, CrmError) as exc:
                        self.conn.execute("ROLLBACK TO import_row")
                        column, reason = (exc.column, exc.reason) if isinstance(exc, RowError) else ("", exc.message)
                        self.result.issues.append(Issue(record.line, column, reason, record.label))
                        self.result.rejected += 1
                        self.result.rejected_records.append(record)
                        continue
                    finally:
                        self.conn.execute("RELEASE import_row")
                    if outcome == "added":
                        self.result.added += 1
                    else:
                        self.result.skipped += 1
                _check(self.result, self.options)
                if self.options.dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        return _finish(self.result, src, self.options)

    # helpers ---------------------------------------------------------------------------------

    def value(self, record, target: str) -> str | None:
        header = self.columns.get(target)
        if header is None:
            return None
        raw = record.values.get(header)
        if raw is None:
            return None
        text = unprotect(str(raw)).strip()
        return text or None

    def parsed(self, record, target: str, parse):
        """The column's value through parse(), None when empty; a refusal names the column."""
        raw = self.value(record, target)
        if raw is None:
            return None
        try:
            return parse(raw)
        except InvalidInput as exc:
            raise RowError(self.columns[target], exc.message) from None

    def when(self, record, target: str, *, header_target: str | None = None) -> datetime | None:
        from crm_cli.dates import parse_datetime

        raw = self.value(record, target)
        if raw is None:
            return None
        order = self.orders.get(target, self.configured_order)
        column = self.columns[target]
        if order is None:
            raise RowError(column, "the column mixes dd/mm and mm/dd dates; use ISO dates (2026-11-02)")
        try:
            return parse_datetime(raw, self.now, order)
        except InvalidInput as exc:
            raise RowError(column, exc.message) from None

    def contact(self, record) -> int:
        email = self.value(record, "contact_email")
        phone = self.value(record, "contact_phone")
        name = self.value(record, "contact_name")
        email_column = self.columns.get("contact_email")
        phone_column = self.columns.get("contact_phone")
        if name and not (email or phone):  # one 'contact' column may hold an e-mail or a phone
            kind = reference_kind(name)  # read as `crm log call REF` reads it (an id stays a name here)
            if kind == "email":
                email, email_column, name = name, self.columns["contact_name"], None
            elif kind == "phone":
                phone, phone_column, name = name, self.columns["contact_name"], None
        if email:
            key = email_key(email, email_column)
            row = self.conn.execute(
                "SELECT contact_id FROM contact_handles WHERE type = 'email' AND key = ?", (key,)
            ).fetchone()
            if row:
                return row[0]
        if phone:
            key = phone_key(phone, self.region, phone_column)
            row = self.conn.execute(
                "SELECT contact_id FROM contact_handles WHERE type = 'phone' AND key = ?", (key,)
            ).fetchone()
            if row:
                return row[0]
        if name:
            rows = self.conn.execute(
                "SELECT id FROM contacts WHERE name_key = ? ORDER BY id LIMIT 3", (normalize(name),)
            ).fetchall()
            if len(rows) == 1 and not (email or phone):
                return rows[0][0]
            if len(rows) > 1 and not (email or phone):
                raise RowError(
                    self.columns["contact_name"], f"several contacts are named {name!r}; give an e-mail or phone"
                )
        what = email or phone or name
        if not what:
            raise RowError("", "no contact: give an e-mail, phone or name column")
        if not self.options.create_contacts:
            raise RowError("", f"no contact {what!r}; import the contacts first or use --create-contacts")
        from crm_cli import contacts

        return contacts.add(
            self.conn,
            name=name or email or phone,
            now=self.now,
            email=email,
            phone=phone if phone else None,
        )


class LogImporter(_RowImporter):
    aliases = LOG_ALIASES
    date_fields = ("happened_at", "happened_at_alt", "follow_up", "resolved_at", "follow_up_done")
    noun = "interactions"

    def row(self, record) -> str:
        from crm_cli import interactions
        from crm_cli.db import utc_iso
        from crm_cli.money import parse_amount, parse_currency

        contact_id = self.contact(record)
        amount_raw = self.value(record, "amount")
        kind = (self.value(record, "kind") or ("purchase" if amount_raw else "")).lower()
        if not kind:
            raise RowError("", "no kind (call, email, meeting, message, note, purchase, support) and no amount")
        when = self.when(record, "happened_at") or self.when(record, "happened_at_alt")
        amount = self.parsed(record, "amount", lambda text: parse_amount(text, field="amount"))
        currency = self.parsed(record, "currency", parse_currency)
        summary = clean(self.value(record, "summary")) or ""
        duration = self._int(record, "duration")
        score = self._int(record, "score")
        stamp = utc_iso(when or self.now)
        duplicate = self.conn.execute(
            "SELECT 1 FROM interactions WHERE contact_id = ? AND kind = ? AND happened_at = ? AND summary = ? "
            "AND amount IS ?",
            (contact_id, kind, stamp, summary, amount),
        ).fetchone()
        if duplicate:
            return "skipped"
        new_id = interactions.add(
            self.conn,
            contact_id=contact_id,
            kind=kind,
            summary=summary,
            now=self.now,
            at=when or self.now,
            direction=(self.value(record, "direction") or None),
            outcome=self.value(record, "outcome"),
            duration_min=duration,
            amount=amount,
            currency=currency,
            score=score,
            score_scale=(self.value(record, "score_scale") or None),
            follow_up=self.when(record, "follow_up"),
        )
        updates = {}
        if kind == "support" and (self.value(record, "status") or "").lower() == "resolved":
            updates["status"] = "resolved"
            resolved = self.when(record, "resolved_at")
            updates["resolved_at"] = utc_iso(resolved) if resolved else stamp
        done = self.when(record, "follow_up_done")
        if done:
            updates["follow_up_done_at"] = utc_iso(done)
        for key, value in updates.items():
            self.conn.execute(f"UPDATE interactions SET {key} = ? WHERE id = ?", (value, new_id))
        return "added"

    def _int(self, record, target: str) -> int | None:
        raw = self.value(record, target)
        if raw is None:
            return None
        from crm_cli.text import ascii_digits

        text = ascii_digits(raw).strip()
        if not re.fullmatch(r"-?\d+", text):
            raise RowError(self.columns[target], f"invalid {target} {raw!r}; use a whole number")
        return int(text)


class DealImporter(_RowImporter):
    aliases = DEAL_ALIASES
    date_fields = ("expected_close",)
    noun = "deals"

    def row(self, record) -> str:
        from crm_cli import deals
        from crm_cli.money import parse_amount, parse_currency

        contact_id = self.contact(record)
        title = clean(self.value(record, "title"))
        if not title:
            raise RowError("", "no deal title")
        if self.conn.execute("SELECT 1 FROM deals WHERE contact_id = ? AND title = ?", (contact_id, title)).fetchone():
            return "skipped"
        value = self.parsed(record, "value", lambda text: parse_amount(text, field="value")) or 0
        currency = self.parsed(record, "currency", parse_currency)
        probability = None
        if self.value(record, "probability"):
            text = self.value(record, "probability").rstrip("%").strip()
            if not text.isdigit():
                raise RowError(self.columns["probability"], f"invalid probability {text!r}; use 0-100")
            probability = int(text)
        stage_name = self.value(record, "stage")
        stage = deals.get_stage(self.conn, stage_name) if stage_name else deals.first_open_stage(self.conn)
        close = self.when(record, "expected_close")
        from crm_cli.dates import local_now

        deal_id = deals.add(
            self.conn,
            contact_id=contact_id,
            title=title,
            now=self.now,
            value=value,
            currency=currency,
            stage=stage.name if stage.kind == "open" else None,
            expected_close=local_now(close).date() if close else None,
            probability=probability,
            owner=self.value(record, "owner"),
        )
        if stage.kind == "won":
            deals.won(self.conn, deal_id, self.now)
        elif stage.kind == "lost":
            deals.lost(self.conn, deal_id, self.value(record, "lost_reason") or "imported as lost", self.now)
        return "added"


def import_log(conn: sqlite3.Connection, name: str, options: Options, *, now: datetime) -> Result:
    from pathlib import Path

    label = "stdin" if name == "-" else Path(name).name
    return LogImporter(conn, now, options).run(name, f"log import {label}")


def import_deals(conn: sqlite3.Connection, name: str, options: Options, *, now: datetime) -> Result:
    from pathlib import Path

    label = "stdin" if name == "-" else Path(name).name
    return DealImporter(conn, now, options).run(name, f"deal import {label}")


__all__ = ["import_log", "import_deals", "ImportRefused"]
