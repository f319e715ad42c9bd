"""The one renderer: rows -> table | tsv | json | ndjson | csv; documents -> json | a rich view.

- On a terminal: a rich table (data passed as Text, never markup: `[VIP]` stays `[VIP]`).
- Piped with no format flag: tab-separated lines, no header, no colour (gh's convention).
- `--json`: an array of row objects (every key of the row, not only the shown columns); `--ndjson` one
  object per line; `--csv`: header + rows, spreadsheet-safe (formula-looking cells prefixed with `'`
  unless --raw). Money is an exact JSON number written from Decimal; instants are ISO-8601 UTC.
- Writes print the new id alone on stdout; everything meant for people goes to stderr (info()).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date, datetime
from itertools import chain

from crm_cli import env as envmod

# json, csv, decimal and re load inside the functions that use them: every command imports this
# module, and most print a few TSV lines or an id (start-up budget, see benchmarks/README.md).

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


class Column:
    """One column of a listing (a plain class: a dataclass cost every run ~0.4 ms to build)."""

    __slots__ = ("key", "header", "kind", "currency_key")

    def __init__(self, key: str, header: str | None = None, kind: str = "text", currency_key: str | None = None):
        self.key = key
        self.header = header
        self.kind = kind  # text | int | money | pct | datetime | date | bar | spark
        self.currency_key = currency_key  # money: the row key holding its currency

    def __repr__(self) -> str:
        return (
            f"Column(key={self.key!r}, header={self.header!r}, kind={self.kind!r}, currency_key={self.currency_key!r})"
        )

    def __eq__(self, other) -> bool:
        if not isinstance(other, Column):
            return NotImplemented
        return (self.key, self.header, self.kind, self.currency_key) == (
            other.key,
            other.header,
            other.kind,
            other.currency_key,
        )

    __hash__ = None  # like the dataclass it replaces (eq without frozen)

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ")


# ---------------------------------------------------------------------------------------------
# Values


def _scalar(value):
    """json's `default` hook. Decimal -> exact JSON number: int when integral, float when its
    shortest repr is the same decimal (<= 15 significant digits), else a string."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        if len(value.normalize().as_tuple().digits) <= 15:
            return float(value)
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(doc, *, indent: int | None = 2) -> str:
    import json

    return json.dumps(doc, ensure_ascii=False, indent=indent, default=_scalar)


def _write_json_array(out, rows: Iterable[dict]) -> None:
    """A JSON array with one compact object per line: readable, streamed, and fast (the C encoder
    only runs without indent; indent=2 made 50k rows take seconds)."""
    import json

    out.write("[")
    first = True
    for row in rows:
        out.write("\n" if first else ",\n")
        out.write(json.dumps(row, ensure_ascii=False, default=_scalar))
        first = False
    out.write("\n]\n" if not first else "]\n")


