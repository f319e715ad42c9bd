"""Personal data stays owner-only: the database, its -wal/-shm files, its directory, and what crm writes.

Run with a permissive umask (0022, the usual default) so the test proves crm itself restricts the modes.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

CRM = Path(sys.executable).with_name("crm")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def run_crm(*args: str, db: Path) -> subprocess.CompletedProcess:
    """A real process, so -wal/-shm exist while a second connection holds the file open."""
    command = [str(CRM)] if CRM.exists() else [sys.executable, "-m", "crm_cli"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CRM_DB": str(db)},
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),
    )


def test_new_database_and_its_directory_are_owner_only(tmp_path, open_umask):
    db = tmp_path / "new" / "deeper" / "crm.db"
    proc = run_crm("contact", "add", "Sara", db=db)
    assert proc.returncode == 0, proc.stderr
    assert mode(db) == 0o600
    assert mode(db.parent) == 0o700


def test_wal_and_shm_follow_the_database(tmp_path, open_umask):
    db = tmp_path / "crm.db"
    assert run_crm("contact", "add", "Sara", db=db).returncode == 0
    # Keep a reader open so the -wal and -shm files stay on disk while another process writes.
    holder = sqlite3.connect(db)
    holder.execute("SELECT count(*) FROM contacts").fetchone()
    try:
        assert run_crm("contact", "add", "Omar", db=db).returncode == 0
        for suffix in ("-wal", "-shm"):
            side = db.with_name(db.name + suffix)
            assert side.exists(), suffix
            assert mode(side) == 0o600, (suffix, oct(mode(side)))
    finally:
        holder.close()


def test_in_process_run_is_owner_only_too(crm, db_path, open_umask):
    crm.ok("contact", "add", "Sara")
    assert mode(db_path) == 0o600


def test_demo_database_is_owner_only(tmp_path, open_umask):
    db = tmp_path / "demo" / "demo.db"
    proc = run_crm("demo", "--contacts", "30", "--db", str(db), db=db)
    assert proc.returncode == 0, proc.stderr
    assert mode(db) == 0o600 and mode(db.parent) == 0o700


def test_files_crm_writes_are_owner_only(tmp_path, open_umask):
    """Backups, exports and calendars hold the same personal data (checked for the commands this build has)."""
    db = tmp_path / "crm.db"
    assert run_crm("demo", "--contacts", "30", db=db).returncode == 0
    out = tmp_path / "out"
    out.mkdir()
    candidates = [
        (("backup",), ["backup", str(out / "backup.db")], out / "backup.db"),
        (("export",), ["export", "--all", "-o", str(out / "all.json")], out / "all.json"),
        (("contact", "export"), ["contact", "export", "-o", str(out / "contacts.csv")], out / "contacts.csv"),
        (("log", "export"), ["log", "export", "--format", "ndjson", "-o", str(out / "log.ndjson")], out / "log.ndjson"),
        (("agenda",), ["agenda", "--ics", "-o", str(out / "agenda.ics")], out / "agenda.ics"),
    ]
    checked = 0
    for command, args, target in candidates:
        help_proc = run_crm(*command, "--help", db=db)
        if help_proc.returncode != 0:
            continue  # not in this build
        proc = run_crm(*args, db=db)
        assert proc.returncode == 0, (args, proc.stderr)
        assert target.exists(), args
        assert mode(target) == 0o600, (args, oct(mode(target)))
        checked += 1
    if not checked:
        pytest.skip("no command in this build writes files")
