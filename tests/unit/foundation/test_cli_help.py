"""Every command and subcommand of ``driftwarden`` answers ``--help``; every ``--db`` is the shared one."""

from __future__ import annotations

import click
import typer
from typer.testing import CliRunner

from monitor.cli import app
from monitor.commands.support import DB_HELP


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


def _command(path: tuple[str, ...]) -> click.Command:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


def test_every_db_option_is_the_shared_one() -> None:
    """``--db`` means DRIFTWARDEN_DATABASE_URL by default everywhere (support.DB_OPTION, read by
    support.database_url), except in ``demo``, whose default is a fresh SQLite file."""
    with_db = {}
    for path in _paths(typer.main.get_command(app)):
        for param in _command(path).params:
            if "--db" in getattr(param, "opts", ()):
                with_db[" ".join(path)] = (param.default, getattr(param, "help", None))
    assert len(with_db) >= 20
    demo_default, demo_help = with_db.pop("demo")
    assert demo_default is None and "fresh SQLite file" in (demo_help or "")
    assert set(with_db.values()) == {(None, DB_HELP)}, with_db


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("driftwarden ")
