"""Quality alerts through the whole path (pipeline -> persist -> AlertService.process_labels, SQLite):
one performance_drop per model + metric kept open across windows and resolved after clean final windows;
the reliability guard under concept drift; multiclass and regression realized metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from detectors.performance import multiclass_metrics, regression_metrics
from monitor.alerts.service import AlertService
from monitor.config import parse_config
from monitor.db import make_engine, session_factory, upgrade
from monitor.events import OutcomeEvent, PredictionEvent, prediction_event
from monitor.pipeline import ClosedWindow, Pipeline
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.store.writer import persist

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SIZE = 200  # predictions per window, one a second; a label comes 100 s after its prediction
BINARY = """
version: 1
models:
  m:
    features: {x: numeric}
    window: {type: count, size: 200}
    label_ttl: 300s
    alerts: {auto_resolve_after: 2}
    performance:
      task: binary_classification
      metrics: [accuracy]
      min_labels: 50
      max_drop: {accuracy: 0.05}
      reliability_window: 3
      reliability_max_outside: 2
"""


def _reference(config: str, n: int = 4000) -> PerformanceReference:
    rng = np.random.default_rng(11)
    s = rng.uniform(size=n)
    y = (rng.uniform(size=n) < s).astype(int)
    perf = parse_config(config).models["m"].performance
    assert perf is not None
    return PerformanceReference.build(perf, y.tolist(), s.tolist(), model="m")


def _events(windows: list[tuple[np.ndarray, np.ndarray]]) -> Iterator[PredictionEvent | OutcomeEvent]:
    """Predictions one a second, each label 100 s later, in time order."""
    scores = np.concatenate([s for s, _ in windows])
    labels = np.concatenate([y for _, y in windows])
    n = len(scores)
    for t in range(n + 400):
        if t < n:
            yield prediction_event(model="m", model_version="1", event_id=f"e{t}", ts=T0 + timedelta(seconds=t),
                                  features={"x": float(scores[t])}, prediction=float(scores[t]))
        if 0 <= t - 100 < n:
            yield OutcomeEvent(event_id=f"e{t - 100}", ts=T0 + timedelta(seconds=t), model="m",
                               label=int(labels[t - 100]))
        elif t == n + 399:  # the outcome clock passes every label_ttl: every window final
            yield OutcomeEvent(event_id="none", ts=T0 + timedelta(seconds=t + 1000), model="m", label=0)


def _run(tmp_path: Path, config: str, windows: list[tuple[np.ndarray, np.ndarray]]
         ) -> tuple[str, list[ClosedWindow]]:
    url = f"sqlite:///{tmp_path}/dw.db"
    upgrade(url)
    engine = make_engine(url)
    pipeline = Pipeline(parse_config(config), {}, {"m": _reference(config)})
    closed_all: list[ClosedWindow] = []
    alerts = AlertService()
    for i, event in enumerate(_events(windows)):
        if isinstance(event, PredictionEvent):
            pipeline.on_prediction(event)
        else:
            pipeline.on_outcome(event)
        if i % 50 == 49:  # a persist point every 50 events: provisional updates in between
            closed = pipeline.advance()
            closed_all.extend(closed)
            with session_factory(engine).begin() as session:
                persist(session, [*closed, *pipeline.take_updates()], "k", pipeline.snapshot(),
                        {}, alerts)
    with session_factory(engine).begin() as session:
        closed = pipeline.flush()
        closed_all.extend(closed)
        persist(session, [*closed, *pipeline.take_updates()], "k", pipeline.snapshot(), {}, alerts)
    engine.dispose()
    return url, closed_all


def _alerts(url: str) -> list[tuple[str, str, int, str | None]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT dedup_key, status, windows_count, resolved_by FROM alerts "
                                 "ORDER BY id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _calibrated(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = rng.uniform(size=SIZE)
    return s, (rng.uniform(size=SIZE) < s).astype(int)


def test_performance_drop_is_one_alert_per_metric_open_across_windows_then_resolved(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    windows = []
    for k in range(9):
        s, y = _calibrated(rng)
        if k in (2, 3, 4):  # the model gets a third of its labels wrong: accuracy ~0.75 -> ~0.5
            flip = rng.uniform(size=SIZE) < 0.35
            y = np.where(flip, 1 - y, y)
        windows.append((s, y))
    url, _ = _run(tmp_path, BINARY, windows)
    drops = [a for a in _alerts(url) if a[0].startswith("m|performance_drop")]
    # one incident: opened by window 2's labels, counted once for each of windows 2-4 (however many
    # provisional updates each had), resolved by two clean final windows after them
    assert drops == [("m|performance_drop|accuracy", "resolved", 3, "auto")]


def test_unreliable_estimate_under_concept_drift_suppresses_estimated_drops(tmp_path: Path) -> None:
    rng = np.random.default_rng(22)
    windows = [_calibrated(rng) for _ in range(2)]
    for _ in range(7):  # less confident scores (CBPE expects accuracy ~0.58) but labels follow the score
        s = rng.uniform(0.35, 0.65, size=SIZE)  # exactly: realized accuracy 1.0, far outside the band
        windows.append((s, (s > 0.5).astype(int)))
    url, closed = _run(tmp_path, BINARY, windows)
    estimated = [any(s.signal == "estimated_performance_drop" for s in w.signals) for w in closed]
    assert estimated[:2] == [False, False] and estimated[2]  # the estimate drops as soon as the scores shift
    assert not any(estimated[6:])  # once the guard found the estimate unreliable: suppressed
    keys = [a[0] for a in _alerts(url)]
    assert keys.count("m|performance_estimate_unreliable|accuracy") == 1
    assert not any(k.startswith("m|performance_drop") for k in keys)  # realized accuracy never dropped
    flagged = [r.estimate_reliable for w in closed[6:] for r in w.performance]
    assert flagged and not any(flagged)


MULTICLASS = """
version: 1
models:
  m:
    features: {x: numeric}
    prediction: {kind: probabilities}
    window: {type: count, size: 300}
    label_ttl: 1h
    performance:
      task: multiclass_classification
      classes: [a, b, c]
      min_labels: 50
