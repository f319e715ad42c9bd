"""The Environment a command runs in: clock, streams, database path, output format.

Tests replace pieces of it (httpie's pattern); nothing else reads os.environ or the clock directly.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path


def _now_from_env() -> datetime:
    # CRM_NOW pins the clock (ISO-8601) for tests and reproducible demos.
    pinned = os.environ.get("CRM_NOW")
    if pinned:
        try:
            value = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        except ValueError:
            from crm_cli.errors import InvalidInput

            raise InvalidInput(
                f"CRM_NOW={pinned!r} is not a date and time such as 2026-11-22T09:00:00Z; fix it or unset it"
            ) from None
        if value.tzinfo is None:
            value = value.astimezone()  # naive means local wall-clock time
        return value.astimezone(UTC)
    return datetime.now(UTC)


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("crm", appauthor=False)) / "crm.db"


class Environment:
    """What one command runs with. A plain class: a dataclass cost every run ~0.5 ms to build."""

    def __init__(
        self,
        db: str | None = None,
        output: str | None = None,  # json | csv | ndjson | tsv | table; None = table on a tty, tsv piped
        assume_yes: bool = False,
        raw: bool = False,  # CSV without formula neutralisation
        excel: bool = False,  # CSV for Excel: UTF-8 BOM, CRLF
        stdin_isatty: bool | None = None,  # None: ask the stream
        stdout_isatty: bool | None = None,
        _now: datetime | None = None,
    ) -> None:
        self.db = db
        self.output = output
        self.assume_yes = assume_yes
        self.raw = raw
        self.excel = excel
        self.stdin_isatty = sys.stdin.isatty() if stdin_isatty is None else stdin_isatty
        self.stdout_isatty = sys.stdout.isatty() if stdout_isatty is None else stdout_isatty
        self._now = _now

    def __repr__(self) -> str:
        return f"Environment({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

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
