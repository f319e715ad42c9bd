"""The `crm` console script. `crm --version` answers before Typer and the commands are imported
(a cron job or a script checking the version pays ~30 ms, not ~150 ms); everything else goes to cli."""

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from crm_cli import __version__

        print(f"crm {__version__}")
        return
    from crm_cli.cli import main as run_cli

    run_cli()
