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
from functools import cache, lru_cache
from operator import itemgetter

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
    body = key[1:] if key and key[0] == "+" else key
    # \d is any Unicode decimal digit, exactly what isdecimal() accepts: the regex only for the rest
    digits = body if body and body.isdecimal() else re.sub(r"\D", "", key or "")
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


def _names(conn: sqlite3.Connection):
    """Every contact's cleaned name, sorted words and skeleton, and the blocks sharing them.

    clean_key() and skeleton() run once per distinct name_key (100k people share a few thousand names)."""
    people: dict[int, str] = {}
    cleaned: dict[int, str] = {}
    sorted_clean: dict[int, str] = {}
    skeletons: dict[int, list[str]] = {}
    exact_blocks: dict[tuple, list[int]] = defaultdict(list)
    skeleton_blocks: dict[tuple, list[int]] = defaultdict(list)
    longer: list[tuple[int, str]] = []  # names of 3+ words: may be another name plus a middle name
    keyed: dict[str, tuple | None] = {}
    for cid, name, name_key, kind in conn.execute(
        "SELECT id, name, name_key, kind FROM contacts WHERE NOT (dnc = 1 AND name LIKE 'forgotten #%')"
    ):
        people[cid] = name
        entry = keyed.get(name_key, False)
        if entry is False:
            clean = clean_key(name_key)
            if clean:
                skel = skeleton(clean)
                entry = (clean, " ".join(sorted(clean.split())), skel, " ".join(sorted(skel)))
            else:
                entry = None
            keyed[name_key] = entry
        if entry is None:
            continue
        clean, sorted_words, skel, skel_key = entry
        cleaned[cid], sorted_clean[cid], skeletons[cid] = clean, sorted_words, skel
        exact_blocks[(kind, sorted_words)].append(cid)
        if skel:
            skeleton_blocks[(kind, skel_key)].append(cid)
            if len(skel) > 2:
                longer.append((cid, kind))
    return people, cleaned, sorted_clean, skeletons, exact_blocks, skeleton_blocks, longer


def _handles(conn: sqlite3.Connection, people: dict[int, str]):
    """(type, e-mail or phone tail) -> contacts, and each contact's e-mails and phone tails."""
    # contact_handles, plus the primary columns for older rows without a handle.
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

    return handle_groups, emails, phones


def _name_groups(conn: sqlite3.Connection):
    """_names() for count(): the same blocks from one row per distinct (kind, name_key); people is a set."""
    people: set[int] = set()
    cleaned: dict[int, str] = {}
    sorted_clean: dict[int, str] = {}
    skeletons: dict[int, list[str]] = {}
    exact_blocks: dict[tuple, list[int]] = defaultdict(list)
    skeleton_blocks: dict[tuple, list[int]] = defaultdict(list)
    longer: list[tuple[int, str]] = []
    cursor = conn.cursor()
    cursor.row_factory = None
    for kind, name_key, id_list in cursor.execute(
        "SELECT kind, name_key, group_concat(id) FROM contacts WHERE NOT (dnc = 1 AND name LIKE 'forgotten #%') "
        "GROUP BY kind, name_key"
    ):
        ids = [int(i) for i in id_list.split(",")]
        people.update(ids)
        clean = clean_key(name_key)
        if not clean:
            continue
        skel = skeleton(clean)
        sorted_words = " ".join(sorted(clean.split()))
        cleaned.update(dict.fromkeys(ids, clean))
        sorted_clean.update(dict.fromkeys(ids, sorted_words))
        skeletons.update(dict.fromkeys(ids, skel))
        exact_blocks[(kind, sorted_words)].extend(ids)
        if skel:
            skeleton_blocks[(kind, " ".join(sorted(skel)))].extend(ids)
            if len(skel) > 2:
                longer.extend((cid, kind) for cid in ids)
    return people, cleaned, sorted_clean, skeletons, exact_blocks, skeleton_blocks, longer


def _find(conn: sqlite3.Connection, min_score: float, limit: int | None) -> list[dict]:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Indel

    people, cleaned, sorted_clean, skeletons, exact_blocks, skeleton_blocks, longer = _names(conn)

    handle_groups, emails, phones = _handles(conn, people)

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


