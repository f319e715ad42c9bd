"""Reading the files people import: bytes -> text -> records, whatever produced them.

- Encoding: a BOM decides (UTF-8, UTF-16, UTF-32); else strict UTF-8; else UTF-16 without a BOM (NUL
  bytes in every other position); else charset-normalizer's best guess (cp1256 for Arabic Excel, latin-1
  / cp1252 for Western Excel). `--encoding` forces one. Reading cp1256 as latin-1 "succeeds" with garbage,
  so we never fall back to latin-1 blindly (PITFALLS.md).
- CSV/TSV: the delimiter is sniffed from the header line (`,` `;` tab `|`: the one that splits it into
  the most known columns, then the most columns); csv.Sniffer guesses wrong on semicolons. Quoted fields
  may hold newlines; each record keeps the line number where it starts. Fields are capped at 1 MiB, and
  a quote left open at the end of the file (which would swallow every row after it) refuses the file.
- JSON: an array of objects; NDJSON: one object per line; vCard: see vcard.py.

Every record is a Record(line, values): `values` maps the source's column names to raw values
(strings for CSV, any JSON value for JSON).
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crm_cli.errors import InvalidInput

FORMATS = ("csv", "tsv", "json", "ndjson", "vcard")
_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".vcf": "vcard",
    ".vcard": "vcard",
}
FIELD_LIMIT = 1 << 20  # 1 MiB per CSV field: bigger is a broken file, not a contact
_DELIMITERS = (",", ";", "\t", "|")


@dataclass
class Record:
    line: int  # where the record starts in the file (1-based); for JSON arrays the element number
    values: dict
    label: str = ""  # how to name it in messages besides the line (vCard: the card's name)
    raw: object = None  # what to write to the reject file (CSV: the row's cells; vCard: the card text)
    refused: tuple[str, str] | None = None  # (column, reason): a value the row cannot hold (JSON list as a name)


class CsvRecord:
    """A Record of one CSV row whose `values` (header -> cell) is built when first read: the contact
    importer's shortcut for simple mappings reads the cells by position and never needs it."""

    __slots__ = ("line", "raw", "_header", "_values")
    label = ""
    refused = None

    def __init__(self, line: int, header: list[str], row: list[str]):
        self.line, self.raw, self._header, self._values = line, row, header, None

    @property
    def values(self) -> dict:
        if self._values is None:
            self._values = dict(zip(self._header, self.raw, strict=False))
        return self._values

    def __eq__(self, other) -> bool:
        return isinstance(other, CsvRecord | Record) and (self.line, self.values, self.label, self.raw) == (
            other.line,
            other.values,
            other.label,
            other.raw,
        )

    __hash__ = None

    def __repr__(self) -> str:
        return f"Record(line={self.line!r}, values={self.values!r}, label='', raw={self.raw!r})"


@dataclass
class Source:
    """A file opened for import: its name, format, decoded text and how it was read."""

    name: str  # path as given, or "-" for stdin
    format: str
    text: str
    encoding: str
    detected: bool = False  # encoding guessed (not UTF-8/BOM/forced): worth telling the user
    delimiter: str | None = None
    headers: list[str] = field(default_factory=list)
    size: int = 0

    @property
    def is_stdin(self) -> bool:
        return self.name == "-"


def detect_format(name: str, forced: str | None) -> str:
    if forced:
        fmt = forced.strip().lower()
        fmt = {"vcf": "vcard", "jsonl": "ndjson", "txt": "csv"}.get(fmt, fmt)
        if fmt not in FORMATS:
            raise InvalidInput(f"unknown --format {forced!r}; choose one of: {', '.join(FORMATS)}")
        return fmt
    if name == "-":
        raise InvalidInput("reading stdin needs --format (csv, tsv, json, ndjson or vcard)")
    suffix = Path(name).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise InvalidInput(
            f"cannot tell the format of {name!r} from its extension; add --format csv|tsv|json|ndjson|vcard"
        )
    return _EXTENSIONS[suffix]


