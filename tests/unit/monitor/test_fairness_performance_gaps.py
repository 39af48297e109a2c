"""Performance gaps between groups (issue #15) in the pipeline: a window whose ROC AUC differs much between
genders raises ``fairness_gap`` and one whose groups score alike does not; the rows equal
detectors.fairness_performance (and fairlearn) on the labelled predictions; they survive a snapshot; they
reach the database and ``driftwarden fairness --json`` like every fairness row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import fairlearn.metrics as fm
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from detectors.fairness_performance import performance_gap
from monitor.config import parse_config
from monitor.events import OutcomeEvent, prediction_event
from monitor.pipeline import Pipeline

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SIZE = 2000
CONFIG = f"""
models:
  m:
    features: {{x: numeric, gender: categorical}}
    prediction: {{kind: score, column: score}}
    window: {{type: count, size: {SIZE}}}
    alerts: {{min_window_events: 50, volume: {{enabled: false}}}}
    performance: {{task: binary_classification, min_labels: 50}}
    fairness:
      attributes: [gender]
      metrics: [demographic_parity_difference, roc_auc_difference, roc_auc_ratio, brier_difference]
      thresholds: {{roc_auc_difference: 0.1, roc_auc_ratio: 0.85, brier_difference: 0.2,
                   demographic_parity_difference: 0.3}}