def handle_rows(conn: sqlite3.Connection) -> tuple[list, list, list, list]:
    """The (contact, key) rows of contact_handles' e-mails and phones, and the primary (contact, email) and
    (contact, phone) columns: what count() reads (report quality checks the phones of the same rows)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    handles = cursor.execute("SELECT contact_id, type = 'email', key FROM contact_handles").fetchall()
    # one scan of the (wide) contacts table for both columns
    primary = cursor.execute(
        "SELECT id, email, phone FROM contacts WHERE email IS NOT NULL OR phone IS NOT NULL"
    ).fetchall()
    return (
        [(cid, key) for cid, is_email, key in handles if is_email],
        [(cid, key) for cid, is_email, key in handles if not is_email],
        [(cid, email) for cid, email, _ in primary if email is not None],
        [(cid, phone) for cid, _, phone in primary if phone is not None],
    )


def count(conn: sqlite3.Connection, *, min_score: float = DEFAULT_MIN_SCORE, rows: tuple | None = None) -> int:
    """len(find(conn, min_score=min_score)) without building the pairs (report quality's figure).

    A block's pairs are counted per class of its members, (cleaned name, has e-mails, has phones), assuming
    two members share no e-mail and no phone; the few pairs that do share one are then scored one by one
    (those are also the only name pairs that can be same-e-mail/same-phone pairs as well)."""
    if min_score > 1.0:
        return 0
    import gc

    enabled = gc.isenabled()
    gc.disable()  # as in find(): a hundred thousand small objects, no cycles
    try:
        return _count(conn, min_score, rows or handle_rows(conn))
    finally:
        if enabled:
            gc.enable()


def _count(conn: sqlite3.Connection, min_score: float, rows: tuple) -> int:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Indel

    people, cleaned, sorted_clean, skeletons, exact_blocks, skeleton_blocks, longer = _name_groups(conn)
    emails, phones, handle_groups = _shared_handles(rows, people)

    handle_pairs: set[tuple[int, int]] = set()
    shared: set[int] = set()  # contacts sharing an e-mail or phone with another contact
    for ids in handle_groups:
        shared.update(ids)
        if len(ids) <= MAX_BLOCK:
            ordered = sorted(ids)
            handle_pairs.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])

    def passes(score: float, email_penalty: bool, phone_penalty: bool) -> bool:
        # find(): minus 0.1 per penalty, kept if >= min_score, stored rounded, kept again if >= min_score
        if email_penalty:
            score -= 0.1
        if phone_penalty:
            score -= 0.1
        return score >= min_score and round(score, 3) >= min_score

    def count_block(members: list[int], group_of: dict[int, str], base) -> int:
        """Name pairs of one block kept by find() and not already same-e-mail/phone pairs; pairs within
        one group (group_of) are skipped when base is None for them."""
        classes: dict[tuple, int] = defaultdict(int)
        for c in members:
            classes[(group_of[c], c in emails, c in phones)] += 1
        keys = list(classes)
        total = 0
        for i, (g1, e1, p1) in enumerate(keys):
            n1 = classes[keys[i]]
            for g2, e2, p2 in keys[i:]:
                score = base(g1, g2)
                if score is None:
                    continue
                n = n1 * (n1 - 1) // 2 if (g1, e1, p1) == (g2, e2, p2) else n1 * classes[(g2, e2, p2)]
                if n and passes(score, e1 and e2, p1 and p2):
                    total += n
        sharers = sorted(c for c in members if c in shared)
        for i, a in enumerate(sharers):
            for b in sharers[i + 1 :]:
                score = base(group_of[a], group_of[b])
                if score is None:
                    continue
                same_email = bool(emails[a] & emails[b]) if a in emails and b in emails else False
                same_phone = bool(phones[a] & phones[b]) if a in phones and b in phones else False
                if not (same_email or same_phone):
                    continue
                ea, pa, eb, pb = a in emails, a in phones, b in emails, b in phones
                assumed = passes(score, ea and eb, pa and pb)
                actual = passes(score, ea and eb and not same_email, pa and pb and not same_phone)
                total += (actual and (a, b) not in handle_pairs) - assumed
        return total

    total = len(handle_pairs)

    def exact_base(g1: str, g2: str) -> float:
        return 1.0 if g1 == g2 else 0.97

    for ids in exact_blocks.values():
        if 2 <= len(ids) <= MAX_BLOCK:
            total += count_block(ids, cleaned, exact_base)

    @cache
    def spelling_base(g1: str, g2: str) -> float | None:
        # pairs with the same sorted words were counted with their exact block
        if g1 == g2:
            return None
        return round(0.9 + 0.08 * Indel.normalized_similarity(g1, g2), 3)

    for ids in skeleton_blocks.values():
        if 2 <= len(ids) <= MAX_BLOCK:
            total += count_block(ids, sorted_clean, spelling_base)

    @cache
    def longer_base(g1: str, g2: str) -> float:
        return round(0.82 + 0.1 * fuzz.token_set_ratio(g1, g2) / 100, 3)

    block_classes: dict[tuple, list[tuple[str, bool, bool, int]]] = {}

    def classes_of(key: tuple) -> list[tuple[str, bool, bool, int]]:
        found = block_classes.get(key)
        if found is None:
            tally: dict[tuple, int] = defaultdict(int)
            for b in skeleton_blocks[key]:
                tally[(cleaned[b], b in emails, b in phones)] += 1
            found = block_classes[key] = [(*k, n) for k, n in tally.items()]
        return found

    def shorter_blocks(a: int, kind: str) -> list[tuple]:
        skel, keys = skeletons[a], []
        for drop in range(len(skel)):
            key = (kind, " ".join(sorted(skel[:drop] + skel[drop + 1 :])))
            shorter = skeleton_blocks.get(key)
            if shorter and len(shorter) <= MAX_BLOCK and key not in keys:
                keys.append(key)
        return keys

    by_name: dict[tuple, int] = {}  # (kind, cleaned, has e-mail, has phone) -> pairs, for a sharing nothing
    for a, kind in longer:
        ea, pa = a in emails, a in phones
        if a not in shared:
            name = (kind, cleaned[a], ea, pa)
            found = by_name.get(name)
            if found is None:
                found = 0
                for key in shorter_blocks(a, kind):
                    for clean_b, eb, pb, n in classes_of(key):
                        if passes(longer_base(cleaned[a], clean_b), ea and eb, pa and pb):
                            found += n
                by_name[name] = found
            total += found
            continue
        for key in shorter_blocks(a, kind):
            for b in skeleton_blocks[key]:
                email_penalty = ea and b in emails and not emails[a] & emails[b]
                phone_penalty = pa and b in phones and not phones[a] & phones[b]
                pair = (a, b) if a < b else (b, a)
                if passes(longer_base(cleaned[a], cleaned[b]), email_penalty, phone_penalty):
                    total += pair not in handle_pairs
    return total


def _shared_handles(rows: tuple, people):
    """For count(): contact -> the e-mails (phone tails) it shares with another contact, for every contact
    with an e-mail (phone) (an empty set when it shares none), and the groups of contacts sharing one.
    The same values as _handles(), without a set per contact."""
    email_rows, phone_rows, primary_emails, primary_phones = rows
    groups: list[set[int]] = []
    emails = _holders(email_rows, primary_emails, people, _email_values, groups)
    phones = _holders(phone_rows, primary_phones, people, _phone_tails, groups)
    return emails, phones, groups


def _email_values(keys: list[str]) -> list[str]:
    return list(map(str.lower, map(str.strip, keys)))


_PLAIN_PHONES = re.compile(r"(?:\+?[0-9]{9,}\n)*", re.ASCII)


def _phone_tails(keys: list[str]) -> list[str | None]:
    """_phone_tail() of each key; when every key is '+' or nothing then 9+ ASCII digits (checked by one
    regex over the joined keys), the tail is simply the last 9 characters."""
    if _PLAIN_PHONES.fullmatch("\n".join(keys) + "\n" if keys else ""):
        return list(map(itemgetter(slice(-9, None)), keys))
    return list(map(_phone_tail, keys))


def _holders(handles: list, primary: list, people, values_of, groups: list) -> dict:
    """contact -> the values (of values_of) it shares with another contact, for each contact in people
    holding a value (None values do not count); groups gets each set of 2+ contacts sharing a value."""
    none: frozenset = frozenset()
    # a primary value that is one of the contact's own handles adds nothing (keys are unique per type)
    ids = [cid for cid, _ in handles]
    keys = [key for _, key in handles]
    primary = list(set(primary).difference(handles))
    ids += [cid for cid, _ in primary]
    values = values_of(keys + [key for _, key in primary])
    if None in values:
        kept = [i for i, value in enumerate(values) if value is not None]
        ids, values = [ids[i] for i in kept], [values[i] for i in kept]
    mine: dict[int, set | frozenset] = dict.fromkeys(people.intersection(ids), none)
    if len(set(values)) == len(values):
        return mine  # no value held twice: nothing shared (the usual case)
    first: dict[str, int] = {}  # value -> its first contact
    seen: dict[str, set[int]] = {}  # the values held by 2+ contacts
    for cid, value in zip(ids, values, strict=True):
        if cid not in people:
            continue
        holder = first.setdefault(value, cid)
        if holder != cid:
            seen.setdefault(value, {holder}).add(cid)
    for value, shared in seen.items():
        groups.append(shared)
        for cid in shared:
            if mine[cid] is none:
                mine[cid] = set()
            mine[cid].add(value)
    return mine
