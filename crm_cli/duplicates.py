"""Likely duplicate contacts: same e-mail or phone, or names that match across spellings and scripts.

No all-pairs comparison. Each contact gets a few blocking keys; only contacts sharing a key are compared:
- every e-mail (lower-cased) and every phone (its last 9 digits, so `0500001111` left unnormalised by
  older data meets `+966500001111`);
- the name's consonant skeleton: normalize(), the article (al-, el-, ال) dropped, Latin and Arabic
  letters mapped to one consonant alphabet and vowels dropped, so "Mohammed Al-Harbi",
  "Mohamed Alharbi" and "محمد الحربي" all give `mhmd hrb`; keyed whole (tokens sorted) and by
  first + last token (a middle name may be missing on one side).
Pairs are then scored with rapidfuzz on the cleaned names (0-1). Very common keys (bigger than
MAX_BLOCK contacts) are not expanded: a hundred different people called "Mohammed Ahmed" are not
duplicates of each other by name alone.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict

from crm_cli.text import normalize

MAX_BLOCK = 60
DEFAULT_MIN_SCORE = 0.8

_PUNCT = re.compile(r"[\-_'’`.,()/\\\"]+")
_ARTICLES = {"al", "el", "ال"}

# Arabic letters (after normalize: alef forms unified, ة -> ه, ى -> ي) -> a Latin consonant alphabet.
# Long vowels and ع are "vowels" (dropped unless first); ث/ت -> t, ذ/ظ/ز -> z, ص/س -> s, ض/د -> d …
_ARABIC = {
    "ا": "a", "ء": "", "ؤ": "w", "ئ": "y", "ب": "b", "ت": "t", "ث": "t", "ج": "j", "ح": "h", "خ": "x",
    "د": "d", "ذ": "z", "ر": "r", "ز": "z", "س": "s", "ش": "$", "ص": "s", "ض": "d", "ط": "t", "ظ": "z",
    "ع": "a", "غ": "g", "ف": "f", "ق": "k", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h", "و": "w",
    "ي": "y", "پ": "b", "چ": "$", "ژ": "j", "گ": "g", "ک": "k", "ی": "y",
}  # fmt: skip
_LATIN_DIGRAPHS = (("sh", "$"), ("ch", "$"), ("kh", "x"), ("th", "t"), ("dh", "z"), ("gh", "g"), ("ph", "f"))
_LATIN = str.maketrans({"c": "k", "q": "k", "z": "z", "v": "f", "p": "b", "g": "g", "e": "a", "i": "a",
                        "o": "a", "u": "a", "y": "y", "w": "w"})  # fmt: skip


def clean_name(name: str | None) -> str:
    """normalize(), punctuation to spaces, the Arabic/Latin article dropped: 'Mohammed Al-Harbi' ->
    'mohammed harbi', 'Mohamed Alharbi' -> 'mohamed harbi', 'محمد الحربي' -> 'محمد حربي'."""
    tokens = []
    for token in _PUNCT.sub(" ", normalize(name)).split():
        if token in _ARTICLES:
            continue
        if token.startswith("ال") and len(token) > 3:
            token = token[2:]
        elif token.startswith(("al", "el")) and len(token) > 5 and token[2] not in "aeiouy":
            token = token[2:]
        tokens.append(token)
    return " ".join(tokens)


def skeleton_token(token: str) -> str:
    """One word -> consonant skeleton shared by its Latin and Arabic spellings (mohammed/محمد -> mhmd)."""
    if not token:
        return ""
    if any("\u0600" <= ch <= "\u06ff" for ch in token):
        letters = "".join(_ARABIC.get(ch, ch if ch.isalnum() else "") for ch in token)
    else:
        letters = token
        for digraph, sound in _LATIN_DIGRAPHS:
            letters = letters.replace(digraph, sound)
        letters = letters.translate(_LATIN)
    if not letters:
        return ""
    out = [letters[0]]
    for ch in letters[1:]:
        if ch in "ayw" or ch == out[-1]:
            continue
        out.append(ch)
    if len(out) > 2 and out[-1] == "h":
        out.pop()
    return "".join(out)


def skeleton(clean: str) -> list[str]:
    return [s for s in (skeleton_token(t) for t in clean.split()) if s]


def _phone_tail(key: str | None) -> str | None:
    digits = re.sub(r"\D", "", key or "")
    return digits[-9:] if len(digits) >= 9 else None


def name_score(a: str, b: str, skel_a: list[str], skel_b: list[str]) -> tuple[float, str]:
    """Score two cleaned names 0-1 and say why."""
    from rapidfuzz import fuzz

    if not a or not b:
        return 0.0, ""
    if a == b:
        return 1.0, "same name"
    if sorted(a.split()) == sorted(b.split()):
        return 0.97, "same name, words reordered"
    sort = fuzz.token_sort_ratio(a, b) / 100
    multi = len(a.split()) > 1 and len(b.split()) > 1
    subset = fuzz.token_set_ratio(a, b) / 100 * 0.92 if multi else 0.0
    sa, sb = " ".join(sorted(skel_a)), " ".join(sorted(skel_b))
    skel = 0.0
    if sa and sa == sb:
        skel = 0.9 + 0.08 * sort
    elif sa and sb and multi:
        skel = 0.85 * fuzz.token_set_ratio(sa, sb) / 100
    best = max(sort, subset, skel)
    if best == sort:
        reason = "similar name"
    elif best == skel:
        reason = "same name in another spelling" if sa == sb else "similar name in another spelling"
    else:
        reason = "one name contains the other"
    return round(best, 3), reason


def find(conn: sqlite3.Connection, *, min_score: float = DEFAULT_MIN_SCORE, limit: int | None = None) -> list[dict]:
    """Likely duplicate pairs, best first: {a, b, a_name, b_name, score, reason}."""
    people: dict[int, tuple[str, str]] = {}  # id -> (name, kind)
    cleaned: dict[int, str] = {}
    skeletons: dict[int, list[str]] = {}
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for cid, name, kind in conn.execute(
        "SELECT id, name, kind FROM contacts WHERE NOT (dnc = 1 AND name LIKE 'forgotten #%')"
    ):
        people[cid] = (name, kind)
        clean = clean_name(name)
        skel = skeleton(clean)
        cleaned[cid], skeletons[cid] = clean, skel
        if clean:
            blocks[("n", kind, " ".join(sorted(clean.split())))].append(cid)
        if skel:
            blocks[("s", kind, " ".join(sorted(skel)))].append(cid)
            if len(skel) > 2:
                blocks[("fl", kind, skel[0], skel[-1])].append(cid)
    # Handles: contact_handles, plus the primary columns for older rows without a handle.
    handle_groups: dict[tuple, set[int]] = defaultdict(set)
    for cid, kind, key in conn.execute(
        "SELECT contact_id, type, key FROM contact_handles "
        "UNION SELECT id, 'email', email FROM contacts WHERE email IS NOT NULL "
        "UNION SELECT id, 'phone', phone FROM contacts WHERE phone IS NOT NULL"
    ):
        if cid not in people:
            continue
        if kind == "email":
            handle_groups[("email", key.strip().lower())].add(cid)
        else:
            tail = _phone_tail(key)
            if tail:
                handle_groups[("phone", tail)].add(cid)

    pairs: dict[tuple[int, int], tuple[float, list[str]]] = {}

    def note(a: int, b: int, score: float, reason: str) -> None:
        key = (a, b) if a < b else (b, a)
        old = pairs.get(key)
        if old is None:
            pairs[key] = (score, [reason])
        elif reason not in old[1]:
            pairs[key] = (max(old[0], score), [*old[1], reason])

    for (kind, _), ids in handle_groups.items():
        ids_sorted = sorted(ids)
        if len(ids_sorted) < 2 or len(ids_sorted) > MAX_BLOCK:
            continue
        label = "same e-mail" if kind == "email" else "same phone"
        for i, a in enumerate(ids_sorted):
            for b in ids_sorted[i + 1 :]:
                note(a, b, 1.0, label)

    compared: set[tuple[int, int]] = set()
    for key, ids in blocks.items():
        if len(ids) < 2 or len(ids) > MAX_BLOCK:
            continue
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                pair = (a, b) if a < b else (b, a)
                if pair in compared:
                    continue
                compared.add(pair)
                score, reason = name_score(cleaned[a], cleaned[b], skeletons[a], skeletons[b])
                if score >= min_score:
                    note(a, b, score, reason)

    rows = [
        {
            "a": a,
            "b": b,
            "a_name": people[a][0],
            "b_name": people[b][0],
            "score": score,
            "reason": "; ".join(reasons),
        }
        for (a, b), (score, reasons) in pairs.items()
        if score >= min_score
    ]
    rows.sort(key=lambda r: (-r["score"], r["a"], r["b"]))
    return rows[:limit] if limit else rows
