"""Column headers -> crm fields, for our own export and the common ones.

Headers are compared case-, space- and punctuation-insensitively (`E-mail 1 - Value` == `email1value`).
Recognised layouts: crm's own export; Google Contacts (old and new CSV); Outlook; Shopify and WooCommerce
customers; HubSpot contacts; Arabic headers (الاسم، البريد الإلكتروني، الجوال …). `--map "Header=field"`
overrides; a column nothing recognises becomes a custom field named after its header (or is dropped with
`--ignore COL`), and the importer reports which.

A target is a string:
  name first_name middle_name last_name prefix suffix kind company title department city region
  postal_code country address address_formatted email phone other_emails other_phones tags notes birthday
  status source dnc marketing every created_at fields  |  drop  |  custom:<key>
Address targets may carry a group (`address@business`): the first group with any content fills
address/city/country, the others are kept as a custom field "<group> address".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crm_cli.errors import InvalidInput
from crm_cli.text import normalize

CONTACT_FIELDS = (
    "name",
    "first_name",
    "middle_name",
    "last_name",
    "prefix",
    "suffix",
    "kind",
    "company",
    "title",
    "department",
    "address",
    "city",
    "region",
    "postal_code",
    "country",
    "email",
    "phone",
    "other_emails",
    "other_phones",
    "tags",
    "notes",
    "birthday",
    "status",
    "source",
    "dnc",
    "marketing",
    "every",
    "created_at",
    "fields",
)

_EXACT = {
    # crm's own export (and the obvious names)
    "name": "name",
    "fullname": "name",
    "displayname": "name",
    "contact": "name",
    "contactname": "name",
    "customername": "name",
    "kind": "kind",
    "email": "email",
    "emailaddress": "email",
    "mail": "email",
    "primaryemail": "email",
    "phone": "phone",
    "phonenumber": "phone",
    "mobile": "phone",
    "mobilephone": "phone",
    "mobilephonenumber": "phone",
    "cell": "phone",
    "cellphone": "phone",
    "telephone": "phone",
    "tel": "phone",
    "whatsapp": "phone",
    "primaryphone": "phone",
    "otheremails": "other_emails",
    "emails": "other_emails",
    "otherphones": "other_phones",
    "phones": "other_phones",
    "company": "company",
    "companyname": "company",
    "organization": "company",
    "organisation": "company",
    "organizationname": "company",
    "org": "company",
    "title": "title",
    "jobtitle": "title",
    "position": "title",
    "role": "title",
    "organizationtitle": "title",
    "department": "department",
    "organizationdepartment": "department",
    "address": "address",
    "streetaddress": "address",
    "street": "address",
    "address1": "address",
    "address2": "address",
    "city": "city",
    "town": "city",
    "state": "region",
    "province": "region",
    "region": "region",
    "provincecode": "drop",
    "zip": "postal_code",
    "zipcode": "postal_code",
    "postcode": "postal_code",
    "postalcode": "postal_code",
    "country": "country",
    "countryregion": "country",
    "countrycode": "country",
    "source": "source",
    "leadsource": "source",
    "originalsource": "source",
    "status": "status",
    "lifecyclestage": "status",
    "dnc": "dnc",
    "donotcontact": "dnc",
    "unsubscribed": "dnc",
    "acceptsmarketing": "marketing",
    "acceptsemailmarketing": "marketing",
    "tags": "tags",
    "tag": "tags",
    "labels": "tags",
    "categories": "tags",
    "groupmembership": "tags",
    "groups": "tags",
    "notes": "notes",
    "note": "notes",
    "comments": "notes",
    "birthday": "birthday",
    "birthdate": "birthday",
    "dateofbirth": "birthday",
    "dob": "birthday",
    "everydays": "every",
    "every": "every",
    "cadence": "every",
    "createdat": "created_at",
    "created": "created_at",
    "createdate": "created_at",
    "dateregistered": "created_at",
    "datecreated": "created_at",
    "customersince": "created_at",
    "signup": "created_at",
    "fields": "fields",
    "firstname": "first_name",
    "givenname": "first_name",
    "first": "first_name",
    "middlename": "middle_name",
    "additionalname": "middle_name",
    "lastname": "last_name",
    "familyname": "last_name",
    "surname": "last_name",
    "last": "last_name",
    "nameprefix": "prefix",
    "prefix": "prefix",
    "namesuffix": "suffix",
    "suffix": "suffix",
    # values crm computes itself: recognised, not imported
    "id": "drop",
    "orgid": "drop",
    "updatedat": "drop",
    "lastcontactat": "drop",
    "lastcontact": "drop",
    "importline": "drop",  # our reject files
    "importerror": "drop",
    "fileas": "drop",
    "photo": "drop",
    "initials": "drop",
    "yominame": "drop",
    "givennameyomi": "drop",
    "additionalnameyomi": "drop",
    "familynameyomi": "drop",
    "phoneticfirstname": "drop",
    "phoneticmiddlename": "drop",
    "phoneticlastname": "drop",
    "emailtype": "drop",
    "emaildisplayname": "drop",
    # Arabic headers
    "الاسم": "name",
    "اسم": "name",
    "الاسمالكامل": "name",
    "اسمالعميل": "name",
    "الاسمالاول": "first_name",
    "اسمالعائله": "last_name",
    "البريد": "email",
    "البريدالالكتروني": "email",
    "الايميل": "email",
    "ايميل": "email",
    "الهاتف": "phone",
    "هاتف": "phone",
    "الجوال": "phone",
    "جوال": "phone",
    "رقمالجوال": "phone",
    "رقمالهاتف": "phone",
    "واتساب": "phone",
    "الشركه": "company",
    "الجهه": "company",
    "المسمىالوظيفي": "title",
    "الوظيفه": "title",
    "العنوان": "address",
    "المدينه": "city",
    "الدوله": "country",
    "البلد": "country",
    "المصدر": "source",
    "الحاله": "status",
    "الوسوم": "tags",
    "التصنيف": "tags",
    "ملاحظات": "notes",
    "الملاحظات": "notes",
    "تاريخالميلاد": "birthday",
}

# Numbered and grouped columns of Google, Outlook, Shopify, WooCommerce exports.
_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"e?mail(\d+)value"), "email"),  # Google: E-mail 1 - Value
    (re.compile(r"email(\d*)address"), "email"),  # Outlook: E-mail Address, E-mail 2 Address
    (re.compile(r"email(\d+)(type|displayname)"), "drop"),
    (re.compile(r"phone(\d+)value"), "phone"),  # Google: Phone 1 - Value
    (re.compile(r"(e?mail|phone|address|website|organization|relation|event|im|customfield)(\d+)(type|label)"), "drop"),
    (re.compile(r"organization(\d+)name"), "company"),
    (re.compile(r"organization(\d+)title"), "title"),
    (re.compile(r"organization(\d+)department"), "department"),
    (re.compile(r"organization(\d+)(yominame|symbol|location|jobdescription)"), "drop"),
    (re.compile(r"(mobile|home|business|work|other|company|car|primary|main|assistant)phone(\d*)"), "phone"),
    (re.compile(r"(billing|shipping|defaultaddress)phone"), "phone"),
    (re.compile(r"(billing|shipping)email"), "email"),
    (re.compile(r"(billing|shipping|defaultaddress)company"), "company"),
    (re.compile(r"(billing|shipping)(firstname|lastname)"), "drop"),
    (
        re.compile(
            r"(?P<g>address\d+|business|home|other|billing|shipping|defaultaddress)(street\d*|address\d*|pobox|extendedaddress|addressbox)"
        ),
        "address",
    ),
    (re.compile(r"(?P<g>address\d+|business|home|other|billing|shipping|defaultaddress)city"), "city"),
    (
        re.compile(
            r"(?P<g>address\d+|business|home|other|billing|shipping|defaultaddress)(region|state|province|provincecode)"
        ),
        "region",
    ),
    (
        re.compile(r"(?P<g>address\d+|business|home|other|billing|shipping|defaultaddress)(postalcode|zip|postcode)"),
        "postal_code",
    ),
    (
        re.compile(
            r"(?P<g>address\d+|business|home|other|billing|shipping|defaultaddress)(country|countryregion|countrycode)"
        ),
        "country",
    ),
    (re.compile(r"(?P<g>address\d+)formatted"), "address_formatted"),
    (re.compile(r"(?P<g>address\d+)(label|type)"), "drop"),
    (re.compile(r"(business|home|other)fax|pager|isdn|telex|ttytddphone|radiophone|callback"), "phone"),
]
_NUMBERED = re.compile(r"\d+")
# Outlook fills these with placeholders; a placeholder is not data worth a custom field.
PLACEHOLDERS = {"normal", "false", "0/0/00", "1/0/00", "unspecified", "0", "no"}


def header_key(header: str) -> str:
    return re.sub(r"[^0-9a-z\u0600-\u06ff]", "", normalize(header).replace("e-mail", "email"))


@dataclass
class Column:
    header: str
    target: str  # a field from CONTACT_FIELDS, "drop" or "custom:<key>"
    group: str = ""  # address group (business, home, address1 …)
    rank: int = 0  # lower = preferred (E-mail 1 before E-mail 2, Mobile before Home)


@dataclass
class Mapping:
    columns: list[Column]
    custom: list[str] = field(default_factory=list)  # headers that became custom fields
    ignored: list[str] = field(default_factory=list)  # --ignore and placeholder-only columns
    profile: str = "generic"


def custom_key(header: str) -> str:
    """A header as a custom-field key (contacts._FIELD_KEY rules: letters first, ≤ 63 chars)."""
    key = re.sub(r"[^\w\u0600-\u06ff .-]", " ", header).strip()
    key = re.sub(r"\s+", " ", key)
    if not key or not re.match(r"[A-Za-z_\u0600-\u06ff]", key):
        key = "field " + key if key else "field"
    return key[:63].strip()


def _parse_target(field_name: str, option: str) -> str:
    name = field_name.strip()
    if name in ("ignore", "drop", "-", ""):
        return "drop"
    for prefix in ("custom:", "field:", "fields."):
        if name.startswith(prefix) and len(name) > len(prefix):
            return "custom:" + custom_key(name[len(prefix) :])
    if name not in CONTACT_FIELDS:
        raise InvalidInput(
            f"invalid {option} {field_name!r}: unknown field; use one of {', '.join(CONTACT_FIELDS)}, "
            "custom:KEY or ignore"
        )
    return name


def recognise(header: str) -> tuple[str, str, int] | None:
    """(target, group, rank) for a header crm knows, else None."""
    key = header_key(header)
    if not key:
        return None
    if key in _EXACT:
        return _EXACT[key], "", -1 if key in ("mobilephone", "mobile", "primaryphone", "cellphone") else 0
    if key.startswith(("field", "custom")) and ":" in header:
        return "custom:" + custom_key(header.split(":", 1)[1]), "", 0
    for pattern, target in _PATTERNS:
        m = pattern.fullmatch(key)
        if m:
            group = m.groupdict().get("g") or ""
            numbers = _NUMBERED.findall(key)
            rank = int(numbers[0]) if numbers else 0
            if target == "phone" and key.startswith(("mobile", "primary")):
                rank = -1
            return target, group, rank
    return None


def build(
    headers: list[str], overrides: list[str] | None = None, ignore: list[str] | None = None, *, fields=CONTACT_FIELDS
) -> Mapping:
    """Decide what each column means. Raises InvalidInput for a --map/--ignore naming no column."""
    keys = {header_key(h) for h in headers}
    by_key = {}
    for h in headers:
        by_key.setdefault(header_key(h), h)
        by_key.setdefault(h.strip().lower(), h)
    explicit: dict[str, str] = {}
    for pair in overrides or []:
        head, sep, target = pair.rpartition("=")
        if not sep or not head.strip():
            raise InvalidInput(f'invalid --map {pair!r}; use --map "Header=field", e.g. --map "Mobile=phone"')
        column = by_key.get(head.strip().lower()) or by_key.get(header_key(head))
        if column is None:
            raise InvalidInput(
                f"--map {pair!r}: the file has no column {head.strip()!r}; columns: {', '.join(headers)}"
            )
        explicit[column] = _parse_target(target, "--map") if fields is CONTACT_FIELDS else target.strip()
    dropped = set()
    for name in ignore or []:
        column = by_key.get(name.strip().lower()) or by_key.get(header_key(name))
        if column is None:
            raise InvalidInput(f"--ignore {name!r}: the file has no column of that name; columns: {', '.join(headers)}")
        dropped.add(column)

    profile = "generic"
    outlook = {"firstname", "lastname", "jobtitle", "title"} <= keys
    if outlook:
        profile = "outlook"
    elif {"email1value", "firstname"} <= keys or "organization1name" in keys or "givenname" in keys:
        profile = "google"
    elif "acceptsemailmarketing" in keys or "acceptsmarketing" in keys:
        profile = "shopify"
    elif "lifecyclestage" in keys or "recordid" in keys:
        profile = "hubspot"
    elif "billingphone" in keys or "billingemail" in keys:
        profile = "woocommerce"

    columns, custom, ignored = [], [], []
    for h in headers:
        if h in dropped:
            ignored.append(h)
            columns.append(Column(h, "drop"))
            continue
        if h in explicit:
            columns.append(Column(h, explicit[h]))
            continue
        found = recognise(h)
        if found and fields is not CONTACT_FIELDS and found[0] not in fields:
            found = None
        if found:
            target, group, rank = found
            if profile == "outlook" and header_key(h) == "title":
                target = "prefix"  # Outlook's "Title" is Mr./Ms.; "Job Title" is the job
            columns.append(Column(h, target, group, rank))
        else:
            columns.append(Column(h, "custom:" + custom_key(h)))
            custom.append(h)
    return Mapping(columns, custom, ignored, profile)
