"""Reports: pipeline and forecast, retention, best and dormant customers, campaigns, service, quality."""

import importlib

import typer

app = typer.Typer(no_args_is_help=True)

# One module per family of reports; each adds its commands to `app` when imported.
FAMILIES = ["summary", "pipeline", "customers", "campaigns", "quality"]

for _name in FAMILIES:
    importlib.import_module(f"{__name__}.{_name}")
