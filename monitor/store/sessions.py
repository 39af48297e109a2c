"""The open-run-close of a database by URL: an engine made for one piece of work and disposed after it.

The one place that does it, for every command, the demo and the scenario runner (the watcher and the
dashboard keep their engines for their lifetime instead). Errors are not translated here: a command turns
them into its one-line exit (:func:`monitor.commands.support.in_session`).

>>> from sqlalchemy import text
>>> in_session("sqlite://", lambda session: session.execute(text("SELECT 41 + 1")).scalar_one())
42
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from monitor.db.engine import make_engine, session_factory

__all__ = ["database_sessions", "in_session"]

T = TypeVar("T")


@contextmanager
def database_sessions(url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on a new engine for ``url``; the engine is disposed on leaving the block (for work
    made of several transactions, e.g. pruning in batches or requeueing dead letters)."""
    engine = make_engine(url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def in_session(url: str, work: Callable[[Session], T], *, write: bool = False) -> T:
    """``work(session)`` in one session of the database at ``url``; with ``write`` the session is one
    transaction, committed when ``work`` returns (rolled back if it raises)."""
    with database_sessions(url) as sessions:
        if write:
            with sessions.begin() as session:
                return work(session)
        with sessions() as session:
            return work(session)
