"""One command for every benchmark figure of issue 8, each side by side with its reference.

    python benchmarks/run.py                       # everything, 100k contacts / 1M interactions
    python benchmarks/run.py --quick               # 10k only, fewer runs (a smoke test, ~2 min)
    python benchmarks/run.py --only startup,queries --runs 7
    python benchmarks/run.py --typer               # also Typer 0.29 vs the pinned 0.28 (makes a venv in /tmp)
    python benchmarks/run.py --markdown            # print the tables as Markdown (for benchmarks/README.md)

Data: crm_cli.demo.generate (the same generator as `crm demo`) builds benchmarks/data/bench-<N>.db with N
people, 10 N interactions, N/2 deals and 20 campaigns, plus contacts-<N>.csv; both are cached there
(gitignored) and rebuilt when the generator changes. The clock is pinned (CRM_NOW) to the moment the
data was generated for, so every run sees the same "today".

Every figure is the median of several runs of a real subprocess (wall clock, piped stdout), next to a
reference measured in the same run:
- start-up: `python -c "import sqlite3"` and `sqlite-utils --version`; goal crm < 0.5x sqlite-utils.
- import: the 100k CSV with `crm contact import` vs `sqlite-utils insert --csv` and the sqlite3 shell's
  `.import`; goal at least 2x faster than sqlite-utils.
- queries (every report, filtered `contact list`, free-text search, `log due`): the reference is THE
  SAME SQL crm ran, captured with sqlite3's trace callback while running the command in-process, then
  replayed by the `sqlite3` shell (crm_norm() -> lower(), the one function the shell lacks); goal within
  1.5x and under 1 s.
- export of 1M interactions: time and peak memory (GNU time's max RSS) vs the sqlite3 shell's -json;
  goal peak < 100 MiB.
- growth: the query figures at every size side by side.
Commands missing from this build are listed as skipped.

The crm measured is a regular (non-editable) install: when the `crm` next to sys.executable comes from
an editable install (its path finder costs every run ~20 ms that users of `pip install` do not pay) or
there is none, a throwaway venv in /tmp gets `pip install` of a copy of this checkout, cached by a hash
of the package sources (--crm PATH measures another build).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
OUT = HERE / "out"
BIN = Path(sys.executable).parent
CRM = [str(BIN / "crm")] if (BIN / "crm").exists() else [sys.executable, "-m", "crm_cli"]
SQLITE3 = shutil.which("sqlite3")
SQLITE_UTILS = str(BIN / "sqlite-utils") if (BIN / "sqlite-utils").exists() else shutil.which("sqlite-utils")
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
NOW = "2026-11-22T09:00:00Z"
# The issue sets the import and query goals for the large database (100k people, 1M interactions); smaller
# sizes (--quick, --sizes 10000) print the same figures without a verdict, to show growth.
AT_SCALE = 100_000
SEED = 7
ENV = {**os.environ, "CRM_NOW": NOW, "TZ": "Asia/Riyadh", "LC_ALL": "C.UTF-8"}
ENV.pop("CRM_DB", None)

sys.path.insert(0, str(ROOT))


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "crm_cli").rglob("*.py"), ROOT / "pyproject.toml"]):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def is_editable_or_missing(crm: Path) -> bool:
    """True when `crm` is absent or its crm_cli is imported from this checkout (an editable install)."""
    if not crm.exists():
        return True
    python = crm.parent / "python"
    probe = subprocess.run(
        [str(python), "-c", "import crm_cli; print(crm_cli.__file__)"], capture_output=True, text=True, cwd="/"
    )
    location = Path(probe.stdout.strip() or ROOT).resolve()
    return probe.returncode != 0 or location.is_relative_to(ROOT)


def regular_install(log) -> tuple[list[str], str]:
    """A `crm` from a regular `pip install` of this checkout's sources (cached in /tmp by source hash).

    Several people may run this at once: the build holds a lock, and a venv counts only once its
    `ready` stamp is written (a half-built one, e.g. from an interrupted run, is built again)."""
    import fcntl

    if not is_editable_or_missing(BIN / "crm"):
        return [str(BIN / "crm")], f"{BIN / 'crm'} (regular install)"
    digest = source_hash()
    tmp = Path(tempfile.gettempdir())
    venv = tmp / f"crm-bench-regular-{digest}"
    crm, ready = venv / "bin" / "crm", venv / "ready"
    with open(tmp / f"crm-bench-regular-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            shutil.rmtree(venv, ignore_errors=True)
            log(f"building a regular install of this checkout in {venv} (the editable one adds ~20 ms per run) …")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            with tempfile.TemporaryDirectory(prefix="crm-src-") as src:
                # a copy, so no stale build/ folder of the checkout ends up in the wheel
                shutil.copytree(ROOT / "crm_cli", Path(src) / "crm_cli", ignore=shutil.ignore_patterns("__pycache__"))
                for name in ("pyproject.toml", "README.md"):
                    shutil.copy(ROOT / name, Path(src) / name)
                subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", src], check=True)
            ready.write_text(digest)
        ready.touch()  # last used
    for old in [*tmp.glob("crm-bench-regular-*"), *tmp.glob("crm-bench-install-*")]:  # older sources
        used = old / "ready" if (old / "ready").exists() else old
        if old.is_dir() and old != venv and time.time() - used.stat().st_mtime > 86400:  # unused for a day
            shutil.rmtree(old, ignore_errors=True)
    return [str(crm)], f"{crm} (regular pip install of this checkout, sources {digest}; the venv's is editable)"


# (label, crm arguments after `--db DB`, the report/group command that must exist)
QUERIES = [
    ("contact list --limit 20", ["contact", "list", "--limit", "20"], None),
    ("contact list tag:vip city:Riyadh", ["contact", "list", "tag:vip", "city:Riyadh"], None),
    ("contact list status:customer last-purchase>180d", ["contact", "list", "status:customer", "last-purchase>180d"],
     None),
    ("contact list orders>=3 spent>=1000 -n 100", ["contact", "list", "orders>=3", "spent>=1000", "--limit", "100"],
     None),
    ("contact list last-contact>90d source:instagram", ["contact", "list", "last-contact>90d", "source:instagram"],
     None),
    ("search: contact list حداد", ["contact", "list", "حداد"], None),
    ("search: contact list sara --limit 20", ["contact", "list", "sara", "--limit", "20"], None),
    ("log due", ["log", "due"], None),
    ("crm (dashboard)", [], "summary"),
    ("report summary", ["report", "summary"], "summary"),
    ("report pipeline", ["report", "pipeline"], "pipeline"),
    ("report forecast", ["report", "forecast"], "forecast"),
    ("report sales", ["report", "sales"], "sales"),
    ("report stale", ["report", "stale"], "stale"),
    ("report conversion", ["report", "conversion"], "conversion"),
    ("report retention", ["report", "retention"], "retention"),
    ("report customers", ["report", "customers"], "customers"),
    ("report customers --segment champions", ["report", "customers", "--segment", "champions"], "customers"),
    ("report dormant --days 180", ["report", "dormant", "--days", "180"], "dormant"),
    ("report acquisition", ["report", "acquisition"], "acquisition"),
    ("report service", ["report", "service"], "service"),
    ("report satisfaction", ["report", "satisfaction"], "satisfaction"),
    ("report activity", ["report", "activity"], "activity"),
    ("report campaigns", ["report", "campaigns"], "campaigns"),
    ("report campaign 'Ramadan offer 2026'", ["report", "campaign", "Ramadan offer 2026"], "campaign"),
    ("report quality", ["report", "quality"], "quality"),
    ("agenda", ["agenda"], "@agenda"),
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Measuring


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(cmd: list[str] | str, *, runs: int, env=None, cwd=None, before=None, stdin=None) -> dict:
    """Median wall and CPU seconds of `runs` runs (stdout to /dev/null, i.e. piped, not a terminal)."""
    walls, cpus, codes = [], [], set()
    for _ in range(runs):
        if before:
            before()
        usage = children_cpu()
        started = time.perf_counter()
        proc = subprocess.run(
            cmd,
            shell=isinstance(cmd, str),
            env=env or ENV,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
        )
        walls.append(time.perf_counter() - started)
        cpus.append(children_cpu() - usage)
        codes.add(proc.returncode)
        if proc.returncode != 0:
            return {"error": f"exit {proc.returncode}: {proc.stderr.decode(errors='replace').strip()[-300:]}"}
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "runs": runs}


def measure_interleaved(cmds: dict, *, runs: int, min_seconds: float = 2.0, max_runs: int = 41) -> dict:
    """measure() for several commands in rounds (a, b, c, a, b, c …), so a change in the machine's load
    falls on all of them alike. Short commands get more rounds: at least `runs`, then more until the
    round-robin has taken `min_seconds` (at most `max_runs`), since a few ms of noise is a large share of
    a 5 ms figure. cmds: name -> keyword arguments of measure() with runs=1, or a function taking no
    arguments that returns one run's result. -> name -> result."""
    samples: dict[str, list[dict]] = {name: [] for name in cmds}
    started = time.perf_counter()
    done = 0
    while done < runs or (time.perf_counter() - started < min_seconds and done < max_runs):
        for name, how in cmds.items():
            result = how() if callable(how) else measure(runs=1, **how)
            if "error" in result:
                return {**{n: s[-1] if s else None for n, s in samples.items()}, name: result}
            samples[name].append(result)
        done += 1
    return {
        name: {
            "wall": statistics.median(r["wall"] for r in results),
            "cpu": statistics.median(r["cpu"] for r in results),
            "runs": len(results),
        }
        for name, results in samples.items()
    }


