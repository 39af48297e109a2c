"""The alerts do not depend on batch sizes or persist points: one event stream (time windows with allowed
lateness and out-of-order events, early warning, business metrics, labels) fed in batches of 1, 7 and 1000,
persisted at different points (some followed by a restore from the stored snapshot, as after a crash),
gives the same alert rows and alert events, label-judged signals and early alerts included."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

from monitor.alerts.service import AlertService
from monitor.config import parse_config
from monitor.consumer.partitions import persist_items
from monitor.db import make_engine, session_factory, upgrade
from monitor.events import OutcomeEvent, PredictionEvent, prediction_event
from monitor.pipeline import Pipeline
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.store.writer import persist
from tests.unit.monitor.test_pipeline import PROFILE

T0 = datetime(2026, 11, 1, tzinfo=UTC)
CONFIG = """
models:
  rec:
    features: {tenure: numeric, genre: categorical, premium: binary}
    prediction: {kind: score, column: score}
    window: {type: time, size: 5m, allowed_lateness: 1m}
    outcome_join_ttl: 2m
    label_ttl: 4m
    max_awaiting_labels: 100000
    alerts: {min_window_events: 50, volume: {enabled: false}, auto_resolve_after: 2}
    early_warning: {ert: 1000, min_events: 50}
    business_metrics:
      - {name: take_rate, kind: take_rate, reference_value: 0.3, min_denominator: 50}
    performance:
      task: binary_classification
      min_labels: 40
      max_drop: {accuracy: 0.05}
"""


def performance_reference() -> PerformanceReference:
    rng = np.random.default_rng(1)
    p = rng.uniform(size=3000)
    y = (rng.uniform(size=3000) < p).astype(int)
    cfg = parse_config(CONFIG).models["rec"].performance
    assert cfg is not None
    return PerformanceReference.build(cfg, y.tolist(), p.tolist(), model="rec")


def stream(n: int = 4200, seed: int = 3) -> list[PredictionEvent | OutcomeEvent]:
    """One prediction a second (up to 40 s out of order), its outcome 20 s later and its label 70 s later;
    scores near-constant from 1500, the take rate collapsing from 2400, labels unrelated to the scores from
    3000, then back to normal from 3600."""
    rng = np.random.default_rng(seed)
    out: list[tuple[float, int, PredictionEvent | OutcomeEvent]] = []
    for i in range(n):
        ts = i + float(rng.integers(0, 40))
        flat, random_labels = 1500 <= i < 3600, 3000 <= i < 3600
        score = 0.5 + float(rng.normal(0, 0.01)) if flat else float(rng.uniform())
        event = prediction_event(model="rec", model_version="1", event_id=f"e{i}", ts=T0 + timedelta(seconds=ts),
                                 features={"tenure": float(rng.normal(10, 2)), "genre": str(rng.choice(list("abc"))),
                                           "premium": bool(rng.uniform() < 0.5)}, prediction=score)
        rate = 0.03 if 2400 <= i < 3600 else 0.3
        played = bool(rng.uniform() < rate)
        label = int(rng.uniform() < (0.5 if random_labels else score))
        out.append((ts, 0, event))
        out.append((ts + 20, 1, OutcomeEvent(event_id=f"e{i}", ts=T0 + timedelta(seconds=ts + 20), model="rec",
                                             outcomes={"shown": True, "played": played})))
        out.append((ts + 70, 2, OutcomeEvent(event_id=f"e{i}", ts=T0 + timedelta(seconds=ts + 70), model="rec",
                                             label=label)))
    out.sort(key=lambda x: (x[0], x[1]))
    return [e for _, _, e in out]


ALERTS = ("SELECT dedup_key, signal, feature, severity, status, message, first_seen, last_seen, windows_count, "
          "clean_windows, detected_at, early, detected_events FROM alerts ORDER BY dedup_key, first_seen, id")
EVENTS = ("SELECT a.dedup_key, a.first_seen, e.action, e.note FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
          "ORDER BY a.dedup_key, a.first_seen, e.id")


def run(events: list[Any], tmp: Path, batch: int, persist_every: int, restore_every: int | None) -> dict[str, Any]:
    """Feed ``events`` in batches of ``batch``; a persist point after every ``persist_every`` batches (and at the
    end); after every ``restore_every``-th persist point the pipeline is restored from the stored snapshot."""
    url = f"sqlite:///{tmp}/alerts-{batch}-{persist_every}-{restore_every}.db"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    cfg, refs = parse_config(CONFIG), {"rec": performance_reference()}
    service = AlertService(auto_resolve_after=2, clock=lambda: T0)
    pipeline = Pipeline(cfg, {"rec": PROFILE}, refs)
    closed: list[Any] = []
    persists = 0
    batches = [events[i:i + batch] for i in range(0, len(events), batch)]
    for b, chunk in enumerate(batches, start=1):
        for event in chunk:
            if isinstance(event, PredictionEvent):
                pipeline.on_prediction(event)
            else:
                pipeline.on_outcome(event)
        closed += pipeline.advance()
        last = b == len(batches)
        if last:
            closed += pipeline.flush()
        if b % persist_every and not last:
            continue
        items = persist_items(closed, pipeline)
        closed = []
        with sessions() as session, session.begin():
            persist(session, items, "p:0", pipeline.snapshot(), {}, service)
        persists += 1
        if restore_every and persists % restore_every == 0:
            pipeline = Pipeline.restore(pipeline.snapshot(), cfg, {"rec": PROFILE}, performance=refs)
    with engine.connect() as conn:
        out = {"alerts": [tuple(r) for r in conn.execute(text(ALERTS))],
               "events": [tuple(r) for r in conn.execute(text(EVENTS))]}
    engine.dispose()
    return out


def test_alerts_are_the_same_whatever_the_batches_and_persist_points(tmp_path: Path) -> None:
    events = stream()
    expected = run(events, tmp_path, 1, 37, None)
    signals = {row[1] for row in expected["alerts"]}
    # the stream raises the signals this is about: early alerts, window-close alerts and label-judged ones
    assert {"prediction_near_constant", "business_metric_drop", "performance_drop"} <= signals, signals
    assert any(row[11] for row in expected["alerts"]), "no early alert"
    assert any(row[4] == "resolved" for row in expected["alerts"]), "nothing auto-resolved"
    rng = random.Random(5)
    for batch, every, restore in ((7, 3, None), (1000, 1, None), (1, rng.randrange(50, 400), 1), (53, 2, 3)):
        got = run(events, tmp_path, batch, every, restore)
        assert got["alerts"] == expected["alerts"], (batch, every, restore)
        assert got["events"] == expected["events"], (batch, every, restore)
