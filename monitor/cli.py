"""The ``driftwarden`` command: builds :class:`Settings` once and hands it to every subcommand."""

from __future__ import annotations

import importlib

import typer
from pydantic import ValidationError

from monitor import __version__
from monitor.commands import COMMAND_MODULES
from monitor.commands.support import AppState, fail
from monitor.config.settings import Settings

app = typer.Typer(
    name="driftwarden",
    help="Watch ML models in production and catch their silent failures.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"driftwarden {__version__}")
        raise typer.Exit(0)
    try:
        ctx.obj = AppState(settings=Settings())
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule across settings: its message names them
            fail(f"environment: {first['msg'].removeprefix('Value error, ')}")
        key = "DRIFTWARDEN_" + "_".join(str(p) for p in first["loc"]).upper()
        fail(f"environment variable {key}: {first['msg']}")
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
