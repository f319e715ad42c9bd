"""Import contacts: validate every row like `crm contact add` would, match duplicates, write in bulk.

Two phases inside ONE db.write() transaction (one change, undoable as a whole):
1. plan: every record is mapped, validated (the same validators as contacts.add: normalize_email,
   normalize_phone with the default region, contacts._tag, parse_every, dates.parse_datetime) and matched
   against the database and the rows before it by normalised e-mail or phone (rows without either: by
   exact normalised name). Any invalid row -> nothing is written (unless skip_invalid).
2. write: new contacts (and the organisations their companies need) go in with explicit ids through
   multi-row INSERTs; the audit is one change_ranges row per table (the id range inserted) instead of one
   change_rows image per row (history.py and undo read the range); the FTS index is filled once with one
   INSERT … SELECT instead of a trigger firing per row. Updates
   (--on-duplicate update) go through contacts.update.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import chain

from crm_cli import contacts as core
from crm_cli import settings
from crm_cli.db import utc_iso
from crm_cli.errors import InvalidInput
from crm_cli.importers import fast
from crm_cli.importers.mapping import PLACEHOLDERS, Mapping
from crm_cli.importers.source import Record
from crm_cli.output import FORMULA_START
from crm_cli.text import ascii_digits, clean, normalize, strip_invisible

DUPLICATE_MODES = ("skip", "update", "error")
_STATUS_ALIASES = {
    "lead": "lead",
    "new": "lead",
    "subscriber": "lead",
    "other": "lead",
    "prospect": "prospect",
    "opportunity": "prospect",
    "marketingqualifiedlead": "prospect",
    "salesqualifiedlead": "prospect",
    "mql": "prospect",
    "sql": "prospect",
    "qualified": "prospect",
    "customer": "customer",
    "client": "customer",
    "evangelist": "customer",
    "inactive": "inactive",
    "former": "inactive",
    "churned": "inactive",
    "عميل": "customer",
    "محتمل": "prospect",
}
_YES = {"yes", "y", "true", "1", "x", "on", "نعم"}
_NO = {"no", "n", "false", "0", "", "off", "لا"}
_EXCEL_NUMBER = re.compile(r"\d(?:\.\d+)?e\+\d+", re.I)
_MULTI = re.compile(r"\s*:::\s*")
_LIST_SPLIT = re.compile(r"\s*[;,]\s*|\s*:::\s*")
_CONTACT_COLUMNS = [
    "id",
    "kind",
    "name",
    "org_id",
    "company",
    "title",
    "email",
    "phone",
    "address",
    "city",
    "country",
    "source",
    "status",
    "dnc",
    "notes",
    "custom",
    "every_days",
    "birthday",
    "name_key",
    "search_text",
    "created_at",
    "updated_at",
]
# What candidate() does with a mapped column (ContactImporter._columns_of).
_K_NAME, _K_EMAIL, _K_PHONE, _K_OTHER_EMAILS, _K_OTHER_PHONES = "name", "email", "phone", "oemails", "ophones"
_K_GROUP, _K_ADDRESS, _K_TAGS, _K_FIELDS, _K_CUSTOM, _K_TEXT, _K_SCALAR = (
    "group",
    "address",
    "tags",
    "fields",
    "custom",
    "text",
    "scalar",
)
_HANDLE_COLUMNS = ["contact_id", "type", "value", "key", "label", "is_primary"]
_STREAM_CHUNK = 2000  # records per chunk the validating child sends
_CHUNK = 500  # rows per multi-row INSERT (x ~21 columns stays under SQLite's 32766 variables)
# Longest value a row may hold, in characters: beyond that it is a broken file (a swallowed row, a pasted
# document), not a contact, and the row is refused (--skip-invalid sends it to the reject file).
MAX_VALUE = core.MAX_VALUE  # a name, e-mail, phone, company, title, address, city, country, tag, status …
MAX_TEXT = core.MAX_TEXT  # notes and custom fields (64 Ki); `contact add`/`edit` apply the same limits
_CARD_PROPERTIES = {
    "name": "FN",
    "company": "ORG",
    "department": "ORG",
    "title": "TITLE",
    "address": "ADR",
    "city": "ADR",
    "country": "ADR",
    "birthday": "BDAY",
    "source": "X-CRM-SOURCE",
    "status": "X-CRM-STATUS",
    "every": "X-CRM-EVERY",
}


@dataclass
class Issue:
    line: int
    column: str
    reason: str
    label: str = ""

    def text(self) -> str:
        where = f"line {self.line}" + (f" ({self.label})" if self.label else "")
        return f"{where}, {self.column}: {self.reason}" if self.column else f"{where}: {self.reason}"

    def as_dict(self) -> dict:
        return {"line": self.line, "label": self.label or None, "column": self.column or None, "reason": self.reason}


@dataclass
class Candidate:
    line: int
    name: str
    kind: str = "person"
    values: dict = field(default_factory=dict)  # company, title, address, city, country, notes, birthday
    source: str | None = None
    status: str | None = None
    dnc: bool | None = None
    every_days: int | None = None
    created_at: str | None = None
    custom: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    emails: list[tuple[str, str | None, str]] = field(default_factory=list)  # (key, label, column)
    phones: list[tuple[str, str, str | None, str]] = field(default_factory=list)  # (key, value, label, column)
    named_from: str | None = None
    record: Record | None = None
    id: int | None = None  # assigned at write time

    @property
    def keys(self) -> list[tuple[str, str, str]]:
        emails, phones = self.emails, self.phones
        if not phones:
            return [("email", k, col) for k, _, col in emails]
        if not emails:
            return [("phone", k, col) for k, _, _, col in phones]
        return [("email", k, col) for k, _, col in emails] + [("phone", k, col) for k, _, _, col in phones]


@dataclass
class Result:
    added: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    named: int = 0
    total: int = 0
    issues: list[Issue] = field(default_factory=list)
    rejected_records: list[Record] = field(default_factory=list)
    custom_columns: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    dry_run: bool = False

    def counts(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "named": self.named,
            "rows": self.total,
        }


def norm(text: str | None) -> str:
    """text.normalize(), with a shortcut for plain ASCII (the same result: NFKC, casefold and accent
    stripping change nothing there; tests/test_import_fast.py checks it with hypothesis)."""
    if not text:
        return ""
    if text.isascii():
        return " ".join(text.lower().split())
    return normalize(text)


_norm_cached = lru_cache(maxsize=65536)(norm)


def search_text(name_key: str, email: str | None, company: str | None, notes: str | None) -> str:
    """contacts.search_text() from already-normalised parts (normalising part by part gives the same
    text as normalising the joined string: parts are joined by a space, which nothing composes across;
    likewise the words without their article come part by part, in order)."""
    parts = [name_key] if name_key else []
    extra = _al_words(name_key) if name_key else ()
    if email:
        if email.isascii():
            key = " ".join(email.lower().split())  # norm(); an ASCII part has no Arabic article
            if key:
                parts.append(key)
        else:
            key = _norm_cached(email)
            if key:
                parts.append(key)
                extra += _al_words(key)
    if company:
        key = _norm_cached(company)
        if key:
            parts.append(key)
            extra += _al_words(key)
    if notes:
        key = _norm_cached(notes) if len(notes) < 200 else norm(notes)
        if key:
            parts.append(key)
            extra += _al_words(key) if len(key) < 200 else _article_words(key)
    text = " ".join(parts)
    return " ".join([text, *extra]) if extra else text


def _article_words(text: str) -> tuple[str, ...]:
    """The words of normalised text that start with the Arabic article, without it (searchable both ways)."""
    if "ال" not in text:
        return ()
    return tuple(w[2:] for w in text.split() if w.startswith("ال") and len(w) > 3)


_al_words = lru_cache(maxsize=65536)(_article_words)


class RowError(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


# ---------------------------------------------------------------------------------------------
# Values


def unprotect(value: str) -> str:
    """Undo our own spreadsheet-safe prefix ('=…, '+966…) so export -> import round-trips."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        return value[1:]
    return value


