"""Concurrent writers: 8 real processes write to one file at once; nothing is lost, nobody sees "locked".

Each worker is a separate OS process (fork) running whole `crm` commands through crm_cli.cli.run, so
every command opens its own connection and takes the write lock with BEGIN IMMEDIATE, as separate
`crm` invocations from cron and a person would.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sqlite3
import sys

import pytest

WORKERS = 8
EACH = 250


def _worker(index: int, db_path: str, barrier, results) -> None:
    import typer

    from crm_cli import cli

    os.environ["CRM_DB"] = db_path
    # Build the click command tree once per worker (cli.run rebuilds it on every call, ~20 ms): the
    # commands, their connections and transactions are still the real ones.
    cli._register()  # every group, as a bare `crm` would load
    tree = typer.main.get_command(cli.app)
    typer.main.get_command = lambda app: tree
    failures = []
    barrier.wait()  # everyone starts together
    for i in range(EACH):
        email = f"w{index}.p{i}@example.com"
        for args in (
            ["contact", "add", f"Worker {index} Person {i}", "--email", email, "--tag", f"w{index}"],
            ["log", "call", email, f"call {index}/{i}", "--duration", "5"],
        ):
            err, out = io.StringIO(), io.StringIO()
            sys.stderr, sys.stdout = err, out
            try:
                code = cli.run(args, stdin_isatty=False, stdout_isatty=False)
            finally:
                sys.stderr, sys.stdout = sys.__stderr__, sys.__stdout__
            if code != 0 or err.getvalue():
                failures.append((args[:2], code, err.getvalue().strip()))
    results.put((index, failures))


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_eight_writers_at_once(crm, db_path):
    crm.ok("config", "set", "default_currency", "SAR")  # create and migrate the file once
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(i, str(db_path), barrier, results)) for i in range(WORKERS)]
    for p in procs:
        p.start()
    collected = [results.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    failures = [f for _, fs in collected for f in fs]
    assert failures == [], failures[:5]
    assert not any("locked" in str(f).lower() for f in failures)

    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM contacts WHERE kind = 'person'").fetchone()[0] == WORKERS * EACH
        assert conn.execute("SELECT count(*) FROM interactions").fetchone()[0] == WORKERS * EACH
        # Every worker's rows, each call on its own contact.
        per_worker = dict(conn.execute("SELECT tag, count(*) FROM tags GROUP BY tag").fetchall())
        assert per_worker == {f"w{i}": EACH for i in range(WORKERS)}
        orphans = conn.execute(
            "SELECT count(*) FROM interactions i JOIN contacts c ON c.id = i.contact_id "
            "WHERE i.summary <> 'call ' || substr(c.email, 2, instr(c.email, '.') - 2) || '/' || "
            "substr(c.email, instr(c.email, '.p') + 2, instr(c.email, '@') - instr(c.email, '.p') - 2)"
        ).fetchone()[0]
        assert orphans == 0
        # One change per command, none lost.
        assert conn.execute("SELECT count(*) FROM changes").fetchone()[0] == 1 + 2 * WORKERS * EACH
    finally:
        conn.close()
