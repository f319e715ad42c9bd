"""The Environment a command runs in: clock, streams, database path, output format.

Tests replace pieces of it (httpie's pattern); nothing else reads os.environ or the clock directly.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


def _now_from_env() -> datetime:
    # CRM_NOW pins the clock (ISO-8601) for tests and reproducible demos.
    pinned = os.environ.get("CRM_NOW")
    if pinned:
        value = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.astimezone()  # naive means local wall-clock time
        return value.astimezone(UTC)
    return datetime.now(UTC)


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("crm", appauthor=False)) / "crm.db"


@dataclass
class Environment:
    db: str | None = None
    output: str | None = None  # json | csv | ndjson | tsv | table; None = table on a tty, tsv piped
    assume_yes: bool = False
    raw: bool = False  # CSV without formula neutralisation
    excel: bool = False  # CSV for Excel: UTF-8 BOM, CRLF
    stdin_isatty: bool = field(default_factory=lambda: sys.stdin.isatty())
    stdout_isatty: bool = field(default_factory=lambda: sys.stdout.isatty())
    _now: datetime | None = None

    @property
    def now(self) -> datetime:
        """The current instant, UTC, fixed for the whole command."""
        if self._now is None:
            self._now = _now_from_env()
        return self._now

    def db_path(self) -> Path:
        chosen = self.db or os.environ.get("CRM_DB")
        return Path(chosen).expanduser() if chosen else default_db_path()

    @property
    def wants_json(self) -> bool:
        return self.output == "json"


env = Environment()


def reset(**overrides) -> Environment:
    """Start a fresh environment (each CLI invocation and each test)."""
    global env
    env = Environment(**overrides)
    return env


def current() -> Environment:
    return env
