"""Shared fixtures: the real PostgreSQL server and Kafka broker that ``make test`` starts.

``make test`` exports ``DRIFTWARDEN_DATABASE_URL`` (a postgresql+psycopg URL of the throwaway server),
``DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS`` and ``DRIFTWARDEN_REQUIRE_SERVICES=1``. Without the exports the
integration tests skip; with ``DRIFTWARDEN_REQUIRE_SERVICES=1`` a missing service is a failure instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def _require() -> bool:
    return os.environ.get("DRIFTWARDEN_REQUIRE_SERVICES") == "1"


def _missing(what: str) -> None:
    message = f"{what} is not set: run the tests with `make test`, which starts the services"
    if _require():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the real PostgreSQL server's default database (from ``DRIFTWARDEN_DATABASE_URL``)."""
    url = os.environ.get("DRIFTWARDEN_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        _missing("DRIFTWARDEN_DATABASE_URL (a postgresql+psycopg:// URL)")
    return url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the real server for one test; dropped afterwards."""
    from monitor.db.admin import temporary_database

    with temporary_database(pg_server_url, "dw_test") as url:
        yield url


@pytest.fixture
def migrated_pg_url(pg_url: str) -> str:
    """A fresh database on the real server with every migration applied."""
    from monitor.db import upgrade

    upgrade(pg_url)
    return pg_url


@pytest.fixture
def sqlite_url(tmp_path: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path}/driftwarden.db"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """``host:port`` of the real Kafka broker (from ``DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS``)."""
    servers = os.environ.get("DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS", "")
    if not servers:
        _missing("DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS")
    return servers


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/integration/ are integration tests even if a marker was forgotten."""
    for item in items:
        if "/tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