def peak_rss_mib(cmd: list[str], env=None) -> float | None:
    if not GNU_TIME:
        return None
    proc = subprocess.run(
        [GNU_TIME, "-f", "%M", *cmd], env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        return int(proc.stderr.strip().splitlines()[-1]) / 1024
    except (ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------------------------
# Data


def generator_version() -> str:
    source = (ROOT / "crm_cli" / "demo.py").read_bytes() + (ROOT / "crm_cli" / "db.py").read_bytes()
    return hashlib.sha256(source).hexdigest()[:12]


def build_data(people: int, log) -> tuple[Path, Path]:
    """benchmarks/data/bench-N.db and contacts-N.csv, cached by generator version."""
    from crm_cli import db, demo

    DATA.mkdir(parents=True, exist_ok=True)
    path, csv_path, meta_path = (
        DATA / f"bench-{people}.db",
        DATA / f"contacts-{people}.csv",
        DATA / f"bench-{people}.json",
    )
    meta = {"version": generator_version(), "seed": SEED, "people": people, "now": NOW}
    if path.exists() and csv_path.exists() and meta_path.exists():
        cached = json.loads(meta_path.read_text())
        cached.pop("generate_seconds", None)  # written after generating: not part of the cache key
        if cached == meta:
            return path, csv_path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    log(f"generating {people:,} people, {people * 10:,} interactions, {people // 2:,} deals, 20 campaigns …")
    conn = db.connect(path)
    summary = demo.generate(
        conn,
        seed=SEED,
        contacts=people,
        now=datetime.fromisoformat(NOW.replace("Z", "+00:00")).astimezone(UTC),
        interactions=people * 10,
        deals=people // 2,
        campaigns=20,
        fast=True,
        command=f"benchmark data {people}",
    )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    log(f"  {demo.summary_line(summary)}")
    write_csv(conn, csv_path)
    conn.close()
    meta["generate_seconds"] = round(summary.seconds, 1)
    meta_path.write_text(json.dumps(meta))
    return path, csv_path


def write_csv(conn: sqlite3.Connection, csv_path: Path) -> None:
    import csv

    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Email", "Phone", "Company", "City", "Country", "Source", "Tags", "Notes"])
        for row in conn.execute(
            """SELECT c.name, c.email, c.phone, c.company, c.city, c.country, c.source,
                      (SELECT group_concat(tag, ';') FROM tags t WHERE t.contact_id = c.id), c.notes
               FROM contacts c WHERE c.kind = 'person' ORDER BY c.id"""
        ):
            writer.writerow(["" if v is None else v for v in row])


def generate_seconds(people: int) -> float | None:
    meta = DATA / f"bench-{people}.json"
    return json.loads(meta.read_text()).get("generate_seconds") if meta.exists() else None


def available_commands() -> dict[str, set[str]]:
    found = {}
    for group in ("", "report", "contact", "log"):
        proc = subprocess.run([*CRM, *group.split(), "--help"], env=ENV, capture_output=True, text=True)
        names = set()
        in_commands = False
        for line in proc.stdout.splitlines():
            if line.startswith("Commands:"):
                in_commands = True
            elif in_commands and line.startswith("  ") and line.strip():
                names.add(line.split()[0])
        found[group or "@"] = names
    return found


# ---------------------------------------------------------------------------------------------
# SQL capture: run a command in-process with a trace callback, keep what it sent to SQLite.


def capture_sql(db_path: Path, args: list[str]) -> list[str]:
    from crm_cli import cli, db

    statements: list[str] = []
    original = db.connect

    def traced(*a, **kw):
        conn = original(*a, **kw)
        conn.set_trace_callback(statements.append)
        return conn

    db.connect = traced
    saved = {k: os.environ.get(k) for k in ("CRM_NOW", "TZ")}
    os.environ.update(CRM_NOW=NOW, TZ="Asia/Riyadh")
    time.tzset()
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            cli.run(["--db", str(db_path), *args], stdout_isatty=False, stdin_isatty=False)
    finally:
        db.connect = original
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        time.tzset()
    keep = []
    for s in statements:
        head = s.lstrip().split(None, 1)[0].upper() if s.strip() else ""
        if head in ("BEGIN", "COMMIT", "ROLLBACK") or s.lstrip().upper().startswith("PRAGMA BUSY_TIMEOUT"):
            continue
        keep.append(s.replace("crm_norm(", "lower(").rstrip().rstrip(";") + ";")
    return keep


# ---------------------------------------------------------------------------------------------
# Sections


def section_startup(args, big: Path, log) -> list[dict]:
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    small = tmp / "small.db"
    subprocess.run([*CRM, "--db", str(small), "config", "set", "default_region", "SA"], env=ENV, check=True)
    counter = iter(range(10**6))
    refs = {
        "python -c 'import sqlite3'": measure([sys.executable, "-c", "import sqlite3"], runs=args.runs),
        "sqlite-utils --version": measure([SQLITE_UTILS, "--version"], runs=args.runs) if SQLITE_UTILS else None,
    }
    for label, cmd, before in (
        ("crm --version", [*CRM, "--version"], None),
        ("crm contact add (no e-mail/phone)", None, None),
        ("crm contact add --email --phone", None, None),
        ("crm contact list --limit 20 (big db)", [*CRM, "--db", str(big), "contact", "list", "--limit", "20"], None),
    ):
        if cmd is None:
            extra = ["--email", "{n}@example.com", "--phone", "+96650{n:07d}"] if "--email" in label else []

            def run_add(extra=extra):
                n = next(counter)
                return subprocess.run(
                    [*CRM, "--db", str(small), "contact", "add", f"Bench Person {n}", *[e.format(n=n) for e in extra]],
                    env=ENV,
                    stdout=subprocess.DEVNULL,
                )

            how = {"crm": lambda run_add=run_add: timed_callable(run_add, runs=1)}
        else:
            how = {"crm": {"cmd": cmd, "before": before}}
        if SQLITE_UTILS:  # the goal's reference, in the same rounds (measure_interleaved)
            how["ref"] = {"cmd": [SQLITE_UTILS, "--version"]}
        measured = measure_interleaved(how, runs=args.runs)
        result, paired = measured["crm"], measured.get("ref")
        rows.append(row("start-up", label, result, "sqlite-utils --version", paired, goal=0.5))
    for label, ref in refs.items():
        rows.append(row("start-up", f"(reference) {label}", ref, None, None))
    demo_db = tmp / "demo.db"

    def fresh_demo():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{demo_db}{suffix}").unlink(missing_ok=True)

    result = measure([*CRM, "--db", str(demo_db), "demo"], runs=args.runs, before=fresh_demo)
    rows.append(row("start-up", "crm demo (300 people, one transaction)", result, None, None, goal_abs=2.0))
    shutil.rmtree(tmp, ignore_errors=True)
    log("start-up done")
    return rows


def timed_callable(fn, *, runs: int) -> dict:
    walls, cpus = [], []
    for _ in range(runs):
        usage = children_cpu()
        started = time.perf_counter()
        proc = fn()
        walls.append(time.perf_counter() - started)
        cpus.append(children_cpu() - usage)
        if proc.returncode != 0:
            return {"error": f"exit {proc.returncode}"}
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "runs": runs}


def section_import(args, csv_path: Path, people: int, log) -> list[dict]:
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="crm-import-"))
    target = tmp / "import.db"

    def fresh():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)

    runs = max(1, min(args.runs, args.import_runs))
    commands = available_commands()
    refs = {}
    if SQLITE_UTILS:
        refs["sqlite-utils insert --csv"] = measure(
            [SQLITE_UTILS, "insert", str(target), "contacts", str(csv_path), "--csv"], runs=runs, before=fresh
        )
    if SQLITE3:
        refs["sqlite3 .import --csv"] = measure(
            [SQLITE3, str(target), f".import --csv {csv_path} contacts"], runs=runs, before=fresh
        )
    if "import" in commands.get("contact", set()):
        result = measure([*CRM, "--db", str(target), "contact", "import", str(csv_path)], runs=runs, before=fresh)
        check = sqlite3.connect(target)
        imported = check.execute("SELECT count(*) FROM contacts WHERE kind = 'person'").fetchone()[0]
        check.close()
        label = f"crm contact import ({people:,} rows; {imported:,} people in the file afterwards)"
        rows.append(row("import", label, result, "sqlite-utils insert --csv", refs.get("sqlite-utils insert --csv"),
                        goal=0.5 if people >= AT_SCALE else None))  # fmt: skip
    else:
        rows.append({"section": "import", "name": "crm contact import", "skipped": "not in this build"})
    for label, ref in refs.items():
        rows.append(row("import", f"(reference) {label}", ref, None, None))
    shutil.rmtree(tmp, ignore_errors=True)
    log("import done")
    return rows


