"""Fuzzing the parsers with hypothesis: whatever a user types, only documented errors (CrmError
subclasses, which the CLI turns into one line and an exit code) may escape, never a ValueError,
OverflowError or sqlite3 error that would become "unexpected error"."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crm_cli import contact_info, dates, db, filters, money, text
from crm_cli.errors import CrmError

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FUZZ_FILES = settings(FUZZ, max_examples=50)  # each example is a whole in-process import

# Characters people actually type (and paste): Latin, Arabic letters and digits, Persian digits,
# separators, quotes, signs, bidi marks, whitespace, and a few odd ones.
ALPHABET = st.sampled_from(
    list("abcdefmnoprstwyzAMPZT0123456789 ,.:;/-+_'\"()@#%=<>!*")
    + list("٠١٢٣٤٥٦٧٨٩۰۱۲۳٤٥٦")
    + list("سارةأإآىهـمحدٱ")
    + ["\u200f", "\u200e", "\u00a0", "\t", "\n", "\x00", "é", "ß", "𝟙", "٫", "٬"]
)
typed = st.text(ALPHABET, max_size=40)
anything = st.one_of(typed, st.text(max_size=40))


def only_documented_errors(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except CrmError as exc:
        assert exc.message and "\n" not in exc.message.strip()
        return None


# ---------------------------------------------------------------------------------------------
# Filter language: parse, build SQL, and run the SQL.


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    connection = db.connect(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    with db.write(connection, "fuzz", at="2026-11-22T09:00:00Z"):
        connection.execute(
            "INSERT INTO segments (name, expr, created_at, updated_at) VALUES ('vip', 'tag:vip', 'x', 'x')"
        )
    yield connection
    connection.close()


KEYS = [*filters.EQUALITY, *filters.COMPARISON, "unknown", "tags", "http"]
OPS = [":", ">", "<", ">=", "<=", "="]
VALUES = st.one_of(
    typed,
    st.sampled_from(
        ["vip", "90d", "2026-01-01", "13/13/2026", "1000", "1,000.5", "customer", "organization", "any", "email",
         "yes", "no", "vip,cold", "-3d", "1445-09-15", "today", "next monday", ""]
    ),
)  # fmt: skip
term = st.builds(
    lambda neg, key, op, value: f"{neg}{key}{op}{value}",
    st.sampled_from(["", "-"]),
    st.sampled_from(KEYS),
    st.sampled_from(OPS),
    VALUES,
)
expression = st.lists(st.one_of(term, typed), max_size=5).map(" ".join)


@FUZZ
@given(expression)
@example('"unclosed')
@example("segment:vip segment:nope")
@example("created>99999999999d")
@example('"" - -- ---')
@example("spent>=1e400")
def test_filter_expressions(conn, expr):
    flt = only_documented_errors(filters.parse, expr)
    if flt is None:
        return
    built = only_documented_errors(lambda _expr: filters.to_sql(flt, filters.Context(conn, NOW)), expr)
    if built is None:
        return
    where, params = built
    conn.execute(f"SELECT count(*) FROM contacts c WHERE {where}", params).fetchone()  # valid SQL, always


@FUZZ
@given(st.lists(anything, max_size=4))
def test_filter_arguments_as_the_shell_splits_them(conn, parts):
    flt = only_documented_errors(filters.parse, parts)
    if flt is not None:
        built = only_documented_errors(
            lambda _text: filters.to_sql(flt, filters.Context(conn, NOW)), " ".join(p for p in parts)
        )
        if built is not None:
            conn.execute(f"SELECT count(*) FROM contacts c WHERE {built[0]}", built[1]).fetchone()


# ---------------------------------------------------------------------------------------------
# Dates

# Offsets and ages up to absurd sizes: spans over 200 years must be refused, not overflow.
MAX_OFFSET = 10**12

date_like = st.one_of(
    typed,
    st.builds(
        lambda a, sep, b, sep2, c, t: f"{a}{sep}{b}{sep2}{c}{t}",
        st.integers(-5, 100000),
        st.sampled_from(["-", "/", ".", " "]),
        st.integers(-5, 99),
        st.sampled_from(["-", "/", ".", " "]),
        st.integers(-5, 99999),
        st.sampled_from(["", " 15:30", " 25:61", "T10:00:00Z", " 3pm", " 13pm", "+05:00"]),
    ),
    st.builds(
        lambda sign, n, unit: f"{sign}{n}{unit}",
        st.sampled_from(["", "+", "-", "in "]),
        st.integers(0, MAX_OFFSET),
        st.sampled_from(["d", "w", "m", "y", " days", " weeks ago", " months", "x"]),
    ),
    st.sampled_from(["today", "tomorrow", "yesterday 15:00", "next monday", "last friday", "15 Nov 2026", "Nov"]),
)


@FUZZ
@given(date_like, st.sampled_from(dates.DATE_ORDERS))
@example("+99999999999d", "dmy")
@example("9999-12-31T23:59:59+14:00", "dmy")
@example("0001-01-01", "mdy")
@example("31/02/2026", "dmy")
def test_dates(raw, order):
    result = only_documented_errors(dates.parse_datetime, raw, NOW, order)
    if result is not None:
        assert result.tzinfo is not None
        db.utc_iso(result)  # storable
    only_documented_errors(dates.parse_date, raw, NOW, order)


@FUZZ
@given(st.one_of(typed, st.builds(lambda n, u: f"{n}{u}", st.integers(0, MAX_OFFSET), st.sampled_from("dwmy"))))
def test_ages(raw):
    only_documented_errors(dates.parse_age, raw)


# ---------------------------------------------------------------------------------------------
# Phones, e-mails, money, text

phone_like = st.one_of(
    typed,
    st.builds(
        lambda prefix, digits: prefix + digits,
        st.sampled_from(["", "+", "00", "+966", "05", "٠٥", "'", "+1 ", "tel:"]),
        st.text(st.sampled_from(list("0123456789٠١٢٣٤٥٦٧٨٩ -().x")), max_size=20),
    ),
)


@FUZZ
@given(phone_like, st.sampled_from([None, "SA", "AE", "US", "EG"]))
def test_phones(raw, region):
    phone = only_documented_errors(contact_info.normalize_phone, raw, region)
    if phone is not None:
        assert phone.e164.startswith("+") and phone.e164[1:].isdigit()
        again = contact_info.normalize_phone(phone.e164, None)  # E.164 round-trips without a region
        assert again.e164 == phone.e164


email_like = st.one_of(
    typed,
    st.emails().map(str),
    st.builds(
        lambda a, b, c: f"{a}@{b}.{c}",
        typed,
        typed,
        st.sampled_from(["com", "sa", "co", "x", "", "السعودية"]),
    ),
)


@FUZZ
@given(email_like)
def test_emails(raw):
    key = only_documented_errors(contact_info.normalize_email, raw)
    if key is not None:
        assert key == key.lower() and "@" in key
        assert contact_info.normalize_email(key) == key  # idempotent: the key is a fixed point


amount_like = st.one_of(
    typed,
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.integers().map(str),
    st.sampled_from(["1e400", "1E-7", "NaN", "Infinity", "٢٤٩٫٩٠", "1,200", "1,20", ".5", "5.", "-0", "+3"]),
)


@FUZZ
@given(amount_like)
def test_amounts(raw):
    value = only_documented_errors(money.parse_amount, raw)
    if value is not None:
        assert isinstance(value, int) and value >= 0
        assert money.parse_amount(str(money.to_decimal(value))) == value  # exact round trip
        money.format_money(value, "SAR")
    only_documented_errors(money.parse_currency, raw)


@FUZZ
@given(st.text(max_size=60))
def test_normalize_never_fails_and_is_idempotent(raw):
    once = text.normalize(raw)
    assert text.normalize(once) == once
    cleaned = text.clean(raw)
    assert cleaned is None or cleaned == cleaned.strip()


def test_sqlite_errors_never_escape_the_filter_builder(conn):
    """A regression guard for the FTS path: every free word becomes a safe MATCH query."""
    for word in ["'", "*", "NEAR(", "AND", "OR NOT", "^", "col:x", "a-b", "١٢", "ـ", "\\", "a*b", "(x)"]:
        built = only_documented_errors(lambda w: filters.to_sql(filters.parse([w]), filters.Context(conn, NOW)), word)
        if built is None:
            continue
        where, params = built
        try:
            conn.execute(f"SELECT count(*) FROM contacts c WHERE {where}", params).fetchone()
        except sqlite3.Error as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{word!r}: {exc}")


@pytest.mark.parametrize(
    "call",
    [
        lambda conn: dates.parse_age("3000000y"),
        lambda conn: dates.parse_age("143000000w"),
        lambda conn: dates.parse_datetime("+99999999999d", NOW),
        lambda conn: dates.parse_datetime("+3000000y", NOW),
        lambda conn: filters.to_sql(filters.parse("created>99999999999d"), filters.Context(conn, NOW)),
        lambda conn: filters.to_sql(filters.parse("last-contact>5000y"), filters.Context(conn, NOW)),
    ],
)
def test_huge_offsets_are_refused_cleanly(conn, call):
    with contextlib.suppress(CrmError):
        call(conn)


# ---------------------------------------------------------------------------------------------
# Importers: whatever file arrives, the import ends with a documented exit code and one error line.

HEADERS = ["Name", "name", "Email", "E-mail 1 - Value", "Phone", "Mobile Phone", "Company", "City", "Tags",
           "Notes", "First Name", "Last Name", "Birthday", "Status", "Source", "dnc", "Unknown", "\ufeffName",
           ""]  # fmt: skip
CELLS = st.one_of(
    typed,
    st.sampled_from(["sara@example.com", "SARA@EXAMPLE.COM", "+966501234567", "0501234567", "9.66501E+11",
                     "'+966501234567", "=1+2", "vip;retail", "1990-03-15", "--0315", "31/02/2026", "customer",
                     "yes", '"', '""', "\r", "a\nb", "x" * 300]),
)  # fmt: skip


def _csv_text(header, rows, delimiter):
    def cell(value):
        return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in f'"\n\r{delimiter}') else value

    lines = [delimiter.join(cell(h) for h in header)]
    lines += [delimiter.join(cell(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


csv_files = st.builds(
    lambda header, rows, delimiter, raw, encoding, cut: (_csv_text(header, rows, delimiter), raw, encoding, cut),
    st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6),
    st.lists(st.lists(CELLS, max_size=7), max_size=5),
    st.sampled_from([",", ";", "\t", "|"]),
    st.booleans(),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1256", "latin-1"]),
    st.integers(0, 400),
)

VCARD_LINES = ["BEGIN:VCARD", "END:VCARD", "VERSION:2.1", "VERSION:3.0", "VERSION:4.0", "FN:سارة الحداد",
               "N:Haddad;Sara;;;", "EMAIL;TYPE=INTERNET:sara@example.com", "EMAIL:broken@", "TEL;CELL:+966501234567",
               "item1.TEL:0501234567", "item1.X-ABLabel:work", "BDAY:--0315", "BDAY:1445-09-15",
               "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D8=B3=D8=A7=D8=B1=D8=A9", "NOTE:line one\\nline two",
               " folded continuation", "PHOTO;ENCODING=b;TYPE=JPEG:AAAA", "ORG:Acme;Sales", "CATEGORIES:vip,retail",
               "X-UNKNOWN:?", ":", "FN:", "BEGIN:VCARD", "=", "FN;ENCODING=QUOTED-PRINTABLE:=E2=80=", ""]  # fmt: skip


def _run_import(tmp_path_factory, data: bytes, suffix: str):
    from tests.conftest import Crm

    folder = tmp_path_factory.getbasetemp() / "fuzz-import"
    folder.mkdir(exist_ok=True)
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    result = Crm()("contact", "import", str(path), "--dry-run", "--db", str(folder / "fuzz.db"))
    assert result.exit_code in (0, 2, 3, 4), (result.exit_code, result.stderr[-500:])
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, result.stderr[-500:]
    if result.exit_code:
        assert result.stderr.splitlines()[-1].startswith("crm: ")


@FUZZ_FILES
@given(csv_files)
def test_csv_import_files(tmp_path_factory, spec):
    text_, raw, encoding, cut = spec
    try:
        data = text_.encode(encoding)
    except UnicodeEncodeError:
        data = text_.encode("utf-8")
    if raw:
        data = data[: max(1, len(data) - cut)]  # truncated mid-row, maybe mid-character
    _run_import(tmp_path_factory, data, ".csv")


@FUZZ_FILES
@given(st.lists(st.sampled_from(VCARD_LINES), max_size=14), st.sampled_from(["\n", "\r\n"]), st.binary(max_size=20))
def test_vcard_import_files(tmp_path_factory, lines, newline, junk):
    data = newline.join(lines).encode("utf-8") + junk
    _run_import(tmp_path_factory, data, ".vcf")


@FUZZ_FILES
@given(st.binary(max_size=300), st.sampled_from([".csv", ".vcf", ".json", ".ndjson", ".tsv"]))
def test_arbitrary_bytes(tmp_path_factory, data, suffix):
    _run_import(tmp_path_factory, data, suffix)
