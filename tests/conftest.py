"""Shared fixtures: a fresh database per test, a pinned clock and time zone, an in-process `crm`,
and a real SMTP server on 127.0.0.1 for the mail tests."""

from __future__ import annotations

import io
import json
import os
import socket
import sqlite3
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from crm_cli import cli

NOW = "2026-11-22T09:00:00Z"  # a Sunday, 12:00 in Riyadh
TZ = "Asia/Riyadh"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DB", str(tmp_path / "crm.db"))
    monkeypatch.setenv("CRM_NOW", NOW)
    monkeypatch.setenv("TZ", TZ)
    for key in [k for k in os.environ if k.startswith("CRM_SMTP")]:
        monkeypatch.delenv(key)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "crm.db"


class Crm:
    """Run `crm ARGS` in-process, capturing stdout and stderr separately."""

    def __call__(self, *args: str, input: str | None = None, tty: bool = False, now: str | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        old = sys.stdout, sys.stderr, sys.stdin
        sys.stdout, sys.stderr = out, err
        sys.stdin = io.StringIO(input or "")
        saved_now = os.environ.get("CRM_NOW")
        if now:
            os.environ["CRM_NOW"] = now
        try:
            code = cli.run(list(args), stdout_isatty=tty, stdin_isatty=False)
        finally:
            sys.stdout, sys.stderr, sys.stdin = old
            if now:
                os.environ["CRM_NOW"] = saved_now or NOW
        return Result(code, out.getvalue(), err.getvalue())

    def ok(self, *args: str, **kw) -> Result:
        result = self(*args, **kw)
        assert result.exit_code == 0, f"crm {' '.join(args)} -> {result.exit_code}: {result.stderr}"
        return result


@pytest.fixture
def crm() -> Crm:
    return Crm()


@pytest.fixture
def db(db_path):
    """A read connection to the test database (after the first command created it)."""
    conns = []

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(db_path)
        conn.row_factory = sqlite3.Row
        conns.append(conn)
        return conn

    yield connect
    for conn in conns:
        conn.close()


def dump(path: Path) -> str:
    """Every row of every table, for 'nothing was written' assertions."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def file_bytes(db_path) -> bytes:
    """The raw bytes of the database and its -wal/-shm/-journal files, for 'no byte is left' assertions."""
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(f"{db_path}{suffix}")
        if path.exists():
            data += path.read_bytes()
    return data


def assert_refused(result, code: int, *needles: str) -> None:
    """A refused command: exit `code`, one line on stderr holding every needle, nothing on stdout."""
    assert result.exit_code == code, result.stderr
    for needle in needles:
        assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def free_port() -> int:
    """A port nothing listens on right now (127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_smtp(handler):
    """Run aiosmtpd with `handler` on 127.0.0.1; yields the controller (its .port is the port)."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    handler = Keep()
    with local_smtp(handler) as controller:
        yield controller, handler


def run_sql(db_path, *statements) -> None:
    """Write fixture rows straight into the database, as one audited change ((sql, params) pairs)."""
    from crm_cli import db as dbmod

    conn = dbmod.connect(db_path)
    try:
        with dbmod.write(conn, "test fixture"):
            for statement, params in statements:
                conn.execute(statement, params)
    finally:
        conn.close()
