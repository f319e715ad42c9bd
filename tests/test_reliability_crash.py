"""Crash safety: a large write killed with SIGKILL at random moments leaves a sound file holding either
none or all of the write's rows.

The large write is `crm demo --contacts 3000` (one transaction of ~45k rows across every table, with
its audit rows). Kill moments are chosen by a seeded random generator: half by how far the write-ahead
log has grown (so the kill lands mid-transaction), half by elapsed time (start-up, commit, checkpoint).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

RUNS = 20
CONTACTS = "3000"
TABLES = ("contacts", "interactions", "deals", "deal_stage_history", "campaign_members", "change_rows")


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def start(db: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "crm_cli", "demo", "--contacts", CONTACTS, "--seed", "5"],
        env={**os.environ, "CRM_DB": str(db)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_a_large_write(tmp_path, crm, db_path):
    # A base file with a setting (which `crm demo` does not count as data) and the schema in place.
    crm.ok("config", "set", "date_order", "mdy")
    base = tmp_path / "base.db"
    source, target = sqlite3.connect(db_path), sqlite3.connect(base)
    source.backup(target)  # a consistent single-file copy (the fixture's writes may still be in its WAL)
    source.close(), target.close()
    empty = counts(base)

    full_db = tmp_path / "full.db"
    shutil.copy(base, full_db)
    began = time.monotonic()
    proc = start(full_db)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    duration = time.monotonic() - began
    full = counts(full_db)
    assert full["contacts"] > 3000 and full["interactions"] > 20_000
    wal_size = 0
    rng = random.Random(20261122)
    outcomes = {"none": 0, "all": 0}
    for run in range(RUNS):
        db = tmp_path / f"run{run}.db"
        shutil.copy(base, db)
        wal = db.with_name(db.name + "-wal")
        proc = start(db)
        if run % 2 == 0:
            # Kill once the write-ahead log has grown past a random size: surely mid-transaction.
            threshold = rng.randrange(1, max(2, wal_size or 4_000_000))
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                if wal.exists() and wal.stat().st_size >= threshold:
                    break
                time.sleep(0.002)
        else:
            time.sleep(rng.uniform(0, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if wal.exists():
            wal_size = max(wal_size, wal.stat().st_size)
        got = counts(db)  # opening recovers from the WAL; the checks inside must pass every time
        assert got in (empty, full), (run, got)
        outcomes["all" if got == full else "none"] += 1
        # The file keeps working: the next command succeeds.
        after = subprocess.run(
            [sys.executable, "-m", "crm_cli", "contact", "add", "After Crash"],
            env={**os.environ, "CRM_DB": str(db)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert after.returncode == 0, after.stderr
        db.unlink()
        for suffix in ("-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
    assert outcomes["none"] >= RUNS // 4, outcomes  # most kills did land mid-write
