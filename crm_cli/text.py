"""Text normalisation: one normalize() for search keys, references and duplicate detection."""

from __future__ import annotations

import re
import unicodedata

# Arabic harakat, Quranic marks, superscript alef; tatweel is removed too.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_LETTER_VARIANTS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
# Arabic-Indic (U+0660..) and Persian (U+06F0..) digits to ASCII.
_DIGITS = str.maketrans(
    {**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)}}
)
_SPACES = re.compile(r"\s+")
# Bidi marks pasted from Arabic text, and other invisible format characters.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Terminal control sequences and C0/C1 controls other than tab and newline.
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def ascii_digits(text: str) -> str:
    return text.translate(_DIGITS)


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def normalize(text: str | None) -> str:
    """NFKC, casefold, no Arabic diacritics or tatweel, unified alef/ya/ta-marbuta, ASCII digits,
    Latin accents removed, single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = strip_invisible(_ARABIC_MARKS.sub("", text)).translate(_LETTER_VARIANTS).translate(_DIGITS)
    # Latin diacritics (é -> e) without touching Arabic letters: decompose, drop combining marks.
    decomposed = unicodedata.normalize("NFD", text)
    text = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
    return _SPACES.sub(" ", text).strip()


def clean(text: str | None) -> str | None:
    """User text as stored: control sequences removed, NFC, trimmed; None for blank."""
    if text is None:
        return None
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text)).strip()
    return text or None