def section_queries(args, dbs: dict[int, Path], log) -> list[dict]:
    commands = available_commands()
    rows = []
    # The start-up floor every crm command pays (Python, Typer, its group's commands, opening the
    # database) and the shell does not: subtracted so the SQL work is compared on its own ("net").
    # `crm --version` no longer loads Typer, so the cheapest real command is the floor. It is measured
    # in the same rounds as each command and its reference (measure_interleaved).
    floor_cmd = [*CRM, "config", "get", "date_order", "--db", str(dbs[max(dbs)])]
    floor = None
    tmp = Path(tempfile.mkdtemp(prefix="crm-sql-"))
    for label, cmd_args, needs in QUERIES:
        if args.queries and not any(part in label for part in args.queries.split(",")):
            continue
        if needs:
            group = "@" if needs.startswith("@") else "report"
            if needs.lstrip("@") not in commands.get(group, set()):
                rows.append({"section": "queries", "name": label, "skipped": "not in this build"})
                continue
        per_size = {}
        for people, path in dbs.items():
            work = tmp / f"q-{people}.db"
            if not work.exists():  # a private copy: some commands migrate or ANALYZE on open
                src, dst = sqlite3.connect(path), sqlite3.connect(work)
                src.backup(dst)
                src.close(), dst.close()
            statements = capture_sql(work, cmd_args)
            sql_file = tmp / "replay.sql"
            sql_file.write_text("\n".join(statements) + "\n", encoding="utf-8")
            with sql_file.open("rb") as handle:

                def rewind(handle=handle):
                    handle.seek(0)

                cmds = {"crm": {"cmd": [*CRM, "--db", str(work), *cmd_args]}}
                if SQLITE3:
                    cmds["ref"] = {"cmd": [SQLITE3, str(work)], "stdin": handle, "before": rewind}
                if people == max(dbs):
                    cmds["floor"] = {"cmd": floor_cmd}
                measured = measure_interleaved(cmds, runs=args.runs)
            crm_result, ref = measured["crm"], measured.get("ref")
            if "floor" in measured:
                floor = (measured["floor"] or {}).get("cpu", 0.0)
            per_size[people] = (crm_result, ref, len(statements))
        biggest = max(per_size)
        crm_result, ref, count = per_size[biggest]
        at_scale = biggest >= AT_SCALE
        r = row("queries", label, crm_result, f"same SQL in sqlite3 ({count} statements)", ref,
                goal=1.5 if at_scale else None, goal_abs=1.0 if at_scale else None)  # fmt: skip
        r["floor"] = floor
        if "cpu" in crm_result and ref and ref.get("cpu") and floor is not None:
            r["net_ratio"] = max(0.0, crm_result["cpu"] - floor) / ref["cpu"]
        r["sizes"] = {str(k): v[0].get("wall") for k, v in per_size.items()}
        r["sizes_ref"] = {str(k): (v[1] or {}).get("wall") for k, v in per_size.items()}
        rows.append(r)
        log(f"  {label}: {fmt(crm_result)} vs {fmt(ref)}")
    shutil.rmtree(tmp, ignore_errors=True)
    return rows


