"""The `crm` console script. `crm --version` answers before Typer and the commands are imported
(a cron job or a script checking the version pays ~30 ms, not ~150 ms); everything else goes to cli.

The cyclic garbage collector is off while Python imports Typer and the command and builds the click
tree (tens of thousands of new objects that live until exit: ~4 ms of collections per run);
cli.run() freezes them (gc.freeze) and turns it back on before the command itself runs.
"""

import gc
import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from crm_cli import __version__

        print(f"crm {__version__}")
        return
    gc.disable()
    from crm_cli.cli import main as run_cli

    run_cli()
