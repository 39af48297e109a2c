"""``driftwarden reference build --all --config FILE``: every model's reference, in one process.

Each model of the config with a ``reference.path`` is built and registered as ``reference build MODEL
--config FILE`` does (:func:`monitor.commands.reference.build_reference`: its own transaction, so one bad
model leaves the others registered), under one progress bar over the models. A model that fails prints one
line (``driftwarden: error: ...`` naming the file and the column, or the missing ``reference.path``); the
command then exits 2 after trying every model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from monitor.commands.support import EXIT_BAD_INPUT, fail, prepare_database

__all__ = ["build_all"]


def build_all(config_path: Path, database_url: str, *, progress: bool, migrate: bool) -> int:
    """Build and register every model's reference; the number of models that failed (see the module)."""
    from tqdm import tqdm

    from monitor.commands.reference import build_reference
    from monitor.config import ConfigError, load_config

    try:
        loaded = load_config(config_path)
    except ConfigError as exc:
        fail(str(exc))
    prepare_database(database_url, migrate)
    failed = registered = 0
    names = list(loaded.models)
    bar = tqdm(names, desc="reference profiles", unit="model", disable=not progress, file=sys.stderr)
    for name in bar:
        source = loaded.models[name].reference.path
        if source is None:
            typer.echo(f"driftwarden: error: model {name!r} has no reference.path in {config_path}", err=True)
            failed += 1
            continue
        try:
            _, _, _, _, created = build_reference(name, source, config_path, database_url, progress=False)
        except typer.Exit:  # its one line is printed
            failed += 1
            continue
        registered += created
    bar.close()
    typer.echo(f"references of {len(names) - failed} of {len(names)} models built ({registered} new versions, "
               f"{failed} failed)")
    return failed


def exit_code(failed: int) -> int:
    return EXIT_BAD_INPUT if failed else 0