def section_export(args, big: Path, people: int, log) -> list[dict]:
    rows = []
    commands = available_commands()
    tmp = Path(tempfile.mkdtemp(prefix="crm-export-"))
    out = tmp / "out.ndjson"
    interactions = sqlite3.connect(big).execute("SELECT count(*) FROM interactions").fetchone()[0]
    runs = max(1, min(args.runs, 3))
    ref_cmd = [SQLITE3, "-json", str(big), "SELECT * FROM interactions"] if SQLITE3 else None
    ref = measure(ref_cmd, runs=runs) if ref_cmd else None
    ref_mem = peak_rss_mib(ref_cmd) if ref_cmd else None
    for label, cmd_args, group, name in (
        (f"crm log export --format ndjson ({interactions:,} rows)", ["log", "export", "--format", "ndjson"], "log",
         "export"),
        (f"crm log export --format csv ({interactions:,} rows)", ["log", "export", "--format", "csv"], "log", "export"),
        (f"crm contact export --format csv ({people:,} people)", ["contact", "export", "--format", "csv"], "contact",
         "export"),
        ("crm export --all (every table, JSON)", ["export", "--all"], "@", "export"),
    ):  # fmt: skip
        if name not in commands.get(group, set()):
            rows.append({"section": "export", "name": label, "skipped": "not in this build"})
            continue
        cmd = [*CRM, "--db", str(big), *cmd_args, "-o", str(out)]
        result = measure(cmd, runs=runs)
        result["peak_mib"] = peak_rss_mib(cmd)
        r = row("export", label, result, "sqlite3 -json SELECT * FROM interactions", ref)
        r["goal_mem"] = 100
        rows.append(r)
        log(f"  {label}: {fmt(result)} peak {result.get('peak_mib') or 0:.0f} MiB")
    if ref:
        ref["peak_mib"] = ref_mem
        rows.append(row("export", "(reference) sqlite3 -json SELECT * FROM interactions", ref, None, None))
    shutil.rmtree(tmp, ignore_errors=True)
    return rows


