"""``driftwarden prune``: apply the configuration's ``retention:`` policy now (the watcher also applies it,
in small batches inside its persist transactions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.commands.support import DB_OPTION, database_url, fail, migrate_option, with_sessions

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("prune")
    def prune(
        ctx: typer.Context,
        config_path: Annotated[Path, typer.Option("--config", "-c", help="The watcher's YAML configuration.")],
        dry_run: bool = typer.Option(False, "--dry-run", help="Count the rows that would go; delete nothing."),
        as_json: bool = typer.Option(False, "--json", help="Rows per table as one JSON object."),
        db: str | None = DB_OPTION,
        migrate: bool = migrate_option(),
    ) -> None:
        """Delete the rows older than the retention policy (samples, feature results, windows not cited by
        an alert, dead letters), in short transactions of retention.batch_size rows per table."""
        from monitor.config import ConfigError, load_config
        from monitor.store.retention import due_counts, prune_all

        try:
            config = load_config(config_path)
        except ConfigError as exc:
            fail(str(exc))
        policy = config.retention
        if not policy.enabled:
            fail(f"{config_path}: retention: no table has a retention (samples, feature_results, window_results, "
                 "dead_letters)")
        url = database_url(ctx, db)
        now = datetime.now(UTC)

        def prune_now(sessions: sessionmaker[Session]) -> dict[str, int]:
            if dry_run:
                with sessions() as session:
                    return due_counts(session, policy, now)
            return prune_all(sessions.begin, policy, now)

        counts = with_sessions(url, prune_now, failing="database", migrate=migrate)
        if as_json:
            typer.echo(json.dumps({"dry_run": dry_run, "rows": counts}))
            return
        verb = "would delete" if dry_run else "deleted"
        typer.echo(f"{verb} " + ", ".join(f"{n} {table}" for table, n in counts.items()))