def read_bytes(name: str) -> bytes:
    if name == "-":
        stream = sys.stdin
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            return buffer.read()
        return stream.read().encode("utf-8")  # tests hand us a text stream
    path = Path(name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"no such file {name!r}") from None
    except IsADirectoryError:
        raise InvalidInput(f"{name!r} is a directory; give a file") from None
    except PermissionError:
        raise InvalidInput(f"cannot read {name!r}: permission denied") from None


def decode(data: bytes, forced: str | None = None) -> tuple[str, str, bool]:
    """bytes -> (text, encoding name, was it guessed)."""
    import codecs

    if forced:
        try:
            codecs.lookup(forced)
        except LookupError:
            raise InvalidInput(f"unknown --encoding {forced!r}; e.g. utf-8, utf-16, cp1256, latin-1") from None
        try:
            return _strip_bom(data.decode(forced)), forced, False
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InvalidInput(f"cannot read line {line} as {forced}: {exc.reason}; try another --encoding") from None
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return _strip_bom(data.decode(name)), name, False
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"the file starts like {name} but is not: {exc.reason}; use --encoding") from None
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        pass
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(b"\x00") * 3 > len(sample):
        # UTF-16 without a BOM: NULs sit in the high byte of ASCII characters.
        name = "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
        try:
            return data.decode(name), name, True
        except UnicodeDecodeError:
            pass
    return _guess_single_byte(data)


# Weighing guesses. On a short file charset-normalizer has too little to go on and reads three Arabic
# words in Windows-1256 as cp932 or mac_latin2. So the detector's guess is one candidate among cp1256
# (Arabic Excel) and cp1252 (Western Excel, a superset of Latin-1's printable range), and the one whose
# text is most plausible wins: each run of letters holding a non-ASCII byte must read as one script
# (Arabic letters, or Latin with its accents, ...), without box-drawing / math symbols or control
# characters, and without an accented capital inside a lower-case word (cp1252 reading cp1256 gives
# "ÚáÌ"). Ties go to cp1256 when its reading holds Arabic letters, else to cp1252, then to the detector.
_HIGH_LINES = re.compile(rb"[^\n]*[\x80-\xff][^\n]*")
_WORDS = re.compile(r"[A-Za-z]*[^\x00-\x7f]+(?:[A-Za-z]+[^\x00-\x7f]+)*[A-Za-z]*")
_SCRIPTS = {"CJK": "CJK", "HIRAGANA": "CJK", "KATAKANA": "CJK"}
_KNOWN_SCRIPTS = frozenset(
    [
        "LATIN",
        "ARABIC",
        "CYRILLIC",
        "GREEK",
        "HEBREW",
        "THAI",
        "ARMENIAN",
        "GEORGIAN",
        "HANGUL",
        "DEVANAGARI",
        "HALFWIDTH",
        "FULLWIDTH",
    ]
)
_SAMPLE = 1 << 16  # bytes of lines holding non-ASCII bytes weighed per candidate


def _guess_single_byte(data: bytes) -> tuple[str, str, bool]:
    sample = _high_sample(data)
    arabic_bad, has_arabic = _implausible(sample, "cp1256")
    if arabic_bad == 0 and has_arabic:
        # Every non-ASCII word reads as clean Arabic: nothing can beat cp1256, skip the detector.
        try:
            return data.decode("cp1256"), "cp1256", True
        except UnicodeDecodeError:  # pragma: no cover - cp1256 maps every byte
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    guess = best.encoding if best is not None and best.encoding else None
    order = ["cp1256", "cp1252"] if has_arabic else ["cp1252", "cp1256"]
    if guess is not None and _codec(guess) not in {_codec(n) for n in order}:
        order.append(guess)
    scored = []
    for rank, name in enumerate(order):
        bad = arabic_bad if name == "cp1256" else _implausible(sample, name)[0]
        if bad is not None:
            scored.append((bad, rank, name))
    for bad, _rank, name in sorted(scored):
        if guess is None and bad:
            break  # the detector saw no text at all (binary) and no candidate reads cleanly either
        try:
            return data.decode(name), name, True
        except UnicodeDecodeError:
            continue
    if guess is None:
        raise InvalidInput("cannot tell the file's text encoding; give it with --encoding (e.g. cp1256, latin-1)")
    raise InvalidInput(f"the file looks like {guess} but does not decode as it; give the encoding with --encoding")


