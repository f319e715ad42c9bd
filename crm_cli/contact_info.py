"""E-mail and phone validation and normalisation (email-validator, phonenumbers)."""

from __future__ import annotations

from functools import lru_cache

from crm_cli.errors import InvalidInput
from crm_cli.text import ascii_digits, strip_invisible


def normalize_email(raw: str) -> str:
    """A syntactically valid address, lower-cased whole (the duplicate key), or InvalidInput."""
    text = strip_invisible(raw or "").strip().replace(" ", "")
    return _checked_email(text)


@lru_cache(maxsize=65536)
def _checked_email(text: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"invalid e-mail {text!r}: {_clause(str(exc))}; write it like sara@example.com") from None
    return info.normalized.lower()


def _clause(message: str) -> str:
    """A library's sentences as a clause of our one line: 'The part … is not valid. It should have a
    period.' -> 'the part … is not valid; it should have a period' (no full stop before what follows)."""
    return "; ".join(s[:1].lower() + s[1:] for s in message.strip().rstrip(".").split(". "))


# phonenumbers.NumberParseException.error_type -> what we say (its own text starts "(1) The string …").
_PARSE_ERRORS = {
    0: "no known country code after the +",
    1: "not a phone number",
    2: "too short to be a phone number",
    3: "too short to be a phone number",
    4: "too long to be a phone number",
}
_PHONE_HINT = "write it with the country code, e.g. +966501234567"


class Phone:
    __slots__ = ("e164", "extension")

    def __init__(self, e164: str, extension: str | None):
        self.e164, self.extension = e164, extension


def normalize_phone(raw: str, region: str | None) -> Phone:
    """Any way people type a phone ('٠٥٠ ١٢٣ ٤٥٦٧', '+966 50 123 4567', "'0501234567") -> E.164.

    Without a leading + the configured default region decides; an extension is kept apart.
    """
    text = ascii_digits(strip_invisible(raw or "")).strip().lstrip("'")
    if not text:
        raise InvalidInput("empty phone number")
    return _checked_phone(text, (region or "").upper() or None)


@lru_cache(maxsize=65536)
def _checked_phone(text: str, region: str | None) -> Phone:
    import phonenumbers

    if not text.startswith("+") and text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+") and region is None:
        raise InvalidInput(
            f"phone {text!r} has no country code; write it with + (e.g. +966501234567) "
            "or set one: crm config set default_region SA"
        )
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, "not a phone number")
        raise InvalidInput(f"invalid phone {text!r}: {reason}; {_PHONE_HINT}") from None
    if not phonenumbers.is_valid_number(number):
        where = f" for region {region}" if region and not text.startswith("+") else ""
        raise InvalidInput(f"invalid phone {text!r}: not a valid number{where}; check the digits or {_PHONE_HINT}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164, number.extension or None)


def check_region(raw: str) -> str:
    import phonenumbers

    code = (raw or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"unknown region {raw!r}; use a two-letter country code such as SA, AE, EG, US")
    return code


# How addresses commonly write a few countries that phonenumbers names differently (its Arabic names are
# the short ones: السعودية, الإمارات).
_COUNTRY_ALIASES = {
    "ksa": "SA",
    "المملكة العربية السعودية": "SA",
    "uae": "AE",
    "الإمارات العربية المتحدة": "AE",
    "usa": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "uk": "GB",
    "great britain": "GB",
}


def region_of_country(country: str | None) -> str | None:
    """The phone region of a country as an address writes it: a two-letter code ('SA') or a name in any
    of the languages phonenumbers names regions in ('Saudi Arabia', 'السعودية', 'Arabia Saudita'); None
    when it is not one (or names several regions). Phones typed without + in a row that gives its
    country are read in that country when no default_region is set."""
    from crm_cli.text import normalize

    return _country_regions().get(normalize(country)) if country else None


@lru_cache(maxsize=1)
def _locale_data() -> dict[str, dict[str, str]]:
    """phonenumbers.geodata.locale.LOCALE_DATA (every region's name in each language), loaded from its file
    alone: importing it the usual way first runs the geodata package, which loads the place names of
    every number prefix (~0.28 s) that crm never uses. Its one import is relative to phonenumbers."""
    import importlib.util
    import sys
    from pathlib import Path

    import phonenumbers

    name = "phonenumbers.geodata.locale"
    if name in sys.modules:
        return sys.modules[name].LOCALE_DATA
    spec = importlib.util.spec_from_file_location(name, Path(phonenumbers.__file__).parent / "geodata" / "locale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LOCALE_DATA


def _country_regions() -> dict[str, str]:
    from phonenumbers import SUPPORTED_REGIONS

    from crm_cli.text import normalize

    names: dict[str, set[str]] = {}
    for region, by_language in _locale_data().items():
        if region not in SUPPORTED_REGIONS:
            continue
        # '*aa' means the same name as language aa: ~180 languages share a dozen spellings per region,
        # so each spelling is normalised once (47,000 calls -> 3,600).
        spellings = {by_language.get(name[1:], "") if name.startswith("*") else name for name in by_language.values()}
        for name in spellings:
            if name:
                names.setdefault(normalize(name), set()).add(region)
    found = {name: regions.pop() for name, regions in names.items() if len(regions) == 1}
    found.update({normalize(alias): region for alias, region in _COUNTRY_ALIASES.items()})
    found.update({region.lower(): region for region in SUPPORTED_REGIONS})
    return found
