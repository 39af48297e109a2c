"""Severity rules of every signal (monitor.pipeline.alert_signals), on real drift reports and on crafted ones."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from monitor.config import parse_config
from monitor.pipeline.alert_signals import (
    SIGNALS,
    drift_signals,
    max_severity,
    metric_signal,
    near_constant_signal,
    volume_signal,
)

MODEL = parse_config("""
models:
  m:
    features: {x: numeric, y: numeric, c: categorical}
    prediction: {kind: score, column: score}
    alerts: {min_window_events: 10, critical_drift_share: 0.6, missing_rate_jump: 0.1, out_of_range_share: 0.05}
    business_metrics:
      - {name: take_rate, kind: take_rate, reference_value: 0.5, max_relative_drop: 0.2, min_denominator: 20}
""").models["m"]


def col(name: str, drifted: bool = False, mr: float = 0.0, mc: float = 0.0) -> dict[str, Any]:
    return {"name": name, "test": "ks", "statistic": 0.4, "drifted": drifted, "missing_rate_reference": mr,
            "missing_rate_current": mc}


def report(columns: list[dict[str, Any]], dataset_drift: bool = False, share: float = 0.0,
           quality: list[Any] | None = None, multivariate: Any = None) -> Any:
    return SimpleNamespace(columns=columns, dataset_drift=dataset_drift, drift_share=share, quality=quality or [],
                           multivariate=multivariate)


MULTI_DRIFTED = {"method": "pca_reconstruction", "statistic": 1.9, "lower": 1.0, "upper": 1.2, "drifted": True}


def sig(signals: list[Any]) -> set[tuple[str, str | None, str]]:
    return {(s.signal, s.feature, s.severity) for s in signals}


def test_dataset_feature_and_prediction_drift() -> None:
    r = report([col("x", True), col("y", True), col("c"), col("score", True)], dataset_drift=True, share=0.75)
    assert sig(drift_signals(MODEL, r, 100)) == {
        ("dataset_drift", None, "critical"), ("feature_drift", "x", "warning"), ("feature_drift", "y", "warning"),
        ("prediction_drift", "score", "critical")}
    r = report([col("x", True), col("y")], dataset_drift=True, share=0.5)
    assert ("dataset_drift", None, "warning") in sig(drift_signals(MODEL, r, 100))
    assert drift_signals(MODEL, r, 9) == []  # too few events to judge
    assert drift_signals(MODEL, None, 100) == []


def test_missing_rate_jump_and_quality_findings() -> None:
    r = report([col("x", mr=0.01, mc=0.12), col("y", mr=0.0, mc=0.6), col("c", mr=0.0, mc=0.05)], quality=[
        {"check": "constant", "column": "x", "triggered": True, "message": "x is constant", "value": 1.0},
        {"check": "unseen_categories", "column": "c", "triggered": True, "value": 0.02},
        {"check": "out_of_range", "column": "y", "triggered": True, "value": 0.3},
        {"check": "out_of_range", "column": "x", "triggered": False, "value": 0.9},
        {"check": "missing_rate", "column": "c", "triggered": True, "value": 0.05},
        {"check": "missing_rate", "column": "x", "triggered": True, "value": 0.12},
        {"check": "missing_rate", "column": "y", "triggered": True, "value": 0.6},
    ])
    assert sig(drift_signals(MODEL, r, 100)) == {
        ("data_quality", "x:missing_rate", "warning"), ("data_quality", "y:missing_rate", "critical"),
        ("data_quality", "x:constant", "warning"), ("data_quality", "y:out_of_range", "critical")}


def test_a_missing_rate_jump_needs_the_quality_check_to_call_it_significant() -> None:
    # 10% missing in the reference, 7 of 30 (23%) in a window of unchanged data happens by chance (about
    # 7% of 30-row windows): the jump alone would alarm, the missing-rate check's exact test does not trigger
    jump_only = report([col("x", mr=0.10, mc=7 / 30)], quality=[])
    assert drift_signals(MODEL, jump_only, 30) == []
    significant = report([col("x", mr=0.10, mc=7 / 30)],
                         quality=[{"check": "missing_rate", "column": "x", "triggered": True, "value": 7 / 30}])
    assert sig(drift_signals(MODEL, significant, 30)) == {("data_quality", "x:missing_rate", "warning")}
    no_quality = SimpleNamespace(columns=[col("x", mr=0.10, mc=7 / 30)], dataset_drift=False, drift_share=0.0,
                                 quality=None, multivariate=None)
    assert sig(drift_signals(MODEL, no_quality, 30)) == {("data_quality", "x:missing_rate", "warning")}


def test_business_metric_drop_rules() -> None:
    assert metric_signal(MODEL, "take_rate", 0.45, 100, False) is None
    assert metric_signal(MODEL, "take_rate", 0.39, 100, False).severity == "warning"  # type: ignore[union-attr]
    assert metric_signal(MODEL, "take_rate", 0.29, 100, False).severity == "critical"  # type: ignore[union-attr]
    assert metric_signal(MODEL, "take_rate", 0.45, 100, True).severity == "warning"  # type: ignore[union-attr]
    assert metric_signal(MODEL, "take_rate", 0.39, 100, True).severity == "critical"  # type: ignore[union-attr]
    assert metric_signal(MODEL, "take_rate", 0.1, 19, True) is None  # too small a denominator
    assert metric_signal(MODEL, "take_rate", None, 100, True) is None


def test_near_constant_and_volume() -> None:
    assert near_constant_signal(MODEL, "score", 0.001, 0.3, 100) is not None
    assert near_constant_signal(MODEL, "score", 0.2, 0.3, 100) is None
    assert near_constant_signal(MODEL, "score", 0.0, 0.0, 100) is None  # constant in the reference too
    history = [10.0, 11.0, 9.0]  # events/s; median 10/s
    assert volume_signal(MODEL, 100, 10.0, [10.0, 11.0]) is None  # not enough history
    assert volume_signal(MODEL, 40, 10.0, history).severity == "warning"  # type: ignore[union-attr]
    assert volume_signal(MODEL, 10, 10.0, history).severity == "critical"  # type: ignore[union-attr]
    assert "spiked" in volume_signal(MODEL, 500, 10.0, history).message  # type: ignore[union-attr]
    assert volume_signal(MODEL, 120, 10.0, history) is None
    # on 1 s of traffic (10 events due, 30 in the 3 previous windows' worth), 4 or 1 events can be noise:
    # P(Binomial(34, 1/4) <= 4) = 0.03, P(Binomial(31, 1/4) <= 1) = 0.0015, both above alpha / 2 ...
    assert volume_signal(MODEL, 4, 1.0, history) is None
    assert volume_signal(MODEL, 1, 1.0, history) is None
    # ... none at all (0.75^30 = 1.8e-4), or 31 (3.1x the rate), cannot
    assert volume_signal(MODEL, 0, 1.0, history).severity == "critical"  # type: ignore[union-attr]
    assert volume_signal(MODEL, 31, 1.0, history) is not None
    assert volume_signal(MODEL, 0, 0.0, history) is None  # no duration, no rate


# the signals of a window's drift report, business metrics and volume; the model-quality signals come from
# monitor.pipeline.performance and fairness_gap from monitor.pipeline.fairness_state, disabled the same way
# (tests/unit/monitor/test_performance_*.py, finish_window)
LABEL_SIGNALS = ("performance_drop", "estimated_performance_drop", "performance_estimate_unreliable")
OTHER_SIGNALS = (*LABEL_SIGNALS, "fairness_gap")
WINDOW_SIGNALS = tuple(s for s in SIGNALS if s not in OTHER_SIGNALS)


def test_the_signal_list_is_the_window_signals_and_the_others() -> None:
    assert set(SIGNALS) == set(WINDOW_SIGNALS) | set(OTHER_SIGNALS) and len(WINDOW_SIGNALS) == 8


@pytest.mark.parametrize("name", WINDOW_SIGNALS)
def test_every_signal_can_be_disabled(name: str) -> None:
    cfg = MODEL.model_copy(update={"alerts": MODEL.alerts.model_copy(update={"disabled_signals": [name]})})
    r = report([col("x", True, 0.0, 0.9), col("score", True)], dataset_drift=True, share=1.0,
               quality=[{"check": "constant", "column": "x", "triggered": True},
                        {"check": "missing_rate", "column": "x", "triggered": True}], multivariate=MULTI_DRIFTED)
    found = [s.signal for s in drift_signals(cfg, r, 100)]
    found += [s.signal for s in (near_constant_signal(cfg, "score", 0.0, 1.0, 100),
                                 metric_signal(cfg, "take_rate", 0.0, 100, True),
                                 volume_signal(cfg, 0, 100.0, [1.0, 1.0, 1.0])) if s is not None]
    assert name not in found
    assert len(set(found)) == len(WINDOW_SIGNALS) - 1


def test_multivariate_drift_is_a_warning_outside_the_band() -> None:
    [s] = drift_signals(MODEL, report([col("x"), col("y")], multivariate=MULTI_DRIFTED), 100)
    assert (s.signal, s.feature, s.severity, s.value) == ("multivariate_drift", None, "warning", 1.9)
    assert s.message.endswith("1.900 above the band [1.000, 1.200] by 0.7")
    inside = {**MULTI_DRIFTED, "statistic": 1.1, "drifted": False}
    assert drift_signals(MODEL, report([col("x")], multivariate=inside), 100) == []
    assert drift_signals(MODEL, report([col("x")], multivariate=MULTI_DRIFTED), 9) == []  # too few events


def test_dedup_key_and_max_severity() -> None:
    [s] = drift_signals(MODEL, report([col("x", True)]), 100)
    assert s.dedup_key("m") == "m|feature_drift|x"
    assert max_severity("critical", "info") == "critical"


def _real_report(current: dict[str, Any]) -> Any:
    """The drift report of a real profile (x, y numeric, c categorical; 3,000 seeded rows) on ``current``."""
    import numpy as np
    import pandas as pd

    from detectors import ReferenceProfile, evaluate

    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "y": rng.normal(size=3000),
                        "c": rng.choice(list("abc"), size=3000)})
    return evaluate(ReferenceProfile.build(ref), pd.DataFrame(current))


def test_a_null_column_is_a_quality_finding_not_a_drift() -> None:
    import numpy as np

    rng = np.random.default_rng(12)
    n = 600
    nulls = _real_report({"x": [None] * n, "y": rng.normal(size=n), "c": rng.choice(list("abc"), size=n)})
    assert nulls.column("x").test == "all_null" and nulls.column("x").drifted
    found = drift_signals(MODEL, nulls, n)
    assert ("data_quality", "x:missing_rate", "critical") in sig(found)
    assert not any(s.signal == "feature_drift" for s in found), [s.message for s in found]
    assert not any("all_null" in s.message for s in found)
    # a null column whose missing-rate signal is not raised (the policy's jump is out of reach) keeps its
    # alert, saying what is wrong
    lenient = MODEL.model_copy(update={"alerts": MODEL.alerts.model_copy(update={"missing_rate_jump": 1.5})})
    [drift] = [s for s in drift_signals(lenient, nulls, n) if s.signal == "feature_drift"]
    assert drift.message == "feature 'x' has no value in this window (every value null or not a number)"


def test_dataset_drift_names_the_drifted_columns() -> None:
    import numpy as np

    rng = np.random.default_rng(13)
    n = 2000
    shifted = _real_report({"x": rng.normal(1.0, 1, size=n), "y": rng.normal(1.0, 1, size=n),
                            "c": rng.choice(list("abc"), size=n)})
    [dataset] = [s for s in drift_signals(MODEL, shifted, n) if s.signal == "dataset_drift"]
    drifted = [c.name for c in shifted.columns if c.drifted]
    assert drifted == ["x", "y"]
    assert dataset.message == "dataset drift: 67% of the columns drifted (x, y)"


@pytest.mark.parametrize(("value", "lower", "upper", "expected"), [
    (1.18262, 1.18301, 1.273, "1.1826 below the band [1.1830, 1.2730] by 0.00039"),
    (1.2731, 1.183, 1.273, "1.2731 above the band [1.1830, 1.2730] by 0.0001"),
    (1.27300004, 1.183, 1.273, "1.27300004 above the band [1.18300000, 1.27300000] by 4e-08"),
    (412.5, 101.0, 130.25, "412.5 above the band [101.0, 130.2] by 2.8e+02"),
])
def test_the_band_message_tells_the_value_from_the_bound(value: float, lower: float, upper: float,
                                                         expected: str) -> None:
    multi = {"statistic": value, "lower": lower, "upper": upper, "drifted": True}
    [s] = drift_signals(MODEL, report([col("x"), col("y")], multivariate=multi), 100)
    assert s.message == f"joint feature distribution drifted: PCA reconstruction error {expected}"
    assert s.value == value
