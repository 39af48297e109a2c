"""Labels through the consumer (file source, SQLite store, real pipeline): a bad label is a dead letter whose
reason names it, labels for unknown or expired predictions are counted (never errors), and the Prometheus
label metrics follow ``Pipeline.stats()``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, text

from detectors import ReferenceProfile
from monitor.alerts.service import AlertService
from monitor.config import load_config
from monitor.consumer import Service, ServiceOptions
from monitor.db import make_engine, session_factory, upgrade
from monitor.ops import Health, Metrics
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.sources import JsonlSource
from monitor.store.partition_store import SqlPartitionStore
from monitor.store.references import register_performance_reference, register_reference

T0 = datetime(2026, 11, 1, tzinfo=UTC)
CONFIG = """
version: 1
models:
  m:
    features: {x: numeric}
    window: {type: count, size: 100}
    label_ttl: 1h
    performance:
      task: binary_classification
      min_labels: 20
"""
N = 540          # predictions, one every 20 s: 3 hours of event time
LAG = 50         # a prediction's label comes 50 predictions (1000 s) later
ids = [f"e{i}" for i in range(N)]


def _ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _events(path: Path) -> tuple[int, int]:
    """The event file; ``(labels that join, line offset of the bad label)``."""
    rng = np.random.default_rng(3)
    scores = rng.uniform(size=N)
    labels = (rng.uniform(size=N) < scores).astype(int)
    lines: list[dict[str, object]] = [
        # a label for a prediction that never comes: waits in the join, dropped an hour later (counted)
        {"kind": "outcome", "model": "m", "event_id": "ghost", "ts": _ts(0), "label": 1},
    ]
    joined, bad_offset = 0, -1
    for i in range(N):
        lines.append({"kind": "prediction", "model": "m", "model_version": "1", "event_id": ids[i], "ts": _ts(20 * i),
                      "features": {"x": float(scores[i])}, "prediction": float(scores[i])})
        j = i - LAG
        if j == 10:
            bad_offset = len(lines)
            lines.append({"kind": "outcome", "model": "m", "event_id": ids[j], "ts": _ts(20 * i), "label": "maybe"})
        elif j >= 0 and j % 3 == 0:
            lines.append({"kind": "outcome", "model": "m", "event_id": ids[j], "ts": _ts(20 * i),
                          "label": int(labels[j])})
            joined += 1
        if i == 300:  # a label for e0, 6000 s after it (label_ttl 1 h): expired, counted once dropped
            lines.append({"kind": "outcome", "model": "m", "event_id": ids[0], "ts": _ts(20 * i), "label": 1})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return joined, bad_offset


def _database(tmp_path: Path, config_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/dw.db"
    upgrade(url)
    rng = np.random.default_rng(9)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p).astype(int)
    perf = load_config(config_path).models["m"].performance
    assert perf is not None
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        register_reference(session, "m", ReferenceProfile.build(pd.DataFrame({"x": p, "prediction": p})))
        register_performance_reference(session, "m", PerformanceReference.build(perf, y.tolist(), p.tolist(),
                                                                                 model="m"))
    engine.dispose()
    return url


def _service(url: str, config_path: Path, events: Path, registry: CollectorRegistry) -> Service:
    config = load_config(config_path)
    store = SqlPartitionStore(make_engine(url), "g", AlertService())
    return Service(config, JsonlSource(events), store, ServiceOptions(group_id="g", checkpoint_interval=0.0),
                   metrics=Metrics(registry), health=Health())


def test_bad_label_is_a_dead_letter_and_unmatched_labels_are_counted(tmp_path: Path) -> None:
    config_path = tmp_path / "watch.yaml"
    config_path.write_text(CONFIG)
    events = tmp_path / "events.jsonl"
    joined, bad_offset = _events(events)
    url = _database(tmp_path, config_path)
    registry = CollectorRegistry()
    result = _service(url, config_path, events, registry).run()
    assert result.stopped_by == "end_of_source" and result.dead_letters == 1

    engine = create_engine(url)
    with engine.connect() as conn:
        dead = conn.execute(text('SELECT "offset", reason FROM dead_letters')).all()
        n_labelled = conn.execute(text("SELECT n_labelled FROM performance_values WHERE metric = 'accuracy' "
                                       "ORDER BY window_id")).scalars().all()
    engine.dispose()
    assert [d[0] for d in dead] == [bad_offset]
    assert "BadLabelError: label 'maybe' of model 'm': unknown class" in dead[0][1]
    assert sum(n_labelled) == joined  # every good label joined its prediction once; the bad one nothing

    def counted(name: str) -> float | None:
        return registry.get_sample_value(name, {"model": "m"})

    assert counted("driftwarden_labels_joined_total") == joined
    assert counted("driftwarden_labels_unmatched_total") == 2  # "ghost" and e0's label after label_ttl
    assert counted("driftwarden_labels_spilled_total") == 0
    assert counted("driftwarden_awaiting_labels") == 0  # every window final at the end of the source


def test_metrics_follow_the_pipeline_across_a_restart(tmp_path: Path) -> None:
    config_path = tmp_path / "watch.yaml"
    config_path.write_text(CONFIG)
    events = tmp_path / "events.jsonl"
    joined, _ = _events(events)
    url = _database(tmp_path, config_path)
    first = CollectorRegistry()
    service = _service(url, config_path, events, first)
    assert service.run(max_messages=400).stopped_by != "end_of_source"
    waiting = sum(s["models"]["m"]["awaiting_labels"] for s in service.stats().values())
    assert waiting > 0 and first.get_sample_value("driftwarden_awaiting_labels", {"model": "m"}) == waiting
    before = first.get_sample_value("driftwarden_labels_joined_total", {"model": "m"})
    assert before is not None and 0 < before < joined

    second = CollectorRegistry()  # a restarted watcher counts from its checkpoint on: nothing twice
    assert _service(url, config_path, events, second).run().stopped_by == "end_of_source"
    after = second.get_sample_value("driftwarden_labels_joined_total", {"model": "m"})
    assert after is not None and before + after == joined


def test_label_of_a_spilled_prediction_is_counted_not_joined() -> None:
    from monitor.config import parse_config
    from monitor.events import OutcomeEvent, prediction_event
    from monitor.pipeline import Pipeline

    config = parse_config(CONFIG.replace("label_ttl: 1h", "label_ttl: 1h\n    max_awaiting_labels: 150"))
    pipeline = Pipeline(config, {}, {})
    for i in range(200):  # window count:0 closes at 100; the 151st prediction spills it
        pipeline.on_prediction(prediction_event(model="m", model_version="1", event_id=ids[i],
                                               ts=T0 + timedelta(seconds=i), features={"x": 0.5}, prediction=0.5))
        if i == 99:
            pipeline.advance()
    later = T0 + timedelta(seconds=300)
    pipeline.on_outcome(OutcomeEvent(event_id=ids[5], ts=later, model="m", label=1))  # its window was spilled
    pipeline.on_outcome(OutcomeEvent(event_id=ids[150], ts=later, model="m", label=1))  # an open window's
    stats = pipeline.stats()["models"]["m"]
    assert stats["labels_spilled"] == 100
    assert stats["labels_joined"] == 1
    assert stats["join_pending"] == (100, 1)  # the spilled predictions are forgotten; ids[5]'s label now waits
    pipeline.on_prediction(prediction_event(model="m", model_version="1", event_id="late", features={"x": 0.5},
                                           ts=later + timedelta(hours=1, seconds=1), prediction=0.5))
    assert pipeline.stats()["models"]["m"]["labels_unmatched"] == 1  # counted once its prediction cannot come


def test_waiting_outcomes_are_bounded_and_the_spill_is_counted(tmp_path: Path) -> None:
    """Labels that arrive before their prediction wait in the join; at ``max_waiting_outcomes`` the one that
    waited longest is dropped (``driftwarden_outcomes_spilled_total``, and its label counts as unmatched);
    the rest still join when their predictions come."""
    bound, early = 40, 100
    config_path = tmp_path / "watch.yaml"
    config_path.write_text(CONFIG.replace("label_ttl: 1h", f"label_ttl: 1h\n    max_waiting_outcomes: {bound}"))
    lines = [{"kind": "outcome", "model": "m", "event_id": ids[i], "ts": _ts(i), "label": i % 2}
             for i in range(early)]  # labels of the first 100 predictions, all before any prediction
    lines += [{"kind": "prediction", "model": "m", "model_version": "1", "event_id": ids[i], "ts": _ts(early + i),
               "features": {"x": 0.5}, "prediction": 0.5} for i in range(200)]
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(x) + "\n" for x in lines))

    from monitor.events import OutcomeEvent
    from monitor.pipeline import Pipeline

    pipeline = Pipeline(load_config(config_path), {}, {})
    for i in range(early):
        pipeline.on_outcome(OutcomeEvent(event_id=ids[i], ts=T0 + timedelta(seconds=i), model="m", label=i % 2))
        assert pipeline.stats()["models"]["m"]["waiting_outcomes"] == min(i + 1, bound)
    stats = pipeline.stats()["models"]["m"]
    assert stats["outcomes_spilled"] == early - bound and stats["labels_unmatched"] == early - bound
    assert [pipeline.models["m"].joiner.is_waiting(ids[i]) for i in (early - bound - 1, early - bound)] == [
        False, True]  # the oldest went first

    url = _database(tmp_path, config_path)
    registry = CollectorRegistry()
    assert _service(url, config_path, events, registry).run().stopped_by == "end_of_source"

    def counted(name: str) -> float | None:
        return registry.get_sample_value(name, {"model": "m"})

    assert counted("driftwarden_outcomes_spilled_total") == early - bound
    assert counted("driftwarden_labels_unmatched_total") == early - bound
    assert counted("driftwarden_labels_joined_total") == bound  # the last 40 labels met their predictions
    assert counted("driftwarden_waiting_outcomes") == 0


def test_late_predictions_are_not_kept_waiting_and_their_labels_are_counted() -> None:
    """Predictions that come after their (time) window closed join nothing: the join keeps none of them, so
    with max_awaiting_labels 100 it holds at most 100 predictions however many late ones come; a label
    that waited for one is counted unmatched."""
    from monitor.config import parse_config
    from monitor.events import OutcomeEvent, PredictionEvent, prediction_event
    from monitor.pipeline import Pipeline

    config = parse_config(CONFIG.replace("{type: count, size: 100}", "{type: time, size: 1h}").replace(
        "label_ttl: 1h", "label_ttl: 1h\n    max_awaiting_labels: 100"))
    pipeline = Pipeline(config, {}, {})

    def prediction(event_id: str, seconds: float) -> PredictionEvent:
        return prediction_event(model="m", model_version="1", event_id=event_id, ts=T0 + timedelta(seconds=seconds),
                                features={"x": 0.5}, prediction=0.5)

    pipeline.on_prediction(prediction("first", 0))
    pipeline.on_prediction(prediction("now", 2 * 3600))  # the first hour's window closes
    pipeline.on_outcome(OutcomeEvent(event_id="late-0", ts=T0 + timedelta(seconds=2 * 3600), model="m", label=1))
    for i in range(3000):
        pipeline.on_prediction(prediction(f"late-{i}", i))
    stats = pipeline.stats()["models"]["m"]
    assert stats["late_events"] == 3000
    assert stats["join_pending"] == (1, 0)  # "now" (its window is open; the first one is final)
    assert stats["labels_unmatched"] == 1 and stats.get("labels_joined", 0) == 0
