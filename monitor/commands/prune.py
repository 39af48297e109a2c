"""``driftwarden prune``: apply the configuration's ``retention:`` policy now (the watcher also applies it,
in small batches inside its persist transactions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from monitor.commands.support import AppState, fail, migrate_option, prepare_database, safe_url

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("prune")
    def prune(
        ctx: typer.Context,
        config_path: Annotated[Path, typer.Option("--config", "-c", help="The watcher's YAML configuration.")],
        dry_run: bool = typer.Option(False, "--dry-run", help="Count the rows that would go; delete nothing."),
        as_json: bool = typer.Option(False, "--json", help="Rows per table as one JSON object."),
        db: str | None = typer.Option(None, "--db", help="Database URL (default: DRIFTWARDEN_DATABASE_URL)."),
        migrate: bool = migrate_option(),
    ) -> None:
        """Delete the rows older than the retention policy (samples, feature results, windows not cited by
        an alert, dead letters), in short transactions of retention.batch_size rows per table."""
        from monitor.config import ConfigError, load_config
        from monitor.db import make_engine, session_factory
        from monitor.store.retention import due_counts, prune_all

        try:
            config = load_config(config_path)
        except ConfigError as exc:
            fail(str(exc))
        policy = config.retention
        if not policy.enabled:
            fail(f"{config_path}: retention: no table has a retention (samples, feature_results, window_results, "
                 "dead_letters)")
        url = db or AppState.of(ctx).settings.database_url
        prepare_database(url, migrate)
        engine = make_engine(url)
        now = datetime.now(UTC)
        try:
            sessions = session_factory(engine)
            if dry_run:
                with sessions() as session:
                    counts = due_counts(session, policy, now)
            else:
                counts = prune_all(sessions.begin, policy, now)
        except Exception as exc:
            fail(f"database {safe_url(url)}: {type(exc).__name__}: {exc}")
        finally:
            engine.dispose()
        if as_json:
            typer.echo(json.dumps({"dry_run": dry_run, "rows": counts}))
            return
        verb = "would delete" if dry_run else "deleted"
        typer.echo(f"{verb} " + ", ".join(f"{n} {table}" for table, n in counts.items()))