def email_key(raw: str, column: str) -> str:
    text = (raw if raw.isascii() else strip_invisible(raw)).strip().replace(" ", "")
    key = fast.email(text)
    if key is not None:
        return key
    from crm_cli.contact_info import normalize_email

    try:
        return normalize_email(text)
    except InvalidInput as exc:
        raise RowError(column, exc.message) from None


def phone_key(raw: str, region: str | None, column: str) -> str:
    text = (raw if raw.isascii() else ascii_digits(strip_invisible(raw))).strip().lstrip("'")
    key = fast.phone(text, region)
    if key is not None:
        return key
    if _EXCEL_NUMBER.fullmatch(text):
        raise RowError(
            column, f"phone {raw!r} was turned into a number by Excel; format the column as text and export again"
        )
    from crm_cli.contact_info import normalize_phone

    try:
        return normalize_phone(text, region).e164
    except InvalidInput as exc:
        raise RowError(column, exc.message) from None


def parse_bool(raw, column: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = normalize(str(raw))
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise RowError(column, f"invalid yes/no value {raw!r}; use yes or no")


def parse_status(raw: str, column: str) -> str:
    key = re.sub(r"[^a-z\u0600-\u06ff]", "", normalize(raw))
    if key in _STATUS_ALIASES:
        return _STATUS_ALIASES[key]
    raise RowError(column, f"invalid status {raw!r}; use lead, prospect, customer or inactive")


def birthday(raw: str, now: datetime, order: str) -> str | None:
    """contacts.parse_birthday() (ISO, or --MM-DD without a year; InvalidInput for anything else), with
    the empty dates some address books write (0/0/00) read as no birthday."""
    text = raw.strip()
    if not text or text in ("0/0/00", "1/0/00", "0000-00-00"):
        return None
    return core.parse_birthday(text, now, order)


def _check_size(raw, column: str, limit: int) -> None:
    """RowError when a value (or any item of a list of values) is longer than `limit` characters."""
    if raw is None:
        return
    items = raw if isinstance(raw, list | tuple) else [raw]
    for item in items:
        if isinstance(item, str):
            size = len(item)
            if size == limit + 1 and item[0] == "'" and item[1] in FORMULA_START:
                size -= 1  # our own export's spreadsheet-safe prefix: unprotect() removes it
        else:
            size = len(json.dumps(item, ensure_ascii=False, default=str))
        if size > limit:
            raise RowError(column, f"{core.too_long(size, limit)} here (a broken export?)")


def _split_many(value, pattern=_MULTI) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v not in (None, "")]
    text = str(value)
    if pattern is _MULTI and ":::" not in text:
        return [text] if text.strip() else []
    return [v for v in pattern.split(text) if v.strip()]


# ---------------------------------------------------------------------------------------------
# The importer


