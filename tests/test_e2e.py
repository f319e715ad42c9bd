"""End to end: the installed `crm` console script in real subprocesses, as a user's shell runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import dump

CRM = Path(sys.executable).with_name("crm")

pytestmark = pytest.mark.skipif(not CRM.exists(), reason="the crm console script is not installed in this venv")


@pytest.fixture
def sh(tmp_path):
    env = {**os.environ, "CRM_DB": str(tmp_path / "e2e.db"), "LC_ALL": "C.UTF-8"}
    env.pop("CRM_DEBUG", None)

    def run(command: str, *, stdin: str | None = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            command,
            shell=True,
            executable="/bin/bash",
            capture_output=True,
            text=True,
            env={**env, "PATH": f"{CRM.parent}:{env.get('PATH', '')}"},
            input=stdin,
            timeout=60,
        )

    run.db = tmp_path / "e2e.db"
    return run


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"{proc.args} -> {proc.returncode}: {proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc.stdout


def test_issue_2_example_block(sh):
    ok(sh("crm config set default_region SA"))
    sara = ok(
        sh(
            'crm contact add "سارة الحداد" --email sara@example.com --phone "٠٥٠ ١٢٣ ٤٥٦٧" '
            "--city Riyadh --tag vip --source instagram"
        )
    )
    assert sara.strip().isdigit()  # the new id alone
    ok(sh('crm contact add "John Smith" --email john@example.com --company Acme --status customer'))
    ok(sh('crm contact add "John Doe" --email jdoe@example.com'))
    assert json.loads(ok(sh("crm contact list tag:vip --json")))[0]["phone"] == "+966501234567"
    assert len(json.loads(ok(sh('crm contact list "ساره" --json')))) == 1
    ok(sh('crm log call "سارة" "Asked for wholesale prices" --at "yesterday 15:00" --follow-up tomorrow'))
    ok(sh('crm log purchase john@example.com "Order #1001" --amount 249.90'))
    due = json.loads(ok(sh("crm log due --until +2d --json")))
    assert [d["summary"] for d in due if d.get("type") == "follow-up"][0] == "Asked for wholesale prices"
    assert "Asked for wholesale prices" in ok(sh('crm contact show "سارة"'))
    csv_out = ok(sh('crm contact list "last-contact<7d" --csv'))
    assert csv_out.splitlines()[0].startswith("id,") and len(csv_out.splitlines()) == 3

    before = dump(sh.db)
    for command, code in [
        ("crm contact add X --email not-an-email", 2),
        ("crm contact show nobody", 3),
        ('crm contact add "Sara Two" --email sara@example.com', 4),
        ('crm log call john "x"', 4),
        ('crm log call "سارة" "x" --at 32/13/2026', 2),
        ('crm contact delete "John Doe" </dev/null', 2),
    ]:
        proc = sh(command, stdin=None)
        assert proc.returncode == code, (command, proc.returncode, proc.stderr)
        assert proc.stdout == ""
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert dump(sh.db) == before


def test_json_into_head_ends_quietly(sh):
    ok(sh("crm demo --contacts 150"))
    for command in (
        "crm contact list --json | head -1",
        "crm contact list --ndjson | head -1",
        "crm contact list | head -1",
        "crm log list --csv | head -2",
    ):
        proc = sh(f"set -o pipefail; {command}")
        # Quiet and successful: the reader leaving early is not a failure, even under pipefail.
        assert proc.returncode == 0, (command, proc.returncode)
        assert proc.stderr == "", (command, proc.stderr)
        assert proc.stdout.strip()


def test_demo_then_dashboard(sh):
    """The README's main job: `crm demo && crm`."""
    ok(sh("crm demo"))
    out = ok(sh("crm"))
    assert out.strip()


def test_errors_as_json(sh):
    proc = sh("crm contact show nobody --json")
    assert proc.returncode == 3
    assert json.loads(proc.stderr)["error"]["code"] == "not_found"


def test_database_file_is_owner_only(sh):
    ok(sh("crm contact add Zed"))
    assert sh.db.stat().st_mode & 0o777 == 0o600


def test_issue_5_example_block(sh, tmp_path):
    """The reports issue's block: demo, dashboard, retention, champions, dormant -> segment -> list."""
    report_help = sh("crm report --help").stdout
    if not all(f"  {name} " in report_help for name in ("retention", "customers", "dormant", "summary")):
        pytest.skip("the issue 5 reports are not all in this build")
    db = tmp_path / "demo.db"
    proc = sh(f"crm demo --db {db} --seed 7")
    ok(proc)
    assert proc.stdout == "" and "300 people" in proc.stderr
    assert ok(sh(f"crm --db {db}")).strip()  # the dashboard
    assert ok(sh(f"crm --db {db} report retention")).strip()
    cohorts = json.loads(ok(sh(f"crm --db {db} report retention --json")))
    assert cohorts and cohorts[0]
    champions = ok(sh(f"crm --db {db} report customers --segment champions --csv")).splitlines()
    assert len(champions) >= 2 and champions[0].startswith("id,")
    ok(sh(f"crm --db {db} report dormant --days 180 --save-segment winback"))
    winback = json.loads(ok(sh(f"crm --db {db} contact list segment:winback --json")))
    assert len(winback) >= 5
    bad = sh(f"crm --db {db} report retention --from 2026-13-01")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