TYPER_APP = """
import typer
app = typer.Typer(add_completion=False)

@app.command()
def hello(name: str = typer.Option("x", "--name"), count: int = typer.Option(1, "--count"),
          loud: bool = typer.Option(False, "--loud")):
    print(name * count)

@app.command()
def other(value: str = typer.Argument("v")):
    print(value)

if __name__ == "__main__":
    app()
"""


def section_typer(args, log) -> list[dict]:
    """Typer 0.29 (pydantic) vs the pinned 0.28.0: a minimal app and crm itself (PYTHONPATH) in a venv."""
    venv = Path(tempfile.gettempdir()) / "crm-bench-typer-0.29"
    py29 = venv / "bin" / "python"
    if not py29.exists():
        log("creating a venv with typer==0.29.2 in " + str(venv))
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py29), "-m", "pip", "install", "-q", "typer==0.29.2", "platformdirs"], check=True)
    versions = {}
    for py in (sys.executable, str(py29)):
        versions[py] = subprocess.run(
            [py, "-c", "import typer; print(typer.__version__)"], capture_output=True, text=True
        ).stdout.strip()
    app = Path(tempfile.gettempdir()) / "crm-bench-typer-app.py"
    app.write_text(TYPER_APP)
    tmp = Path(tempfile.mkdtemp(prefix="crm-typer-"))
    rows = []
    env_path = {**ENV, "PYTHONPATH": str(ROOT)}
    for label, argv in (
        ("python -c 'import typer'", ["-c", "import typer"]),
        ("minimal Typer app: hello --name a --count 2", [str(app), "hello", "--name", "a", "--count", "2"]),
        ("crm --version", ["-m", "crm_cli", "--version"]),
        ("crm contact add", None),
    ):
        results = {}
        for py in (sys.executable, str(py29)):
            if argv is None:
                db_file = tmp / f"{Path(py).parent.parent.name}.db"
                counter = iter(range(10**6))

                def run_add(py=py, db_file=db_file, counter=counter):
                    return subprocess.run(
                        [py, "-m", "crm_cli", "--db", str(db_file), "contact", "add", f"T {next(counter)}"],
                        env=env_path,
                        stdout=subprocess.DEVNULL,
                    )

                results[py] = timed_callable(run_add, runs=args.runs)
            else:
                results[py] = measure([py, *argv], runs=args.runs, env=env_path)
        pinned, newer = results[sys.executable], results[str(py29)]
        rows.append(row("typer", f"{label}: typer {versions[sys.executable]} (pinned)", pinned, None, None))
        rows.append(row("typer", f"{label}: typer {versions[str(py29)]}", newer, "the pinned typer", pinned))
    shutil.rmtree(tmp, ignore_errors=True)
    log("typer done")
    return rows