def plain(value, column: Column | None = None) -> str:
    """A value as text for tsv/csv: no thousands separators, ISO dates, exact decimals."""
    kind = type(value)
    if kind is str:  # most cells: answer before the isinstance chain (large listings)
        return value
    if value is None:
        return ""
    if kind is int:
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(plain(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    if kind.__name__ == "Decimal":
        from decimal import Decimal

        if isinstance(value, Decimal):
            return str(_scalar(value))
    return str(value)


def human(value, column: Column, row: dict) -> str:
    from decimal import Decimal

    from crm_cli.dates import to_local

    if value is None or value == "":
        return ""
    if column.kind == "money":
        currency = row.get(column.currency_key) if column.currency_key else None
        amount = Decimal(value) if not isinstance(value, Decimal) else value
        places = 3 if amount.quantize(Decimal("0.01")) != amount else 2
        text = f"{amount:,.{places}f}"
        return f"{text} {currency}" if currency else text
    if column.kind == "pct":
        return f"{float(value) * 100:.1f}%"
    if column.kind == "int":
        return f"{int(value):,}"
    if column.kind == "datetime":
        return to_local(str(value))
    if column.kind == "date":
        return to_local(str(value), with_time=False)
    return plain(value)


_negative_number = None  # re.compile(r"-\d+(\.\d+)?") once the first formula-like cell shows up


def spreadsheet_safe(text: str) -> str:
    """OWASP CSV injection: a cell that a spreadsheet would run as a formula gets a leading '.
    A plain negative number (-0.25) is data, not a formula, and stays as it is."""
    global _negative_number
    if text.startswith(FORMULA_START):
        if _negative_number is None:
            import re

            _negative_number = re.compile(r"-\d+(\.\d+)?")
        if not _negative_number.fullmatch(text):
            return "'" + text
    return text


# ---------------------------------------------------------------------------------------------
# Streams


def _stdout():
    return sys.stdout


def info(message: str) -> None:
    """Human chatter: stderr, so stdout stays data."""
    print(message, file=sys.stderr)


def emit_id(record_id) -> None:
    print(record_id, file=_stdout())


def beside(columns: list[Column], key: str, extra: Column) -> list[Column]:
    """columns with `extra` right after the one keyed `key` (a currency beside its amount when piped)."""
    return [c for column in columns for c in ((column, extra) if column.key == key else (column,))]


def output_format() -> str:
    current = envmod.current()
    if current.output:
        return current.output
    return "table" if current.stdout_isatty else "tsv"


def console():
    from rich.console import Console

    tty = envmod.current().stdout_isatty
    # Piped: no colour and no 80-column wrapping; tables drop their box (see table()).
    return Console(
        file=_stdout(),
        highlight=False,
        soft_wrap=not tty,
        width=None if tty else 200,
        color_system="auto" if tty else None,
    )


def started(rows: Iterable) -> Iterator:
    """rows with their first item already taken: whatever a listing's query raises when it starts (an
    unknown filter term or segment, a bad date) is raised before any output, so stdout stays empty."""
    rows = iter(rows)
    for first in rows:
        return chain((first,), rows)
    return iter(())


def emit_rows(
    rows: Iterable[dict],
    columns: list[Column],
    *,
    title: str | None = None,
    empty: str = "nothing to show",
    footer: dict | None = None,
) -> None:
    """Render a list of records in the chosen format."""
    fmt = output_format()
    rows = started(rows)
    out = _stdout()
    if fmt == "json":
        _write_json_array(out, rows)
    elif fmt == "ndjson":
        for row in rows:
            out.write(dumps(row, indent=None) + "\n")
    elif fmt in ("csv", "tsv"):
        data_columns = [c for c in columns if c.kind not in ("bar", "spark")]
        if fmt == "csv":
            import csv

            raw = envmod.current().raw
            writer = csv.writer(out, lineterminator="\r\n" if envmod.current().excel else "\n")
            writer.writerow([c.key for c in data_columns])
            for row in rows:
                cells = [plain(row.get(c.key), c) for c in data_columns]
                writer.writerow(cells if raw else [spreadsheet_safe(x) for x in cells])
        else:
            keys = [c.key for c in data_columns]
            write_tsv(out, (map(row.get, keys) for row in rows), len(keys))
    else:
        rows = list(rows)
        if not rows:
            info(empty)
            return
        console().print(table(rows, columns, title=title, footer=footer))


def table(rows: list[dict], columns: list[Column], *, title: str | None = None, footer: dict | None = None):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    boxed = envmod.current().stdout_isatty
    grid = Table(
        title=title,
        show_footer=footer is not None,
        header_style="bold",
        title_justify="left",
        box=box.ROUNDED if boxed else None,
    )
    maxima = {c.key: max((float(r.get(c.key) or 0) for r in rows), default=0) for c in columns if c.kind == "bar"}
    for c in columns:
        justify = "right" if c.kind in ("int", "money", "pct") else "left"
        foot = Text(human(footer.get(c.key), c, footer)) if footer else ""
        grid.add_column(c.title, justify=justify, footer=foot, overflow="fold")
    for row in rows:
        cells = []
        for c in columns:
            if c.kind == "bar":
                cells.append(bar(float(row.get(c.key) or 0), maxima[c.key]))
            elif c.kind == "spark":
                cells.append(Text(sparkline(row.get(c.key) or []), style="cyan"))
            else:
                cells.append(Text(human(row.get(c.key), c, row)))
        grid.add_row(*cells)
    return grid


def bar(value: float, maximum: float, width: int = 24, style: str = "green"):
    from rich.text import Text

    if maximum <= 0 or value <= 0:
        return Text("")
    eighths = round(value / maximum * width * 8)
    full, part = divmod(eighths, 8)
    return Text("█" * full + ("" if not part else " ▏▎▍▌▋▊▉"[part]), style=style)


def sparkline(values: list[float]) -> str:
    ticks = "▁▂▃▄▅▆▇█"
    numbers = [float(v or 0) for v in values]
    if not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    if high == low:
        return ticks[0 if high == 0 else 3] * len(numbers)
    return "".join(ticks[int((v - low) / (high - low) * (len(ticks) - 1))] for v in numbers)


def write_tsv(out, rows: Iterable[Iterable], width: int) -> None:
    """Tab-separated lines, one per row of cell values: each cell as plain() writes it, with its tabs
    and newlines turned into spaces. The common case (str, None and int cells, no tab or newline
    inside) is answered without calling plain() or replace() per cell: large listings spend most of
    their Python time here."""
    tabs = width - 1
    write = out.write
    for values in rows:
        cells = [
            v if (t := type(v)) is str else "" if v is None else str(v) if t is int else _plain_fast(v, t)
            for v in values
        ]
        line = "\t".join(cells)
        if "\n" in line or line.count("\t") != tabs:
            line = "\t".join(x.replace("\t", " ").replace("\n", " ") for x in cells)
        write(line + "\n")


def _plain_fast(value, kind) -> str:
    """plain(value) for write_tsv, with a shortcut for the Decimals money.to_decimal makes (integral and
    quantized, or normalized): their str() is what plain() writes unless it has an exponent, a
    trailing zero, is -0, or is below 0.001 (where float's repr would switch to an exponent)."""
    if kind.__name__ == "Decimal":
        text = str(value)
        last = text[-1]
        if (
            last.isdigit()  # not NaN or Infinity
            and "E" not in text
            and (last != "0" or "." not in text)
            and text != "-0"
            and not text.startswith(("0.000", "-0.000"))
        ):
            return text
    return plain(value)


def tsv_cells_sql(values: list[str], plain: Collection[str] = ()) -> str:
    """SQL joining the cells of a TSV line as write_tsv() prints them, from SQL expressions whose values
    are text, integers or NULL (NULL -> '', tabs and newlines -> spaces, integers in decimal); ''
    for no values. For listings that let SQLite build their lines (one value per row to Python).
    Expressions in `plain` are already their cell (never NULL, no tab or newline: integers, amounts
    from money.plain_sql, fixed names) and are joined as they are, which saves two replace() per row."""
    cells = [v if v in plain else f"replace(replace(coalesce({v}, ''), char(9), ' '), char(10), ' ')" for v in values]
    return " || char(9) || ".join(cells) or "''"


def emit_lines(lines: Iterable[str]) -> None:
    """Lines already in the piped format, each ending in a newline (see tsv_cells_sql)."""
    _stdout().writelines(started(lines))


def emit_cells(rows: Iterable[Iterable], width: int) -> None:
    """Rows already reduced to the shown cells, in column order, in the piped format (write_tsv)."""
    write_tsv(_stdout(), started(rows), width)


def emit_doc(doc, render: Callable[[object], None] | None = None) -> None:
    """A single document (a contact with its timeline, a report with sections).

    JSON formats print it as JSON; otherwise `render(console)` draws it for people, or, piped
    without a renderer, it falls back to JSON.
    """
    fmt = output_format()
    if fmt in ("json", "ndjson") or render is None:
        _stdout().write(dumps(doc, indent=None if fmt == "ndjson" else 2) + "\n")
    else:
        render(console())
