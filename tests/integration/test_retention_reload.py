"""A ``retention:`` policy added to the configuration while the watcher runs (its file edited, then a reload)
applies from the next persist transaction on, in SQLite and in PostgreSQL: the 10-day stream of
``tests/unit/monitor/test_retention.py`` ends within the policy's bounds, nothing was pruned before the
reload, and every window an alert cites is kept."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from monitor.config.settings import Settings
from monitor.db import make_engine, upgrade
from monitor.sources.progress import ProgressSource, file_event_count
from monitor.wiring import build_service
from scenario import generate_scenario
from scenario.runner import build_scenario_reference
from tests.unit.monitor.test_retention import DAYS, POLICY, _cited, _config, _counts

TABLES = ("samples", "feature_results", "window_results", "dead_letters")


@pytest.fixture(scope="module")
def long_stream(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("retention-reload")
    return generate_scenario(out / "scenario", seed=5, days=DAYS, events_per_hour=40, reference_rows=2000,
                             validation_rows=2000)


def _scalar(url: str, sql: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _pruned(registry: CollectorRegistry) -> float:
    return sum(registry.get_sample_value("driftwarden_retention_deleted_total", {"table": t}) or 0.0
               for t in TABLES)


@pytest.mark.parametrize("database", ["sqlite_url", "migrated_pg_url"])
def test_retention_added_by_a_reload_applies_while_the_watcher_runs(
        database: str, request: pytest.FixtureRequest, long_stream: Any, tmp_path: Path) -> None:
    url = request.getfixturevalue(database)
    upgrade(url)
    with_policy = _config(long_stream, tmp_path, POLICY)
    config = tmp_path / "watch.yaml"
    shutil.copy(_config(long_stream, tmp_path, None), config)
    files = dataclasses.replace(long_stream, config=config)
    build_scenario_reference(files, url)
    registry = CollectorRegistry()
    service = build_service(Settings(database_url=url), config, str(files.events), url, registry=registry,
                            checkpoint_interval=0.2, max_batch=500)
    half, seen, at_reload = file_event_count(files.events) // 2, [0], [-1.0]

    def edit_config_halfway(batch: Any) -> None:
        seen[0] += len(batch)
        if seen[0] >= half and at_reload[0] < 0:
            shutil.copy(with_policy, config)  # the operator adds retention: and sends SIGHUP
            at_reload[0] = _pruned(registry)
            service.request_reload()

    service.source = ProgressSource(service.source, edit_config_halfway)
    result = service.run()
    assert result.clean, result
    assert at_reload[0] == 0.0  # nothing pruned before the reload
    assert registry.get_sample_value("driftwarden_config_reloads_total", {"result": "ok"}) == 1.0
    assert _pruned(registry) > 0
    kept, windows_per_day = _counts(url), 4
    assert kept["window_samples"] <= 1 * windows_per_day + 1
    assert kept["window_results"] <= 4 * windows_per_day + 1 + _cited(url)
    assert _scalar(url, "SELECT count(DISTINCT window_id) FROM feature_results") <= 2 * windows_per_day + 1
    cited = _scalar(url, "SELECT count(*) FROM (SELECT first_window_id AS w FROM alerts UNION "
                         "SELECT last_window_id FROM alerts) AS c WHERE w IS NOT NULL")
    assert kept["alerts"] > 0 and cited > 0 and _cited(url) == cited  # alerts and the windows they cite kept