def _codec(name: str) -> str:
    import codecs

    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def _high_sample(data: bytes) -> bytes:
    """The first lines holding a non-ASCII byte, up to _SAMPLE bytes: all the text a guess can differ on."""
    parts, size = [], 0
    for match in _HIGH_LINES.finditer(data):
        parts.append(match.group())
        size += len(match.group())
        if size >= _SAMPLE:
            break
    return b"\n".join(parts)


def _implausible(sample: bytes, encoding: str) -> tuple[int | None, bool]:
    """(non-ASCII characters in words that do not read as text, does any word hold Arabic letters);
    None when the sample does not decode (a multi-byte character cut at the sample's end is let pass)."""
    import unicodedata

    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:
            return None, False
        text = sample[: exc.start].decode(encoding, errors="replace")
    except LookupError:
        return None, False
    from collections import Counter

    bad, arabic = 0, False
    for run, count in Counter(_WORDS.findall(text)).items():
        # split at punctuation and spaces (NBSP, quotes, the Arabic comma): each piece is one word
        piece: list[str] = []
        for ch in run + " ":
            if unicodedata.category(ch)[0] in "PZ":
                if piece:
                    word_bad, word_arabic = _word_bad(piece)
                    arabic = arabic or word_arabic
                    if word_bad:
                        bad += count * sum(1 for c in piece if c >= "\x80")
                    piece = []
            else:
                piece.append(ch)
    return bad, arabic


def _word_bad(word: list[str]) -> tuple[bool, bool]:
    import unicodedata

    scripts = set()
    previous_lower = False
    for ch in word:
        category = unicodedata.category(ch)
        if category in ("Cc", "Co", "Cs", "Cn") or ch == "\ufffd":
            return True, False
        if category in ("So", "Sm", "Sk") and ch > "\xff":
            return True, False
        if category[0] in "LM":
            first = unicodedata.name(ch, "").split(" ", 1)[0]
            script = _SCRIPTS.get(first, first if first in _KNOWN_SCRIPTS else None)
            if script is not None:
                scripts.add(script)
            if previous_lower and ch.isupper() and ch > "\x7f":
                return True, False
            previous_lower = ch.islower()
    return len(scripts) > 1, scripts == {"ARABIC"}


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def open_source(name: str, *, fmt: str | None = None, encoding: str | None = None) -> Source:
    kind = detect_format(name, fmt)
    data = read_bytes(name)
    text, used, guessed = decode(data, encoding)
    return Source(name=name, format=kind, text=text, encoding=used, detected=guessed, size=len(data))


# ---------------------------------------------------------------------------------------------
# CSV


