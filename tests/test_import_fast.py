"""The import fast paths must agree exactly with the libraries and core functions they shortcut."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_cli import contacts
from crm_cli.contact_info import normalize_email, normalize_phone
from crm_cli.errors import InvalidInput
from crm_cli.importers import fast
from crm_cli.importers.contacts import norm, search_text
from crm_cli.text import normalize

REGIONS = ["SA", "AE", "EG", "KW", "JO", "US", "GB", "DE", "IT", "FR", "IN", "BR", None]
PREFIXES = ["", "+", "0", "00", "+966", "+971", "+20", "+44", "+49", "+39", "+1", "966", "+91", "+7", "+965"]


def library_phone(text, region):
    try:
        return normalize_phone(text, region).e164
    except InvalidInput:
        return None


def library_email(text):
    try:
        return normalize_email(text)
    except InvalidInput:
        return None


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    region=st.sampled_from(REGIONS),
    prefix=st.sampled_from(PREFIXES),
    lead=st.sampled_from(["", "5", "50", "55", "1", "2", "9", "3", "7"]),
    digits=st.text("0123456789", min_size=2, max_size=13),
    separator=st.sampled_from(["", " ", "-"]),
)
def test_fast_phone_never_disagrees(region, prefix, lead, digits, separator):
    body = lead + digits
    text = prefix + separator.join(body[i : i + 3] for i in range(0, len(body), 3))
    got = fast.phone(text, region)
    if got is not None:
        assert got == library_phone(text, region), (text, region)


def test_fast_phone_answers_the_common_shapes():
    for text, region, expected in [
        ("0501234567", "SA", "+966501234567"),
        ("+966501234567", None, "+966501234567"),
        ("+966 50 123 4567", "SA", "+966501234567"),
        ("050-123-4567", "SA", "+966501234567"),
        ("+971 50 123 4567", "SA", "+971501234567"),
    ]:
        assert fast.phone(text, region) == expected == library_phone(text, region)
    assert fast.phone("+1 415 555 2671", None) is None  # +1 is shared by many regions: the library decides
    assert fast.phone("12345", "SA") is None


_local = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789._+-'!#", min_size=1, max_size=70)
_domain = st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12), min_size=1, max_size=4)
_tld = st.sampled_from(
    ["com", "sa", "co", "test", "local", "onion", "x", "c0m", "arpa", "example", "invalid", "xn--p1ai"]
)


@settings(max_examples=3000, deadline=None)
@given(local=_local, labels=_domain, tld=_tld)
def test_fast_email_never_disagrees(local, labels, tld):
    text = f"{local}@{'.'.join(labels)}.{tld}"
    got = fast.email(text)
    if got is not None:
        assert got == library_email(text), text


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_fast_email_on_any_text(text):
    got = fast.email(text)
    if got is not None:
        assert got == library_email(text)


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=40))
def test_norm_equals_normalize(text):
    assert norm(text) == normalize(text)


_part = st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["الحداد", "سارة", "Ünïcode", "  a  b "]))


@settings(max_examples=2000, deadline=None)
@given(name=st.text(min_size=1, max_size=20), email=_part, company=_part, notes=_part)
def test_search_text_equals_core(name, email, company, notes):
    assert search_text(norm(name), email, company, notes) == contacts.search_text(name, email, company, notes)
