"""CBPE against NannyML 0.13 on the same reference and chunks, plus persistence, the guard and the drop rule.

Agreement tolerance: 0.01 absolute (the issue's target). Calibration is the same isotonic fit, the rates are
the same ratios of expected counts; ROC AUC differs by design by O(1/n) (see ``detectors.performance.cbpe``).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from detectors.errors import ProfileFormatError
from detectors.performance import (
    CBPE,
    MetricValue,
    NotFittedError,
    assess_reliability,
    compare,
    performance_drop,
)

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no usage analytics from NannyML
import nannyml as nml  # a dev dependency: missing must fail, not skip

CHUNK = 1000
BIN_METRICS = ["roc_auc", "f1", "precision", "recall", "specificity", "accuracy"]


def _binary(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(shift, 1.0, n)
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-1.5 * x))).astype(int)
    return 1.0 / (1.0 + np.exp(-(1.2 * x + 0.3))), y  # miscalibrated scores: isotonic is chosen


def _nannyml(est: object, analysis: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = est.estimate(analysis).to_df()  # type: ignore[attr-defined]
    df = df[df[("chunk", "period")] == "analysis"]
    return pd.DataFrame({m: df[(m, "value")].to_numpy() for m in metrics})


def test_binary_agrees_with_nannyml() -> None:
    rng = np.random.default_rng(5)
    s, y = _binary(rng, 10_000, 0.0)
    sa, _ = _binary(rng, 5 * CHUNK, 0.6)
    ref = pd.DataFrame({"p": s, "yp": (s >= 0.5).astype(int), "y": y})
    theirs = nml.CBPE(
        y_pred_proba="p",
        y_pred="yp",
        y_true="y",
        problem_type="classification_binary",
        metrics=BIN_METRICS,
        chunk_size=CHUNK,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(ref)
    expected = _nannyml(theirs, pd.DataFrame({"p": sa, "yp": (sa >= 0.5).astype(int)}), BIN_METRICS)
    ours = CBPE("binary_classification").fit(s, y)
    assert ours.calibrated == (theirs.needs_calibration,)
    for i in range(5):
        est = ours.estimate(sa[i * CHUNK : (i + 1) * CHUNK])
        for m in BIN_METRICS:
            assert abs(est[m].value - expected[m][i]) < 0.01, (m, i, est[m].value, expected[m][i])


def test_multiclass_agrees_with_nannyml_string_classes() -> None:
    rng = np.random.default_rng(6)
    classes = ["high", "low", "mid"]

    def draw(n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
        y = rng.choice(3, n, p=[0.3 + shift, 0.4, 0.3 - shift])
        logits = rng.normal(size=(n, 3)) * 1.3
        logits[np.arange(n), y] += 1.2
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return p, np.array(classes)[y]

    p, lab = draw(10_000, 0.0)
    pa, _ = draw(3 * CHUNK, 0.15)
    metrics = ["roc_auc", "f1", "precision", "recall", "accuracy"]
    cols = {c: f"p_{c}" for c in classes}
    frame = pd.DataFrame({f"p_{c}": p[:, j] for j, c in enumerate(classes)})
    frame["yp"], frame["y"] = np.array(classes)[p.argmax(axis=1)], lab
    ana = pd.DataFrame({f"p_{c}": pa[:, j] for j, c in enumerate(classes)})
    ana["yp"] = np.array(classes)[pa.argmax(axis=1)]
    theirs = nml.CBPE(
        y_pred_proba=cols,
        y_pred="yp",
        y_true="y",
        problem_type="classification_multiclass",
        metrics=metrics,
        chunk_size=CHUNK,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(frame)
    expected = _nannyml(theirs, ana, metrics)
    ours = CBPE("multiclass_classification", classes=classes).fit(p, lab)
    names = {
        "roc_auc": "roc_auc_macro",
        "f1": "f1_macro",
        "precision": "precision_macro",
        "recall": "recall_macro",
        "accuracy": "accuracy",
    }
    for i in range(3):
        est = ours.estimate(pa[i * CHUNK : (i + 1) * CHUNK])
        for m, ours_name in names.items():
            assert abs(est[ours_name].value - expected[m][i]) < 0.01, (m, i, est[ours_name].value, expected[m][i])


def test_estimate_tracks_realized_under_covariate_shift_and_roundtrips() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(size=20_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    est = CBPE("binary_classification").fit(p, y)
    window = rng.beta(4, 2, 2000)  # covariate shift towards confident positives
    wy = (rng.uniform(size=window.size) < window).astype(int)
    out = est.estimate(window)
    acc = float(np.mean((window >= 0.5) == wy))
    assert out["accuracy"].lower <= acc <= out["accuracy"].upper
    again = CBPE.from_dict(est.to_dict())
    assert again.estimate(window) == out
    with pytest.raises(ProfileFormatError, match="'cbpe'"):
        CBPE.from_dict({**est.to_dict(), "kind": "other"})
    with pytest.raises(NotFittedError):
        CBPE("binary_classification").estimate(window)


def test_reliability_guard_flags_concept_drift() -> None:
    rng = np.random.default_rng(8)
    p = rng.uniform(size=20_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    est = CBPE("binary_classification", metrics=["accuracy"]).fit(p, y)
    checks_ok, checks_drift = [], []
    for _ in range(5):
        w = rng.uniform(size=2000)
        same = (rng.uniform(size=w.size) < w).astype(int)
        flipped = (rng.uniform(size=w.size) < 0.5).astype(int)  # P(y | score) changed: labels ignore the score
        e = est.estimate(w)["accuracy"]
        for truth, sink in ((same, checks_ok), (flipped, checks_drift)):
            realized = MetricValue("accuracy", float(np.mean((w >= 0.5) == truth)), 0, 1, w.size, 0.95, "wilson")
            check = compare(e, realized)
            assert check is not None
            sink.append(check)
    assert assess_reliability(checks_ok).reliable
    verdict = assess_reliability(checks_drift)
    assert not verdict.reliable and verdict.n_outside == 5 and verdict.mean_error > 0.2


def test_drop_rule_uses_the_interval_and_min_labels() -> None:
    small = MetricValue("roc_auc", 0.70, 0.60, 0.80, 150, 0.95, "delong")
    big = MetricValue("roc_auc", 0.70, 0.68, 0.72, 5000, 0.95, "delong")
    assert not performance_drop(small, 0.80, max_drop=0.05).dropped  # too few labels
    assert not performance_drop(MetricValue("roc_auc", 0.7, 0.6, 0.8, 500, 0.95, "delong"), 0.80, max_drop=0.05).dropped
    assert performance_drop(big, 0.80, max_drop=0.05).dropped  # 0.80 - 0.72 = 0.08 > 0.05
    loss = MetricValue("rmse", 2.0, 1.8, 2.2, 5000, 0.95, "delta")
    assert performance_drop(loss, 1.5, max_drop=0.2).dropped  # 1.8 - 1.5 = 0.3 > 0.2
    assert not performance_drop(loss, 1.5, max_drop=0.35).dropped


def _direct_binary(raw: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """The module-doc rules in input order, pair by pair (O(n^2)): the independent check of the sorted path."""
    pred = raw >= threshold
    tp, fp = p[pred].sum(), (1 - p[pred]).sum()
    fn, tn = p[~pred].sum(), (1 - p[~pred]).sum()
    above = (raw[:, None] > raw[None, :]).astype(float) + 0.5 * (raw[:, None] == raw[None, :])
    np.fill_diagonal(above, 0.0)
    pairs = p[:, None] * (1 - p)[None, :]
    np.fill_diagonal(pairs, 0.0)
    return {
        "roc_auc": float((pairs * above).sum() / pairs.sum()),
        "accuracy": float((tp + tn) / raw.size),
        "precision": float(tp / (tp + fp)),
        "recall": float(tp / (tp + fn)),
        "specificity": float(tn / (tn + fp)),
        "f1": float(2 * tp / (2 * tp + fp + fn)),
    }


@pytest.mark.parametrize("decimals", [None, 2])  # continuous scores, and many ties (incl. at the threshold)
def test_sorted_estimate_matches_the_pairwise_rules(decimals: int | None) -> None:
    rng = np.random.default_rng(9)
    s, y = _binary(rng, 5000, 0.0)
    window, _ = _binary(rng, 600, 0.4)
    if decimals is not None:
        s, window = np.round(s, decimals), np.round(window, decimals)
    ours = CBPE("binary_classification", threshold=0.5).fit(s, y)
    assert ours.calibrated == (True,)
    p = ours.calibrate(window)
    cal = ours._calibrators[0]  # type: ignore[index]
    assert cal is not None
    np.testing.assert_allclose(p, np.interp(window, cal.x, cal.y), rtol=0, atol=1e-15)  # input order kept
    expected = _direct_binary(window, p, 0.5)
    got = ours.estimate(window)
    for m, v in expected.items():
        assert abs(got[m].value - v) < 1e-12, (m, got[m].value, v)


def test_multiclass_auc_matches_the_pairwise_rule_with_ties() -> None:
    rng = np.random.default_rng(10)
    y = rng.choice(3, 4000)
    logits = rng.normal(size=(4000, 3))
    logits[np.arange(4000), y] += 1.0
    scores = np.round(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 2)
    ours = CBPE("multiclass_classification", classes=[0, 1, 2], metrics=["roc_auc_macro"]).fit(scores, y)
    window = scores[:500]
    p = ours.calibrate(window)
    expected = np.mean([_direct_binary(window[:, j], p[:, j], 0.5)["roc_auc"] for j in range(3)])
    assert abs(ours.estimate(window)["roc_auc_macro"].value - expected) < 1e-12