def sniff_delimiter(header_line: str, known) -> str:
    """The delimiter that splits the header into the most known columns, then the most columns."""
    best, best_score = ",", (-1, -1)
    for delimiter in _DELIMITERS:
        try:
            cells = next(csv.reader([header_line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        if len(cells) < 2 and delimiter != ",":
            continue
        score = (sum(1 for c in cells if known(c)), len(cells))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def csv_records(source: Source, known) -> Iterator[Record]:
    """Rows as Records keyed by header (duplicate headers get ' (2)', ' (3)' …). The header is read
    at once (source.headers is set when this returns); rows are read as they are consumed."""
    text = source.text
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not first_line.strip():
        raise InvalidInput(f"{_display(source)} has no header line; the first line must name the columns")
    if source.format == "tsv":
        source.delimiter = "\t"
    elif source.delimiter is None:
        source.delimiter = sniff_delimiter(first_line, known)
    old_limit = csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        csv.field_size_limit(old_limit)
        raise InvalidInput(f"cannot read the header of {_display(source)}: {exc or 'empty file'}") from None
    csv.field_size_limit(old_limit)
    source.headers = _unique_headers([h.strip().lstrip("\ufeff") for h in header])
    return _csv_rows(source, reader)


def _csv_rows(source: Source, reader) -> Iterator[Record]:
    header = source.headers
    width = len(header)
    previous_end = reader.line_num
    old_limit = csv.field_size_limit(FIELD_LIMIT)
    last: tuple[int, list[str]] | None = None  # (start line, cells) of the last row read
    try:
        try:
            for row in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if not row:
                    continue
                last = (start, row)
                first = row[0]
                if (not first or first.isspace()) and all(not cell.strip() for cell in row):
                    continue  # blank lines (and Excel's trailing ;;;;) are not records
                if len(row) > width:
                    if all(not c.strip() for c in row[width:]):
                        row = row[:width]
                    if len(row) > width:
                        values = dict(zip(header, row, strict=False))
                        values["__extra__"] = row[width:]
                        yield Record(start, values, "", row)
                        continue
                yield CsvRecord(start, header, row)
        except csv.Error as exc:
            reason = str(exc)
            if "field larger" in reason:
                reason = "a field is larger than 1 MiB (an unclosed quote?)"
            raise InvalidInput(f"cannot read line {previous_end + 1} of {_display(source)}: {reason}") from None
        if last is not None:
            _check_closed(source, *last)
    finally:
        csv.field_size_limit(old_limit)


def _check_closed(source: Source, start: int, row: list[str]) -> None:
    """Refuse a file whose last row leaves a quoted field open: Python's csv (like Excel) then reads the
    rest of the file as one field, so every row after the stray quote would vanish into it.

    Cheap for every file: only when the text ends with what an open field would look like (a quote, then
    the last cell with its quotes doubled) is the last row scanned to find the quote that opened it."""
    text = source.text
    tail = '"' + row[-1].replace('"', '""')
    if not text.endswith(tail):
        return
    stream = io.StringIO(text, newline="")
    for _ in range(start - 1):
        stream.readline()
    offset = stream.tell()
    at = open_quote(text[offset:], source.delimiter or ",")
    if at is None:
        return
    before = text[offset : offset + at]
    line = start + before.count("\n") + before.count("\r") - before.count("\r\n")
    raise InvalidInput(
        f"line {line} of {_display(source)} opens a quote that is never closed, so the rest of the file "
        "would be read as one field; close the quote or remove it and import again"
    )


def open_quote(text: str, delimiter: str) -> int | None:
    """Where the field left open at the end of `text` began (the offset of its quote), reading records
    exactly as the csv module does by default (non-strict, doubled quotes); None when all are closed."""
    state, opened = 0, None  # 0 start of a field, 1 plain field, 2 quoted field, 3 quote inside one
    breaks = (delimiter, "\r", "\n")
    for i, ch in enumerate(text):
        if state == 2:
            if ch == '"':
                state = 3
        elif state == 0:
            if ch == '"':
                state, opened = 2, i
            elif ch not in breaks:
                state = 1
        elif state == 1:
            if ch in breaks:
                state = 0
        elif ch == '"':
            state = 2
        else:
            state = 0 if ch in breaks else 1
    return opened if state == 2 else None


def _unique_headers(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for i, h in enumerate(headers):
        name = h or f"column {i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        result.append(name)
    return result


# ---------------------------------------------------------------------------------------------
# JSON


def json_records(source: Source) -> Iterator[Record]:
    import json

    if source.format == "ndjson":
        for number, line in enumerate(source.text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"line {number} of {_display(source)} is not JSON: {exc.msg}") from None
            if not isinstance(value, dict):
                raise InvalidInput(f"line {number} of {_display(source)} is not a JSON object")
            yield Record(number, value, raw=value)
        return
    try:
        document = json.loads(source.text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{_display(source)} is not JSON (line {exc.lineno}: {exc.msg}); "
            "for one object per line use --format ndjson"
        ) from None
    if isinstance(document, dict):
        # {"contacts": [...]} and similar wrappers
        lists = [v for v in document.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise InvalidInput(f"{_display(source)} must hold a JSON array of objects")
        document = lists[0]
    if not isinstance(document, list):
        raise InvalidInput(f"{_display(source)} must hold a JSON array of objects")
    for number, value in enumerate(document, start=1):
        if not isinstance(value, dict):
            raise InvalidInput(f"record {number} of {_display(source)} is not a JSON object")
        yield Record(number, value, label=f"record {number}", raw=value)


def _display(source: Source) -> str:
    return "stdin" if source.is_stdin else repr(source.name)
