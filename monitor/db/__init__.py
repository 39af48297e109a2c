"""Database layer: typed SQLAlchemy 2 models, engine construction and Alembic migrations."""

from __future__ import annotations

from monitor.db.engine import make_engine, session_factory
from monitor.db.migrate import downgrade, upgrade

__all__ = ["downgrade", "make_engine", "session_factory", "upgrade"]