# ---------------------------------------------------------------------------------------------
# Table


def row(section, name, result, ref_name, ref, *, goal=None, goal_abs=None) -> dict:
    r = {"section": section, "name": name, "result": result, "ref_name": ref_name, "ref": ref}
    if result and ref and "wall" in result and "wall" in (ref or {}):
        r["ratio"] = result["wall"] / ref["wall"] if ref["wall"] else None
        if result.get("cpu") is not None and ref.get("cpu"):
            r["cpu_ratio"] = result["cpu"] / ref["cpu"]
    r["goal"], r["goal_abs"] = goal, goal_abs
    return r


def fmt(result) -> str:
    if not result:
        return "-"
    if "error" in result:
        return "error"
    return f"{result['wall']:.3f}"


def verdict(r) -> str:
    if r.get("skipped"):
        return "skipped"
    res = r.get("result") or {}
    if "error" in res:
        return "ERROR: " + res["error"][:80]
    checks = []
    if r.get("goal") and r.get("ratio") is not None:
        ratio = r.get("net_ratio", r.get("cpu_ratio", r["ratio"]))
        checks.append(ratio <= r["goal"])
    if r.get("goal_abs") and "wall" in res:
        checks.append(res["wall"] <= r["goal_abs"])
    if r.get("goal_mem") and res.get("peak_mib"):
        checks.append(res["peak_mib"] <= r["goal_mem"])
    if not checks:
        return ""
    return "ok" if all(checks) else "MISSED"


