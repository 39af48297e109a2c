"""Run a generated scenario through the real watcher: reference build, ``driftwarden run`` on the event file.

This is the glue the demo and the integration tests share; it calls the same Python API as the commands
(:func:`monitor.commands.reference.build_reference`, :func:`monitor.commands.run.build_service`), never a
subprocess, and reads the alerts back from the database for :func:`~monitor.scenario.evaluate_alerts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from monitor.scenario.evaluate import Evaluation, RaisedAlert, evaluate_alerts
from monitor.scenario.generate import ScenarioFiles
from monitor.settings import Settings
from monitor.sources.progress import ProgressSource

__all__ = ["ProgressSource", "WatchResult", "build_scenario_reference", "raised_alerts", "watch_scenario"]

Progress = Callable[[int], None]


@dataclass(frozen=True)
class WatchResult:
    messages: int
    windows: int
    dead_letters: int
    stopped_by: str
    clean: bool
    seconds: float


def build_scenario_reference(files: ScenarioFiles, database_url: str, *, progress: bool = False) -> int:
    """``driftwarden reference build recommender --config <scenario config>``; returns the version."""
    from monitor.commands.reference import build_reference

    version, _hash, _rows, _cols, _created = build_reference(
        files.truth.model, files.reference, files.config, database_url, progress=progress
    )
    return version


def watch_scenario(
    files: ScenarioFiles,
    database_url: str,
    settings: Settings,
    *,
    source: str | None = None,
    on_batch: Progress | None = None,
    max_batch: int = 5000,
    max_messages: int | None = None,
    timeout: float | None = None,
) -> WatchResult:
    """``driftwarden run --config <scenario config> --source <events file> --db <url>`` to the end of the file.

    ``source`` defaults to the scenario's event file (the run ends at its end and closes the last windows);
    ``"kafka"`` consumes ``settings``' topics instead, until ``max_messages`` or ``timeout`` (the last,
    still open window then stays in the checkpoint, as in production).
    """
    from prometheus_client import CollectorRegistry

    from monitor.commands.run import build_service

    service = build_service(settings, files.config, source or str(files.events), database_url,
                            registry=CollectorRegistry(), checkpoint_interval=30.0, max_batch=max_batch)
    if on_batch is not None:
        count = on_batch
        service.source = ProgressSource(service.source, lambda batch: count(len(batch)))
    started = time.monotonic()
    result = service.run(max_messages=max_messages, timeout=timeout)
    return WatchResult(result.messages, result.windows, result.dead_letters, result.stopped_by, result.clean,
                       time.monotonic() - started)


def raised_alerts(database_url: str, model: str) -> list[RaisedAlert]:
    """Every alert of ``model`` in the database (any status), as the ground truth speaks of them."""
    from monitor.db import make_engine, session_factory
    from monitor.db.models import Alert, Model

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            rows = session.execute(
                select(Alert.signal, Alert.feature, Alert.first_seen)
                .join(Model, Model.id == Alert.model_id)
                .where(Model.name == model)
                .order_by(Alert.first_seen, Alert.id)
            ).all()
    finally:
        engine.dispose()
    return [RaisedAlert(str(s), None if f is None else str(f), t) for s, f, t in rows]


def score_run(files: ScenarioFiles, database_url: str) -> Evaluation:
    """The alerts in ``database_url`` scored against the scenario's ground truth."""
    window = float(files.truth.parameters.get("window_seconds", 86_400))
    return evaluate_alerts(files.truth, raised_alerts(database_url, files.truth.model), window_seconds=window)


def scenario_files(out_dir: Path) -> ScenarioFiles:
    """The :class:`ScenarioFiles` of a folder :func:`generate_scenario` already wrote (counts not known: -1)."""
    from monitor.scenario.timeline import GroundTruth

    truth = GroundTruth.load(out_dir / "ground_truth.json")
    return ScenarioFiles(out_dir, out_dir / "events.jsonl", out_dir / "reference.parquet",
                         out_dir / "ground_truth.json", out_dir / f"{truth.model}.yaml", -1, -1, -1, truth)
