"""The label lifecycle: a window is emitted at close, later labels update its performance until label_ttl,
exact against detectors.performance; persisted as upserts; the CLI's --json lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from detectors.performance import binary_metrics
from monitor.config import parse_config
from monitor.events import OutcomeEvent, prediction_event
from monitor.pipeline import Pipeline
from monitor.pipeline.labels import BadLabelError
from monitor.pipeline.performance_reference import PerformanceReference

T0 = datetime(2026, 11, 1, tzinfo=UTC)
CONFIG = """
version: 1
models:
  m:
    features: {x: numeric}
    window: {type: count, size: 300}
    label_ttl: 1h
    max_awaiting_labels: 100000
    performance:
      task: binary_classification
      min_labels: 50
      max_drop: {accuracy: 0.03}
"""


def _reference() -> PerformanceReference:
    rng = np.random.default_rng(1)
    p = rng.uniform(size=3000)
    y = (rng.uniform(size=3000) < p).astype(int)
    cfg = parse_config(CONFIG).models["m"].performance
    assert cfg is not None
    return PerformanceReference.build(cfg, y.tolist(), p.tolist(), model="m")


def _predictions(p: Pipeline, n: int, seed: int = 0) -> tuple[list[float], list[int]]:
    rng = np.random.default_rng(seed)
    scores = rng.uniform(size=n).tolist()
    labels = [int(v) for v in (rng.uniform(size=n) < np.array(scores))]
    for i, s in enumerate(scores):
        p.on_prediction(prediction_event(model="m", model_version="1", event_id=f"e{i}", ts=T0 + timedelta(seconds=i),
                                        features={"x": 1.0}, prediction=s))
    return scores, labels


def test_window_emitted_at_close_then_labels_update_it_exactly() -> None:
    p = Pipeline(parse_config(CONFIG), {}, {"m": _reference()})
    scores, labels = _predictions(p, 300)
    closed = p.advance()
    assert [w.window_key for w in closed] == ["count:0"]  # at close, no label yet
    first = {r.metric: r for r in closed[0].performance}
    assert first["accuracy"].n_labelled == 0 and first["accuracy"].realized is None
    assert first["accuracy"].estimated is not None and first["accuracy"].provisional
    for i in range(0, 200):
        p.on_outcome(OutcomeEvent(event_id=f"e{i}", ts=T0 + timedelta(seconds=300 + i), model="m",
                                  label=float(labels[i])))
    p.advance()
    updates = p.take_updates()
    # the labels that reached 1/4 and 2/4 of the window judged it (label steps), then the persist point's refresh
    assert [(u.final, u.seq) for u in updates] == [(False, 2), (False, 3), (False, 3)]
    assert [u.performance[1].n_labelled for u in updates] == [75, 150, 200]
    got = {r.metric: r for r in updates[-1].performance}
    want = binary_metrics(labels[:200], scores[:200], positive_class=1, threshold=0.5,
                          metrics=["roc_auc", "accuracy", "precision", "recall", "f1"])
    for metric, value in want.items():  # same rows, same function: identical
        assert got[metric].realized == value.value and got[metric].realized_lower == value.lower
        assert got[metric].n_labelled == 200 and got[metric].n_predictions == 300 and got[metric].provisional
    # snapshot / restore mid-lifecycle is exact
    again = Pipeline.restore(p.snapshot(), parse_config(CONFIG), {}, performance={"m": _reference()})
    assert again.snapshot() == p.snapshot()
    # label_ttl (1h of event time) passes on the outcome clock: the final, non-provisional update
    p.on_outcome(OutcomeEvent(event_id="e299", ts=T0 + timedelta(hours=2), model="m", label=float(labels[299])))
    p.advance()
    final = p.take_updates()
    assert [u.final for u in final] == [True]
    assert all(not r.provisional for r in final[0].performance)
    assert p.stats()["models"]["m"]["awaiting_labels"] == 0
    assert p.stats()["models"]["m"]["labels_joined"] == 200  # the label after label_ttl joined nothing


def test_bad_label_is_rejected_and_changes_nothing() -> None:
    p = Pipeline(parse_config(CONFIG), {}, {"m": _reference()})
    _predictions(p, 10)
    before = p.snapshot()
    with pytest.raises(BadLabelError, match="label 'yes' of model 'm': unknown class"):
        p.on_outcome(OutcomeEvent(event_id="e1", ts=T0, model="m", label="yes"))
    assert p.snapshot() == before


def test_spill_at_the_bound_is_counted() -> None:
    cfg = parse_config(CONFIG.replace("max_awaiting_labels: 100000", "max_awaiting_labels: 400"))
    p = Pipeline(cfg, {}, {"m": _reference()})
    _predictions(p, 300)
    p.advance()  # window 0 closed, 300 predictions await labels
    for i in range(300, 450):
        p.on_prediction(prediction_event(model="m", model_version="1", event_id=f"e{i}",
                                        ts=T0 + timedelta(seconds=i), features={"x": 1.0}, prediction=0.5))
    stats = p.stats()["models"]["m"]
    assert stats["labels_spilled"] == 300 and stats["awaiting_labels"] == 150
    assert stats["join_pending"][0] == 150  # the join forgets the spilled predictions too, not at label_ttl
    for i in range(450, 3000):  # a long run stays within the bound: books and the join alike
        p.on_prediction(prediction_event(model="m", model_version="1", event_id=f"e{i}",
                                        ts=T0 + timedelta(seconds=i), features={"x": 1.0}, prediction=0.5))
        if i % 300 == 299:
            p.advance()
        stats = p.stats()["models"]["m"]
        assert stats["awaiting_labels"] <= 400 and stats["join_pending"][0] <= 400, (i, stats)
    spilled = p.take_updates()
    assert spilled[0].final and "spilled" in (spilled[0].performance[0].reason or "")


def test_persisted_rows_and_cli_json(tmp_path: object) -> None:
    from monitor.cli import app
    from monitor.db import make_engine, session_factory, upgrade
    from monitor.store.queries import PERFORMANCE_FIELDS, performance_series
    from monitor.store.writer import persist

    url = f"sqlite:///{tmp_path}/db.sqlite"
    upgrade(url)
    engine = make_engine(url)
    p = Pipeline(parse_config(CONFIG), {}, {"m": _reference()})
    _, labels = _predictions(p, 300)
    with session_factory(engine).begin() as s:
        persist(s, p.advance() + p.take_updates(), "k", p.snapshot(), {}, None)
    for i in range(100):
        p.on_outcome(OutcomeEvent(event_id=f"e{i}", ts=T0 + timedelta(seconds=400), model="m", label=labels[i] == 1))
    with session_factory(engine).begin() as s:
        persist(s, p.take_updates(), "k", p.snapshot(), {}, None)
    with session_factory(engine)() as s:
        rows = performance_series(s, "m")
    assert len(rows) == 5 and {r.n_labelled for r in rows} == {100}  # upserted in place
    with engine.connect() as conn:  # a plain Connection reads the same rows as a Session
        assert performance_series(conn, "m") == rows
        one = rows[0].metric
        assert performance_series(conn, "m", metrics=[one]) == [r for r in rows if r.metric == one] != []
    engine.dispose()
    out = CliRunner().invoke(app, ["performance", "m", "--db", url, "--json"])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.output.splitlines()]
    assert len(lines) == 5 and all(tuple(line) == PERFORMANCE_FIELDS for line in lines)
    table = CliRunner().invoke(app, ["performance", "m", "--db", url])
    assert table.exit_code == 0 and "provisional" in table.output and "100/300" in table.output
    errors = {r.metric: r.error for r in rows}  # the estimator's error (estimated - realized) per window
    assert "est-real" in table.output and all(
        f" {e:+.3f} " in line for line in table.output.splitlines()[1:] for m, e in errors.items()
        if e is not None and f" {m} " in line)
    assert any(e is not None for e in errors.values())