def goal_text(r) -> str:
    parts = []
    if r.get("goal"):
        parts.append(f"<= {r['goal']}x")
    if r.get("goal_abs"):
        parts.append(f"< {r['goal_abs']:g} s")
    if r.get("goal_mem"):
        parts.append(f"< {r['goal_mem']} MiB")
    return ", ".join(parts)


def render(rows: list[dict], sizes: list[int], markdown: bool) -> str:
    lines = []
    size_cols = [f"{s // 1000}k" for s in sizes]
    by_section: dict[str, list[dict]] = {}
    for r in rows:
        by_section.setdefault(r["section"], []).append(r)
    for section, items in by_section.items():
        header = ["benchmark", "crm s", "cpu s", "reference", "ref s", "ratio", "cpu ratio", "goal", "verdict"]
        if section == "queries":
            header.insert(header.index("cpu ratio") + 1, "net cpu ratio")
        if section == "queries" and len(sizes) > 1:
            header[1:1] = [f"crm s @{c}" for c in size_cols[:-1]]
        if section == "export":
            header.insert(3, "peak MiB")
        table = []
        for r in items:
            if r.get("skipped"):
                table.append([r["name"], "", "", "", "", "", "", "", "skipped: " + r["skipped"]])
                if section == "queries":
                    table[-1].insert(7, "")
                if section == "queries" and len(sizes) > 1:
                    table[-1][1:1] = [""] * (len(sizes) - 1)
                if section == "export":
                    table[-1].insert(3, "")
                continue
            res = r.get("result") or {}
            cells = [
                r["name"],
                fmt(res),
                f"{res['cpu']:.3f}" if "cpu" in res else "",
                r.get("ref_name") or "",
                fmt(r.get("ref")) if r.get("ref_name") else "",
                f"{r['ratio']:.2f}x" if r.get("ratio") is not None else "",
                f"{r['cpu_ratio']:.2f}x" if r.get("cpu_ratio") is not None else "",
                goal_text(r),
                verdict(r),
            ]
            if section == "queries":
                cells.insert(7, f"{r['net_ratio']:.2f}x" if r.get("net_ratio") is not None else "")
            if section == "queries" and len(sizes) > 1:
                cells[1:1] = [
                    f"{r['sizes'].get(str(s)):.3f}" if r.get("sizes", {}).get(str(s)) else "" for s in sizes[:-1]
                ]
            if section == "export":
                cells.insert(3, f"{res['peak_mib']:.0f}" if res.get("peak_mib") else "")
            table.append(cells)
        title = f"{section} (size {size_cols[-1]})" if section in ("queries", "export", "import") else section
        lines.append("")
        lines.append(f"### {title}" if markdown else f"== {title}")
        if markdown:
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            for cells in table:
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        else:
            widths = [max(len(str(x[i])) for x in [header, *table]) for i in range(len(header))]
            widths[0] = min(widths[0], 58)
            lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
            for cells in table:
                lines.append("  ".join(str(c)[:w].ljust(w) for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    except (OSError, ValueError, IndexError):
        mem = 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cpus, {mem} GiB RAM; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average at start {load:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="people per database, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--import-runs", type=int, default=3, help="runs of the import figures")
    parser.add_argument("--only", default="startup,import,queries,export", help="sections to run")
    parser.add_argument("--typer", action="store_true", help="also compare Typer 0.29 with the pinned 0.28")
    parser.add_argument("--quick", action="store_true", help="10k only, 3 runs")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--queries", help="only the query figures whose label contains one of these (comma-separated)")
    parser.add_argument("--crm", help="the crm executable to measure (default: a regular install, see above)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.runs, args.import_runs = "10000", 3, 1
    sizes = sorted(int(s) for s in args.sizes.split(","))
    only = set(args.only.split(","))
    if args.typer:
        only.add("typer")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    log(machine())
    global CRM
    CRM, crm_note = ([args.crm], f"{args.crm} (--crm)") if args.crm else regular_install(log)
    log(f"crm measured: {crm_note}")
    dbs, csvs = {}, {}
    for people in sizes:
        dbs[people], csvs[people] = build_data(people, log)
    big, biggest = dbs[sizes[-1]], sizes[-1]
    rows: list[dict] = []
    for people in sizes:
        seconds = generate_seconds(people)
        if seconds:
            rows.append(
                row("data", f"generate {people:,} people / {people * 10:,} interactions (cached)",
                    {"wall": seconds, "runs": 1}, None, None, goal_abs=60)
            )  # fmt: skip
    if "startup" in only:
        rows += section_startup(args, big, log)
    if "typer" in only:
        rows += section_typer(args, log)
    if "import" in only:
        rows += section_import(args, csvs[biggest], biggest, log)
    if "queries" in only:
        rows += section_queries(args, dbs, log)
    if "export" in only:
        rows += section_export(args, big, biggest, log)
    text = render(rows, sizes, args.markdown)
    print(f"machine: {machine()}")
    print(f"command: python benchmarks/run.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"crm measured: {crm_note}")
    print(f"medians of {args.runs} runs (import: {min(args.runs, args.import_runs)}); seconds, wall clock")
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1, default=str))
    log(f"done in {time.perf_counter() - started:.0f} s; raw figures in {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
