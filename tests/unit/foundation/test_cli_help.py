"""Every command and subcommand of ``driftwarden`` answers ``--help``."""

from __future__ import annotations

import click
import typer
from typer.testing import CliRunner

from monitor.cli import app


def _paths(command: click.Command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if isinstance(getattr(command, "commands", None), dict):
        for name, sub in command.commands.items():  # type: ignore[attr-defined]
            paths.extend(_paths(sub, (*prefix, name)))
    return paths


def test_every_command_has_help() -> None:
    root = typer.main.get_command(app)
    paths = _paths(root)
    assert len(paths) > 3
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output, path


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("driftwarden ")
