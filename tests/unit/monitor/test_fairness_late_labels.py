"""Label-based fairness follows the label lifecycle (issue #15): a window closes with few labels, late labels
make a large true-positive-rate gap, and the window's fairness rows are updated (label steps and the final
update) and a ``fairness_gap`` alert opens; the values equal fairlearn's on the final labelled data; labels
of a window without a gap open nothing; a snapshot mid-lifecycle continues exactly."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import fairlearn.metrics as fm
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sqlalchemy import select

from monitor.config import parse_config
from monitor.events import OutcomeEvent, prediction_event
from monitor.pipeline import Pipeline
from monitor.pipeline.fairness_late import label_judged

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SIZE = 2000
EO = "equal_opportunity_difference"
CONFIG = f"""
models:
  m:
    features: {{x: numeric, gender: categorical}}
    prediction: {{kind: score, column: score}}
    window: {{type: count, size: {SIZE}}}
    label_ttl: 1h
    max_awaiting_labels: 100000
    alerts: {{min_window_events: 50, volume: {{enabled: false}}}}
    performance: {{task: binary_classification, min_labels: 50}}
    fairness:
      attributes: [gender]
      metrics: [demographic_parity_difference, {EO}, roc_auc_difference]
      thresholds: {{demographic_parity_difference: 0.5, roc_auc_difference: 0.5}}
