"""Crash safety: a large write killed with SIGKILL at random moments leaves a sound file holding either
none or all of the write's rows.

Two large writes, each one transaction: `crm contact import` of a 3,000-row CSV (20 runs) and
`crm demo --contacts 3000` (~45k rows across every table, 10 runs). Kill moments come from a seeded
random generator: half by how far the write-ahead log has grown (so the kill lands mid-transaction),
half by elapsed time (start-up, validation, commit, checkpoint). After every kill the file must pass
integrity_check and foreign_key_check, hold exactly the before or the after state, and keep working.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

TABLES = ("contacts", "contact_handles", "tags", "interactions", "deals", "deal_stage_history", "campaign_members",
          "changes", "change_rows")  # fmt: skip

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def copy_db(source: Path, target: Path) -> None:
    """A consistent single-file copy (the source's last writes may still sit in its WAL)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close(), dst.close()


def run_until_killed(base: Path, tmp_path: Path, args: list[str], *, runs: int, seed: int) -> dict[str, int]:
    env = {**os.environ}
    full_db = tmp_path / "full.db"
    copy_db(base, full_db)
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "crm_cli", *args], env={**env, "CRM_DB": str(full_db)}, capture_output=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    duration = time.monotonic() - began
    empty, full = counts(base), counts(full_db)
    assert full["contacts"] >= empty["contacts"] + 3000
    rng = random.Random(seed)
    wal_size = 0
    outcomes = {"none": 0, "all": 0}
    for run in range(runs):
        db = tmp_path / f"run{run}.db"
        copy_db(base, db)
        wal = db.with_name(db.name + "-wal")
        proc = subprocess.Popen(
            [sys.executable, "-m", "crm_cli", *args],
            env={**env, "CRM_DB": str(db)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if run % 2 == 0:
            # Kill once the write-ahead log has grown past a random size: surely mid-transaction.
            threshold = rng.randrange(1, max(2, wal_size or 2_000_000))
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
        assert got in (empty, full), (run, got, empty, full)
        outcomes["all" if got == full else "none"] += 1
        after = subprocess.run(
            [sys.executable, "-m", "crm_cli", "contact", "add", "After Crash"],
            env={**env, "CRM_DB": str(db)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert after.returncode == 0, after.stderr  # the file keeps working
        for suffix in ("", "-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
    assert outcomes["none"] >= runs // 4, outcomes  # enough kills landed mid-write to mean something
    return outcomes


@pytest.fixture
def base(tmp_path, crm, db_path) -> Path:
    """A file with the schema, a setting and one contact already in it."""
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "Existing Person", "--email", "existing@example.com", "--tag", "vip")
    path = tmp_path / "base.db"
    copy_db(db_path, path)
    return path


def test_sigkill_during_a_large_import(tmp_path, base):
    source = tmp_path / "contacts.csv"
    rng = random.Random(3)
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Email", "Phone", "Company", "City", "Tags", "Notes"])
        for i in range(3000):
            writer.writerow(
                [f"{rng.choice(['سارة', 'Omar', 'Lina', 'محمد'])} Person {i}", f"p{i}@example.com",
                 f"+9665{rng.choice('03456')}{i:07d}", rng.choice(["Acme", "", "مؤسسة الفجر"]),
                 rng.choice(["Riyadh", "Jeddah"]), rng.choice(["vip", "", "retail;vip"]), "imported"]
            )  # fmt: skip
    run_until_killed(base, tmp_path, ["contact", "import", str(source)], runs=20, seed=20261122)


def test_sigkill_during_crm_demo(tmp_path, crm, db_path):
    crm.ok("config", "set", "date_order", "mdy")  # settings alone: `crm demo` still accepts the file
    base = tmp_path / "base.db"
    copy_db(db_path, base)
    run_until_killed(base, tmp_path, ["demo", "--contacts", "3000", "--seed", "5"], runs=10, seed=7)
