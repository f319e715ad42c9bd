"""Fast paths for e-mail and phone validation during bulk imports.

email-validator (~40 µs) and phonenumbers (~30 µs) dominate a 100k-row import. These functions answer
quickly for the common, plainly valid shapes and return None for everything else, which then goes to the
real libraries (contact_info.normalize_email / normalize_phone). They must never accept what the libraries
refuse nor normalise differently: tests/test_import_fast.py proves that with hypothesis.

- e-mail: ASCII dot-atom local part, LDH domain labels, an alphabetic TLD, within the RFC lengths, not a
  special-use domain; the key is the address lower-cased (what normalize_email returns).
- phone: `+CC NSN` or a national number for the default region, digits with spaces/dashes only. Country
  codes shared by several regions (+1, +7 …), possible Italian leading zeros and national-prefix cases
  the library would transform go to the library. Validity uses the library's own metadata patterns,
  compiled once per region, in the order phonenumbers' _number_type_helper checks them.
"""

from __future__ import annotations

import re
from functools import cache

_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+[a-z]{{2,63}})")
_SPECIAL: tuple[set[str], int] | None = None


def _special_domains() -> tuple[set[str], int]:
    """email-validator's special-use domains, and how many labels the longest has."""
    global _SPECIAL
    if _SPECIAL is None:
        import email_validator

        names = set(email_validator.SPECIAL_USE_DOMAIN_NAMES)
        _SPECIAL = (names, max(n.count(".") + 1 for n in names))
    return _SPECIAL


def email(text: str) -> str | None:
    """The duplicate key of a plainly valid address, or None (= ask email-validator)."""
    if not text.isascii() or len(text) > 254:
        return None
    lowered = text.lower()
    m = _EMAIL.fullmatch(lowered)
    if not m:
        return None
    local, domain = m[1], m[2]
    if len(local) > 64 or len(domain) > 253:
        return None
    ok = _domains.get(domain)
    if ok is None:
        ok = _plain_domain(domain)
        if len(_domains) < 65536:
            _domains[domain] = ok
    return lowered if ok else None


_domains: dict[str, bool] = {}  # domain -> _plain_domain(domain): a file has few distinct domains


def _plain_domain(domain: str) -> bool:
    if "--" in domain:
        return False  # punycode and the library's "ab--" rule: leave to the library
    special, depth = _special_domains()
    labels = domain.split(".")
    return all(".".join(labels[i:]) not in special for i in range(max(0, len(labels) - depth), len(labels)))


# ---------------------------------------------------------------------------------------------
# Phones

_PHONE_SHAPE = re.compile(r"\+?[0-9][0-9 -]*")
_SEPARATORS = str.maketrans("", "", " -")


class _Region:
    __slots__ = ("cc", "prefix", "prefix_re", "idd_re", "general", "types", "by_length")

    def __init__(self, meta):
        self.cc = str(meta.country_code)
        parsing = meta.national_prefix_for_parsing or ""
        # The library strips national_prefix_for_parsing (a regex); when it is just the plain prefix
        # digits we strip it the same way, otherwise we only recognise numbers it would not touch.
        if parsing and parsing.isdigit() and not meta.national_prefix_transform_rule:
            self.prefix, self.prefix_re = parsing, None
        else:
            self.prefix, self.prefix_re = "", (re.compile(parsing) if parsing else None)
        self.idd_re = re.compile(meta.international_prefix) if meta.international_prefix else None
        self.general = _desc(meta.general_desc)
        types = [
            meta.premium_rate,
            meta.toll_free,
            meta.shared_cost,
            meta.voip,
            meta.personal_number,
            meta.pager,
            meta.uan,
            meta.voicemail,
            meta.fixed_line,
            meta.mobile,
        ]
        self.types = [d for d in (_desc(t) for t in types) if d is not None]
        self.by_length: dict[int, re.Pattern | None] = {}

    def valid(self, nsn: str) -> bool:
        """_number_type_helper(nsn) != UNKNOWN: the general pattern and any type's pattern match."""
        if self.general is None or not _matches(self.general, nsn):
            return False
        size = len(nsn)
        if size not in self.by_length:
            patterns = [p.pattern for lengths, p in self.types if not lengths or size in lengths]
            self.by_length[size] = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
        combined = self.by_length[size]
        return combined is not None and combined.fullmatch(nsn) is not None


def _desc(desc):
    if desc is None or not desc.national_number_pattern:
        return None
    return (frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern))


def _matches(desc, nsn: str) -> bool:
    lengths, pattern = desc
    if lengths and len(nsn) not in lengths:
        return False
    return pattern.fullmatch(nsn) is not None


@cache
def _region(code: str) -> _Region | None:
    from phonenumbers import PhoneMetadata

    meta = PhoneMetadata.metadata_for_region(code, None)
    return _Region(meta) if meta is not None else None


@cache
def _single_region(cc: int) -> str | None:
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    regions = COUNTRY_CODE_TO_REGION_CODE.get(cc)
    return regions[0] if regions and len(regions) == 1 and regions[0] != "001" else None


@cache
def _calling_codes() -> frozenset[int]:
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    return frozenset(COUNTRY_CODE_TO_REGION_CODE)


def phone(text: str, region: str | None) -> str | None:
    """E.164 for a plainly valid number, or None (= ask phonenumbers). `text` is already ASCII digits."""
    if not _PHONE_SHAPE.fullmatch(text):
        return None
    digits = text.translate(_SEPARATORS)
    if digits.startswith("+"):
        body = digits[1:]
        if not body or body[0] == "0" or len(body) > 17:
            return None
        head = body[:3]
        found = _heads.get(head)
        if found is None:
            found = _heads[head] = _country(head)
        if not found:
            return None
        size, meta = found
        nsn = body[size:]
        if not _plain_nsn(meta, nsn):
            return None
        return f"+{meta.cc}{nsn}" if meta.valid(nsn) else None
    if not region or "+" in digits:
        return None
    meta = _region(region)
    if meta is None or _single_region(int(meta.cc)) != region:
        return None
    if meta.idd_re is not None and meta.idd_re.match(digits):
        return None
    if digits.startswith(meta.cc):
        return None  # the library may read the country code in it
    nsn = digits[len(meta.prefix) :] if meta.prefix and digits.startswith(meta.prefix) else digits
    if not _plain_nsn(meta, nsn):
        return None
    return f"+{meta.cc}{nsn}" if meta.valid(nsn) else None


_heads: dict[str, tuple[int, _Region] | tuple[()]] = {}  # the first 3 digits after + -> _country() of them


def _country(head: str) -> tuple[int, _Region] | tuple[()]:
    """(length of the country code, its region) for the first digits of an international number whose
    code belongs to exactly one region with metadata; () when it is anything else (ask the library)."""
    codes = _calling_codes()
    for size in (1, 2, 3):
        if int(head[:size]) in codes:
            cc = int(head[:size])
            break
    else:
        return ()
    code = _single_region(cc)
    if code is None:
        return ()
    meta = _region(code)
    return (size, meta) if meta is not None else ()


def _plain_nsn(meta: _Region, nsn: str) -> bool:
    """A national significant number the library would keep as it is."""
    if len(nsn) < 2 or nsn[0] == "0":
        return False
    if meta.prefix and nsn.startswith(meta.prefix):
        return False
    return not (meta.prefix_re is not None and meta.prefix_re.match(nsn))
