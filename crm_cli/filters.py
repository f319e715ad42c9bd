"""The one filter language: parse an expression, build a WHERE clause over a contacts alias.

    tag:vip -tag:cold status:customer city:Riyadh,Jeddah source:instagram company:Acme
    created>2026-01-01 created<30d last-contact>90d last-purchase>180d orders>=2 spent>=1000
    dnc:no has:email kind:organization segment:dormant  "free words"

- Terms are ANDed; `-term` negates; `a,b` in a value means either.
- Time fields take a date (`created>2026-01-01`: after that day) or an age (`last-contact>90d`: more
  than 90 days ago, which includes never). Ages: d, w, m, y.
- Free words (and quoted phrases) go through FTS5 over the normalised name/e-mail/company/notes.
- Without a `kind:` term only people are listed; organisations with `kind:organization` or `kind:any`.
- `segment:NAME` expands a saved segment (segments.py).

parse() only reads the text; to_sql() needs the database (segments, settings) and "now".
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta

from crm_cli.errors import InvalidInput
from crm_cli.text import normalize

EQUALITY = ("tag", "status", "city", "source", "company", "country", "kind", "dnc", "has", "segment")
COMPARISON = ("created", "updated", "last-contact", "last-purchase", "orders", "spent")
STATUSES = ("lead", "prospect", "customer", "inactive")
HAS = {
    "email": "email",
    "phone": "phone",
    "company": "company",
    "city": "city",
    "tags": None,
    # the other contact fields `required_fields` can name (report quality lists them with -has:FIELD)
    "title": "title",
    "address": "address",
    "country": "country",
    "source": "source",
    "notes": "notes",
    "birthday": "birthday",
    "name": "name",
    "status": "status",
}

_TERM = r"(?P<neg>-)?(?P<key>[a-z][a-z-]*)(?P<op>:|>=|<=|>|<|=)(?P<value>.*)"  # compiled on first use
_term_re: re.Pattern | None = None
# Keys whose values may hold spaces: in an argument without quotes, plain words after one continue it.
SPACED = ("tag", "city", "company", "country", "source", "created", "updated", "last-contact", "last-purchase")
_SHELL_SPECIAL = frozenset("'\"\\")  # what shlex.split treats specially besides whitespace


class Term:
    """One `key:value` / `key>value` term (plain classes here: dataclasses cost start-up time)."""

    __slots__ = ("key", "op", "value", "negated", "spill")

    def __init__(self, key: str, op: str, value: str, negated: bool = False, spill: list[str] | None = None) -> None:
        self.key = key
        self.op = op
        self.value = value
        self.negated = negated
        self.spill = [] if spill is None else spill  # unquoted words that continued the value (see parse)

    def __str__(self) -> str:
        return f"{'-' if self.negated else ''}{self.key}{self.op}{self.value}"

    def __repr__(self) -> str:
        return f"Term(key={self.key!r}, op={self.op!r}, value={self.value!r}, negated={self.negated!r})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Term):
            return NotImplemented
        return (self.key, self.op, self.value, self.negated) == (other.key, other.op, other.value, other.negated)

    __hash__ = None


class Filter:
    __slots__ = ("terms", "words", "negated_words")

    def __init__(
        self, terms: list[Term] | None = None, words: list[str] | None = None, negated_words: list[str] | None = None
    ) -> None:
        self.terms = [] if terms is None else terms
        self.words = [] if words is None else words  # free text, each (word, negated) below
        self.negated_words = [] if negated_words is None else negated_words

    def __repr__(self) -> str:
        return f"Filter(terms={self.terms!r}, words={self.words!r}, negated_words={self.negated_words!r})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Filter):
            return NotImplemented
        return (self.terms, self.words, self.negated_words) == (other.terms, other.words, other.negated_words)

    __hash__ = None

    @property
    def empty(self) -> bool:
        return not (self.terms or self.words or self.negated_words)


def known_terms() -> str:
    return ", ".join([f"{k}:" for k in EQUALITY] + [f"{k}>" for k in COMPARISON])


def parse(expression: str | list[str] | None) -> Filter:
    """Text -> Filter. Raises InvalidInput naming the first bad term.

    A list is the arguments as the shell split them; a string is one argument. Each argument is read
    like a command line of its own, so `'tag:vip city:Riyadh'` equals `tag:vip city:Riyadh` and
    `'city:"New York"'` equals `"city:New York"`. Two conveniences: an argument with spaces and no term
    in it stays one phrase (list only: `"free words"`), and in an argument without quotes a value of a
    SPACED key runs on over the plain words after it (`"city:New York"`, `'city:New York tag:vip'`);
    to_sql() gives back to the free words what matches no stored value (`'city:Riyadh sara'`)."""
    global _term_re
    if expression is None:
        return Filter()
    phrases = not isinstance(expression, str)
    parts = [expression] if isinstance(expression, str) else list(expression)
    result = Filter()
    if _term_re is None:
        _term_re = re.compile(_TERM, re.S)
    for part in parts:
        if part:
            _parse_part(part, phrases, result)
    return result


def _is_term(token: str) -> bool:
    m = _term_re.fullmatch(token)
    return bool(m) and (m["key"] in EQUALITY or m["key"] in COMPARISON)


def _parse_part(part: str, phrases: bool, result: Filter) -> None:
    quoted = bool(_SHELL_SPECIAL.intersection(part))
    if not quoted and not re.search(r"\s", part):
        tokens = [part]
    else:
        import shlex

        try:
            tokens = shlex.split(part)
        except ValueError as exc:
            raise InvalidInput(f"cannot read filter {part!r}: {exc}") from None
        if phrases and not quoted and not any(_is_term(t) for t in tokens):
            tokens = [part]  # "free words", "met at": one phrase, as the user grouped it
    spill_ok = not quoted and len(tokens) > 1
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        m = _term_re.fullmatch(token)
        if m and (m["key"] in EQUALITY or m["key"] in COMPARISON):
            spill: list[str] = []
            if spill_ok and m["key"] in SPACED:
                while i < len(tokens) and not _is_term(tokens[i]) and not tokens[i].startswith("-"):
                    spill.append(tokens[i])
                    i += 1
            value = " ".join([m["value"], *spill]).strip()
            term = Term(m["key"], m["op"], value, bool(m["neg"]), spill)
            _check(term)
            _check_no_term_inside(term, token)
            result.terms.append(term)
        elif m and m["op"] == ":" and not token.startswith(("http:", "https:", "mailto:")):
            raise InvalidInput(f"unknown filter term {token!r}; known terms: {known_terms()}")
        elif m and m["op"] in (">", "<", ">=", "<=") and m["key"] not in COMPARISON:
            raise InvalidInput(f"unknown filter term {token!r}; comparisons work on: {', '.join(COMPARISON)}")
        elif token.startswith("--"):
            raise InvalidInput(f'unknown option {token!r}; see --help (to search for it, quote it: "{token}")')
        elif token.startswith("-") and len(token) > 1:
            result.negated_words.append(token[1:])
        elif token.strip():
            result.words.append(token)


def _check_no_term_inside(term: Term, token: str) -> None:
    """`tag:"vip city:Riyadh"` would look for a tag with a term in it and match nothing: refuse it."""
    words = term.value.split()
    if len(words) > 1 and any(_is_term(w) for w in words):
        raise InvalidInput(
            f"filter term {token!r} has another term inside its value; write the terms apart "
            f'(tag:vip city:Riyadh) and quote only a value with spaces (city:"New York")'
        )


def _check(term: Term) -> None:
    """Validate what can be validated without the database."""
    key, op, value = term.key, term.op, term.value
    if not value:
        raise InvalidInput(f"filter term {str(term)!r} has no value")
    if key in EQUALITY and op not in (":", "="):
        raise InvalidInput(f"filter term {str(term)!r}: use {key}:VALUE")
    if key in COMPARISON and op in (":", "="):
        if key in ("orders", "spent"):
            term.op = "="
        else:
            raise InvalidInput(f"filter term {str(term)!r}: use {key}>VALUE or {key}<VALUE")
    if key == "status":
        for v in _values(value):
            if v not in STATUSES:
                raise InvalidInput(f"filter term {str(term)!r}: status is one of {', '.join(STATUSES)}")
    if key == "dnc" and value.lower() not in ("yes", "no", "true", "false"):
        raise InvalidInput(f"filter term {str(term)!r}: use dnc:yes or dnc:no")
    if key == "kind" and value.lower() not in ("person", "organization", "org", "any"):
        raise InvalidInput(f"filter term {str(term)!r}: use kind:person, kind:organization or kind:any")
    if key == "has":
        for v in _values(value):
            if v not in HAS:
                raise InvalidInput(f"filter term {str(term)!r}: has: takes {', '.join(HAS)}")
    if key == "orders" and not re.fullmatch(r"\d+", value):
        raise InvalidInput(f"filter term {str(term)!r}: orders takes a whole number")
    if key == "spent":
        from crm_cli.money import parse_amount

        parse_amount(value, field=f"amount in filter term {str(term)!r}")


def _values(value: str) -> list[str]:
    return [normalize(v) for v in value.split(",") if v.strip()]


# ---------------------------------------------------------------------------------------------
# SQL


class Context:
    __slots__ = ("conn", "now", "alias", "seen_segments")

    def __init__(
        self, conn: sqlite3.Connection, now: datetime, alias: str = "c", seen_segments: tuple[str, ...] = ()
    ) -> None:
        self.conn = conn
        self.now = now
        self.alias = alias
        self.seen_segments = seen_segments

    def __repr__(self) -> str:
        return (
            f"Context(conn={self.conn!r}, now={self.now!r}, alias={self.alias!r}, seen_segments={self.seen_segments!r})"
        )


def to_sql(flt: Filter | str | None, ctx: Context) -> tuple[str, list]:
    """Filter -> (SQL condition on ctx.alias, parameters). Always a valid condition."""
    if not isinstance(flt, Filter):
        flt = parse(flt)
    clauses: list[str] = []
    params: list = []
    has_kind = any(t.key == "kind" for t in _expanded_terms(flt, ctx))
    if not has_kind:
        clauses.append(f"{ctx.alias}.kind = 'person'")
    spilled: list[str] = []
    for term in flt.terms:
        if term.spill:
            term, back = _resolve_spill(term, ctx)
            spilled += back
        sql, args = _term_sql(term, ctx)
        if sql:
            clauses.append(f"NOT ({sql})" if term.negated else f"({sql})")
            params += args
    for words, negated in ((flt.words + spilled, False), (flt.negated_words, True)):
        for word in words:
            query = fts_query(word)
            if not query:
                continue
            sql = f"{ctx.alias}.id IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?)"
            clauses.append(f"NOT ({sql})" if negated else sql)
            params.append(query)
    return (" AND ".join(clauses) or "1"), params


def _resolve_spill(term: Term, ctx: Context) -> tuple[Term, list[str]]:
    """`city:Riyadh sara` in one argument: the longest value that means something (a stored city, a
    date) keeps the words it needs; the words after it go back to the free words. A name that matches
    no stored value reads as the shell would split it (`city:Jeddah sara`: Jeddah and the word sara); a
    time no shorter value of which parses raises the error of the whole value."""
    base = term.value.split()[: len(term.value.split()) - len(term.spill)]
    for keep in range(len(term.spill), -1, -1):
        candidate = Term(term.key, term.op, " ".join(base + term.spill[:keep]), term.negated)
        if not candidate.value:
            break
        try:
            if term.key in ("tag", "city", "company", "country", "source"):
                last = _values(candidate.value.rsplit(",", 1)[-1])
                ok = keep == 0 or not last or bool(_stored_values(term.key, last, ctx))
            else:
                _age_or_date(candidate, ctx)
                ok = True
        except InvalidInput:
            ok = False
        if ok:
            return candidate, term.spill[keep:]
    return Term(term.key, term.op, term.value, term.negated), []


def _stored_values(key: str, wanted: list[str], ctx: Context) -> list[str]:
    """The stored spellings of a tag/city/company/country/source that match the normalised values."""
    if key in ("tag", "source"):  # stored normalised
        table = "tags" if key == "tag" else "contacts"
        if key == "tag":
            wanted = [v.replace(" ", "-") for v in wanted]
        return [
            row[0]
            for row in ctx.conn.execute(
                f"SELECT DISTINCT {key} FROM {table} WHERE {key} IN ({','.join('?' * len(wanted))})", wanted
            )
        ]
    # Normalise the distinct stored spellings once (a few hundred cities), then match the raw
    # values: calling crm_norm() on every row made city:Riyadh 7x slower than its SQL.
    wanted_set = set(wanted)
    stored = [row[0] for row in ctx.conn.execute(f"SELECT DISTINCT {key} FROM contacts WHERE {key} IS NOT NULL")]
    if key == "country" and not all(re.fullmatch(r"[a-z]{2}", v) for v in (*wanted_set, *map(normalize, stored))):
        # SA, Saudi Arabia and السعودية are one country (as for phones): compare regions when both
        # sides name a known country, the normalised text otherwise. Only names need the table (its
        # first use loads phonenumbers' geodata, ~0.3 s); two-letter codes alone compare as text.
        from crm_cli.contact_info import region_of_country

        regions = {r for r in map(region_of_country, wanted) if r}
        if regions:
            return [v for v in stored if normalize(v) in wanted_set or region_of_country(v) in regions]
    return [v for v in stored if normalize(v) in wanted_set]


def _expanded_terms(flt: Filter, ctx: Context) -> list[Term]:
    terms = []
    for t in flt.terms:
        if t.key == "segment":
            from crm_cli import segments

            for name in t.value.split(","):
                inner = parse(segments.expression(ctx.conn, name.strip()))
                terms += inner.terms
        else:
            terms.append(t)
    return terms


def fts_query(word: str) -> str:
    tokens = re.findall(r"\w+", normalize(word))
    # Each token as a quoted prefix: "ساره"* matches ساره and سارهـ…; phrases keep their order.
    if not tokens:
        return ""
    if len(tokens) == 1:
        return f'"{tokens[0]}"*'
    return '"' + " ".join(tokens) + '"'


def _age_or_date(term: Term, ctx: Context) -> tuple[str, str]:
    """For time fields: (cutoff ISO instant, comparison direction 'before'|'after')."""
    from crm_cli.dates import parse_age, parse_datetime
    from crm_cli.db import utc_iso

    value = term.value
    if re.fullmatch(r"\d+\s*[a-z]+", value) and not re.fullmatch(r"\d+\s*(am|pm)", value):
        cutoff = ctx.now - parse_age(value)
        # age > N means the moment is before the cutoff
        direction = "before" if term.op in (">", ">=") else "after"
        return utc_iso(cutoff), direction
    from crm_cli import settings

    moment = parse_datetime(value, ctx.now, settings.date_order(ctx.conn))
    if term.op in (">",):
        moment = moment + timedelta(days=1) if len(value) <= 10 and ":" not in value else moment
        return utc_iso(moment), "after"
    if term.op == ">=":
        return utc_iso(moment), "after"
    return utc_iso(moment), "before"


def _term_sql(term: Term, ctx: Context) -> tuple[str, list]:
    a = ctx.alias
    key, value = term.key, term.value
    if key == "tag":
        values = [v.replace(" ", "-") for v in _values(value)]  # as contacts._tag stores "new customer"
        marks = ",".join("?" * len(values))
        return f"EXISTS (SELECT 1 FROM tags t WHERE t.contact_id = {a}.id AND t.tag IN ({marks}))", values
    if key == "status":
        values = _values(value)
        return f"{a}.status IN ({','.join('?' * len(values))})", values
    if key == "source":
        values = _values(value)
        return f"{a}.source IN ({','.join('?' * len(values))})", values
    if key in ("city", "company", "country"):
        raw = _stored_values(key, _values(value), ctx)
        if not raw:
            return "0", []
        return f"{a}.{key} IN ({','.join('?' * len(raw))})", raw
    if key == "kind":
        v = normalize(value)
        if v == "any":
            return "", []
        return f"{a}.kind = ?", ["organization" if v.startswith("org") else "person"]
    if key == "dnc":
        return f"{a}.dnc = ?", [1 if value.lower() in ("yes", "true") else 0]
    if key == "has":
        parts = []
        for v in _values(value):
            if v == "tags":
                parts.append(f"EXISTS (SELECT 1 FROM tags t WHERE t.contact_id = {a}.id)")
            else:
                parts.append(f"coalesce({a}.{HAS[v]}, '') <> ''")
        return " OR ".join(parts), []
    if key == "segment":
        return _segment_sql(term, ctx)
    if key in ("created", "updated"):
        cutoff, direction = _age_or_date(term, ctx)
        return f"{a}.{key}_at {'<' if direction == 'before' else '>='} ?", [cutoff]
    if key in ("last-contact", "last-purchase"):
        cutoff, direction = _age_or_date(term, ctx)
        kind = " AND i.kind = 'purchase'" if key == "last-purchase" else ""
        recent = f"EXISTS (SELECT 1 FROM interactions i WHERE i.contact_id = {a}.id{kind} AND i.happened_at >= ?)"
        if direction == "before":
            # "last contact more than 90 days ago": nothing since the cutoff. Never contacted counts
            # for last-contact; last-purchase needs at least one purchase (a customer gone quiet).
            if key == "last-purchase":
                ever = f"EXISTS (SELECT 1 FROM interactions i WHERE i.contact_id = {a}.id{kind})"
                return f"{ever} AND NOT {recent}", [cutoff]
            return f"NOT {recent}", [cutoff]
        return recent, [cutoff]
    if key == "orders":
        sql = f"(SELECT count(*) FROM interactions i WHERE i.contact_id = {a}.id AND i.kind = 'purchase')"
        return f"{sql} {term.op} ?", [int(value)]
    if key == "spent":
        from crm_cli import settings
        from crm_cli.money import parse_amount

        currency = settings.default_currency(ctx.conn)
        sql = (
            f"(SELECT coalesce(sum(i.amount), 0) FROM interactions i WHERE i.contact_id = {a}.id "
            f"AND i.kind = 'purchase' AND coalesce(i.currency, ?) = ?)"
        )
        return f"{sql} {term.op} ?", [currency, currency, parse_amount(value)]
    raise InvalidInput(f"unknown filter term {str(term)!r}; known terms: {known_terms()}")


def _segment_sql(term: Term, ctx: Context) -> tuple[str, list]:
    from crm_cli import segments

    parts, params = [], []
    for name in term.value.split(","):
        name = name.strip()
        if name in ctx.seen_segments:
            raise InvalidInput(f"segment {name!r} refers to itself through {' -> '.join(ctx.seen_segments)}")
        inner_ctx = Context(ctx.conn, ctx.now, ctx.alias, (*ctx.seen_segments, name))
        inner = parse(segments.expression(ctx.conn, name))
        sql, args = to_sql(inner, inner_ctx)
        parts.append(f"({sql})")
        params += args
    return " OR ".join(parts), params


def validate(expression: str, conn: sqlite3.Connection, now: datetime) -> Filter:
    """Parse and build once, so every error (unknown segment, bad date) surfaces before use."""
    flt = parse(expression)
    to_sql(flt, Context(conn, now))
    return flt
