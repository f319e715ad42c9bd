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


def _name_forms(name_key: str) -> tuple[str, str, list[str], str] | None:
    """(cleaned key, its words sorted, skeleton, skeleton words sorted) of a name key; None when cleaning
    leaves nothing. Computed once per distinct name key (many contacts share one)."""
    clean = clean_key(name_key)
    if not clean:
        return None
    skel = skeleton(clean)
    return clean, " ".join(sorted(clean.split())), skel, " ".join(sorted(skel))


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
            entry = keyed[name_key] = _name_forms(name_key)
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


# ---------------------------------------------------------------------------------------------------------
# count(): report quality's figure, from what SQLite can group, without building the pairs.

_PEOPLE = "NOT (dnc = 1 AND name LIKE 'forgotten #%')"

# A contact is "regular" when its handles are exactly its primary columns (one e-mail handle whose key is the
# e-mail column, one phone handle whose key is the phone column, none for an empty column), its e-mail is
# already what _handles() makes of it (printable ASCII, trimmed, lower case) and its phone is '+' or nothing
# then 9+ ASCII digits (the last 9 characters are its tail). Then SQLite knows all about it: it has an
# e-mail iff `email IS NOT NULL`, a phone iff `phone IS NOT NULL`, and (keys being unique per type) no
# other regular contact holds its e-mail. Every other contact ("irregular": older data, hand-made rows) is
# read back and worked out by the same Python as find().
_IRREGULAR = """
    (SELECT count(*) + 4 * total(h.key IS NOT (CASE h.type WHEN 'email' THEN c.email ELSE c.phone END))
       FROM contact_handles h WHERE h.contact_id = c.id) <> (c.email IS NOT NULL) + (c.phone IS NOT NULL)
    OR c.email GLOB '*[^ -~]*' OR c.email <> lower(trim(c.email))
    OR (c.phone GLOB '*[^0-9]*' AND NOT (c.phone GLOB '+*' AND substr(c.phone, 2) NOT GLOB '*[^0-9]*'))
    OR length(c.phone) - (c.phone GLOB '+*') < 9"""


class Survey:
    """What count() reads, and report quality with it.

    names: (kind, name_key, {(has e-mail, has phone): contacts}) for every distinct name of people;
    sharers: contact -> (kind, name_key, has e-mail, has phone) for people sharing an e-mail or phone tail
    with another person; emails/phones: sharer -> the values it shares (empty set: has some, shares none);
    groups: the sets of 2+ people sharing one value; odd_phones: the primary phone column of irregular
    contacts (forgotten ones too), the only primary phones that may not be a handle's key."""

    __slots__ = ("names", "sharers", "emails", "phones", "groups", "odd_phones")


def survey(conn: sqlite3.Connection) -> Survey:
    import json

    cursor = conn.cursor()
    cursor.row_factory = None
    result = Survey()
    names: dict[tuple[str, str], dict] = {}
    for kind, name_key, n, n_email, n_phone, n_both in cursor.execute(
        "SELECT kind, name_key, count(*), sum(email IS NOT NULL), sum(phone IS NOT NULL), "
        f"sum(email IS NOT NULL AND phone IS NOT NULL) FROM contacts WHERE {_PEOPLE} GROUP BY kind, name_key"
    ):
        names[(kind, name_key)] = {
            (True, True): n_both,
            (True, False): n_email - n_both,
            (False, True): n_phone - n_both,
            (False, False): n - n_email - n_phone + n_both,
        }
    odd = cursor.execute(
        f"SELECT id, kind, name_key, email, phone, NOT ({_PEOPLE}) FROM contacts c WHERE {_IRREGULAR}"
    ).fetchall()
    result.odd_phones = [phone for *_, phone, _ in odd if phone is not None]
    irregular: dict[int, tuple] = {}  # people only: cid -> (kind, name_key, e-mail values, phone tails)
    for cid, kind, name_key, email, phone, forgotten in odd:
        if forgotten:
            continue
        emails = set() if email is None else {email.strip().lower()}
        tail = _phone_tail(phone) if phone is not None else None
        irregular[cid] = (kind, name_key, emails, {tail} if tail else set())
        names[(kind, name_key)][(email is not None, phone is not None)] -= 1
    holders: dict[tuple[str, str], set[int]] = defaultdict(set)  # (type, value) -> people holding it
    if irregular:
        for cid, kind, key in cursor.execute(
            "SELECT contact_id, type, key FROM contact_handles WHERE contact_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(irregular)),),
        ):
            if kind == "email":
                irregular[cid][2].add(key.strip().lower())
            else:
                tail = _phone_tail(key)
                if tail:
                    irregular[cid][3].add(tail)
        for cid, (kind, name_key, emails, phones) in irregular.items():
            names[(kind, name_key)][(bool(emails), bool(phones))] += 1
            for value in emails:
                holders[("email", value)].add(cid)
            for value in phones:
                holders[("phone", value)].add(cid)
    # regular people holding the irregular contacts' values (the index on (type, key) finds e-mails)
    wanted = {t: [v for (kind, v) in holders if kind == t] for t in ("email", "phone")}
    found: list[tuple] = []
    if wanted["email"]:
        found += cursor.execute(
            "SELECT contact_id, 'email', key FROM contact_handles "
            "WHERE type = 'email' AND key IN (SELECT value FROM json_each(?))",
            (json.dumps(wanted["email"]),),
        ).fetchall()
    if wanted["phone"]:
        found += cursor.execute(
            "SELECT contact_id, 'phone', substr(key, -9) FROM contact_handles "
            "WHERE +type = 'phone' AND substr(key, -9) IN (SELECT value FROM json_each(?))",
            (json.dumps(wanted["phone"]),),
        ).fetchall()
    # phone tails held by two regular contacts (or more)
    for tail, ids in cursor.execute(
        "SELECT substr(key, -9), group_concat(contact_id) FROM contact_handles WHERE +type = 'phone' "
        "GROUP BY 1 HAVING count(*) > 1"
    ):
        found += [(int(cid), "phone", tail) for cid in ids.split(",")]
    candidates = {cid for cid, _, _ in found if cid not in irregular}
    regular: dict[int, tuple] = {}
    if candidates:
        regular = {
            cid: (kind, name_key, bool(has_email), bool(has_phone))
            for cid, kind, name_key, has_email, has_phone in cursor.execute(
                "SELECT id, kind, name_key, email IS NOT NULL, phone IS NOT NULL FROM contacts "
                f"WHERE id IN (SELECT value FROM json_each(?)) AND {_PEOPLE}",
                (json.dumps(sorted(candidates)),),
            )
        }
        for cid, kind, value in found:
            if cid in regular:
                holders[(kind, value)].add(cid)
    result.groups, result.sharers, result.emails, result.phones = [], {}, {}, {}
    for (kind, value), ids in holders.items():
        if len(ids) < 2:
            continue
        result.groups.append(ids)
        for cid in ids:
            if cid not in result.sharers:
                if cid in regular:
                    result.sharers[cid] = regular[cid]
                else:
                    c_kind, name_key, emails, phones = irregular[cid]
                    result.sharers[cid] = (c_kind, name_key, bool(emails), bool(phones))
                _, _, has_email, has_phone = result.sharers[cid]
                if has_email:
                    result.emails[cid] = set()
                if has_phone:
                    result.phones[cid] = set()
            (result.emails if kind == "email" else result.phones)[cid].add(value)
    result.names = [(kind, name_key, classes) for (kind, name_key), classes in names.items()]
    return result


