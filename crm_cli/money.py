"""Exact money. Stored as INTEGER thousandths of the currency unit (SCALE); never a float.

Three decimals cover every currency our users hold (SAR/AED 2, KWD/BHD/OMR/JOD 3). JSON carries amounts
as exact decimal numbers (output.py writes them from Decimal, not float).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from crm_cli.errors import InvalidInput
from crm_cli.text import ascii_digits

SCALE = 1000
_AMOUNT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# Arabic decimal/thousands separators and the characters people paste around numbers.
_SEPARATORS = str.maketrans({"٫": ".", "٬": ",", "\u00a0": "", " ": "", "\u202f": ""})


def parse_amount(raw: str | int | float | Decimal, *, field: str = "amount", allow_negative=False) -> int:
    """'249.90', '1,200', '٢٤٩٫٩٠' -> thousandths (249900). Refuses more than three decimals."""
    text = ascii_digits(str(raw)).translate(_SEPARATORS).strip()
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", text):
        text = text.replace(",", "")
    if not _AMOUNT.fullmatch(text):
        raise InvalidInput(f"invalid {field} {raw!r}; use a number such as 249.90")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"invalid {field} {raw!r}; use a number such as 249.90") from None
    if value < 0 and not allow_negative:
        raise InvalidInput(f"invalid {field} {raw!r}: must not be negative")
    scaled = value * SCALE
    if scaled != scaled.to_integral_value():
        raise InvalidInput(f"invalid {field} {raw!r}: at most three decimal places")
    if abs(scaled) >= 2**62:
        raise InvalidInput(f"invalid {field} {raw!r}: too large")
    return int(scaled)


def to_decimal(stored: int | None) -> Decimal | None:
    """Thousandths -> Decimal with no trailing zeros beyond what is needed (6000, 249.9)."""
    if stored is None:
        return None
    value = Decimal(int(stored)) / SCALE
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def plain_sql(stored: str) -> str:
    """SQL giving the text output.plain(to_decimal(stored)) writes for the stored amount the SQL
    expression `stored` holds (NULL stays NULL): '6000', '249.9', '-0.005'. For piped listings whose
    lines SQLite builds (output.tsv_cells_sql); tests/test_output.py compares the two."""
    return (
        f"CASE WHEN {stored} IS NULL THEN NULL WHEN {stored} % {SCALE} = 0 THEN ({stored} / {SCALE}) || '' "
        f"ELSE CASE WHEN {stored} < 0 THEN '-' ELSE '' END || (abs({stored}) / {SCALE}) || '.' || "
        f"rtrim(printf('%03d', abs({stored}) % {SCALE}), '0') END"
    )


def plain_text(stored: int) -> str:
    """output.plain(to_decimal(stored)) without the Decimal: '6000', '249.9', '-0.005'."""
    whole, part = divmod(-stored if stored < 0 else stored, SCALE)
    sign = "-" if stored < 0 else ""
    return f"{sign}{whole}" if not part else f"{sign}{whole}.{part:03d}".rstrip("0")


def format_money(stored: int | None, currency: str | None = None) -> str:
    """For people: '12,000.00 SAR'."""
    if stored is None:
        return ""
    value = Decimal(int(stored)) / SCALE
    places = 3 if value.quantize(Decimal("0.01")) != value else 2
    text = f"{value:,.{places}f}"
    return f"{text} {currency}" if currency else text


def parse_currency(raw: str) -> str:
    code = (raw or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise InvalidInput(f"invalid currency {raw!r}; use a three-letter ISO code such as SAR, USD, EUR")
    return code
