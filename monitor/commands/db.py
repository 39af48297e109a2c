"""``driftwarden db upgrade|downgrade|current``: schema migrations (Alembic)."""

from __future__ import annotations

from collections.abc import Callable

import typer

from monitor.commands.support import DB_OPTION, database_url, fail, first_line, safe_url
from monitor.db import migrate


def _move(url: str, revision: str, verb: str, step: Callable[[str, str], None]) -> None:
    """``step(url, revision)`` (upgrade or downgrade), then one line with the revision reached; a failure
    exits 2 with one line naming the database."""
    try:
        step(url, revision)
    except Exception as exc:
        fail(f"db {verb} of {safe_url(url)} failed: {first_line(exc)}")
    typer.echo(f"database {safe_url(url)} at revision {migrate.current_revision(url)}")


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)

    @db_app.command("upgrade")
    def upgrade(
        ctx: typer.Context,
        revision: str = typer.Argument("head", help="Target revision."),
        db: str | None = DB_OPTION,
    ) -> None:
        """Create or upgrade the schema to REVISION (default: the newest)."""
        _move(database_url(ctx, db), revision, "upgrade", migrate.upgrade)

    @db_app.command("downgrade")
    def downgrade(
        ctx: typer.Context,
        revision: str = typer.Argument(..., help="Target revision ('base' empties the database)."),
        db: str | None = DB_OPTION,
    ) -> None:
        """Downgrade the schema to REVISION."""
        _move(database_url(ctx, db), revision, "downgrade", migrate.downgrade)

    @db_app.command("current")
    def current(
        ctx: typer.Context,
        db: str | None = DB_OPTION,
    ) -> None:
        """Print the schema revision of the database."""
        url = database_url(ctx, db)
        try:
            revision = migrate.current_revision(url)
        except Exception as exc:
            fail(f"database {safe_url(url)} cannot be read: {first_line(exc)}")
        typer.echo(revision or "empty")

    app.add_typer(db_app, name="db")
