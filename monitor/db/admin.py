"""Throwaway PostgreSQL databases on a server (for benchmarks, tests and one-off runs).

``temporary_database(server_url, prefix)`` creates ``<prefix>_<random>`` on the server of ``server_url``
(through its ``postgres`` maintenance database), yields its URL and drops it afterwards, closing whatever
connections are still open (``WITH (FORCE)``, PostgreSQL 13+).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

__all__ = ["create_database", "drop_database", "temporary_database"]


def _admin_run(server_url: str, statement: str) -> None:
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def create_database(server_url: str, prefix: str = "dw") -> str:
    """A new empty database ``<prefix>_<12 hex>`` on the server of ``server_url``; its URL (password kept)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _admin_run(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (if it exists), closing the connections still open to it."""
    _admin_run(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@contextmanager
def temporary_database(server_url: str, prefix: str = "dw") -> Iterator[str]:
    """:func:`create_database`, yielded, then :func:`drop_database` (also when the body raises)."""
    url = create_database(server_url, prefix)
    try:
        yield url
    finally:
        drop_database(url)
