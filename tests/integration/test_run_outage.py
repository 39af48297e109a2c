"""A PostgreSQL outage pauses consumption without loss: the watcher stops reading, reports unhealthy, retries
the same transaction with backoff, and once the database is back ends with the results of an undisturbed run.

The outage is real: the test database refuses connections (``ALLOW_CONNECTIONS false``) and its sessions are
terminated, while other databases of the shared server stay up.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from monitor.alerts.service import AlertService
from monitor.commands.reference import build_reference
from monitor.config import load_config
from monitor.consumer import Service, ServiceOptions
from monitor.db import make_engine, upgrade
from monitor.db.models import Alert, ConsumerOffset, MetricValue, WindowResult
from monitor.ops import Health, Metrics
from monitor.sources import JsonlSource
from monitor.store.partition_store import SqlPartitionStore
from scenario import generate_scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    out = tmp_path_factory.mktemp("outage")
    files = generate_scenario(out / "gen", seed=8, days=2, events_per_hour=60, reference_rows=1500)
    raw = yaml.safe_load(files.config.read_text())
    raw["models"]["recommender"]["reference"]["path"] = str(files.reference)
    raw["models"]["recommender"]["performance"]["reference"]["path"] = str(files.validation)
    raw["models"]["recommender"]["window"] = {"type": "count", "size": 250}
    config = out / "watch.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    return files.events, config, files.reference


def _admin(server_url: str) -> Any:
    return create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _set_outage(server_url: str, database: str, down: bool) -> None:
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {"false" if down else "true"}'))
        if down:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": database})
    admin.dispose()


class OutageSource:
    """Hands out small batches; at poll ``start`` takes the database down, ``polls_down`` polls later back up.

    Records how many messages it handed out while the database was down (must be 0: consumption paused).
    """

    def __init__(self, inner: JsonlSource, server_url: str, database: str, start: int, polls_down: int,
                 health: Health, metrics_registry: CollectorRegistry) -> None:
        self._inner = inner
        self._server, self._db = server_url, database
        self._start, self._polls_down = start, polls_down
        self._health, self._registry = health, metrics_registry
        self.polls = 0
        self.down_since: int | None = None
        self.handed_out_while_down = 0
        self.saw_unhealthy = False
        self.saw_db_down_metric = False

    def poll(self, timeout: float, max_records: int) -> Any:
        self.polls += 1
        if self.polls == self._start:
            _set_outage(self._server, self._db, down=True)
            self.down_since = self.polls
        batch = self._inner.poll(timeout, min(max_records, 40))
        if self.down_since is not None:
            self.handed_out_while_down += len(batch) if self.polls > self.down_since else 0
            if not self._health.status()[0]:
                self.saw_unhealthy = True
            if self._registry.get_sample_value("driftwarden_database_up") == 0.0:
                self.saw_db_down_metric = True
            if self.polls - self.down_since >= self._polls_down:
                _set_outage(self._server, self._db, down=False)
                self.down_since = None
        return batch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _service(url: str, config: Path, source: Any, registry: CollectorRegistry, health: Health) -> Service:
    engine = make_engine(url, connect_args={"connect_timeout": 3}) if url.startswith("postgresql") else make_engine(url)
    store = SqlPartitionStore(engine, "g", AlertService())
    options = ServiceOptions(group_id="g", checkpoint_interval=0.0, backoff_initial=0.05, backoff_max=0.2)
    return Service(load_config(config), source, store, options, metrics=Metrics(registry), health=health)


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Typed rows (through the ORM columns, so SQLite and PostgreSQL compare equal)."""
    queries = {
        "windows": select(WindowResult.window_key, WindowResult.n_events, WindowResult.dataset_drift,
                          WindowResult.drift_share, WindowResult.report).order_by(WindowResult.window_key),
        "metrics": select(WindowResult.window_key, MetricValue.name, MetricValue.value)
        .join(WindowResult, WindowResult.id == MetricValue.window_id).order_by(WindowResult.window_key,
                                                                                MetricValue.name),
        "alerts": select(Alert.dedup_key, Alert.status, Alert.first_seen, Alert.last_seen, Alert.windows_count)
        .order_by(Alert.dedup_key, Alert.first_seen),
        "offsets": select(ConsumerOffset.partition, ConsumerOffset.next_offset),
    }
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {k: [tuple(r) for r in conn.execute(q)] for k, q in queries.items()}
    engine.dispose()
    return out


def test_database_outage_pauses_without_loss(
    scenario: tuple[Path, Path, Path], pg_url: str, pg_server_url: str, sqlite_url: str
) -> None:
    events, config, reference = scenario
    for url in (pg_url, sqlite_url):
        upgrade(url)
        build_reference("recommender", reference, config, url, progress=False)

    expected_run = _service(sqlite_url, config, JsonlSource(events), CollectorRegistry(), Health()).run()
    assert expected_run.clean and expected_run.windows > 5

    registry, health = CollectorRegistry(), Health()
    source = OutageSource(JsonlSource(events), pg_server_url, str(make_url(pg_url).database), start=30,
                          polls_down=25, health=health, metrics_registry=registry)
    service = _service(pg_url, config, source, registry, health)
    started = time.monotonic()
    result = service.run(timeout=300)
    assert result.clean and result.stopped_by == "end_of_source", result
    assert time.monotonic() - started < 300
    assert source.handed_out_while_down == 0  # paused: nothing read while the database was away
    assert source.saw_unhealthy and source.saw_db_down_metric
    assert registry.get_sample_value("driftwarden_persist_failures_total", {"kind": "transient"}) >= 1
    assert registry.get_sample_value("driftwarden_database_up") == 1.0
    assert result.messages == expected_run.messages and result.windows == expected_run.windows
    assert _dump(pg_url) == _dump(sqlite_url)
