"""Benchmark: import 100k contacts from CSV with `crm contact import` (validation, normalisation,
duplicate checks, audit rows, FTS) next to `sqlite-utils insert --csv` and the sqlite3 shell's `.import`
on the same file; then export 1M interactions as NDJSON and report peak memory.

    python benchmarks/bench_import.py [--rows 100000] [--runs 3] [--interactions 1000000]

Prints medians of wall-clock and CPU (user+sys) seconds per tool. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def make_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    first = [
        "Sara",
        "Ahmed",
        "Mohammed",
        "Fatima",
        "Omar",
        "Layla",
        "Noura",
        "Khalid",
        "John",
        "Maria",
        "سارة",
        "أحمد",
        "محمد",
        "فاطمة",
        "عمر",
    ]
    last = ["Haddad", "Otaibi", "Qahtani", "Smith", "Garcia", "الحداد", "العتيبي", "القحطاني", "Nasser", "Saleh"]
    cities = ["Riyadh", "Jeddah", "Dammam", "Dubai", "Cairo", "Mecca", "Medina"]
    companies = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", ""]
    tags = ["vip", "wholesale", "retail", "instagram", "", "vip;retail"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Email", "Phone", "Company", "City", "Tags", "Notes"])
        for i in range(rows):
            p = 500000000 + i
            phone = rng.choice([f"0{p}", f"+966{p}", f"+966 {str(p)[:2]} {str(p)[2:5]} {str(p)[5:]}"])
            domain = rng.choice(["example.com", "mail.sa", "shop.co", "gmail.com"])
            writer.writerow(
                [
                    f"{rng.choice(first)} {rng.choice(last)} {i}",
                    f"user{i}.{rng.choice('abc')}@{domain}",
                    phone,
                    rng.choice(companies),
                    rng.choice(cities),
                    rng.choice(tags),
                    rng.choice(["", "met at expo", "prefers WhatsApp"]),
                ]
            )


def timed(cmd: list[str], env=None, stdin=None) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdin=stdin, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--interactions", type=int, default=0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    data = work / "contacts.csv"
    make_csv(data, args.rows)
    env = dict(os.environ, CRM_NOW="2026-11-22T09:00:00Z")
    results: dict[str, list[tuple[float, float]]] = {"crm contact import": [], "sqlite-utils insert --csv": []}
    if shutil.which("sqlite3"):
        results["sqlite3 .import"] = []
    for run in range(args.runs):
        db = work / f"crm{run}.db"
        subprocess.run(
            [BIN / "crm", "--db", str(db), "config", "set", "default_region", "SA"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        results["crm contact import"].append(
            timed([BIN / "crm", "contact", "import", str(data), "--db", str(db)], env)[:2]
        )
        results["sqlite-utils insert --csv"].append(
            timed([BIN / "sqlite-utils", "insert", str(work / f"su{run}.db"), "contacts", str(data), "--csv"])[:2]
        )
        if "sqlite3 .import" in results:
            results["sqlite3 .import"].append(
                timed(["sqlite3", str(work / f"sh{run}.db"), "-cmd", ".mode csv", f".import {data} contacts"])[:2]
            )
    print(f"{args.rows:,} contacts, {args.runs} runs, medians (load average {os.getloadavg()[0]:.1f}):")
    for name, samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        print(f"  {name:28} {wall:6.2f} s wall  {cpu:6.2f} s cpu")
    crm = statistics.median(s[0] for s in results["crm contact import"])
    su = statistics.median(s[0] for s in results["sqlite-utils insert --csv"])
    print(f"  crm is {su / crm:.2f}x sqlite-utils (wall); goal >= 2x")
    if args.interactions:
        db = work / "log.db"
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"""
import sqlite3, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from crm_cli import db
conn = db.connect({str(db)!r})
conn.execute("BEGIN")
conn.execute("INSERT INTO contacts (id, name, name_key, created_at, updated_at) VALUES (1, 'A', 'a', 'x', 'x')")
conn.execute("DROP TRIGGER audit_interactions_insert")
conn.execute('''WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {args.interactions})
  INSERT INTO interactions (contact_id, kind, summary, happened_at, amount, currency, created_at)
  SELECT 1, 'purchase', 'order ' || i, '2026-01-01T00:00:00Z', i * 10, 'SAR', '2026-01-01T00:00:00Z' FROM n''')
conn.execute("COMMIT")
""",
            ],
            check=True,
        )
        out = work / "log.ndjson"
        wall, cpu, rss = timed(
            [BIN / "crm", "log", "export", "--format", "ndjson", "-o", str(out), "--db", str(db)], env
        )
        print(
            f"  export {args.interactions:,} interactions as NDJSON: {wall:.2f} s wall, peak RSS {rss / 1024:.0f} MiB"
        )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
