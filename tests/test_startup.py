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
        ("agenda",),
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


# ---------------------------------------------------------------------------------------------
# Only what the invoked command needs is imported and built (cli._register, cli._only_invoked).

COMMAND_MODULES = {f"crm_cli.commands.{name}" for name in ("contact", "log", "deal", "campaign", "report", "config")}
EXTENSION_MODULES = {f"crm_cli.commands.{name}" for name in ("agenda", "transfer", "care", "demo")}


def modules_at_exit(*args: str, db_path) -> set[str]:
    """Every module in sys.modules when `crm ARGS` ends (importtime does not list what
    importlib.import_module loads, which is how cli.py loads command modules)."""
    listing = db_path.parent / "modules.txt"
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(listing)!r}, 'w').write('\\n'.join(sys.modules)))\n"
        f"sys.argv = ['crm', *{list(args)!r}]\n"
        "from crm_cli.launcher import main\n"
        "main()\n"
    )
    env = {**os.environ, "CRM_DB": str(db_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(listing.read_text().split())


def test_a_group_command_imports_its_group_only(db_path):
    imported_modules("contact", "list", db_path=db_path)  # create and migrate the file first
    loaded = modules_at_exit("contact", "add", "Sara Haddad", db_path=db_path)
    assert "crm_cli.commands.contact" in loaded
    # neither the other groups nor the modules that add commands to `contact` (import, merge …)
    assert sorted(loaded & (COMMAND_MODULES | EXTENSION_MODULES)) == ["crm_cli.commands.contact"]
    # nor json/csv/decimal/dataclasses, which a plain add does not use
    assert sorted(loaded & {"json", "csv", "decimal", "dataclasses", "crm_cli.dates"}) == []


def test_an_extension_command_still_loads_its_module(db_path):
    loaded = modules_at_exit("contact", "duplicates", db_path=db_path)
    assert "crm_cli.commands.care" in loaded


def test_pruned_runs_leave_every_command_in_place(crm):
    """A run builds only the invoked command, and leaves the registered commands as they were."""
    assert crm.ok("contact", "add", "Sara Haddad").stdout == "1\n"
    help_text = crm.ok("contact", "--help").stdout
    for name in ("add", "list", "show", "edit", "delete", "import", "export", "duplicates", "merge", "forget"):
        assert f"  {name} " in help_text
    assert crm.ok("contact", "add", "Omar Said").stdout == "2\n"
    assert crm.ok("contact", "list").lines[1].startswith("2\tOmar Said")
    root_help = crm.ok("--help").stdout
    for name in ("contact", "log", "deal", "campaign", "report", "config", "agenda", "backup", "history"):
        assert f"  {name} " in root_help


def test_unknown_subcommand_still_suggests(crm):
    crm.ok("contact", "add", "Sara Haddad")
    result = crm("contact", "ad", "x")
    assert result.exit_code == 2
    assert result.stderr == "crm: No such command 'ad'. Did you mean 'add'? (see: crm contact --help)\n"


def test_subcommand_help_after_pruning(crm):
    result = crm.ok("contact", "add", "--help")
    assert result.stdout.startswith("Usage: crm contact add [OPTIONS] ")
    assert "--email" in result.stdout


# ---------------------------------------------------------------------------------------------
# Reports: one family module per run (crm_cli/commands/report/__init__.py COMMANDS).

REPORT_FAMILIES = {
    f"crm_cli.commands.report.{name}" for name in ("summary", "pipeline", "customers", "campaigns", "quality")
}


def test_every_report_command_is_mapped_to_its_family():
    from crm_cli.commands import report

    report.load()
    defined = {(info.name, info.callback.__module__.rsplit(".", 1)[1]) for info in report.app.registered_commands}
    assert defined == set(report.COMMANDS.items())


def test_a_report_imports_its_family_only(db_path):
    imported_modules("contact", "list", db_path=db_path)  # create and migrate the file first
    loaded = modules_at_exit("report", "stale", db_path=db_path)
    assert sorted(loaded & REPORT_FAMILIES) == ["crm_cli.commands.report.pipeline"]
    loaded = modules_at_exit(db_path=db_path)  # the dashboard
    assert sorted(loaded & (REPORT_FAMILIES | COMMAND_MODULES | EXTENSION_MODULES)) == [
        "crm_cli.commands.report",
        "crm_cli.commands.report.summary",
    ]


def test_report_help_keeps_its_order_after_single_family_runs(crm):
    crm.ok("report", "quality")
    crm.ok("report", "retention")
    names = [
        line.split()[0] for line in crm.ok("report", "--help").stdout.split("Commands:")[1].splitlines() if line.strip()
    ]
    assert names == [
        "summary", "pipeline", "forecast", "sales", "stale", "conversion", "retention", "customers", "dormant",
        "acquisition", "service", "satisfaction", "activity", "campaign", "campaigns", "quality",
    ]  # fmt: skip
