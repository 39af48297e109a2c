"""Engine and session construction for PostgreSQL (psycopg 3) and the embedded SQLite default."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout so readers don't block the writer.

    SQLite transactions begin where SQLAlchemy's do (``BEGIN`` on its ``begin`` event, the driver's own
    transaction handling off): pysqlite would otherwise open a transaction only at the first INSERT/UPDATE,
    so a SAVEPOINT coming first (a model created in a savepoint) opened it, and its RELEASE committed what
    the rest of the transaction then rolled back. (SQLAlchemy's documented recipe for pysqlite.)
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # no implicit BEGIN: SQLAlchemy's begin event emits it
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
