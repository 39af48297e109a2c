"""Shared pieces of the CLI: the per-invocation state (settings) and the one-line error exit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import typer

from monitor.settings import Settings

EXIT_BAD_INPUT = 2


@dataclass
class AppState:
    settings: Settings

    @staticmethod
    def of(ctx: typer.Context) -> AppState:
        root = ctx.find_root()
        if not isinstance(root.obj, AppState):
            root.obj = AppState(settings=Settings())
        return root.obj


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``driftwarden: error: <message>`` on one line to stderr and exit with ``code``."""
    typer.echo(f"driftwarden: error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)
