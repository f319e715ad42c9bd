"""Reports: pipeline and forecast, retention, best and dormant customers, campaigns, service, quality."""

import importlib

import typer

app = typer.Typer(no_args_is_help=True)

# One module per family of reports; each adds its commands to `app` when imported.
FAMILIES = ["summary", "pipeline", "customers", "campaigns", "quality"]

# Which family defines each report, so `crm report stale` imports pipeline.py alone (importing all
# five cost every report ~6-10 ms). tests/test_startup.py checks this against the loaded commands.
COMMANDS = {
    "summary": "summary",
    "pipeline": "pipeline",
    "forecast": "pipeline",
    "sales": "pipeline",
    "stale": "pipeline",
    "conversion": "pipeline",
    "retention": "customers",
    "customers": "customers",
    "dormant": "customers",
    "acquisition": "customers",
    "service": "customers",
    "satisfaction": "customers",
    "activity": "customers",
    "campaign": "campaigns",
    "campaigns": "campaigns",
    "quality": "quality",
}


def load(command: str | None = None) -> None:
    """Import the family that defines `command`, or every family (help, a typo, a bare `crm report`).
    Commands keep the order of FAMILIES whichever family a process happened to load first."""
    family = COMMANDS.get(command) if command is not None else None
    for name in [family] if family else FAMILIES:
        importlib.import_module(f"{__name__}.{name}")
    if family is None:
        order = {f"{__name__}.{name}": i for i, name in enumerate(FAMILIES)}
        app.registered_commands.sort(key=lambda info: order.get(info.callback.__module__, len(order)))
