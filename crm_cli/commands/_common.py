"""What every command module shares: the output/db options, confirmation, the open database."""

import functools
import inspect
import re
import sqlite3
import sys
import typing
from collections.abc import Callable
from typing import Annotated

import typer
from typer.core import TyperCommand

from crm_cli import env as envmod
from crm_cli.errors import InvalidInput

FORMATS = ("json", "csv", "ndjson")

_OPTION_HELP = {
    "json": "Output JSON (errors too, on stderr).",
    "csv": "Output CSV (spreadsheet-safe).",
    "ndjson": "Output one JSON object per line.",
}


def _extra_parameters(formats: tuple[str, ...]) -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter(
            "opt_db",
            kw,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option(
                    "--db", help="Database file (default: $CRM_DB, else the user data dir).", show_default=False
                ),
            ],
        )
    ]
    for fmt in formats:
        params.append(
            inspect.Parameter(
                f"opt_{fmt}",
                kw,
                default=False,
                annotation=Annotated[bool, typer.Option(f"--{fmt}", help=_OPTION_HELP[fmt])],
            )
        )
    return params


def options(formats: tuple[str, ...] = FORMATS):
    """Give a command `--db` and its output flags, accepted after the command name.

    The flags are consumed here and stored on the Environment, so command bodies never see them.
    """

    def decorate(fn: Callable) -> Callable:
        own = list(inspect.signature(fn).parameters.values())
        if any(isinstance(p.annotation, str) for p in own):  # postponed annotations: resolve them
            hints = typing.get_type_hints(fn, include_extras=True)
            own = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in own]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            current = envmod.current()
            db = kwargs.pop("opt_db", None)
            if db:
                current.db = db
            chosen = [fmt for fmt in formats if kwargs.pop(f"opt_{fmt}", False)]
            if len(chosen) > 1:
                raise InvalidInput(f"choose one output format, not {' and '.join('--' + c for c in chosen)}")
            if chosen:
                current.output = chosen[0]
            return fn(*args, **kwargs)

        wrapper.__signature__ = inspect.Signature([*own, *_extra_parameters(formats)])
        wrapper.__annotations__ = {}
        return wrapper

    return decorate


def open_db() -> sqlite3.Connection:
    from crm_cli.db import open_env_db

    return open_env_db()


def confirm(question: str, *, yes: bool) -> None:
    """Destructive actions: ask on a terminal, require --yes otherwise. Refusal is exit 2, nothing done."""
    if yes:
        return
    if not envmod.current().stdin_isatty:
        raise InvalidInput(f"{question.rstrip('?')}: refused without --yes (not a terminal to ask on)")
    if not typer.confirm(question, default=False, err=True):
        raise InvalidInput("cancelled; nothing changed", code="cancelled")


def read_stdin_text() -> str:
    return sys.stdin.read()


class FilterCommand(TyperCommand):
    """A command taking filter terms: `crm contact list tag:vip -tag:cold -fair` must not read
    `-tag:cold` as the options -t -a -g. Tokens with one leading dash that are not this command's
    options are hidden from click's parser and handed back to the command untouched.
    Use: `@app.command("list", cls=FilterCommand)`.
    """

    def parse_args(self, ctx, args):
        known = {name for param in self.get_params(ctx) for name in getattr(param, "opts", [])}
        hidden: dict[str, str] = {}
        shielded = []
        for index, arg in enumerate(args):
            if arg == "--":
                shielded += args[index:]
                break
            # `-n20` stays an option with its value; `-has:email`, `-fair` are filter tokens.
            is_filter = len(arg) > 2 and not re.fullmatch(r"-[A-Za-z]\d+", arg)
            if arg.startswith("-") and not arg.startswith("--") and arg not in known and is_filter:
                token = f"\x00filter{len(hidden)}\x00"
                hidden[token] = arg
                arg = token
            shielded.append(arg)
        result = super().parse_args(ctx, shielded)
        if hidden:
            ctx.params = {key: _unshield(value, hidden) for key, value in ctx.params.items()}
        return result


def _unshield(value, hidden: dict[str, str]):
    if isinstance(value, str):
        return hidden.get(value, value)
    if isinstance(value, list | tuple):
        return type(value)(_unshield(v, hidden) for v in value)
    return value
