"""Fixtures of the dashboard tests: a database filled by the real scenario run, once per session.

The scenario (:mod:`scenario`: 21 simulated days of the recommender with eight incidents, segments per
country and age band, fairness between age bands, labels arriving hours to days late) goes through the same
path as ``driftwarden demo``: reference build (profile and labelled validation reference), then the watcher on
the event file, into SQLite. Each test gets a private copy of that database.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.config.settings import Settings
from monitor.db import upgrade

EVENTS_PER_HOUR = 250.0  # ~260k events: every incident is still caught, the run takes ~20 s


@dataclass(frozen=True)
class ScenarioDb:
    path: Path
    model: str
    windows: int


@pytest.fixture(scope="session")
def scenario_db_file(tmp_path_factory: pytest.TempPathFactory) -> ScenarioDb:
    from scenario import generate_scenario
    from scenario.runner import build_scenario_reference, watch_scenario

    workdir = tmp_path_factory.mktemp("dashboard-scenario")
    files = generate_scenario(workdir, seed=7, events_per_hour=EVENTS_PER_HOUR)
    path = workdir / "scenario.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    build_scenario_reference(files, url)
    result = watch_scenario(files, url, Settings(database_url=url))
    assert result.clean and result.windows > 0, result
    return ScenarioDb(path=path, model=files.truth.model, windows=result.windows)


@pytest.fixture
def scenario_url(scenario_db_file: ScenarioDb, tmp_path: Path) -> Iterator[str]:
    """URL of a private copy of the scenario's database."""
    target = tmp_path / "dashboard.db"
    for suffix in ("", "-wal", "-shm"):  # SQLite in WAL mode: the log may hold the last transactions
        source = Path(f"{scenario_db_file.path}{suffix}")
        if source.exists():
            shutil.copy(source, f"{target}{suffix}")
    yield f"sqlite:///{target}"


@pytest.fixture
def empty_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/empty.db"
    upgrade(url)
    return url
