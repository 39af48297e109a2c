"""Engine and session construction for PostgreSQL (psycopg 3) and the embedded SQLite default.

The transaction rule on SQLite: a transaction that writes begins with ``BEGIN IMMEDIATE``, one that only
reads with a deferred ``BEGIN``. A deferred transaction takes the write lock only at its first write; when it
has read first and another connection wrote in between (the watcher's persist, the notification sender, a
person acknowledging an alert), the upgrade fails with ``database is locked`` at once: SQLite cannot let it
wait (``busy_timeout``), its snapshot is stale. ``BEGIN IMMEDIATE`` takes the write lock first, waiting for it
up to the busy timeout (30 s), and reads the newest data; readers are never blocked (WAL). So:

- ``sessions.begin()`` of a :func:`session_factory` (or a connection of :func:`for_writing`): one write
  transaction, ``BEGIN IMMEDIATE`` on SQLite;
- ``sessions()``: a session for reading (deferred ``BEGIN``); it must not write.

On PostgreSQL both are the same ``BEGIN`` (row locks, ``FOR UPDATE SKIP LOCKED`` where two writers meet).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Sessions", "for_writing", "make_engine", "session_factory"]

_WRITE = "driftwarden_sqlite_write"
"""The execution option of :func:`for_writing`: the SQLite ``begin`` event then emits ``BEGIN IMMEDIATE``."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout so readers don't block the writer.

    SQLite transactions begin where SQLAlchemy's do (``BEGIN`` on its ``begin`` event, the driver's own
    transaction handling off): pysqlite would otherwise open a transaction only at the first INSERT/UPDATE,
    so a SAVEPOINT coming first (a model created in a savepoint) opened it, and its RELEASE committed what
    the rest of the transaction then rolled back. (SQLAlchemy's documented recipe for pysqlite.) The
    ``BEGIN`` is ``BEGIN IMMEDIATE`` on a connection of :func:`for_writing` (the module docstring says why).
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
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def for_writing(engine: Engine) -> Engine:
    """``engine`` for write transactions: on SQLite its transactions begin with ``BEGIN IMMEDIATE`` (same
    pool, same events); any other engine as it is."""
    return engine.execution_options(**{_WRITE: True}) if engine.dialect.name == "sqlite" else engine


class Sessions(sessionmaker[Session]):
    """A session factory (``expire_on_commit=False``) that keeps the transaction rule of the module
    docstring: ``sessions()`` reads, ``sessions.begin()`` is one write transaction (``BEGIN IMMEDIATE`` on
    SQLite), committed when the block ends, rolled back if it raises."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(bind=engine, expire_on_commit=False)
        self._writer = for_writing(engine)

    @contextmanager
    def begin(self) -> Iterator[Session]:
        with self(bind=self._writer) as session, session.begin():
            yield session


def session_factory(engine: Engine) -> Sessions:
    """The :class:`Sessions` of ``engine``: every writing path opens its transaction with ``.begin()``."""
    return Sessions(engine)
