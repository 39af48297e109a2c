"""Per-segment detection and fairness in the pipeline: a failure confined to one segment, capped values,
snapshot/restore with segment state, joint BH."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from detectors import ReferenceProfile
from detectors.fairness import fairness_metric, group_counts
from monitor.config import parse_config
from monitor.events import PredictionEvent
from monitor.pipeline import Pipeline

T0 = datetime(2026, 11, 1, tzinfo=UTC)
COUNTRIES = ["FR", "DE", "ES", "IT", "UK", "PL", "NL", "BE", "PT", "SE"]

CONFIG = """
models:
  rec:
    features: {tenure: numeric, genre: categorical, gender: categorical}
    prediction: {kind: score, column: score}
    window: {type: count, size: 4000}
    alerts: {min_window_events: 50, volume: {enabled: false}}
    segments: {keys: [country], min_events: 100, max_segments: MAXSEG}
    fairness: {attributes: [gender, country], threshold: 0.5, max_gap: 0.05,
               metrics: [demographic_parity_difference, demographic_parity_ratio]}
"""


def config(max_segments: int = 20) -> Any:
    return parse_config(CONFIG.replace("MAXSEG", str(max_segments)))


def profile() -> ReferenceProfile:
    rng = np.random.default_rng(0)
    n = 8000
    frame = pd.DataFrame({"tenure": rng.normal(10, 2, n), "genre": rng.choice(list("abc"), n),
                          "gender": rng.choice(["f", "m"], n), "score": rng.uniform(size=n)})
    return ReferenceProfile.build(frame, {"tenure": "numeric", "genre": "categorical", "gender": "categorical",
                                          "score": "numeric"}).with_version(1)


PROFILE = profile()


def events(n: int, seed: int, broken: str | None = None, countries: list[Any] | None = None,
           shift_by: float = 3.0, bias: float = 1.0) -> list[Any]:
    rng = np.random.default_rng(seed)
    pool = countries or COUNTRIES
    out = []
    for i in range(n):
        country = pool[int(rng.integers(len(pool)))]
        shift = shift_by if country == broken else 0.0
        gender = "f" if rng.uniform() < 0.5 else "m"
        score = float(rng.uniform()) * (bias if gender == "f" else 1.0)
        out.append(PredictionEvent(
            model="rec", model_version="1", event_id=f"e{seed}-{i}", ts=T0 + timedelta(seconds=i),
            features={"tenure": float(rng.normal(10 + shift, 2)), "genre": str(rng.choice(list("abc"))),
                      "gender": gender},
            prediction=score, segments={"country": country}))
    return out


def run(pipe: Pipeline, evs: list[Any]) -> list[Any]:
    for e in evs:
        pipe.on_prediction(e)
    return pipe.flush()


def test_failure_in_one_segment_is_alerted_where_the_aggregate_is_not() -> None:
    pool = ["FR", *(f"k{i}" for i in range(19))]
    [window] = run(Pipeline(config(), {"rec": PROFILE}), events(4000, seed=1, broken="FR", countries=pool,
                                                                 shift_by=1.5))
    assert not [s for s in window.signals if s.segment is None], window.signals  # diluted in the aggregate
    seg = [s for s in window.signals if s.segment is not None]
    assert {s.segment for s in seg} == {"country=FR"}, seg
    fr = next(r for r in window.segments if r.segment == "country=FR")
    assert "tenure" in fr.drifted_columns and fr.alerted
    assert all(not r.alerted for r in window.segments if r.segment != "country=FR")
    assert seg[0].dedup_key("rec").endswith("|country=FR") and "country=FR" in seg[0].message


def test_population_drift_gives_one_alert_not_one_per_segment() -> None:
    evs = events(4000, seed=2)
    for e in evs:
        e.features["tenure"] += 3.0
    [window] = run(Pipeline(config(), {"rec": PROFILE}), evs)
    assert any(s.signal == "feature_drift" and s.feature == "tenure" and s.segment is None for s in window.signals)
    assert not any(s.segment is not None and s.feature == "tenure" for s in window.signals)


def test_values_capped_and_non_string_counted() -> None:
    many = [f"c{i}" for i in range(50)] + [7]  # 50 strings and one int
    pipe = Pipeline(config(max_segments=5), {"rec": PROFILE})
    [window] = run(pipe, events(4000, seed=3, countries=many))
    labels = {r.segment for r in window.segments}
    assert len(labels) <= 6 and "country=other" in labels
    assert window.report["segments_capped"] > 0 and window.report["segments_non_string"] > 0
    assert sum(window.report["segments"].values()) == 4000


def test_snapshot_restore_keeps_segment_state() -> None:
    cfg = config()
    evs = events(4000, seed=4, broken="DE")
    straight = run(Pipeline(cfg, {"rec": PROFILE}), evs)
    pipe = Pipeline(cfg, {"rec": PROFILE})
    for e in evs[:1777]:
        pipe.on_prediction(e)
    restored = Pipeline.restore(pipe.snapshot(), cfg, {"rec": PROFILE})
    again = run(restored, evs[1777:])
    assert [r.to_dict() for r in again[0].segments] == [r.to_dict() for r in straight[0].segments]
    assert [r.to_dict() for r in again[0].fairness] == [r.to_dict() for r in straight[0].fairness]


def test_fairness_rows_equal_detectors_on_the_same_events() -> None:
    evs = events(4000, seed=5, bias=0.8)
    [window] = run(Pipeline(config(), {"rec": PROFILE}), evs)
    genders = [e.features["gender"] for e in evs]
    positive = [e.prediction >= 0.5 for e in evs]
    expected = fairness_metric("demographic_parity_difference", group_counts(genders, positive), min_group_n=30)
    row = next(r for r in window.fairness if r.attribute == "gender" and r.metric == "demographic_parity_difference")
    assert row.value == pytest.approx(expected.value, abs=1e-15) and row.violated
    assert any(s.signal == "fairness_gap" and s.feature == "gender:demographic_parity_difference"
               for s in window.signals)
    country = next(r for r in window.fairness if r.attribute == "country" and r.metric.endswith("difference"))
    assert not country.violated


def test_twenty_segments_do_not_add_false_alarms() -> None:
    """Stationary windows: with joint BH, windows with any segment drift alarm stay few (seeded)."""
    countries = [f"k{i}" for i in range(20)]
    alarms = 0
    for seed in range(6):
        [window] = run(Pipeline(config(), {"rec": PROFILE}), events(4000, seed=100 + seed, countries=countries))
        alarms += any(s.segment is not None and s.signal in ("feature_drift", "prediction_drift", "dataset_drift")
                      for s in window.signals)
    assert alarms <= 1
