"""Realized metrics against scikit-learn on seeded data, and their edge cases.

Tolerance: ``rtol=atol=1e-12`` — both sides compute the same quantity along different float paths
(rank sums vs ROC trapezoids, bincounts vs masks), so bit-equality is not expected.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from detectors.errors import UnknownNameError
from detectors.performance import METRICS, binary_metrics, multiclass_metrics, regression_metrics
from detectors.performance.errors import PerformanceInputError

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _binary(seed: int, n: int = 3000, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.0, 1.0)
    return y, (np.round(s, 2) if ties else s)


def _sk_ece(y: np.ndarray, s: np.ndarray) -> float:
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], s), minlength=10)
    counts = counts[counts > 0]
    return float(np.sum(counts / s.size * np.abs(prob_true - prob_pred)))


@pytest.mark.parametrize("seed,ties", [(0, False), (1, True), (2, True)])
def test_binary_matches_sklearn(seed: int, ties: bool) -> None:
    y, s = _binary(seed, ties=ties)
    labels = np.where(y == 1, "fraud", "ok")  # string labels with a named positive class
    r = binary_metrics(labels, s, positive_class="fraud", threshold=0.5, metrics=METRICS["binary_classification"])
    pred = s >= 0.5
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "specificity": skm.recall_score(y, pred, pos_label=0),
        "roc_auc": skm.roc_auc_score(y, s),
        "average_precision": skm.average_precision_score(y, s),
        "log_loss": skm.log_loss(y, s),
        "brier": skm.brier_score_loss(y, s),
        "ece": _sk_ece(y, s),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(r[name].value, value, **TOL, err_msg=name)
        assert r[name].lower <= r[name].value <= r[name].upper, name


def test_multiclass_matches_sklearn_with_string_labels() -> None:
    rng = np.random.default_rng(3)
    n, classes = 4000, ["cat", "dog", "eel"]
    y = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += 1.0
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    lab = np.array(classes)[y]
    pred = np.array(classes)[p.argmax(axis=1)]
    r = multiclass_metrics(lab, p, classes, metrics=METRICS["multiclass_classification"])
    expected = {"accuracy": skm.accuracy_score(lab, pred), "log_loss": skm.log_loss(lab, p, labels=classes)}
    for kind in ("precision", "recall", "f1"):
        for avg in ("macro", "weighted"):
            expected[f"{kind}_{avg}"] = getattr(skm, f"{kind}_score")(lab, pred, average=avg)
    for avg in ("macro", "weighted"):
        expected[f"roc_auc_{avg}"] = skm.roc_auc_score(lab, p, multi_class="ovr", average=avg, labels=classes)
    for name, value in expected.items():
        np.testing.assert_allclose(r[name].value, value, **TOL, err_msg=name)
        assert r[name].lower <= r[name].value <= r[name].upper, name


def test_regression_matches_sklearn() -> None:
    rng = np.random.default_rng(4)
    yt = rng.normal(5.0, 2.0, 2500)
    yp = yt + rng.normal(0.2, 1.0, 2500)
    r = regression_metrics(yt, yp, metrics=METRICS["regression"])
    expected = {
        "mae": skm.mean_absolute_error(yt, yp),
        "rmse": skm.root_mean_squared_error(yt, yp),
        "mape": skm.mean_absolute_percentage_error(yt, yp),
        "r2": skm.r2_score(yt, yp),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(r[name].value, value, **TOL, err_msg=name)
        assert r[name].lower < r[name].value < r[name].upper, name


def test_single_class_window_gives_nan_with_reason() -> None:
    r = binary_metrics([1, 1, 1], [0.2, 0.7, 0.9], metrics=["roc_auc", "specificity", "recall", "average_precision"])
    assert math.isnan(r["roc_auc"].value) and r["roc_auc"].reason == "single class in window"
    assert math.isnan(r["specificity"].value) and r["specificity"].reason == "no negative label in window"
    assert r["recall"].value == pytest.approx(2 / 3)
    m = multiclass_metrics(["a", "a"], [[0.9, 0.1], [0.8, 0.2]], ["a", "b"], metrics=["roc_auc_macro"])
    assert math.isnan(m["roc_auc_macro"].value) and m["roc_auc_macro"].reason
    g = regression_metrics([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], metrics=["r2"])
    assert math.isnan(g["r2"].value) and g["r2"].reason == "constant y_true"


def test_non_probability_scores_leave_losses_undefined() -> None:
    r = binary_metrics([0, 1], [-1.0, 2.0], threshold=0.0, metrics=["log_loss", "accuracy"])
    assert math.isnan(r["log_loss"].value) and "probabilities" in (r["log_loss"].reason or "")
    assert r["accuracy"].value == 1.0


def test_errors_name_the_bad_value() -> None:
    with pytest.raises(UnknownNameError, match="'auc'"):
        binary_metrics([0, 1], [0.1, 0.9], metrics=["auc"])
    with pytest.raises(PerformanceInputError, match="labels=3, scores=2"):
        binary_metrics([0, 1, 1], [0.1, 0.9])
    with pytest.raises(PerformanceInputError, match="row 1"):
        binary_metrics([0, 1], [0.1, float("nan")])
    with pytest.raises(PerformanceInputError, match="'z'"):
        multiclass_metrics(["a", "z"], [[0.9, 0.1], [0.8, 0.2]], ["a", "b"])