class ContactImporter:
    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        now: datetime,
        on_duplicate: str = "skip",
        region: str | None = None,
    ):
        if on_duplicate not in DUPLICATE_MODES:
            raise InvalidInput(f"invalid --on-duplicate {on_duplicate!r}; choose skip, update or error")
        self.conn = conn
        self.now = now
        self.stamp = utc_iso(now)
        self.on_duplicate = on_duplicate
        self.region = (region or settings.default_region(conn) or "").upper() or None
        if region:
            from crm_cli.contact_info import check_region

            self.region = check_region(region)
        self.order = settings.date_order(conn)
        self.result = Result()
        self.adds: list[Candidate] = []
        self.updates: list[tuple[int, Candidate]] = []
        self._handles: dict[tuple[str, str], int] | None = None
        self._names: dict[tuple[str, str], int] | None = None
        # handles and names seen in this file -> the pending new contact or the existing contact id
        self._pending: dict[tuple[str, str], Candidate | int] = {}
        self._pending_names: dict[tuple[str, str], Candidate | int] = {}
        self._update_of: dict[int, Candidate] = {}
        self._tag_cache: dict[str, str | None] = {}
        self._clean_cache: dict[str, str | None] = {}  # cities, companies, titles repeat
        self._country_regions: dict[str, str | None] = {}  # a row's country -> its phone region
        self._custom_used: set[str] = set()
        self._columns_for: Mapping | None = None
        self._simple_for: Mapping | None = None
        self._simple: list[tuple] | None = None
        self._simple_width = 0
        self._columns: list[tuple[str, str, str, int, str]] = []

    # -- existing data ------------------------------------------------------------------------

    def _existing_handles(self) -> dict[tuple[str, str], int]:
        if self._handles is None:
            self._handles = {
                (t, k): cid for t, k, cid in self.conn.execute("SELECT type, key, contact_id FROM contact_handles")
            }
        return self._handles

    def _existing_names(self) -> dict[tuple[str, str], int]:
        if self._names is None:
            self._names = {}
            for kind, key, cid in self.conn.execute("SELECT kind, name_key, id FROM contacts ORDER BY id DESC"):
                self._names[(kind, key)] = cid  # lowest id wins (ensure_org's rule)
        return self._names

    # -- phase 1 ------------------------------------------------------------------------------

    def plan(self, records: Iterable[Record], mapping: Mapping | None) -> Result:
        result = self.result
        if mapping is not None:
            result.ignored = list(mapping.ignored)
        for record in records:
            self._plan_one(record, mapping)
        if mapping is not None:
            result.custom_columns = [h for h in mapping.custom if h in self._custom_used]
        return result

    def _plan_one(self, record: Record, mapping: Mapping | None) -> None:
        result = self.result
        result.total += 1
        issues: list[Issue] = []
        try:
            if record.refused:
                raise RowError(*record.refused)
            candidate = self.candidate(record, mapping)
        except RowError as exc:
            issues.append(Issue(record.line, exc.column, exc.reason, record.label))
            candidate = None
        if candidate is not None:
            try:
                self._decide(candidate)
            except RowError as exc:
                issues.append(Issue(record.line, exc.column, exc.reason, record.label))
        if issues:
            result.issues.extend(issues)
            result.rejected += 1
            result.rejected_records.append(record)

    def candidate(self, record: Record, mapping: Mapping | None) -> Candidate:
        """One record -> a validated Candidate, or RowError naming the first bad column."""
        if mapping is None:
            return self._from_card(record)
        if self._simple_for is not mapping:
            self._simple_for, self._simple = mapping, self._simple_plan(mapping)
            self._simple_width = len(mapping.columns)
        if self._simple is not None:
            c = self._candidate_simple(record, self._simple)
            if c is not None:
                return c
        values = record.values
        if values.get("__extra__"):
            raise RowError(
                "",
                f"{len(mapping.columns) + len(values['__extra__'])} cells but {len(mapping.columns)} columns "
                "in the header; check the quoting",
            )
        cells = record.raw
        if not isinstance(cells, list) or (cells and max(map(len, cells)) > MAX_VALUE):
            for column in mapping.columns:  # a long cell somewhere (or JSON): which column, and is it allowed?
                target = column.target
                if target != "drop":
                    long_text = target in ("notes", "fields") or target.startswith("custom:")
                    _check_size(values.get(column.header), column.header, MAX_TEXT if long_text else MAX_VALUE)
        names: dict[str, str] = {}
        texts: dict[str, str] = {}
        emails: list[tuple[int, str, str]] = []  # (rank, raw, column)
        phones: list[tuple[int, str, str]] = []
        other_emails: list[tuple[str, str]] = []
        other_phones: list[tuple[str, str]] = []
        groups: dict[str, dict[str, list[str]]] = {}
        tags: list[tuple[str, str]] = []
        custom: dict[str, str] = {}
        scalars: dict[str, tuple[object, str]] = {}
        outlook = mapping.profile == "outlook"
        get = values.get
        for header, target, kind, rank, group in self._columns_of(mapping):
            raw = get(header)
            if raw is None or raw == "":
                continue
            if raw.__class__ is str:
                if raw[0] == "'":
                    raw = unprotect(raw)
                if raw.isspace():  # == not raw.strip() for a non-empty string
                    continue
            if kind is _K_NAME:
                names.setdefault(target, str(raw))
            elif kind is _K_TEXT:
                texts.setdefault(target, str(raw))
            elif kind is _K_EMAIL:
                if raw.__class__ is str and ":::" not in raw:
                    emails.append((rank, raw, header))  # one address (what _split_many gives)
                    continue
                for i, part in enumerate(_split_many(raw)):
                    if i == 0:
                        emails.append((rank, part, header))
                    else:
                        other_emails.append((part, header))
            elif kind is _K_PHONE:
                if outlook and str(raw).strip() in PLACEHOLDERS:
                    continue
                if raw.__class__ is str and ":::" not in raw:
                    phones.append((rank, raw, header))
                    continue
                for i, part in enumerate(_split_many(raw)):
                    if i == 0:
                        phones.append((rank, part, header))
                    else:
                        other_phones.append((part, header))
            elif kind is _K_TAGS:
                tags += [(t, header) for t in _split_many(raw, _LIST_SPLIT)]
            elif kind is _K_SCALAR:
                scalars.setdefault(target, (raw, header))
            elif kind is _K_OTHER_EMAILS:
                other_emails += [(p, header) for p in _split_many(raw, _LIST_SPLIT)]
            elif kind is _K_OTHER_PHONES:
                other_phones += [(p, header) for p in _split_many(raw, _LIST_SPLIT)]
            elif kind is _K_GROUP:
                groups.setdefault(group, {}).setdefault(target, []).append(str(raw).strip())
            elif kind is _K_ADDRESS:
                groups.setdefault("", {}).setdefault(target, []).append(str(raw).strip())
            elif kind is _K_FIELDS:
                custom.update(self._fields_value(raw, header))
            else:  # _K_CUSTOM
                text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
                if outlook and text.strip().lower() in PLACEHOLDERS:
                    continue
                custom.setdefault(target[7:], text)
                self._custom_used.add(header)
        name = names.get("name")
        if not name:
            parts = [names.get(k) for k in ("first_name", "middle_name", "last_name", "suffix")]
            name = " ".join(p.strip() for p in parts if p and p.strip())
        if names.get("prefix") and names["prefix"].strip():
            custom.setdefault("name prefix", names["prefix"].strip())  # Mr., Dr.: kept, not in the name
        # Addresses: the first group with content fills the contact's address; others become fields.
        for group_name, parts in groups.items():
            street = ", ".join(parts.get("address", []))
            tail = " ".join(
                x for x in (", ".join(parts.get("region", [])), ", ".join(parts.get("postal_code", []))) if x
            )
            address = ", ".join(x for x in (street, tail) if x) or ", ".join(parts.get("address_formatted", []))
            city = ", ".join(parts.get("city", []))
            country = ", ".join(parts.get("country", []))
            if not (address or city or country):
                continue
            if "address" not in texts and "city_from_group" not in texts:
                if address:
                    texts["address"] = address
                if city:
                    texts.setdefault("city", city)
                if country:
                    texts.setdefault("country", country)
                texts["city_from_group"] = group_name
            else:
                label = (group_name or "other").rstrip("0123456789") or "other"
                custom.setdefault(f"{label} address", ", ".join(x for x in (address, city, country) if x))
        texts.pop("city_from_group", None)
        if texts.get("department"):
            custom.setdefault("department", texts.pop("department"))
        texts.pop("department", None)
        emails.sort(key=lambda e: e[0])
        phones.sort(key=lambda p: p[0])
        email_list = [(raw, None, col) for _, raw, col in emails] + [(raw, None, col) for raw, col in other_emails]
        phone_list = [(raw, None, col) for _, raw, col in phones] + [(raw, None, col) for raw, col in other_phones]
        column = "birthday"
        if "birthday" in texts:  # the first filled birthday column is the one read
            column = next((h for h, t, *_ in self._columns if t == "birthday" and get(h) not in (None, "")), column)
        return self._build(record, name, texts, email_list, phone_list, tags, custom, scalars, column)

    def _columns_of(self, mapping: Mapping) -> list[tuple[str, str, str, int, str]]:
        """The mapping's columns as (header, target, kind, rank, group), dropped ones left out, computed
        once per mapping: candidate() dispatches on kind instead of testing target against every case."""
        if self._columns_for is mapping:
            return self._columns
        columns = []
        for column in mapping.columns:
            target = column.target
            if target == "drop":
                continue
            if target in ("name", "first_name", "middle_name", "last_name", "prefix", "suffix"):
                kind = _K_NAME
            elif target == "email":
                kind = _K_EMAIL
            elif target == "phone":
                kind = _K_PHONE
            elif target == "other_emails":
                kind = _K_OTHER_EMAILS
            elif target == "other_phones":
                kind = _K_OTHER_PHONES
            elif (
                target in ("address", "city", "region", "postal_code", "country", "address_formatted") and column.group
            ):
                kind = _K_GROUP
            elif target in ("address", "region", "postal_code"):
                kind = _K_ADDRESS
            elif target == "tags":
                kind = _K_TAGS
            elif target == "fields":
                kind = _K_FIELDS
            elif target.startswith("custom:"):
                kind = _K_CUSTOM
            elif target in ("company", "title", "city", "country", "notes", "department", "birthday"):
                kind = _K_TEXT
            else:
                kind = _K_SCALAR
            columns.append((column.header, target, kind, column.rank, column.group))
        self._columns_for, self._columns = mapping, columns
        return columns

    def _simple_plan(self, mapping: Mapping) -> list[tuple] | None:
        """For a mapping whose every column fills a field of its own with one value (a name column, at
        most one e-mail and one phone column, text and scalar fields, tags, custom fields; no address
        groups, split names, Outlook placeholders): (index, header, kind, target, extra) per column, in
        column order, for _candidate_simple(). None for any other mapping (candidate() handles it)."""
        if mapping.profile == "outlook" or any(column.header == "__extra__" for column in mapping.columns):
            return None
        plan = []
        seen: set[tuple[str, str]] = set()
        for index, (column, mapped) in enumerate(zip(mapping.columns, self._all_columns(mapping), strict=True)):
            if mapped is None:
                continue
            header, target, kind, _, _ = mapped
            if column.header != header:
                return None
            if kind is _K_NAME and target != "name":
                return None
            if kind not in (_K_NAME, _K_EMAIL, _K_PHONE, _K_TEXT, _K_SCALAR, _K_TAGS, _K_CUSTOM):
                return None
            if kind is _K_TEXT and target == "department":
                return None
            if kind is _K_CUSTOM:
                key = target[7:]
                slot = (kind, key)
                extra = key if re.fullmatch(core._FIELD_KEY, key) else _custom_key(key)
            else:
                slot = (kind, target)
                extra = None
            if slot in seen:
                return None
            seen.add(slot)
            plan.append((index, header, kind, target, extra))
        return plan

    def _all_columns(self, mapping: Mapping) -> list:
        """_columns_of(mapping) aligned with mapping.columns (None for dropped columns)."""
        kept = iter(self._columns_of(mapping))
        return [None if column.target == "drop" else next(kept) for column in mapping.columns]

    def _candidate_simple(self, record: Record, plan: list[tuple]) -> Candidate | None:
        """candidate() + _build() for a CSV row under a _simple_plan() mapping: the same Candidate, the
        same RowError (same column, same order of checks), with the per-row dicts and lists of the
        general path left out. None when the row needs the general path (not a plain row of cells, a
        cell too long or holding several values)."""
        cells = record.raw
        if cells.__class__ is not list:
            return None
        width = len(cells)
        if width > self._simple_width:
            return None  # more cells than columns: the general path refuses the row
        if width and max(map(len, cells)) > MAX_VALUE:
            return None
        name = ""
        texts = []
        email = phone = tags = None
        custom = None
        scalars = None
        for index, header, kind, target, extra in plan:
            if index >= width:
                continue
            raw = cells[index]
            if not raw:
                continue
            if raw[0] == "'":
                raw = unprotect(raw)
            if raw.isspace():
                continue
            if kind is _K_TEXT:
                texts.append((target, raw, header))
            elif kind is _K_NAME:
                name = raw
            elif kind is _K_EMAIL:
                if ":::" in raw:
                    return None
                email = (raw, header)
            elif kind is _K_PHONE:
                if ":::" in raw:
                    return None
                phone = (raw, header)
            elif kind is _K_TAGS:
                tags = (raw, header)
            elif kind is _K_SCALAR:
                if scalars is None:
                    scalars = []
                scalars.append((target, raw, header))
            else:  # _K_CUSTOM
                if custom is None:
                    custom = []
                custom.append((extra, raw))
                self._custom_used.add(header)
        c = Candidate(line=record.line, name=clean(name) or "", record=record)
        values = c.values
        cleaned = self._clean_cache
        for key, text, column in texts:
            if key == "birthday":
                values["birthday"] = self._birthday(text, column)
            elif key == "notes":
                values[key] = clean(text)
            else:
                value = cleaned.get(text, cleaned)
                if value is cleaned:
                    value = clean(text)
                    if len(cleaned) < 100_000:
                        cleaned[text] = value
                values[key] = value
        if email is not None:
            c.emails.append((email_key(email[0], email[1]), None, email[1]))
        if phone is not None:
            text, column = phone
            key = phone_key(text, self._phone_region(text, values.get("country")), column)
            shown = text if text.isascii() else ascii_digits(strip_invisible(text))
            c.phones.append((key, shown.strip().lstrip("'"), None, column))
        if tags is not None:
            raw, column = tags
            for part in _split_many(raw, _LIST_SPLIT):
                tag = self._tag(part, column)
                if tag and tag not in c.tags:
                    c.tags.append(tag)
        if custom is not None:
            for key, value in custom:
                text = clean(value)
                if text is not None and text != "":
                    c.custom[key] = text
        if scalars is not None:
            for key, raw, column in scalars:
                self._scalar(c, key, raw, column)
        return self._named(c)

    def _fields_value(self, raw, column: str) -> dict[str, str]:
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError:
                raise RowError(column, f"invalid {column} {raw[:40]!r}; expected a JSON object") from None
        if not isinstance(value, dict):
            raise RowError(column, f"invalid {column}; expected an object of custom fields")
        return {
            str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in value.items()
            if v is not None
        }

    def _from_card(self, record: Record) -> Candidate:
        v = record.values
        if v.get("unterminated"):
            raise RowError("", "the card begun here has no END:VCARD (is the file cut short?)")
        for key, prop in _CARD_PROPERTIES.items():
            _check_size(v.get(key), prop, MAX_VALUE)
        for key, prop in (("emails", "EMAIL"), ("phones", "TEL")):
            _check_size([value for value, _ in v.get(key) or []], prop, MAX_VALUE)
        _check_size(v.get("tags"), "CATEGORIES", MAX_VALUE)
        _check_size(v.get("notes"), "NOTE", MAX_TEXT)
        _check_size(list((v.get("fields") or {}).values()), "X-CRM-FIELD", MAX_TEXT)
        texts = {k: v[k] for k in ("company", "title", "address", "city", "country", "notes", "birthday") if v.get(k)}
        custom = dict(v.get("fields") or {})
        if v.get("department"):
            custom.setdefault("department", v["department"])
        scalars = {k: (v[k], k.upper()) for k in ("kind", "source", "status", "dnc", "every") if v.get(k)}
        emails = [(e, label, "EMAIL") for e, label in v.get("emails", [])]
        phones = [(p, label, "TEL") for p, label in v.get("phones", [])]
        tags = [(t, "CATEGORIES") for t in v.get("tags", [])]
        return self._build(record, v.get("name") or "", texts, emails, phones, tags, custom, scalars)

    def _build(self, record, name, texts, emails, phones, tags, custom, scalars, birthday_column="BDAY") -> Candidate:
        c = Candidate(line=record.line, name=clean(name) or "", record=record)
        cleaned = self._clean_cache
        for key, raw in texts.items():
            if key == "birthday":
                c.values["birthday"] = self._birthday(str(raw), birthday_column)
            elif key == "notes":
                c.values[key] = clean(str(raw))
            else:
                text = str(raw)
                value = cleaned.get(text, cleaned)
                if value is cleaned:
                    value = clean(text)
                    if len(cleaned) < 100_000:
                        cleaned[text] = value
                c.values[key] = value
        seen: set[str] = set()
        for raw, label, column in emails:
            key = email_key(str(raw), column)
            if key not in seen:
                seen.add(key)
                c.emails.append((key, label, column))
        seen = set()
        for raw, label, column in phones:
            text = str(raw)
            key = phone_key(text, self._phone_region(text, c.values.get("country")), column)
            if key not in seen:
                seen.add(key)
                shown = text if text.isascii() else ascii_digits(strip_invisible(text))
                c.phones.append((key, shown.strip().lstrip("'"), label, column))
        for raw, column in tags:
            tag = self._tag(raw, column)
            if tag and tag not in c.tags:
                c.tags.append(tag)
        for key, value in custom.items():
            text = clean(value) if isinstance(value, str) else value
            if text is not None and text != "":
                c.custom[key if re.fullmatch(core._FIELD_KEY, key) else _custom_key(key)] = text
        for key, (raw, column) in scalars.items():
            self._scalar(c, key, raw, column)
        return self._named(c)

    def _birthday(self, raw: str, column: str) -> str | None:
        try:
            return birthday(raw, self.now, self.order)
        except InvalidInput as exc:
            raise RowError(column, exc.message) from None

    def _phone_region(self, text: str, country: str | None) -> str | None:
        """Where a phone typed without + is read: the default region, else the row's own country."""
        if self.region is not None or not country or text.lstrip().startswith("+"):
            return self.region
        region = self._country_regions.get(country, "")
        if region == "":
            from crm_cli.contact_info import region_of_country

            region = self._country_regions[country] = region_of_country(country)
        return region

    def _scalar(self, c: Candidate, key: str, raw, column: str) -> None:
        if key == "kind":
            kind = normalize(str(raw))
            if kind in ("organization", "organisation", "org", "company"):
                c.kind = "organization"
            elif kind not in ("person", "individual", ""):
                raise RowError(column, f"invalid kind {raw!r}; use person or organization")
        elif key == "source":
            c.source = _norm_cached(str(raw)) or None  # the same as normalize(); sources repeat
        elif key == "status":
            c.status = parse_status(str(raw), column)
        elif key == "dnc":
            c.dnc = parse_bool(raw, column)
        elif key == "marketing":
            c.dnc = not parse_bool(raw, column)
        elif key == "every":
            try:
                days = core.parse_every(str(raw).strip() + ("d" if str(raw).strip().isdigit() else ""))
            except InvalidInput as exc:
                raise RowError(column, exc.message) from None
            c.every_days = days or None
        elif key == "created_at":
            from crm_cli.dates import parse_datetime

            try:
                c.created_at = utc_iso(parse_datetime(str(raw), self.now, self.order))
            except InvalidInput as exc:
                raise RowError(column, exc.message) from None

    @staticmethod
    def _named(c: Candidate) -> Candidate:
        """The name of a row without one (its organisation, e-mail or phone), or RowError."""
        if not c.name:
            if c.values.get("company"):
                # a card or row with only a company is that organisation (Google/Apple export them so)
                c.name = c.values.pop("company")
                c.kind = "organization"
                c.named_from = "organisation"
            elif c.emails:
                c.name, c.named_from = c.emails[0][0], "e-mail"
            elif c.phones:
                c.name, c.named_from = c.phones[0][0], "phone"
        if not c.name:
            raise RowError("", "no name, e-mail, phone or company: nothing to import")
        if c.kind == "organization":
            c.values.pop("company", None)
        return c

    def _tag(self, raw: str, column: str) -> str | None:
        try:
            return self._tag_cache[raw]  # tags repeat: the same few values on most rows
        except (KeyError, TypeError):
            pass
        text = str(raw).strip().lstrip("*").strip()
        if not text or normalize(text) in ("mycontacts", "my contacts", "starred"):
            tag = None
        else:
            try:
                tag = core._tag(text)
            except InvalidInput as exc:
                raise RowError(column, exc.message) from None
        if isinstance(raw, str):
            self._tag_cache[raw] = tag
        return tag

    def _decide(self, c: Candidate) -> None:
        """add, update, skip or refuse (RowError), matching by handle, else by exact name.

        A row's handles are remembered for the rows after it even when the row itself is skipped, so
        `a@x` then `a@x + 050…` then `050…` is one person however the file spreads them."""
        handles = self._handles if self._handles is not None else self._existing_handles()
        existing: dict[int, str] = {}
        pending: Candidate | None = None
        keys = c.keys
        for kind, key, column in keys:
            owner = handles.get((kind, key))
            if owner is None:
                owner = self._pending.get((kind, key))
                if owner is None:
                    continue
            if owner.__class__ is int:
                existing.setdefault(owner, f"{column} {key}")
            else:
                pending = pending or owner
        if not keys:
            name_key = (c.kind, _norm_cached(c.name))
            owner = self._existing_names().get(name_key)
            if owner is None:
                owner = self._pending_names.get(name_key)
            if isinstance(owner, int):
                existing[owner] = f"name {c.name!r}"
            else:
                pending = owner
        if existing:
            ids = sorted(existing)
            if self.on_duplicate == "error":
                first = ids[0]
                raise RowError("", f"duplicate of contact {first} ({existing[first]}); --on-duplicate skip or update")
            if self.on_duplicate == "update" and len(ids) > 1:
                raise RowError("", f"matches several contacts ({', '.join(map(str, ids))}); merge them first")
            target = ids[0]
            if self.on_duplicate == "skip":
                self.result.skipped += 1
            elif target in self._update_of:
                _merge(self._update_of[target], c)
            else:
                self._update_of[target] = c
                self.updates.append((target, c))
                self.result.updated += 1
            self._claim(c, target, keys)
            return
        if pending is not None:
            if self.on_duplicate == "error":
                raise RowError("", f"duplicate of line {pending.line} in this file; --on-duplicate skip or update")
            if self.on_duplicate == "skip":
                self.result.skipped += 1
            else:
                _merge(pending, c)
            self._claim(c, pending, keys)
            return
        self.adds.append(c)
        self.result.added += 1
        if c.named_from:
            self.result.named += 1
        self._claim(c, c, keys)

    def _claim(self, c: Candidate, owner: Candidate | int, keys: list) -> None:
        handles = self._handles if self._handles is not None else self._existing_handles()
        pending = self._pending
        for kind, key, _ in keys:
            handle = (kind, key)
            if handle not in handles and handle not in pending:
                pending[handle] = owner
        if not keys:
            self._pending_names.setdefault((c.kind, _norm_cached(c.name)), owner)

    # -- phase 2 ------------------------------------------------------------------------------

    def write(self) -> None:
        if self.adds:
            self._bulk_insert()
        for contact_id, c in self.updates:
            self._apply_update(contact_id, c)

    def _bulk_insert(self) -> None:
        conn = self.conn
        base = conn.execute("SELECT coalesce(max(id), 0) FROM contacts").fetchone()[0] + 1
        orgs, new_orgs = self._organisations(base)
        rows: list[tuple] = []
        handles: list[tuple] = []
        tags: list[tuple] = []
        for c in new_orgs + self.adds:  # organisations first: people point at them (org_id)
            self._rows(c, _org_of(c, orgs), rows, handles, tags)
        with _deferred_triggers(conn, {"contacts": "contacts_fts_ai"}, expected=len(rows)):
            _insert_many(conn, "contacts", _CONTACT_COLUMNS, rows)
            _insert_many(conn, "contact_handles", _HANDLE_COLUMNS, handles)
            _insert_many(conn, "tags", ["contact_id", "tag"], tags)

    def _organisations(self, base: int) -> tuple[dict[str, int], list[Candidate]]:
        """Give the new contacts their ids (base, base+1 … in file order) and find the organisation of
        every company: an organisation row of the file, else an existing organisation, else a new one
        (ids after the file's contacts, in order of first mention). -> (company key -> id, new orgs)."""
        orgs: dict[str, int] = {}
        new_orgs: list[Candidate] = []
        names = self._existing_names()
        next_id = base
        for c in self.adds:
            c.id = next_id
            next_id += 1
            if c.kind == "organization":
                orgs.setdefault(_norm_cached(c.name), c.id)
        for c in self.adds:
            company = c.values.get("company")
            if c.kind == "person" and company:
                key = _norm_cached(company)
                if key not in orgs:
                    existing = names.get(("organization", key))
                    if existing is None:
                        org = Candidate(line=c.line, name=company, kind="organization", id=next_id)
                        next_id += 1
                        new_orgs.append(org)
                        existing = org.id
                    orgs[key] = existing
        return orgs, new_orgs

    def _rows(self, c: Candidate, org_id: int | None, rows: list, handles: list, tags: list) -> None:
        """The contacts row of c (with c.id and org_id), its handles rows and its tags rows."""
        values = c.values
        get = values.get
        company = get("company")
        notes = get("notes")
        emails = c.emails
        phones = c.phones
        email = emails[0][0] if emails else None
        phone = phones[0][0] if phones else None
        name_key = _norm_cached(c.name)
        cid = c.id
        stamp = self.stamp
        custom = c.custom
        rows.append(
            (
                cid,
                c.kind,
                c.name,
                org_id,
                company,
                get("title"),
                email,
                phone,
                get("address"),
                get("city"),
                get("country"),
                c.source,
                c.status or "lead",
                1 if c.dnc else 0,
                notes,
                json.dumps(custom, ensure_ascii=False) if custom else "{}",
                c.every_days,
                get("birthday"),
                name_key,
                search_text(name_key, email, company, notes),
                c.created_at or stamp,
                stamp,
            )
        )
        if emails:
            primary = 1
            for key, label, _ in emails:
                handles.append((cid, "email", key, key, label, primary))
                primary = 0
        if phones:
            primary = 1
            for key, value, label, _ in phones:
                handles.append((cid, "phone", value, key, label, primary))
                primary = 0
        for tag in c.tags:
            tags.append((cid, tag))

    # -- phase 1 and 2 at once, on two cores -----------------------------------------------------

    def plan_and_write_forked(
        self, records: Iterable[Record], lines: int, mapping: Mapping | None, check, progress=None
    ) -> Result:
        """plan() + write() with the validation in a forked child process while this one writes.

        The child reads the records (an iterator over text already in memory, which this process leaves
        unread), validates, matches and builds the rows of the file in chunks and sends them down a
        pipe; this process (which owns the connection and its transaction) inserts each chunk while the
        child works on the next one. `lines` (the file's line count) bounds the number of records.
        Only for --on-duplicate skip/error (nothing written is changed by a later row). The result is
        the same as plan() then write(), row for row:
        - new contacts get base, base+1 … in file order, exactly as write() gives them;
        - a person's organisation id is decided when the row is sent, assuming every line of the file
          is a record that is added (new organisations after them, in order of first mention). At the
          end the child computes the exact ids as write() does and sends the corrections: one shift
          for every guessed organisation id (the rows that were not added, one UPDATE), and row by row
          the others (an organisation row later in the file claims a company);
        - the audit rows and the FTS index are made at the end by the same INSERT … SELECT as write().
        A child that fails in any way sends nothing usable: everything it caused is rolled back to a
        savepoint and the import runs in this process (plan() then write() over its own, still unread
        records), which raises the same errors.
        The child never touches the database (it shares no connection: it exits with os._exit).
        """
        import os
        import pickle

        conn = self.conn
        self._existing_handles()
        self._existing_names()
        base = conn.execute("SELECT coalesce(max(id), 0) FROM contacts").fetchone()[0] + 1
        read_fd, write_fd = os.pipe()
        _widen_pipe(write_fd)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; its work is checked through the parent's results
            os.close(read_fd)
            code = 1
            try:
                with os.fdopen(write_fd, "wb") as out:
                    self._child(records, lines, mapping, base, out)
                code = 0
            except BaseException:
                pass
            finally:
                os._exit(code)
        os.close(write_fd)
        conn.execute("SAVEPOINT contact_import_stream")
        try:
            deferred = _deferred_triggers(
                conn, {"contacts": "contacts_fts_ai"}, streamed={"contacts_fts_ai"}, expected=lines
            )
            with os.fdopen(read_fd, "rb") as inp, deferred:
                while True:
                    try:
                        message = pickle.load(inp)
                    except Exception:
                        raise _ChildFailed() from None  # died or failed before its last message
                    if message[0] != "rows":
                        break
                    _, rows, handles, tags, line, total = message
                    _insert_many(conn, "contacts", _CONTACT_COLUMNS, rows)
                    _insert_many(conn, "contact_handles", _HANDLE_COLUMNS, handles)
                    _insert_many(conn, "tags", ["contact_id", "tag"], tags)
                    _index_text(conn, rows, deferred)
                    if progress is not None:
                        progress(line, total)
                _, result, org_rows, shift, corrections = message
                _insert_many(conn, "contacts", _CONTACT_COLUMNS, org_rows)
                _index_text(conn, org_rows, deferred)
                _correct_orgs(conn, corrections, shift=shift, guessed=(base, base + lines))
        except _ChildFailed:
            conn.execute("ROLLBACK TO contact_import_stream")
            conn.execute("RELEASE contact_import_stream")
            _reap(pid)
            self.__init__(conn, now=self.now, on_duplicate=self.on_duplicate, region=self.region)
            result = self.plan(records, mapping)
            check(result)
            self.write()
            return result
        except BaseException:
            _reap(pid)
            raise
        _reap(pid)
        conn.execute("RELEASE contact_import_stream")
        self.result = result
        check(result)
        return result

    def _child(self, records, lines: int, mapping, base: int, out) -> None:
        import pickle

        guess = base + lines  # where new organisations' ids start if every line is a record that is added
        result = self.result
        if mapping is not None:
            result.ignored = list(mapping.ignored)
        explicit: dict[str, int] = {}  # organisation rows of the file so far
        new: dict[str, int] = {}  # companies that need a new organisation, by first mention
        names = self._existing_names()
        sent = 0
        sent_org: list[int | None] = []

        def flush(line: int) -> None:
            nonlocal sent
            rows: list[tuple] = []
            handles: list[tuple] = []
            tags: list[tuple] = []
            for i in range(sent, len(self.adds)):
                c = self.adds[i]
                c.id = base + i
                if c.kind == "organization":
                    explicit.setdefault(_norm_cached(c.name), c.id)
            for i in range(sent, len(self.adds)):
                c = self.adds[i]
                company = c.values.get("company")
                org_id = None
                if c.kind == "person" and company:
                    key = _norm_cached(company)
                    org_id = explicit.get(key)
                    if org_id is None:
                        org_id = names.get(("organization", key))
                    if org_id is None:
                        org_id = new.setdefault(key, guess + len(new))
                sent_org.append(org_id)
                self._rows(c, org_id, rows, handles, tags)
            sent = len(self.adds)
            pickle.dump(("rows", rows, handles, tags, line, lines), out, protocol=pickle.HIGHEST_PROTOCOL)

        chunk = _STREAM_CHUNK
        for n, record in enumerate(records, 1):
            self._plan_one(record, mapping)
            if n % chunk == 0:
                flush(record.line)
        flush(lines)
        if mapping is not None:
            result.custom_columns = [h for h in mapping.custom if h in self._custom_used]
        orgs, new_orgs = self._organisations(base)  # the exact ids, as write() gives them
        org_rows: list[tuple] = []
        for org in new_orgs:
            self._rows(org, None, org_rows, [], [])
        shift = lines - len(self.adds)  # how much too high each guessed id is, when nothing else moved
        corrections = []
        for c, was in zip(self.adds, sent_org, strict=True):
            now = _org_of(c, orgs)
            if now != was and not (was is not None and was >= guess and now == was - shift):
                corrections.append((now, c.id))
        pickle.dump(("end", result, org_rows, shift, corrections), out, protocol=pickle.HIGHEST_PROTOCOL)

    def _apply_update(self, contact_id: int, c: Candidate) -> None:
        changes: dict[str, object] = {}
        for key in ("company", "title", "address", "city", "country", "notes", "birthday"):
            if c.values.get(key):
                changes[key] = c.values[key]
        if c.source:
            changes["source"] = c.source
        if c.status:
            changes["status"] = c.status
        if c.dnc is not None:
            changes["dnc"] = c.dnc
        if c.every_days:
            changes["every"] = f"{c.every_days}d"
        if c.named_from is None:
            changes["name"] = c.name
        core.update(self.conn, contact_id, now=self.now, changes=changes, add_tags=c.tags, fields=c.custom or None)
        for i, (key, _, _) in enumerate(c.emails):
            _add_handle(self.conn, contact_id, "email", key, key, primary=i == 0)
        for i, (key, value, _, _) in enumerate(c.phones):
            _add_handle(self.conn, contact_id, "phone", value, key, primary=i == 0)
        if c.emails or c.phones:
            core._refresh_search(self.conn, contact_id)


