"""Likely duplicate contacts: same e-mail or phone, or names that match across spellings and scripts.

No all-pairs comparison. Each contact gets a few blocking keys; only contacts sharing a key are compared:
- every e-mail (lower-cased) and every phone (its last 9 digits, so `0500001111` left unnormalised by
  older data meets `+966500001111`): score 1;
- the cleaned name's words, sorted (normalize(), punctuation and the article al-/el-/ال dropped):
  "same name" 1, "same name, words reordered" 0.97;
- the name's consonant skeleton: Latin and Arabic letters mapped to one consonant alphabet, vowels
  dropped, so "Mohammed Al-Harbi", "Mohamed Alharbi" and "محمد الحربي" all give `mhmd hrb`:
  0.9 + 0.08 x rapidfuzz similarity of the spellings;
- a name of 3+ words whose skeleton minus one word is another contact's skeleton (a middle or
  father's name missing on one side): 0.82 + 0.1 x rapidfuzz token-set ratio.
A name match loses 0.1 when both sides have e-mails and share none, and 0.1 for phones likewise.
Keys shared by more than MAX_BLOCK contacts are not expanded: a hundred different people called
"Mohammed Ahmed" are not duplicates of each other by name alone. Typos that change a consonant
("Alharvi") are not caught.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from functools import lru_cache

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
    return clean_key(normalize(name))


def clean_key(key: str) -> str:
    """clean_name() for text that is already normalize()d (contacts.name_key)."""
    tokens = []
    for token in _PUNCT.sub(" ", key).split():
        if token in _ARTICLES:
            continue
        arabic_article = token.startswith("ال") and len(token) > 3
        latin_article = token.startswith(("al", "el")) and len(token) > 5 and token[2] not in "aeiouy"
        if arabic_article or latin_article:
            token = token[2:]
        tokens.append(token)
    return " ".join(tokens)


@lru_cache(maxsize=200_000)
def skeleton_token(token: str) -> str:
    """One word -> consonant skeleton shared by its Latin and Arabic spellings (mohammed/محمد -> mhmd)."""
    if not token or any(ch.isdigit() for ch in token):
        return token  # numbers (branch 2, unit 880) must match exactly
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


def find(conn: sqlite3.Connection, *, min_score: float = DEFAULT_MIN_SCORE, limit: int | None = None) -> list[dict]:
    """Likely duplicate pairs, best first: {a, b, a_name, b_name, score, reason}."""
    import gc

    # Hundreds of thousands of small tuples: the cyclic GC alone cost 60% of the time at 100k contacts.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _find(conn, min_score, limit)
    finally:
        if enabled:
            gc.enable()


def _find(conn: sqlite3.Connection, min_score: float, limit: int | None) -> list[dict]:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Indel

    people: dict[int, str] = {}
    cleaned: dict[int, str] = {}
    sorted_clean: dict[int, str] = {}
    skeletons: dict[int, list[str]] = {}
    exact_blocks: dict[tuple, list[int]] = defaultdict(list)
    skeleton_blocks: dict[tuple, list[int]] = defaultdict(list)
    longer: list[tuple[int, str]] = []  # names of 3+ words: may be another name plus a middle name
    for cid, name, name_key, kind in conn.execute(
        "SELECT id, name, name_key, kind FROM contacts WHERE NOT (dnc = 1 AND name LIKE 'forgotten #%')"
    ):
        people[cid] = name
        clean = clean_key(name_key)
        if not clean:
            continue
        tokens = sorted(clean.split())
        skel = skeleton(clean)
        cleaned[cid], sorted_clean[cid], skeletons[cid] = clean, " ".join(tokens), skel
        exact_blocks[(kind, sorted_clean[cid])].append(cid)
        if skel:
            skeleton_blocks[(kind, " ".join(sorted(skel)))].append(cid)
            if len(skel) > 2:
                longer.append((cid, kind))

    # Handles: contact_handles, plus the primary columns for older rows without a handle.
    handle_groups: dict[tuple, set[int]] = defaultdict(set)
    emails: dict[int, set[str]] = defaultdict(set)
    phones: dict[int, set[str]] = defaultdict(set)
    for cid, kind, key in conn.execute(
        "SELECT contact_id, type, key FROM contact_handles "
        "UNION SELECT id, 'email', email FROM contacts WHERE email IS NOT NULL "
        "UNION SELECT id, 'phone', phone FROM contacts WHERE phone IS NOT NULL"
    ):
        if cid not in people:
            continue
        if kind == "email":
            value = key.strip().lower()
            emails[cid].add(value)
        else:
            value = _phone_tail(key)
            if not value:
                continue
            phones[cid].add(value)
        handle_groups[(kind, value)].add(cid)

    pairs: dict[tuple[int, int], tuple[float, list[str]]] = {}
    for (kind, _), ids in handle_groups.items():
        if len(ids) < 2 or len(ids) > MAX_BLOCK:
            continue
        label = "same e-mail" if kind == "email" else "same phone"
        ordered = sorted(ids)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                old = pairs.get((a, b))
                pairs[(a, b)] = (1.0, [*old[1], label] if old else [label])

    names: dict[tuple[int, int], tuple[float, str]] = {}

    def each_pair(blocks: dict[tuple, list[int]]):
        for ids in blocks.values():
            if len(ids) < 2 or len(ids) > MAX_BLOCK:
                continue
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    pair = (a, b) if a < b else (b, a)
                    if pair not in names:
                        yield pair

    # Same words (cheap), then same skeleton (one ratio), then one name = the other plus one word
    # (a middle or father's name missing on one side: "Mohammed Salem Al-Harbi" / "Mohamed Alharbi").
    for a, b in each_pair(exact_blocks):
        names[(a, b)] = (1.0, "same name") if cleaned[a] == cleaned[b] else (0.97, "same name, words reordered")
    for a, b in each_pair(skeleton_blocks):
        score = 0.9 + 0.08 * Indel.normalized_similarity(sorted_clean[a], sorted_clean[b])
        names[(a, b)] = (round(score, 3), "same name in another spelling")
    for a, kind in longer:
        skel = skeletons[a]
        for drop in range(len(skel)):
            shorter = skeleton_blocks.get((kind, " ".join(sorted(skel[:drop] + skel[drop + 1 :]))))
            if not shorter or len(shorter) > MAX_BLOCK:
                continue
            for b in shorter:
                pair = (a, b) if a < b else (b, a)
                if pair not in names:
                    score = 0.82 + 0.1 * fuzz.token_set_ratio(cleaned[a], cleaned[b]) / 100
                    names[pair] = (round(score, 3), "same name with one more word")

    for (a, b), (score, reason) in names.items():
        reasons = [reason]
        if emails.get(a) and emails.get(b) and not emails[a] & emails[b]:
            score -= 0.1
            reasons.append("different e-mails")
        if phones.get(a) and phones.get(b) and not phones[a] & phones[b]:
            score -= 0.1
            reasons.append("different phones")
        if score < min_score:
            continue
        old = pairs.get((a, b))
        pairs[(a, b)] = (max(old[0], score), old[1] + reasons) if old else (round(score, 3), reasons)

    rows = [
        {"a": a, "b": b, "a_name": people[a], "b_name": people[b], "score": score, "reason": "; ".join(reasons)}
        for (a, b), (score, reasons) in pairs.items()
        if score >= min_score
    ]
    rows.sort(key=lambda r: (-r["score"], r["a"], r["b"]))
    return rows[:limit] if limit else rows
