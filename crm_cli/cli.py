"""The root `crm` command: global options, the command groups, and the ONE error handler.

Every failure leaves through main(): a CrmError becomes one line on stderr (JSON with --json) and its
exit code; usage errors exit 2; anything unexpected exits 1 with one line (CRM_DEBUG=1 shows the
traceback). Broken pipes end quietly.
"""

import contextlib
import gc
import importlib
import os
import sys
from typing import Annotated

import typer

from crm_cli import __version__
from crm_cli import env as envmod
from crm_cli.errors import CrmError, InvalidInput

app = typer.Typer(
    name="crm",
    help="A local-first CRM: contacts, the interaction log, deals, campaigns and reports in one SQLite file.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Command groups (`crm contact …`), in help order, then modules whose register(app) adds top-level
# commands (`crm agenda`) and/or commands inside the groups (`crm contact import`), with the words
# (group or top-level command names) each one adds to. Only what the invoked word needs is loaded:
# importing and building every command cost ~65 ms on each run.
GROUPS = ["contact", "log", "deal", "campaign", "report", "config"]
EXTENSIONS = {
    "agenda": {"agenda"},
    "transfer": {"backup", "restore", "export", "import", "contact", "log", "deal"},
    "care": {"history", "undo", "contact"},
    "demo": {"demo"},
}
_ROOT_OPTIONS_WITH_VALUE = {"--db"}


def _version(value: bool) -> None:
    if value:
        print(f"crm {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database file (default: $CRM_DB, else the user data dir).", show_default=False),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    if db is not None:
        if not db.strip():
            raise InvalidInput("--db is empty; give a database file, or leave --db out for the default")
        envmod.current().db = db
    if ctx.invoked_subcommand is None:
        # `crm` alone shows the dashboard (report summary) when it is available.
        report = sys.modules.get("crm_cli.commands.report")
        commands = {c.name: c.callback for c in report.app.registered_commands} if report else {}
        if "summary" not in commands:
            print(ctx.get_help())
            return
        commands["summary"]()


_loaded: set[str] = set()


def _loaded_for(extension: str) -> set[str]:
    prefix = f"+{extension}:"
    return {item.removeprefix(prefix) for item in _loaded if item.startswith(prefix)}


def _command_words(args: list[str]) -> tuple[str | None, str | None]:
    """The group or top-level command named in args (None: no command, or root --help) and the word
    after it (a group's subcommand; None when absent or after a -h/--help)."""
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif not words and arg in _ROOT_OPTIONS_WITH_VALUE:
            skip = True
        elif arg in ("-h", "--help"):
            break
        elif not arg.startswith("-"):
            words.append(arg)
            if len(words) == 2:
                break
    return (words + [None, None])[0], (words + [None, None])[1]


def _command_word(args: list[str]) -> str | None:
    return _command_words(args)[0]


def _group_app(word: str | None):
    """The Typer app of the group `word` if it is loaded, else None."""
    return next((info.typer_instance for info in app.registered_groups if info.name == word), None)


def _names(typer_app) -> set[str]:
    return {_name(info) for info in typer_app.registered_commands}


def _name(info) -> str:
    return info.name or typer.main.get_command_name(info.callback.__name__)


def _register(args: list[str] | None = None) -> None:
    """Add the groups and extensions the command needs (all of them for help or an unknown word).
    `crm contact add` needs neither the other groups nor the commands extensions add to `contact`."""
    word, sub = _command_words(args) if args is not None else (None, None)
    if _dashboard(args):
        word, sub = "report", "summary"  # `crm` alone runs the dashboard: report summary, nothing else
    known = set(GROUPS).union(*EXTENSIONS.values())
    groups = [word] if word in GROUPS else [] if word in known else GROUPS
    extensions = [name for name, words in EXTENSIONS.items() if word not in known or word in words]
    for name in groups:
        if name not in _loaded:
            module = _load(name)
            app.add_typer(module.app, name=name, help=module.__doc__.strip().splitlines()[0])
        _loaded.add(name)
        loader = getattr(sys.modules[f"crm_cli.commands.{name}"], "load", None)
        if loader is not None:  # a group that imports its commands on demand (report: one family)
            loader(sub if name == word else None)
    if word in GROUPS and sub is not None and sub in _names(_group_app(word)):
        extensions = []  # the group's own command: nothing to attach
    for name in extensions:
        # register(app, targets) attaches only to the words asked for, each once per process.
        targets = {w for w in EXTENSIONS[name] if word not in known or w == word} - _loaded_for(name)
        if targets:
            _load(name).register(app, targets)
        _loaded.update(f"+{name}:{w}" for w in targets)


def _dashboard(args: list[str] | None) -> bool:
    """`crm` with no command word and no -h/--help (global options only): the dashboard."""
    return args is not None and _command_words(args)[0] is None and not {"-h", "--help"} & set(args)


def _load(name: str):
    return importlib.import_module(f"crm_cli.commands.{name}")


@contextlib.contextmanager
def _only_invoked(args: list[str]):
    """While the click tree is built: only the invoked command, when args name one exactly
    (`crm contact add …`, `crm agenda …`), so a run does not build the commands it cannot reach.
    Anything else (help, a typo, a bare group) builds the whole loaded tree, as before."""
    word, sub = _command_words(args)
    group = _group_app(word)
    saved = [(app, app.registered_groups, app.registered_commands)]
    if group is not None and sub is not None and sub in _names(group):
        saved.append((group, group.registered_groups, group.registered_commands))
        app.registered_groups = [info for info in app.registered_groups if info.name == word]
        app.registered_commands = []
        group.registered_commands = [info for info in group.registered_commands if _name(info) == sub]
    elif group is None and word is not None and word in _names(app):
        app.registered_groups = []
        app.registered_commands = [info for info in app.registered_commands if _name(info) == word]
    try:
        yield
    finally:
        for owner, groups, commands in saved:
            owner.registered_groups, owner.registered_commands = groups, commands


def _wants_json(args: list[str]) -> bool:
    return envmod.current().wants_json or "--json" in args


def _fail(message: str, code: str, exit_code: int, args: list[str]) -> int:
    import json

    message = " ".join(str(message).split())  # one line, whatever the cause said
    if _wants_json(args):
        print(json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False), file=sys.stderr)
    else:
        print(f"crm: {message}", file=sys.stderr)
    return exit_code