"""


def _events(seed: int, tpr: dict[str, float], fpr: dict[str, float]) -> tuple[list[Any], list[int]]:
    """``SIZE`` predictions (gender ``f``/``m`` at random, prevalence 0.3) positive (score >= 0.5) with
    probability ``tpr[gender]`` when the label is 1 and ``fpr[gender]`` when it is 0; and their labels."""
    rng = np.random.default_rng(seed)
    preds, labels = [], []
    for i in range(SIZE):
        gender = "f" if rng.random() < 0.5 else "m"
        y = int(rng.random() < 0.3)
        positive = rng.random() < (tpr if y else fpr)[gender]
        score = float(rng.uniform(0.5, 1.0) if positive else rng.uniform(0.0, 0.5))
        preds.append(prediction_event(model="m", model_version="1", event_id=f"e{i}", ts=T0 + timedelta(seconds=i),
                                      features={"x": float(rng.normal()), "gender": gender}, prediction=score))
        labels.append(y)
    return preds, labels


def _outcome(i: int, label: int, at: float) -> OutcomeEvent:
    return OutcomeEvent(event_id=f"e{i}", ts=T0 + timedelta(seconds=at), model="m", label=float(label))


def _close(preds: list[Any], labels: list[int], early: int) -> tuple[Pipeline, Any]:
    """The window closed with labels for its first ``early`` predictions only."""
    pipe = Pipeline(parse_config(CONFIG), {})
    for e in preds:
        pipe.on_prediction(e)
        if e.event_id == f"e{early}":
            for i in range(early):
                pipe.on_outcome(_outcome(i, labels[i], SIZE / 2 + i / 1000))
    [window] = pipe.advance()
    return pipe, window


def _late(pipe: Pipeline, labels: list[int], start: int, stop: int) -> None:
    for i in range(start, stop):
        pipe.on_outcome(_outcome(i, labels[i], SIZE + i))


def _final(pipe: Pipeline) -> None:
    """An outcome past ``label_ttl`` (1 h of event time): the final update."""
    pipe.on_outcome(_outcome(0, 0, 3 * 3600))


def _updates(pipe: Pipeline) -> list[Any]:
    pipe.advance()
    return pipe.take_updates()


def _gap_events() -> tuple[list[Any], list[int]]:
    # TPR 0.9 vs 0.3, selection rates alike (0.34 vs 0.335): equal opportunity fails, demographic parity not
    return _events(7, {"f": 0.9, "m": 0.3}, {"f": 0.1, "m": 0.35})


def test_late_labels_update_the_fairness_rows_and_open_fairness_gap(sqlite_url: str) -> None:
    _check_late_gap(sqlite_url)


@pytest.mark.integration
def test_late_fairness_rows_upsert_on_postgres(pg_url: str) -> None:
    _check_late_gap(pg_url)


def _check_late_gap(url: str) -> None:
    """The pipeline's close, label steps and final update of a window with a late TPR gap, then persisted to
    ``url`` with a later unlabelled window (see the module docstring)."""
    from monitor.alerts.service import AlertService
    from monitor.db import make_engine, session_factory, upgrade
    from monitor.db.models import Alert
    from monitor.store.segments_store import fairness_series
    from monitor.store.writer import persist

    preds, labels = _gap_events()
    pipe, window = _close(preds, labels, 20)
    at_close = {r.metric: r for r in window.fairness}
    eo = at_close[EO]
    assert eo.value is None or (eo.lower is not None and eo.lower <= 0.1)  # 20 labels: no value, or too wide
    assert not eo.violated and not [s for s in window.signals if s.signal == "fairness_gap"]

    _late(pipe, labels, 20, SIZE)
    steps = _updates(pipe)
    judged = [u for u in steps if u.judged_at is not None]  # the label steps (1/4 .. 4/4)
    assert len(judged) == 4 and all(not u.final for u in judged)
    assert all([(r.attribute, r.metric) for r in u.fairness] == [("gender", EO), ("gender", "roc_auc_difference")]
               for u in judged)  # demographic parity is final at close: never recomputed
    assert all(not u.fairness for u in steps if u.judged_at is None)  # persist-point refreshes: rows only
    fired = [u for u in judged if any(s.signal == "fairness_gap" for s in u.signals)]
    assert fired and {s.feature for u in fired for s in u.signals if s.signal == "fairness_gap"} == {f"gender:{EO}"}

    _final(pipe)
    [final] = _updates(pipe)
    assert final.final and ("fairness_gap", f"gender:{EO}") in final.judged
    rows = {r.metric: r for r in final.fairness}
    genders = [e.feature_dict["gender"] for e in preds]
    scores = [e.prediction for e in preds]
    want = fm.equal_opportunity_difference(labels, [int(s >= 0.5) for s in scores], sensitive_features=genders)
    assert rows[EO].value == pytest.approx(want, abs=1e-12) and rows[EO].value > 0.4 and rows[EO].violated
    auc = fm.MetricFrame(metrics=roc_auc_score, y_true=labels, y_pred=scores, sensitive_features=genders)
    assert rows["roc_auc_difference"].value == pytest.approx(auc.difference(), abs=1e-12)

    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        persist(s, [window, *steps, final], "k", pipe.snapshot(), {}, AlertService())
    later = dataclasses.replace(window, window_key="count:9", window_start=T0 + timedelta(days=1),
                                window_end=T0 + timedelta(days=1, hours=1), signals=[], fairness=[], performance=[])
    with session_factory(engine).begin() as s:  # a later window closing unlabelled does not say the gap is gone
        persist(s, [later], "k", pipe.snapshot(), {}, AlertService())
    with session_factory(engine)() as s:
        stored = {r.metric: r for r in fairness_series(s, "m") if r.window_start == window.window_start}
        alerts = list(s.scalars(select(Alert)))
    engine.dispose()
    assert len(stored) == 3  # one row per metric, updated in place
    assert (stored[EO].value, stored[EO].lower, stored[EO].upper, stored[EO].violated) == (
        rows[EO].value, rows[EO].lower, rows[EO].upper, True)
    assert stored["demographic_parity_difference"].value == at_close["demographic_parity_difference"].value
    [alert] = alerts
    assert (alert.signal, alert.feature, alert.status) == ("fairness_gap", f"gender:{EO}", "open")
    assert alert.clean_windows == 0 and alert.windows_count == 1


def test_late_labels_without_a_gap_open_nothing() -> None:
    preds, labels = _events(8, {"f": 0.7, "m": 0.7}, {"f": 0.2, "m": 0.2})
    pipe, window = _close(preds, labels, 20)
    _late(pipe, labels, 20, SIZE)
    updates = _updates(pipe)
    _final(pipe)
    updates += _updates(pipe)
    assert not [s for u in [window, *updates] for s in u.signals if s.signal == "fairness_gap"]
    final = updates[-1]
    assert final.final and ("fairness_gap", f"gender:{EO}") in final.judged  # judged clean
    assert {r.metric: r.violated for r in final.fairness} == {EO: False, "roc_auc_difference": False}


def test_snapshot_mid_lifecycle_continues_exactly() -> None:
    preds, labels = _gap_events()
    cfg = parse_config(CONFIG)
    straight, _ = _close(preds, labels, 20)
    _late(straight, labels, 20, 900)
    _updates(straight)
    _late(straight, labels, 900, SIZE)
    _final(straight)
    want = [u.to_dict() for u in _updates(straight)]

    pipe, _ = _close(preds, labels, 20)
    _late(pipe, labels, 20, 900)
    _updates(pipe)
    again = Pipeline.restore(pipe.snapshot(), cfg, {})
    assert again.snapshot() == pipe.snapshot()
    assert again.models["m"].awaiting["count:0"].fair is not None
    _late(again, labels, 900, SIZE)
    _final(again)
    got = [u.to_dict() for u in _updates(again)]
    assert got == want and any(u["fairness"] for u in got)


def test_label_judged_names_the_label_based_fairness_alerts() -> None:
    assert label_judged("fairness_gap", f"gender:{EO}") and label_judged("fairness_gap", "a:b:roc_auc_ratio")
    assert not label_judged("fairness_gap", "gender:demographic_parity_difference")
    assert not label_judged("performance_drop", "accuracy") and not label_judged("fairness_gap", None)