class _deferred_triggers:
    """Do the work of the row-by-row AFTER INSERT triggers of a bulk load once, afterwards.

    The audit triggers (db.install_audit_triggers: one change_rows row per inserted row) and the FTS
    trigger are dropped for the load. Afterwards the audit is one change_ranges row per table (the
    contiguous id range the load inserted; history.py shows and undoes it), and the FTS trigger's exact
    statement is run over the new rows as INSERT … SELECT (taken from the trigger's own SQL, with the
    table aliased as `new`). Should the new ids not be contiguous, the audit trigger's statement is run
    the same way (per-row images). DDL is transactional: a failure or a crash leaves the triggers as they
    were. Triggers whose body is not one INSERT … VALUES keep firing per row.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        extra: dict[str, str],
        streamed: set[str] = frozenset(),
        expected: int = 0,
    ):
        self.conn = conn
        self.tables = ["contacts", "contact_handles", "tags"]
        self.extra = extra
        self.streamed = streamed  # triggers whose work the caller does itself as it goes (see dropped())
        self.expected = expected  # about how many contacts the load adds
        self.saved: list[tuple[str, str, str, int]] = []  # (table, trigger name, sql, rowid before)
        self.indexes: list[str] = []  # CREATE INDEX statements of the indexes dropped for the load

    def __enter__(self):
        conn = self.conn
        for table in self.tables:
            names = [f"audit_{table}_insert", self.extra.get(table)]
            start = conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0]
            if table == "contacts" and start <= self.expected:
                self._drop_indexes()
            for name in filter(None, names):
                row = conn.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
                ).fetchone()
                if row and _trigger_select(row[0], table):
                    conn.execute(f'DROP TRIGGER "{name}"')
                    self.saved.append((table, name, row[0], start))
        return self

    def _drop_indexes(self) -> None:
        """Into a contacts table (nearly) empty next to the load, building its secondary indexes once
        afterwards (sorted) costs less than updating them row by row in random key order (name_key above
        all). Only the plain indexes the schema declares (CREATE INDEX): UNIQUE constraints stay and keep
        checking. The indexes of contact_handles and tags stay: their keys (contact_id, a few tags) arrive
        in order, so keeping them costs about what rebuilding would, and the rebuild would be time after
        the validation has finished. Foreign-key checks are off for the load (importers._fast_writes):
        with them on, a contacts row inserted without the org_id index would scan the table for children."""
        conn = self.conn
        if conn.execute("PRAGMA foreign_keys").fetchone()[0]:
            return
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name = 'contacts' ORDER BY rowid"
        ).fetchall():
            conn.execute(f'DROP INDEX "{name}"')
            self.indexes.append(sql)

    def dropped(self, name: str) -> bool:
        return any(saved[1] == name for saved in self.saved)

    def __exit__(self, exc_type, *exc):
        for sql in self.indexes:
            self.conn.execute(sql)
        for table, name, sql, start in self.saved:
            ranged = exc_type is None and name.startswith("audit_") and _record_range(self.conn, table, start)
            if exc_type is None and name not in self.streamed and not ranged:
                self.conn.execute(_trigger_select(sql, table), (start,))
            self.conn.execute(sql)
        return False


def _record_range(conn: sqlite3.Connection, table: str, start: int) -> bool:
    """Record the rows of `table` inserted after rowid `start` as one change_ranges row (what history and
    undo read instead of one change_rows image per row). False when they are not one contiguous run of
    ids (then the caller writes the per-row images)."""
    count, first, last = conn.execute(
        f"SELECT count(*), min(rowid), max(rowid) FROM {table} WHERE rowid > ?", (start,)
    ).fetchone()
    if not count:
        return True
    if last - first + 1 != count:
        return False
    conn.execute(
        "INSERT INTO change_ranges (change_id, tbl, first_id, last_id) VALUES ((SELECT max(id) FROM changes), ?, ?, ?)",
        (table, first, last),
    )
    return True


def _trigger_select(sql: str, table: str) -> str | None:
    """'CREATE TRIGGER … BEGIN INSERT INTO t (cols) VALUES (exprs); END' -> 'INSERT INTO t (cols) SELECT
    exprs FROM table AS new WHERE new.rowid > ? ORDER BY new.rowid', or None when it is not that shape."""
    m = re.search(r"\bBEGIN\s+(INSERT INTO .+?)\s+VALUES\s*\((.*)\)\s*;?\s*END\s*$", sql, re.S | re.I)
    if not m or ";" in m[2]:
        return None
    return f"{m[1]} SELECT {m[2]} FROM {table} AS new WHERE new.rowid > ? ORDER BY new.rowid"