def count(conn: sqlite3.Connection, *, min_score: float = DEFAULT_MIN_SCORE, facts: Survey | None = None) -> int:
    """len(find(conn, min_score=min_score)) without building the pairs (report quality's figure).

    A block's pairs are counted per class of its members, (cleaned name, has e-mails, has phones), from
    SQLite's counts per distinct name, assuming two members share no e-mail and no phone; the few pairs
    that do share one (survey().sharers) are then scored one by one (those are also the only name pairs
    that can be same-e-mail/same-phone pairs as well)."""
    if min_score > 1.0:
        return 0
    return _count(min_score, facts or survey(conn))


def _count(min_score: float, facts: Survey) -> int:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Indel

    emails, phones, sharers = facts.emails, facts.phones, facts.sharers

    # The blocks, as lists of (group, classes, kind, name_key) with their sizes.
    exact_blocks: dict[tuple, list] = defaultdict(list)
    skeleton_blocks: dict[tuple, list] = defaultdict(list)
    sizes: dict[tuple, int] = defaultdict(int)
    longer: list[tuple] = []  # (kind, cleaned, skeleton, classes, name_key): names of 3+ skeleton words
    entries: dict[str, tuple | None] = {}
    for kind, name_key, classes in facts.names:
        entry = entries.get(name_key, False)
        if entry is False:
            entry = entries[name_key] = _name_forms(name_key)
        if entry is None:
            continue
        clean, sorted_words, skel, skel_key = entry
        n = sum(classes.values())
        if not n:
            continue
        exact_blocks[(kind, sorted_words)].append((clean, classes))
        sizes[("x", kind, sorted_words)] += n
        if skel:
            skeleton_blocks[(kind, skel_key)].append((sorted_words, classes, clean))
            sizes[("s", kind, skel_key)] += n
            if len(skel) > 2:
                longer.append((kind, clean, skel, classes, name_key))

    # sharers per block, with their group in that block
    exact_sharers: dict[tuple, list] = defaultdict(list)
    skeleton_sharers: dict[tuple, list] = defaultdict(list)
    sharer_info: dict[int, tuple] = {}  # cid -> (cleaned, sorted words, has e-mail, has phone)
    sharers_by_name: dict[tuple, list] = defaultdict(list)
    for cid in sorted(sharers):
        kind, name_key, has_email, has_phone = sharers[cid]
        entry = entries.get(name_key)
        if entry is None:
            continue
        clean, sorted_words, skel, skel_key = entry
        sharer_info[cid] = (clean, sorted_words, has_email, has_phone)
        exact_sharers[(kind, sorted_words)].append(cid)
        if skel:
            skeleton_sharers[(kind, skel_key)].append(cid)
        sharers_by_name[(kind, name_key)].append(cid)

    handle_pairs: set[tuple[int, int]] = set()
    for ids in facts.groups:
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

    def count_block(members: list, block_sharers: list[int], group_at: int, base) -> int:
        """Name pairs of one block kept by find() and not already same-e-mail/phone pairs; pairs within
        one group are skipped when base is None for them."""
        classes: dict[tuple, int] = defaultdict(int)
        for member in members:
            group = member[0]
            for (has_email, has_phone), n in member[1].items():
                if n:
                    classes[(group, has_email, has_phone)] += n
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
        for i, a in enumerate(block_sharers):
            ga, ea, pa = sharer_info[a][group_at], sharer_info[a][2], sharer_info[a][3]
            for b in block_sharers[i + 1 :]:
                gb, eb, pb = sharer_info[b][group_at], sharer_info[b][2], sharer_info[b][3]
                score = base(ga, gb)
                if score is None:
                    continue
                same_email = bool(emails[a] & emails[b]) if ea and eb else False
                same_phone = bool(phones[a] & phones[b]) if pa and pb else False
                if not (same_email or same_phone):
                    continue
                assumed = passes(score, ea and eb, pa and pb)
                actual = passes(score, ea and eb and not same_email, pa and pb and not same_phone)
                total += (actual and (a, b) not in handle_pairs) - assumed
        return total

    total = len(handle_pairs)

    def exact_base(g1: str, g2: str) -> float:
        return 1.0 if g1 == g2 else 0.97

    for (kind, words), members in exact_blocks.items():
        if 2 <= sizes[("x", kind, words)] <= MAX_BLOCK:
            total += count_block(members, exact_sharers.get((kind, words), []), 0, exact_base)

    @cache
    def spelling_base(g1: str, g2: str) -> float | None:
        # pairs with the same sorted words were counted with their exact block
        if g1 == g2:
            return None
        return round(0.9 + 0.08 * Indel.normalized_similarity(g1, g2), 3)

    for (kind, skel_key), members in skeleton_blocks.items():
        if 2 <= sizes[("s", kind, skel_key)] <= MAX_BLOCK:
            total += count_block(members, skeleton_sharers.get((kind, skel_key), []), 1, spelling_base)

    @cache
    def longer_base(g1: str, g2: str) -> float:
        return round(0.82 + 0.1 * fuzz.token_set_ratio(g1, g2) / 100, 3)

    block_classes: dict[tuple, list[tuple[str, bool, bool, int]]] = {}

    def classes_of(key: tuple) -> list[tuple[str, bool, bool, int]]:
        """(cleaned, has e-mail, has phone, members) of a skeleton block, sharers included."""
        found = block_classes.get(key)
        if found is None:
            tally: dict[tuple, int] = defaultdict(int)
            for _, classes, clean in skeleton_blocks[key]:
                for (has_email, has_phone), n in classes.items():
                    if n:
                        tally[(clean, has_email, has_phone)] += n
            found = block_classes[key] = [(*k, n) for k, n in tally.items()]
        return found

    def shorter_blocks(kind: str, skel: list[str]) -> list[tuple]:
        keys = []
        for drop in range(len(skel)):
            key = (kind, " ".join(sorted(skel[:drop] + skel[drop + 1 :])))
            if key in skeleton_blocks and sizes[("s", *key)] <= MAX_BLOCK and key not in keys:
                keys.append(key)
        return keys

    by_name: dict[tuple, int] = {}  # (kind, cleaned, has e-mail, has phone) -> pairs, for a sharing nothing
    for kind, clean, skel, classes, name_key in longer:
        mine = sharers_by_name.get((kind, name_key), [])
        for (ea, pa), n in classes.items():
            n -= sum(1 for a in mine if sharer_info[a][2:] == (ea, pa))
            if n <= 0:
                continue
            name = (kind, clean, ea, pa)
            found = by_name.get(name)
            if found is None:
                found = 0
                for key in shorter_blocks(kind, skel):
                    for clean_b, eb, pb, m in classes_of(key):
                        if passes(longer_base(clean, clean_b), ea and eb, pa and pb):
                            found += m
                by_name[name] = found
            total += found * n
        for a in mine:
            _, _, ea, pa = sharer_info[a]
            for key in shorter_blocks(kind, skel):
                others = skeleton_sharers.get(key, [])
                # the members that share nothing, by class
                tally = {(c, e, p): m for c, e, p, m in classes_of(key)}
                for b in others:
                    cb, _, eb, pb = sharer_info[b]
                    tally[(cb, eb, pb)] -= 1
                for (clean_b, eb, pb), m in tally.items():
                    if m and passes(longer_base(clean, clean_b), ea and eb, pa and pb):
                        total += m
                for b in others:
                    cb, _, eb, pb = sharer_info[b]
                    email_penalty = ea and eb and not emails[a] & emails[b]
                    phone_penalty = pa and pb and not phones[a] & phones[b]
                    pair = (a, b) if a < b else (b, a)
                    if passes(longer_base(clean, cb), email_penalty, phone_penalty):
                        total += pair not in handle_pairs
    return total
