"""Failures that come from outside crm's own checks still end as one line and a documented exit code:
a database another program keeps locked, a read-only file, numbers too large, a bad --db or CRM_NOW."""

import os
import sqlite3

import pytest

from crm_cli import cli, db
from tests.conftest import dump


def _one_line(result) -> str:
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    return result.stderr


def test_a_database_locked_by_another_program_says_busy_and_changes_nothing(crm, db_path, monkeypatch):
    crm.ok("contact", "add", "Sara")
    before = dump(db_path)
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = crm("contact", "add", "Omar")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    message = _one_line(result)
    assert "busy" in message and "try again" in message and "unexpected" not in message
    assert dump(db_path) == before


def test_a_read_only_database_names_the_permissions():
    message, code, exit_code = cli._known_failure(sqlite3.OperationalError("attempt to write a readonly database"), [])
    assert (code, exit_code) == ("read_only", 1) and "read-only" in message and "permissions" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_a_read_only_file_is_refused_in_one_line(crm, db_path):
    crm.ok("contact", "add", "Sara")
    before = dump(db_path)
    db_path.chmod(0o400)
    try:
        result = crm("contact", "add", "Omar")
    finally:
        db_path.chmod(0o600)
    assert result.exit_code == 1 and "read-only" in _one_line(result)
    assert dump(db_path) == before


@pytest.mark.parametrize(
    "args",
    [
        ("contact", "list", "--limit", "99999999999999999999"),
        ("report", "dormant", "--days", "99999999999999"),
        ("agenda", "--days", "99999999"),
        ("log", "list", "--limit", "99999999999999999999"),
    ],
)
def test_numbers_too_large_are_invalid_input(crm, args):
    crm.ok("contact", "add", "Sara")
    result = crm(*args)
    assert result.exit_code == 2
    assert "out of range" in _one_line(result) and args[-1] in result.stderr


def test_an_empty_db_option_is_refused_instead_of_using_the_default(crm, tmp_path):
    result = crm("--db", "", "contact", "add", "Sara")
    assert result.exit_code == 2 and "--db is empty" in _one_line(result)


def test_a_folder_or_a_device_is_not_a_database(crm, tmp_path):
    for target in (str(tmp_path), os.devnull):
        result = crm("contact", "list", "--db", target)
        assert result.exit_code == 2 and "not a database file" in _one_line(result)


def test_a_bad_crm_now_is_invalid_input(crm, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "garbage")
    result = crm("contact", "list")
    assert result.exit_code == 2 and "CRM_NOW" in _one_line(result)


def test_ctrl_c_says_interrupted_and_writes_nothing(crm, db_path, monkeypatch):
    from crm_cli import contacts

    crm.ok("contact", "add", "Sara")
    before = dump(db_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(contacts, "_refresh_search", interrupted)
    result = crm("contact", "add", "Omar", "--email", "omar@example.com")
    assert result.exit_code == 130
    assert "interrupted" in _one_line(result) and "nothing was written" in result.stderr
    assert dump(db_path) == before


@pytest.mark.parametrize(
    "command",
    [
        ("contact", "list"),
        ("contact", "duplicates"),
        ("log", "list"),
        ("deal", "list"),
        ("history",),
        ("report", "stale"),
    ],
)
@pytest.mark.parametrize("value", ["0", "-1"])
def test_every_limit_takes_one_or_more(crm, command, value):
    crm.ok("contact", "add", "Sara")
    result = crm(*command, "--limit", value)
    assert result.exit_code == 2 and "--limit" in _one_line(result)
