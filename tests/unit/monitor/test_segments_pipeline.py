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
from monitor.events import prediction_event
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
           shift_by: float = 3.0, bias: float = 1.0, shift_all: float = 0.0) -> list[Any]:
    rng = np.random.default_rng(seed)
    pool = countries or COUNTRIES
    out = []
    for i in range(n):
        country = pool[int(rng.integers(len(pool)))]
        shift = (shift_by if country == broken else 0.0) + shift_all
        gender = "f" if rng.uniform() < 0.5 else "m"
        score = float(rng.uniform()) * (bias if gender == "f" else 1.0)
        out.append(prediction_event(
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
    evs = events(4000, seed=2, shift_all=3.0)
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


SEGMENT_REPORT_KEYS = ("segments", "segments_capped", "segments_non_string", "segments_partial", "segments_evicted",
                       "worst_slices")


def _surge_events() -> list[Any]:
    """12 values, at most 4 kept: a first half spread evenly (the first four kept, the rest pooled and
    counted in the sketch), then ``L`` surges to half of the traffic (admitted on the sketch's count, evicting
    a kept value) and a non-string value appears."""
    evs = events(2000, seed=4, broken="DE", countries=[*COUNTRIES, "L", "M"])
    late = events(2000, seed=6, countries=["L"] * 6 + ["FR", "DE", "ES", "IT", "UK", 7])
    for k, e in enumerate(late):
        e.event_id = f"late-{k}"
        e.ts = e.ts + timedelta(seconds=2000)
    return evs + late


@pytest.mark.parametrize("split", [500, 1777, 2600, 3900])
def test_snapshot_restore_keeps_segment_state(split: int) -> None:
    """Restored mid-window (before, during and after ``L``'s admission), the window's segment rows, fairness
    rows, admission counters and worst slices are those of the run never stopped; restoring a restored
    pipeline again changes nothing."""
    cfg = config(max_segments=4)
    evs = _surge_events()
    [straight] = run(Pipeline(cfg, {"rec": PROFILE}), evs)
    assert straight.report["segments_evicted"] and straight.report["segments_partial"]  # the state is not trivial
    assert straight.report["segments_capped"] > 0 and straight.report["segments_non_string"] > 0
    pipe = Pipeline(cfg, {"rec": PROFILE})
    for e in evs[:split]:
        pipe.on_prediction(e)
    restored = Pipeline.restore(pipe.snapshot(), cfg, {"rec": PROFILE})
    for e in evs[split:split + 100]:
        restored.on_prediction(e)
    closed = restored.take_closed()  # (the window closes at its last event: a persist point writes it)
    again = Pipeline.restore(restored.snapshot(), cfg, {"rec": PROFILE})
    [window] = closed + run(again, evs[split + 100:])
    assert [r.to_dict() for r in window.segments] == [r.to_dict() for r in straight.segments]
    assert [r.to_dict() for r in window.fairness] == [r.to_dict() for r in straight.fairness]
    for key in SEGMENT_REPORT_KEYS:
        assert window.report[key] == straight.report[key], key
    assert window.signals == straight.signals


def test_fairness_rows_equal_detectors_on_the_same_events() -> None:
    evs = events(4000, seed=5, bias=0.8)
    [window] = run(Pipeline(config(), {"rec": PROFILE}), evs)
    genders = [e.feature_dict["gender"] for e in evs]
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


def test_segment_family_is_one_bh_over_all_segments_columns() -> None:
    """Each segment's drift slice carries its smallest raw p-value and q-value: the raw ones equal
    ``detectors.evaluate`` on the segment's own events, the q-values scipy's BH over the raw p-values of every
    column of every tested segment together (not of each segment alone)."""
    from scipy.stats import false_discovery_control

    cfg = parse_config(CONFIG.replace("max_segments: MAXSEG", "max_segments: 20, top_slices: 100"))
    pool = [f"k{i}" for i in range(8)]
    evs = events(4000, seed=9, broken="k3", countries=pool, shift_by=0.6)
    [window] = run(Pipeline(cfg, {"rec": PROFILE}), evs)
    drift = {s["name"]: s for s in window.report["worst_slices"] if s["metric"] == "drift"}
    raw: dict[str, list[float]] = {}
    for country in pool:
        frame = pd.DataFrame([{**e.feature_dict, "score": e.prediction} for e in evs
                              if e.segments["country"] == country])
        raw[f"country={country}"] = [c.p_value for c in detectors_evaluate(frame).columns]
    assert set(drift) == set(raw)
    names = sorted(raw)
    joint = false_discovery_control([p for n in names for p in raw[n]], method="bh")
    at = 0
    per_segment_differs = False
    for name in names:
        k = len(raw[name])
        # rtol 1e-9: the same tests on the same rows, BH by scipy
        assert drift[name]["p_value"] == pytest.approx(min(raw[name]), rel=1e-9)
        assert drift[name]["q_value"] == pytest.approx(min(joint[at:at + k]), rel=1e-9), name
        own = min(false_discovery_control(raw[name], method="bh"))
        per_segment_differs |= abs(own - min(joint[at:at + k])) > 1e-3
        at += k
    assert per_segment_differs  # the data tell the two families apart
    assert drift["country=k3"]["significant"]


def detectors_evaluate(frame: pd.DataFrame) -> Any:
    import detectors

    return detectors.evaluate(PROFILE, frame)


REGIONS = ["north", "south", "east"]
REGION_CONFIG = """
models:
  rec:
    features: {tenure: numeric, region: categorical}
    prediction: {kind: score, column: score}
    window: {type: count, size: 3000}
    alerts: {min_window_events: 50, volume: {enabled: false}}
    segments: {keys: [region], min_events: 100}
"""


def _region_window(tenure_shift: float, *, tenure_null: bool = False) -> Any:
    """One window of 3,000 events whose segment key ``region`` is also a feature of the model (``tenure_null``:
    every event's ``tenure`` is null)."""
    rng = np.random.default_rng(8)
    n = 6000
    ref = pd.DataFrame({"tenure": rng.normal(10, 2, n), "region": rng.choice(REGIONS, n), "score": rng.uniform(size=n)})
    prof = ReferenceProfile.build(ref, {"tenure": "numeric", "region": "categorical", "score": "numeric"})
    evs = []
    for i in range(3000):
        region = REGIONS[i % 3]
        tenure = None if tenure_null else float(rng.normal(10 + tenure_shift, 2))
        evs.append(prediction_event(model="rec", model_version="1", event_id=f"r{i}", ts=T0 + timedelta(seconds=i),
                                    features={"tenure": tenure, "region": region},
                                    prediction=float(rng.uniform()), segments={"region": region}))
    [window] = run(Pipeline(parse_config(REGION_CONFIG), {"rec": prof.with_version(1)}), evs)
    return window


def test_a_segment_key_that_is_also_a_feature_is_not_tested_in_its_segments() -> None:
    """Within ``region=north`` the feature ``region`` is constant by definition: it is neither drift nor a
    data-quality finding of the key's segments."""
    window = _region_window(0.0)
    assert {r.segment for r in window.segments} == {f"region={r}" for r in REGIONS}
    assert all(r.drift_share == 0.0 and not r.alerted for r in window.segments), window.segments
    assert [s for s in window.signals if s.segment is not None] == []


def test_a_population_wide_shift_is_not_a_dataset_drift_in_every_segment() -> None:
    """``tenure`` shifts for everyone: one population ``feature_drift``; each segment, tested on two columns
    (its key left out), has half of them drifted, but what drifted in it drifted in the population: no
    segment ``dataset_drift``."""
    window = _region_window(3.0)
    signals = {(s.signal, s.feature, s.segment) for s in window.signals if s.signal != "multivariate_drift"}
    assert signals == {("feature_drift", "tenure", None)}
    assert all(r.drift_share == 0.5 and r.drifted_columns == ["tenure"] for r in window.segments)

def test_a_column_the_population_reports_as_quality_is_not_a_dataset_drift_in_every_segment() -> None:
    """``tenure`` arrives null for everyone: the population raises the missing-rate alert (its all-null
    ``feature_drift`` is left out for it); each segment has half its columns drifted, but the column drifted
    in the population's report too: no segment ``dataset_drift`` (one per segment before)."""
    window = _region_window(0.0, tenure_null=True)
    assert all(r.drift_share == 0.5 and r.drifted_columns == ["tenure"] for r in window.segments), window.segments
    signals = {(s.signal, s.feature, s.segment) for s in window.signals}
    assert ("data_quality", "tenure:missing_rate", None) in signals, signals
    assert ("feature_drift", "tenure", None) not in signals
    assert [s for s in window.signals if s.segment is not None] == []