"""


def _events(seed: int, separation: dict[str, float]) -> tuple[list[Any], list[int]]:
    """``SIZE`` predictions (gender ``f``/``m`` at random) whose logit separates the classes by
    ``separation[gender]``, and their labels (prevalence 0.3)."""
    rng = np.random.default_rng(seed)
    preds, labels = [], []
    for i in range(SIZE):
        gender = "f" if rng.random() < 0.5 else "m"
        y = int(rng.random() < 0.3)
        score = float(1.0 / (1.0 + np.exp(-(rng.normal() + separation[gender] * y - 1.0))))
        preds.append(prediction_event(model="m", model_version="1", event_id=f"e{i}", ts=T0 + timedelta(seconds=i),
                                      features={"x": float(rng.normal()), "gender": gender}, prediction=score))
        labels.append(y)
    return preds, labels


def _outcome(i: int, label: int) -> OutcomeEvent:
    return OutcomeEvent(event_id=f"e{i}", ts=T0 + timedelta(seconds=i, milliseconds=500), model="m",
                        label=float(label))


def _run(preds: list[Any], labels: list[int], labelled: int) -> Any:
    """The window closed after the first ``labelled`` predictions got their labels (all but the last
    prediction arrive first; its arrival closes the window)."""
    pipe = Pipeline(parse_config(CONFIG), {})
    for e in preds[:-1]:
        pipe.on_prediction(e)
    for i in range(labelled):
        pipe.on_outcome(_outcome(i, labels[i]))
    pipe.on_prediction(preds[-1])
    [window] = pipe.flush()
    return window


def _rows(window: Any) -> dict[str, Any]:
    return {r.metric: r for r in window.fairness if r.attribute == "gender"}


def test_a_large_auc_gap_raises_fairness_gap_and_equals_detectors() -> None:
    preds, labels = _events(1, {"f": 2.5, "m": 0.6})
    labelled = SIZE - 200  # the last 200 predictions are still unlabelled when the window closes
    window = _run(preds, labels, labelled)
    rows = _rows(window)
    genders = [e.feature_dict["gender"] for e in preds[:labelled]]
    scores = [e.prediction for e in preds[:labelled]]
    expected = performance_gap("roc_auc_difference", genders, labels[:labelled], scores, min_group_n=30)
    auc = rows["roc_auc_difference"]
    assert (auc.value, auc.lower, auc.upper, auc.groups) == (expected.value, expected.lower, expected.upper,
                                                            expected.groups)
    frame = fm.MetricFrame(metrics=roc_auc_score, y_true=labels[:labelled], y_pred=scores,
                           sensitive_features=genders)
    assert auc.value == pytest.approx(frame.difference(), rel=1e-12, abs=1e-12)
    assert auc.value > 0.2 and auc.threshold == 0.1 and auc.violated
    assert rows["roc_auc_ratio"].violated and rows["roc_auc_ratio"].threshold == 0.85
    assert not rows["brier_difference"].violated and not rows["demographic_parity_difference"].violated
    gaps = {s.feature for s in window.signals if s.signal == "fairness_gap"}
    assert gaps == {"gender:roc_auc_difference", "gender:roc_auc_ratio"}


def test_groups_that_score_alike_raise_no_fairness_gap() -> None:
    preds, labels = _events(2, {"f": 1.5, "m": 1.5})
    window = _run(preds, labels, SIZE - 1)
    rows = _rows(window)
    auc = rows["roc_auc_difference"]
    assert auc.value is not None and auc.value < 0.05 and auc.lower is not None and auc.lower <= 0.1
    assert not any(r.violated for r in rows.values())
    assert not [s for s in window.signals if s.signal == "fairness_gap"]


def test_without_labels_the_gaps_have_no_value() -> None:
    preds, labels = _events(3, {"f": 2.5, "m": 0.6})
    rows = _rows(_run(preds, labels, 0))
    assert rows["roc_auc_difference"].value is None and not rows["roc_auc_difference"].violated
    assert rows["demographic_parity_difference"].value is not None  # (needs no label)


def test_snapshot_mid_window_keeps_the_gaps() -> None:
    preds, labels = _events(4, {"f": 2.5, "m": 0.6})
    straight = _run(preds, labels, SIZE - 1)
    cfg = parse_config(CONFIG)
    pipe = Pipeline(cfg, {})
    for e in preds[:1200]:
        pipe.on_prediction(e)
    pipe = Pipeline.restore(pipe.snapshot(), cfg, {})
    for e in preds[1200:-1]:
        pipe.on_prediction(e)
    for i in range(SIZE - 1):
        pipe.on_outcome(_outcome(i, labels[i]))
    pipe.on_prediction(preds[-1])
    [window] = pipe.flush()
    assert [r.to_dict() for r in window.fairness] == [r.to_dict() for r in straight.fairness]


def _check_round_trip(url: str) -> None:
    """The gap rows written with their window, read back by ``driftwarden fairness --json`` exactly, and
    the ``fairness_gap`` alert in ``alerts list --json``."""
    from monitor.alerts.service import AlertService
    from monitor.cli import app
    from monitor.db import make_engine, session_factory, upgrade
    from monitor.store.segments_store import FAIRNESS_FIELDS
    from monitor.store.writer import persist

    upgrade(url)
    preds, labels = _events(1, {"f": 2.5, "m": 0.6})
    pipe = Pipeline(parse_config(CONFIG), {})
    for e in preds[:-1]:
        pipe.on_prediction(e)
    for i in range(SIZE - 1):
        pipe.on_outcome(_outcome(i, labels[i]))
    pipe.on_prediction(preds[-1])
    [window] = pipe.flush()
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        persist(s, [window], "k", pipe.snapshot(), {}, AlertService())
    engine.dispose()
    out = CliRunner().invoke(app, ["fairness", "m", "--db", url, "--json"])
    assert out.exit_code == 0, out.output
    lines = {x["metric"]: x for x in map(json.loads, out.output.splitlines())}
    assert all(tuple(line) == FAIRNESS_FIELDS for line in lines.values())
    auc = _rows(window)["roc_auc_difference"]
    got = lines["roc_auc_difference"]
    assert (got["value"], got["lower"], got["upper"], got["violated"]) == (auc.value, auc.lower, auc.upper, True)
    assert set(got["groups"]) == {"f", "m"}
    alerts = CliRunner().invoke(app, ["alerts", "list", "--db", url, "--json"])
    assert any(a["signal"] == "fairness_gap" and "roc_auc" in a["feature"]
               for a in map(json.loads, alerts.output.splitlines()))


def test_gap_rows_reach_sqlite_and_the_fairness_command(sqlite_url: str) -> None:
    _check_round_trip(sqlite_url)


@pytest.mark.integration
def test_gap_rows_reach_postgres_and_the_fairness_command(pg_url: str) -> None:
    _check_round_trip(pg_url)
