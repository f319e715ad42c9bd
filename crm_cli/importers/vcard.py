"""A careful vCard 2.1 / 3.0 / 4.0 reader (many cards per file) for address-book exports.

Written for what phones and mail programs really produce:
- folded lines (CRLF + space/tab) and vCard 2.1 quoted-printable soft line breaks (`=` at line end,
  sometimes followed by an empty line), with CHARSET (UTF-8 default, latin-1 fallback);
- iPhone `itemN.` groups, whose X-ABLabel names the group's phone/e-mail/address;
- PHOTO/LOGO/SOUND/KEY values skipped line by line without being joined or decoded (a 1 MB photo costs
  nothing);
- `BDAY:--0315` (no year), `BDAY:19800322`, `BDAY;value=date:2012-06-06`, vCard 4 `tel:` URIs with `;ext=`;
- escaped `\\,` `\\;` `\\n` in values; structured N/ADR/ORG split at unescaped `;`.

Each card becomes a Record whose values use crm's field names (mapping.CONTACT_FIELDS) plus
`emails`/`phones` lists of (value, label) and `ignored` (property names not imported).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator

from crm_cli.importers.source import Record

_BINARY = {"PHOTO", "LOGO", "SOUND", "KEY"}
_SKIP_QUIETLY = {"VERSION", "PRODID", "REV", "UID", "X-ABUID", "LABEL", "X-ABLABEL", "CLASS", "X-ABSHOWAS"}
_SKIP_QUIETLY |= {"X-ABADR", "X-MS-OL-DESIGN", "X-MS-OL-DEFAULT-POSTAL-ADDRESS", "SORT-STRING", "NAME", "SOURCE"}
_PROPERTY = re.compile(r"(?:(?P<group>[A-Za-z0-9-]+)\.)?(?P<name>[A-Za-z0-9-]+)(?P<params>(?:;[^:]*)?)$")
_MY_CONTACTS = {"my contacts", "mycontacts", "* mycontacts", "starred in android"}


def _split_unescaped(value: str, sep: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current.append(value[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] in "nN" else m[1], value)


def _params(raw: str) -> tuple[dict[str, list[str]], list[str]]:
    """';TYPE=WORK,VOICE;type=pref;CELL;CHARSET=UTF-8' -> ({'TYPE': [...], 'CHARSET': [...]}, bare)."""
    params: dict[str, list[str]] = {}
    bare: list[str] = []
    for part in _split_params(raw):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            bare.append(key.upper())
            continue
        values = [v.strip('"') for v in re.findall(r'"[^"]*"|[^,]+', value)]
        params.setdefault(key.upper(), []).extend(values)
    return params, bare


def _split_params(raw: str) -> list[str]:
    parts, current, quoted = [], [], False
    for ch in raw.lstrip(";"):
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _split_name_value(line: str) -> tuple[str, str] | None:
    """Split at the first colon that is not inside a quoted parameter value."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return line[:i], line[i + 1 :]
    return None


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, unfolded content line); binary values are cut to their first line."""
    lines = text.splitlines()
    n = len(lines)
    i = 0
    while i < n:
        start = i
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        head = line.split(":", 1)[0].upper()
        name = head.split(";", 1)[0].split(".")[-1]
        if name in _BINARY:
            # Skip the folded/base64 continuation without joining it (vCard 2.1 ends it with a blank line).
            while i < n and lines[i][:1] in (" ", "\t"):
                i += 1
            if i < n and not lines[i].strip():
                i += 1
            yield start + 1, line[: len(head) + 1]
            continue
        qp = "QUOTED-PRINTABLE" in head
        parts = [line]
        while i < n:
            nxt = lines[i]
            if qp and parts[-1].endswith("="):
                parts[-1] = parts[-1][:-1] + "\x00"  # soft line break marker
                i += 1
                if not nxt.strip():
                    break
                parts.append(nxt)
            elif nxt[:1] in (" ", "\t"):
                parts.append(nxt[1:])
                i += 1
            else:
                break
        yield start + 1, "".join(parts)


def _decode_qp(value: str, charset: str) -> str:
    data = value.replace("\x00", "").rstrip("=").encode("latin-1", "replace")
    raw = binascii.a2b_qp(data)
    for encoding in (charset or "utf-8", "utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("latin-1")


def _decode_base64(value: str, charset: str) -> str:
    """A text value sent as ENCODING=b (3.0) or ENCODING=BASE64 (2.1): its bytes in the CHARSET (UTF-8 by
    default, then cp1256 and cp1252); nothing when it is not base64 text (the card has no such value)."""
    import base64

    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return ""
    for encoding in (charset or "utf-8", "utf-8", "cp1256", "cp1252"):
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return ""


def _birthday(value: str) -> str:
    text = value.strip()
    m = re.fullmatch(r"--(\d{2})-?(\d{2})", text)
    if m:
        return f"--{m[1]}-{m[2]}"
    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?", text)
    if m:
        return f"{m[1]}-{m[2]}-{m[3]}"
    return text


def _label(group_labels: dict[str, str], group: str | None, types: list[str]) -> str | None:
    if group and group in group_labels:
        label = group_labels[group]
        m = re.fullmatch(r"_\$!<(.+)>!\$_", label)
        return (m[1] if m else label).lower()
    kinds = [t.lower() for t in types if t.lower() not in ("pref", "voice", "internet", "x400")]
    return kinds[0] if kinds else None


def has_cards(text: str) -> bool:
    """Does the text hold a BEGIN:VCARD line at all (a CSV named .vcf must not import as "added 0")?"""
    # a line (split as str.splitlines() does, like cards()) that is BEGIN:VCARD once stripped
    breaks = "\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029"
    pattern = rf"(?im)(?:^|[{breaks}])[^\S\n{breaks}]*BEGIN:VCARD[^\S\n{breaks}]*(?:$|[{breaks}])"
    return re.search(pattern, text) is not None


def cards(text: str) -> Iterator[Record]:
    """Every BEGIN:VCARD … END:VCARD block as a Record (values in crm field names)."""
    card: list[tuple[int, str]] | None = None
    raw_lines: list[str] = []
    number = 0
    start = 0
    for line_no, line in _logical_lines(text):
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
            if card is not None:
                yield _record(card, start, number, unterminated=True)  # a BEGIN before this card's END
            card, raw_lines, start = [], [], line_no
            number += 1
            continue
        if card is None:
            continue
        if upper == "END:VCARD":
            yield _record(card, start, number)
            card = None
            continue
        card.append((line_no, line))
        raw_lines.append(line)
    if card is not None:
        yield _record(card, start, number, unterminated=True)  # the file ends inside a card


def _record(lines: list[tuple[int, str]], start: int, number: int, *, unterminated: bool = False) -> Record:
    """One card's content lines -> a Record; `unterminated` (no END:VCARD) marks it for refusal: the card
    may be cut short, so the importer reports it (or sends it to the reject file) instead of guessing."""
    props = []
    group_labels: dict[str, str] = {}
    for _, line in lines:
        split = _split_name_value(line)
        if split is None:
            continue
        head, value = split
        m = _PROPERTY.match(head.strip())
        if not m:
            continue
        name = m["name"].upper()
        group = m["group"]
        params, bare = _params(m["params"] or "")
        encoding = (params.get("ENCODING", [""])[0] or next((b for b in bare if b == "QUOTED-PRINTABLE"), "")).upper()
        if encoding == "QUOTED-PRINTABLE":
            value = _decode_qp(value, params.get("CHARSET", ["utf-8"])[0])
        elif encoding in ("B", "BASE64"):
            value = _decode_base64(value, params.get("CHARSET", ["utf-8"])[0]) if name not in _BINARY else ""
        if name == "X-ABLABEL" and group:
            group_labels[group] = unescape(value)
            continue
        types = params.get("TYPE", []) + bare
        types = [t for part in types for t in part.split(",")]
        props.append((name, group, types, params, value))

    values: dict = {"emails": [], "phones": [], "tags": [], "notes": [], "ignored": [], "fields": {}}
    n_parts: list[str] = []
    addresses: list[tuple[bool, list[str]]] = []
    for name, group, types, params, value in props:
        pref = any(t.lower() == "pref" for t in types) or "PREF" in params
        if name == "FN":
            values.setdefault("name", unescape(value).strip())
        elif name == "N":
            n_parts = [unescape(p).strip() for p in _split_unescaped(value, ";")]
        elif name == "EMAIL":
            email = unescape(value).strip()
            if email:
                entry = (email, _label(group_labels, group, types))
                values["emails"].insert(0, entry) if pref else values["emails"].append(entry)
        elif name == "TEL":
            phone = unescape(value).strip()
            if phone.lower().startswith("tel:"):
                phone = phone[4:]
            phone = re.sub(r";ext=(\d+)", r" ext. \1", phone)
            if phone:
                entry = (phone, _label(group_labels, group, types))
                values["phones"].insert(0, entry) if pref else values["phones"].append(entry)
        elif name == "ORG":
            parts = [unescape(p).strip() for p in _split_unescaped(value, ";")]
            if parts and parts[0] and "company" not in values:
                values["company"] = parts[0]
                if len(parts) > 1 and parts[1]:
                    values["department"] = parts[1]
        elif name == "TITLE" or name == "ROLE":
            values.setdefault("title", unescape(value).strip())
        elif name == "ADR":
            parts = [unescape(p).strip() for p in _split_unescaped(value, ";")] + [""] * 7
            addresses.append((pref, parts[:7]))
        elif name == "NOTE":
            note = unescape(value).strip()
            if note:
                values["notes"].append(note)
        elif name == "BDAY":
            values["birthday"] = _birthday(unescape(value))
        elif name == "CATEGORIES":
            for tag in _split_unescaped(value, ","):
                tag = unescape(tag).strip()
                if tag and tag.lower() not in _MY_CONTACTS:
                    values["tags"].append(tag)
        elif name in ("NICKNAME", "URL", "ANNIVERSARY", "X-ANNIVERSARY", "X-MS-ANNIVERSARY", "GENDER"):
            key = {"X-ANNIVERSARY": "anniversary", "X-MS-ANNIVERSARY": "anniversary"}.get(name, name.lower())
            text = unescape(value).strip()
            if text and key not in values["fields"]:
                values["fields"][key] = text
        elif name == "KIND":
            if value.strip().lower() in ("org", "organization"):
                values["kind"] = "organization"
        elif name == "X-ABSHOWAS" and value.strip().upper() == "COMPANY":
            values["kind"] = "organization"
        elif name == "X-CRM-SOURCE":
            values["source"] = unescape(value).strip()
        elif name == "X-CRM-STATUS":
            values["status"] = unescape(value).strip()
        elif name == "X-CRM-DNC":
            values["dnc"] = unescape(value).strip()
        elif name == "X-CRM-EVERY":
            values["every"] = unescape(value).strip()
        elif name == "X-CRM-FIELD":
            key = (params.get("X-NAME") or [""])[0]
            if key:
                values["fields"][key] = unescape(value)
        elif name in _SKIP_QUIETLY or name in _BINARY:
            continue
        elif name not in values["ignored"]:
            values["ignored"].append(name)
    if "X-ABSHOWAS" in {p[0] for p in props} and any(
        p[0] == "X-ABSHOWAS" and p[4].strip().upper() == "COMPANY" for p in props
    ):
        values["kind"] = "organization"
    if not values.get("name") and any(n_parts):
        family, given, additional, prefix, suffix = (n_parts + [""] * 5)[:5]
        values["name"] = " ".join(x for x in (prefix, given, additional, family, suffix) if x)
    if addresses:
        addresses.sort(key=lambda a: not a[0])
        pobox, extended, street, city, region, postal, country = addresses[0][1]
        street_text = ", ".join(x for x in (pobox, extended, street.replace("\n", ", ")) if x)
        tail = " ".join(x for x in (region, postal) if x)
        address = ", ".join(x for x in (street_text, tail) if x)
        if address:
            values["address"] = address
        if city:
            values["city"] = city
        if country:
            values["country"] = country
    values["notes"] = "\n".join(values["notes"]) or None
    if unterminated:
        values["unterminated"] = True
    label = values.get("name") or (values["emails"][0][0] if values["emails"] else "") or values.get("company") or ""
    text_lines = ["BEGIN:VCARD", *(line for _, line in lines), "END:VCARD"]
    return Record(start, values, label=f"card {number}" + (f" ({label})" if label else ""), raw="\r\n".join(text_lines))