"""
REGRESSION = """
version: 1
models:
  m:
    features: {x: numeric}
    window: {type: count, size: 300}
    label_ttl: 1h
    performance:
      task: regression
      min_labels: 50
"""


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_multiclass_and_regression_realized_metrics_are_detectors_performance(task: str) -> None:
    rng = np.random.default_rng(31)
    n = 300
    if task == "multiclass":
        config, classes = MULTICLASS, ["a", "b", "c"]
        probs = rng.dirichlet([2, 2, 2], size=n + 1000)
        truth = [classes[rng.choice(3, p=row)] for row in probs]
        perf = parse_config(config).models["m"].performance
        assert perf is not None
        ref = PerformanceReference.build(perf, truth[n:], probs[n:].tolist(), model="m")
        predictions: list[object] = [dict(zip(classes, row.tolist(), strict=True)) for row in probs[:n]]
        labels: list[object] = truth[:n]
    else:
        config = REGRESSION
        y = rng.normal(size=n + 1000)
        yhat = y + rng.normal(scale=0.5, size=n + 1000)
        perf = parse_config(config).models["m"].performance
        assert perf is not None
        ref = PerformanceReference.build(perf, y[n:].tolist(), yhat[n:].tolist(), model="m")
        predictions, labels = yhat[:n].tolist(), y[:n].tolist()
    pipeline = Pipeline(parse_config(config), {}, {"m": ref})
    for i in range(n):
        pipeline.on_prediction(prediction_event(model="m", model_version="1", event_id=f"e{i}",
                                               ts=T0 + timedelta(seconds=i), features={"x": 1.0},
                                               prediction=predictions[i]))
    closed = pipeline.advance()
    assert len(closed) == 1
    labelled = range(0, n, 2)
    for i in labelled:
        pipeline.on_outcome(OutcomeEvent(event_id=f"e{i}", ts=T0 + timedelta(seconds=n + i), model="m",
                                         label=labels[i]))
    updates = pipeline.take_updates()
    assert len(updates) == 3  # label steps 1/4 and 2/4, then the persist point's refresh
    got = {r.metric: r for r in updates[-1].performance}
    if task == "multiclass":
        want = multiclass_metrics([labels[i] for i in labelled],
                                  [[predictions[i][c] for c in classes] for i in labelled],  # type: ignore[index]
                                  classes, metrics=list(got), confidence=0.95)
        assert all(r.estimated is not None for r in closed[0].performance)  # CBPE at close
    else:
        want = regression_metrics([labels[i] for i in labelled], [predictions[i] for i in labelled],
                                  metrics=list(got), confidence=0.95)
        assert all(r.estimated is None and r.estimate_reliable is None for r in got.values())  # no estimate
    for metric, value in want.items():  # the same rows through the same function: identical
        assert got[metric].realized == value.value and got[metric].realized_upper == value.upper
        assert got[metric].n_labelled == len(labelled) and got[metric].n_predictions == n
    # the final update (label_ttl passed) keeps the estimate-vs-realized checks: the checkpoint still encodes
    pipeline.on_outcome(OutcomeEvent(event_id="later", ts=T0 + timedelta(hours=3), model="m", label=labels[0]))
    final = [u for u in pipeline.take_updates() if u.final]
    assert len(final) == 1 and all(not r.provisional for r in final[0].performance)
    restored = Pipeline.restore(pipeline.snapshot(), parse_config(config), {}, {"m": ref})
    assert restored.snapshot() == pipeline.snapshot()


def _decaying(seed: int, decay: float, n_windows: int = 30) -> list[tuple[np.ndarray, np.ndarray]]:
    """Calibrated windows whose labels are flipped with probability ``decay x k`` in window k."""
    rng = np.random.default_rng(seed)
    windows = []
    for k in range(n_windows):
        s, y = _calibrated(rng)
        flip = rng.uniform(size=SIZE) < decay * k
        windows.append((s, np.where(flip, 1 - y, y)))
    return windows


def _final_drops(config: str, windows: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[int, str]]:
    """``(window number, message)`` of every performance_drop of a final update."""
    pipeline = Pipeline(parse_config(config), {}, {"m": _reference(config)})
    out = []
    for event in _events(windows):
        if isinstance(event, PredictionEvent):
            pipeline.on_prediction(event)
        else:
            pipeline.on_outcome(event)
        pipeline.advance()
        out += [(int(u.window_key.split(":")[1]) // SIZE, s.message) for u in pipeline.take_updates() if u.final
                for s in u.signals if s.signal == "performance_drop"]
    return out


def test_the_sequential_detector_catches_slow_decay_before_max_drop_with_its_default_parameters() -> None:
    """``sequential: {detector: page_hinkley}`` with no params runs on the metric's scale (threshold
    2 x max_drop, delta max_drop / 4): accuracy decaying ~0.006 per window is caught windows before its
    interval clears max_drop, and a steady model raises nothing (Page-Hinkley's own defaults, threshold 50,
    never fire on a metric in [0, 1])."""
    config = BINARY.replace("reliability_window: 3",
                            "sequential: {detector: page_hinkley}\n      reliability_window: 3")
    rule_only = _final_drops(BINARY, _decaying(1, 0.01))
    with_detector = _final_drops(config, _decaying(1, 0.01))
    first_rule = rule_only[0][0]
    assert "page_hinkley" not in rule_only[0][1] and first_rule >= 15
    early = [(k, m) for k, m in with_detector if k < first_rule]
    assert early and all("page_hinkley detected a decay of accuracy" in m for _, m in early), with_detector
    assert _final_drops(config, _decaying(1, 0.0)) == []


def test_a_realized_drop_is_detected_when_its_labels_arrive_not_at_its_window_end(tmp_path: Path) -> None:
    """``first_seen`` is the end of the window the drop lies in; ``detected_at`` the event time of the label
    that showed it (a label after the window closed, whose coverage step judged it)."""
    rng = np.random.default_rng(21)
    windows = []
    for k in range(5):
        s, y = _calibrated(rng)
        if k == 2:  # the second half of window 2 (predictions 500-599) is mostly wrong
            y = np.where((np.arange(SIZE) >= SIZE // 2) & (rng.uniform(size=SIZE) < 0.9), 1 - y, y)
        windows.append((s, y))
    url, _ = _run(tmp_path, BINARY, windows)
    engine = make_engine(url)
    with engine.connect() as conn:
        first_seen, detected_at = conn.execute(text(
            "SELECT first_seen, detected_at FROM alerts WHERE signal = 'performance_drop'")).one()
        end = conn.execute(text("SELECT window_end FROM window_results ORDER BY window_start")).scalars().all()[2]
    engine.dispose()
    assert str(first_seen) == str(end) and str(end).startswith("2026-11-01 00:09:59")  # prediction 599
    # each label comes 100 s after its prediction: at the close (t = 599) the 100 good labels of the first
    # half were in; the steps after it come with the 150th label (t = 649) and the 200th (t = 699)
    assert str(detected_at)[:19] in ("2026-11-01 00:10:49", "2026-11-01 00:11:39"), detected_at
