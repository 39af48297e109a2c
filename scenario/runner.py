"""Run a generated scenario through the real watcher: reference build, ``driftwarden run`` on the event file.

This is the glue the demo and the integration tests share; it calls monitor's library as the commands do
(:func:`monitor.check.profile_for_model`, :func:`monitor.wiring.build_service`), never a command or a
subprocess, and reads the alerts back from the database for :func:`~scenario.evaluate_alerts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from monitor.config.settings import Settings
from monitor.sources.progress import ProgressSource
from scenario.evaluate import Evaluation, RaisedAlert, RaisedIncident, evaluate_alerts
from scenario.generate import ScenarioFiles

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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
    """What ``driftwarden reference build recommender --from <reference> --config <scenario config>`` does, through
    the library (profile the model's configured columns, register the profile; with the config's
    ``performance.reference``, also the labelled validation reference: its metric values and the fitted
    CBPE); returns the profile's version."""
    import pandas as pd

    from monitor.check import load_model, profile_for_model, read_table
    from monitor.pipeline.performance_reference import PerformanceReference
    from monitor.store.references import register_performance_reference, register_reference
    from monitor.store.sessions import in_session

    model = files.truth.model
    model_cfg = load_model(files.config, model)
    frame = read_table(files.reference, list(model_cfg.columns), progress=progress)
    profile = profile_for_model(frame, model_cfg, source=str(files.reference), progress=progress)
    perf = model_cfg.performance
    quality: PerformanceReference | None = None
    if perf is not None and perf.reference is not None:
        path = perf.reference.path if perf.reference.path.is_absolute() else files.config.parent / perf.reference.path
        validation = pd.read_parquet(path, columns=[perf.reference.prediction_column, perf.reference.label_column])
        quality = PerformanceReference.build(perf, validation[perf.reference.label_column].tolist(),
                                             validation[perf.reference.prediction_column].tolist(), model=model)

    def register(session: Session) -> int:
        row, _created = register_reference(session, model, profile, source=str(files.reference))
        if quality is not None:
            register_performance_reference(session, model, quality, source=str(path))
        return row.version

    return in_session(database_url, register, write=True)


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

    from monitor.wiring import build_service

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
    from monitor.db.models import Alert, ModelRow
    from monitor.store.sessions import in_session

    rows = in_session(database_url, lambda session: session.execute(
        select(Alert.signal, Alert.feature, Alert.first_seen, Alert.incident_id, Alert.segment)
        .join(ModelRow, ModelRow.id == Alert.model_id)
        .where(ModelRow.name == model)
        .order_by(Alert.first_seen, Alert.id)
    ).all())
    return [RaisedAlert(str(s), None if f is None else str(f), t, i, None if g is None else str(g))
            for s, f, t, i, g in rows]


def raised_incidents(database_url: str, model: str) -> dict[int, RaisedIncident]:
    """Every incident of ``model`` (any status) by id: its top-ranked alert and how many alerts it grouped."""
    from monitor.db.models import Incident, ModelRow
    from monitor.store.sessions import in_session

    rows = in_session(database_url, lambda session: session.execute(
        select(Incident.id, Incident.top_signal, Incident.top_feature, Incident.alerts_count)
        .join(ModelRow, ModelRow.id == Incident.model_id)
        .where(ModelRow.name == model)
    ).all())
    return {int(i): RaisedIncident(int(i), str(s), None if f is None else str(f), int(n)) for i, s, f, n in rows}


def score_run(files: ScenarioFiles, database_url: str) -> Evaluation:
    """The alerts in ``database_url`` scored against the scenario's ground truth."""
    window = float(files.truth.parameters.get("window_seconds", 86_400))
    model = files.truth.model
    return evaluate_alerts(files.truth, raised_alerts(database_url, model), window_seconds=window,
                           incidents=raised_incidents(database_url, model))
