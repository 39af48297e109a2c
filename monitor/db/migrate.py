"""Apply Alembic migrations programmatically (``driftwarden db upgrade``), without an alembic.ini on disk.

Alembic's own INFO lines (``Context impl ...``, ``Running upgrade ...``) are kept off the log: an upgrade
logs nothing of its own; the CLI logs at most one line saying which revision it moved the schema to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from monitor.db.engine import for_writing

__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Raise the ``alembic`` logger to WARNING for the duration (its INFO lines narrate every step)."""
    logger = logging.getLogger("alembic")
    previous = logger.level
    logger.setLevel(max(logging.WARNING, previous))
    try:
        yield
    finally:
        logger.setLevel(previous)


def upgrade(url: str, revision: str = "head", engine: Engine | None = None) -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest)."""
    cfg = alembic_config(url)
    with _quiet_alembic():
        if engine is not None:
            with for_writing(engine).begin() as connection:
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, revision)
        else:
            command.upgrade(cfg, revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at ``url`` to ``revision`` (default: empty)."""
    with _quiet_alembic():
        command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest revision of the migrations shipped with this version of driftwarden."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at (``None``: no driftwarden schema)."""
    from alembic.runtime.migration import MigrationContext

    from monitor.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection, _quiet_alembic():
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