class _ChildFailed(Exception):
    pass


def _org_of(c: Candidate, orgs: dict[str, int]) -> int | None:
    company = c.values.get("company")
    return orgs.get(_norm_cached(company)) if company and c.kind == "person" else None


def _correct_orgs(
    conn: sqlite3.Connection, corrections: list[tuple[int | None, int]], *, shift: int, guessed: tuple[int, int]
) -> None:
    """Set org_id of rows inserted in this import: those of contacts with id >= guessed[0] pointing at a
    guessed organisation id (>= guessed[1]) move down by `shift`, then each (org_id, id) correction is
    applied. Their audit rows are written later from the final rows, so the update trigger is kept out
    of it: the import stays one insert per row."""
    if not shift and not corrections:
        return
    name = "audit_contacts_update"
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)).fetchone()
    if row:
        conn.execute(f'DROP TRIGGER "{name}"')
    if shift:
        conn.execute(
            "UPDATE contacts SET org_id = org_id - ? WHERE id >= ? AND org_id >= ?", (shift, guessed[0], guessed[1])
        )
    conn.executemany("UPDATE contacts SET org_id = ? WHERE id = ?", corrections)
    if row:
        conn.execute(row[0])


def _index_text(conn: sqlite3.Connection, rows: list[tuple], deferred: _deferred_triggers) -> None:
    """What the dropped contacts_fts_ai trigger would have done for these rows (id, …, search_text)."""
    if rows and deferred.dropped("contacts_fts_ai"):
        conn.executemany("INSERT INTO contacts_fts (rowid, search_text) VALUES (?, ?)", [(r[0], r[19]) for r in rows])


