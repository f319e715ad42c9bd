"""The import guard: `crm --version` and a scripted `crm contact add` must not load the heavy libraries.

Every command module is imported when crm starts, so one careless top-level `import rich` (or
sqlite_utils, dateutil, phonenumbers …) costs every command 0.05-0.1 s. `python -X importtime` lists
every module a run imported; these tests read that list.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = [
    "rich",
    "sqlite_utils",
    "dateutil",
    "phonenumbers",
    "email_validator",
    "vobject",
    "icalendar",
    "charset_normalizer",
    "rapidfuzz",
    "pydantic",
    "smtplib",
]


def imported_modules(*args: str, db_path) -> set[str]:
    env = {**os.environ, "CRM_DB": str(db_path)}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crm_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            modules.add(name.split(".")[0])
    assert "crm_cli" in modules  # the importtime output was read
    return modules


def test_version_loads_nothing_heavy(db_path):
    loaded = imported_modules("--version", db_path=db_path)
    assert sorted(loaded & set(HEAVY)) == []


def test_scripted_contact_add_loads_nothing_heavy(db_path):
    """Without --phone and --email, adding a contact needs neither phonenumbers nor email_validator."""
    imported_modules("contact", "list", db_path=db_path)  # create and migrate the file first
    loaded = imported_modules("contact", "add", "Sara Haddad", "--city", "Riyadh", "--tag", "vip", db_path=db_path)
    assert sorted(loaded & set(HEAVY)) == []


@pytest.mark.parametrize(
    "args",
    [
        ("contact", "list", "--limit", "20"),
        ("log", "due"),
        ("contact", "list", "--json"),
    ],
)
def test_piped_listing_loads_nothing_heavy(db_path, args):
    """Piped output is TSV/JSON: no rich needed either."""
    loaded = imported_modules(*args, db_path=db_path)
    assert sorted(loaded & set(HEAVY)) == []


def test_email_needs_only_email_validator(db_path):
    loaded = imported_modules("contact", "add", "Omar", "--email", "omar@example.com", db_path=db_path)
    assert "email_validator" in loaded
    assert sorted(loaded & (set(HEAVY) - {"email_validator"})) == []
