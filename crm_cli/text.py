"""Text normalisation: one normalize() for search keys, references and duplicate detection."""

from __future__ import annotations

import unicodedata

# Character maps instead of regular expressions: compiling five patterns cost every run ~1 ms, and
# str.translate is as fast. Arabic harakat, Quranic marks, superscript alef and tatweel are removed.
_ARABIC_MARKS = dict.fromkeys([*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE), 0x0640])
# Bidi marks pasted from Arabic text, and other invisible format characters.
_INVISIBLE = dict.fromkeys([*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF])
_LETTER_VARIANTS = {ord(k): v for k, v in {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"}.items()}
# Arabic-Indic (U+0660..) and Persian (U+06F0..) digits to ASCII.
_DIGITS = {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)}}
# normalize() in one pass: marks and invisibles out, letter variants unified, digits to ASCII (no
# character is mapped to one that another entry maps again, so one table equals the four steps).
_NORMALIZE = {**_ARABIC_MARKS, **_INVISIBLE, **_LETTER_VARIANTS, **_DIGITS}
# Terminal control sequences and C0/C1 controls other than tab and newline (compiled on first use:
# text without control characters, nearly all of it, never needs it).
_CONTROL = r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f-\x9f]"


def ascii_digits(text: str) -> str:
    return text.translate(_DIGITS)


def strip_invisible(text: str) -> str:
    return text.translate(_INVISIBLE)


def normalize(text: str | None) -> str:
    """NFKC, casefold, no Arabic diacritics or tatweel, unified alef/ya/ta-marbuta, ASCII digits,
    Latin accents removed, single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_NORMALIZE)
    # Latin diacritics (é -> e) without touching Arabic letters: decompose, drop combining marks.
    decomposed = unicodedata.normalize("NFD", text)
    text = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
    return " ".join(text.split())  # runs of whitespace -> one space, trimmed (str.split() = regex \s)


def clean(text: str | None) -> str | None:
    """User text as stored: control sequences removed, NFC, trimmed; None for blank."""
    if text is None:
        return None
    if not text.isprintable():  # every control character is unprintable; most text has none
        import re

        text = re.sub(_CONTROL, "", text)
    text = unicodedata.normalize("NFC", text).strip()
    return text or None