def _widen_pipe(fd: int) -> None:
    """Room for a whole chunk in the pipe (Linux: 64 KiB by default, ~300 KiB needed), so the child
    goes on validating while this process inserts the previous chunk instead of waiting for it."""
    import fcntl

    size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if size is None:
        return
    for wanted in (4 << 20, 1 << 20):
        try:
            fcntl.fcntl(fd, size, wanted)
            return
        except OSError:
            continue


def _reap(pid: int) -> None:
    import contextlib
    import os

    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _add_handle(conn, contact_id: int, kind: str, value: str, key: str, *, primary: bool) -> None:
    owner = conn.execute("SELECT contact_id FROM contact_handles WHERE type = ? AND key = ?", (kind, key)).fetchone()
    if owner and owner[0] != contact_id:
        return  # belongs to someone else: _decide refused such rows already
    core._claim(conn, contact_id, kind, value, key, primary)


def _merge(into: Candidate, other: Candidate) -> None:
    """--on-duplicate update between two rows of the same file: the later row's values win."""
    for key, value in other.values.items():
        if value:
            into.values[key] = value
    for attr in ("source", "status", "dnc", "every_days", "created_at"):
        value = getattr(other, attr)
        if value is not None:
            setattr(into, attr, value)
    if other.named_from is None and into.named_from is not None:
        into.name, into.named_from = other.name, None
    into.custom.update(other.custom)
    into.tags += [t for t in other.tags if t not in into.tags]
    known = {k for k, _, _ in into.emails}
    into.emails += [e for e in other.emails if e[0] not in known]
    known = {k for k, _, _, _ in into.phones}
    into.phones += [p for p in other.phones if p[0] not in known]


def _custom_key(key: str) -> str:
    from crm_cli.importers.mapping import custom_key

    return custom_key(key)


def _insert_many(conn: sqlite3.Connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    """Multi-row INSERTs: triggers still fire per row, but per-statement overhead is paid once per chunk."""
    if not rows:
        return
    width = len(columns)
    per = max(1, min(_CHUNK, 32000 // width))
    one = "(" + ",".join("?" * width) + ")"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    full_sql = head + ",".join([one] * per)
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = full_sql if len(chunk) == per else head + ",".join([one] * len(chunk))
        conn.execute(sql, list(chain.from_iterable(chunk)))