_INTERRUPTED = "interrupted; the current change was rolled back, nothing was written"


def _known_failure(exc: Exception, args: list[str]) -> tuple[str, str, int] | None:
    """(message, code, exit code) for failures that come from outside crm's own checks: the database
    busy or read-only, the disk full, a number too large for SQLite or a date. None: unexpected."""
    text = str(exc)
    if type(exc).__module__ == "sqlite3":
        where = envmod.current().db_path()
        if "locked" in text or "busy" in text:
            return (
                f"the database {where} is busy: another program kept it locked for "
                f"{_busy_seconds()} s; try again when it has finished (nothing was changed)",
                "busy",
                1,
            )
        if "readonly" in text:
            message = f"cannot write to {where}: the file or its folder is read-only; check their permissions"
            return message, "read_only", 1
        if "disk is full" in text or "disk I/O" in text:
            return f"cannot write to {where}: {text}; free some space and try again (nothing was changed)", "disk", 1
    if isinstance(exc, OverflowError) or "too large to convert" in text or text == "datatype mismatch":
        numbers = [a for a in args if a.lstrip("-+").isdigit()]
        shown = f" ({max(numbers, key=len)})" if numbers else ""
        return f"a number is out of range{shown}; use a smaller value", "invalid_input", 2
    return None


def _busy_seconds() -> int:
    from crm_cli.db import BUSY_TIMEOUT_MS

    return BUSY_TIMEOUT_MS // 1000


def run(args: list[str] | None = None, **environment) -> int:
    """Run one command; return its exit code. Used by main() and by the tests, which may override
    parts of the Environment (e.g. stdout_isatty=True to see the terminal rendering)."""
    from typer._click import exceptions as click_exc

    args = list(sys.argv[1:] if args is None else args)
    envmod.reset(**environment)
    _register(args)
    with _only_invoked(args):
        command = typer.main.get_command(app)
    if not gc.isenabled():
        # The launcher turned the collector off for the imports and the build (see launcher.py). Those
        # objects live until exit: freeze them, or the first collection would walk them all (~5 ms).
        gc.freeze()
        gc.enable()
    try:
        result = command.main(args=args, prog_name="crm", standalone_mode=False)
        if result == 130:  # Typer answers Ctrl-C (KeyboardInterrupt) with exit 130 and not a word
            return _fail(_INTERRUPTED, "interrupted", 130, args)
        return result if isinstance(result, int) else 0
    except CrmError as exc:
        return _fail(exc.message, exc.code, exc.exit_code, args)
    except click_exc.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help(), file=sys.stderr)  # `crm contact` alone: its help, like click
        return 2
    except click_exc.UsageError as exc:
        hint = f" (see: crm {exc.ctx.command_path.partition(' ')[2]} --help)".replace("  ", " ") if exc.ctx else ""
        return _fail(f"{exc.format_message()}{hint}", "usage", 2, args)
    except typer.Abort:
        return _fail("aborted; nothing changed", "aborted", 130, args)
    except typer.Exit as exc:
        return exc.exit_code
    except click_exc.ClickException as exc:
        return _fail(exc.format_message(), "usage", 2, args)
    except BrokenPipeError:
        # `crm … | head -1`: the reader left; end quietly (PITFALLS.md).
        _silence_stdout()
        return 0
    except SystemExit:
        # Typer answers a broken pipe with sys.exit(1) after wrapping the streams: the reader left
        # early (`| head -1`), which is not a failure of ours.
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            return 0
        raise
    except KeyboardInterrupt:
        return _fail(_INTERRUPTED, "interrupted", 130, args)
    except Exception as exc:  # the last resort: one line, never a traceback for the user
        if os.environ.get("CRM_DEBUG"):
            raise
        known = _known_failure(exc, args)
        if known is not None:
            return _fail(*known, args)
        return _fail(
            f"unexpected error: {type(exc).__name__}: {exc} (run with CRM_DEBUG=1 for details)",
            "unexpected",
            1,
            args,
        )


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise on a closed pipe."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    os.umask(0o077)  # databases, backups and exports hold personal data: owner-only
    code = run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    sys.exit(code)
