"""Realized performance of one window of a binary classifier (labels joined), with confidence intervals.

``score >= threshold`` predicts the positive class. Each metric and its interval:

================== ============================================ =============================================
metric             definition (TP, FP, FN, TN counts)           interval
================== ============================================ =============================================
accuracy           (TP + TN) / n                                Wilson score, n rows
precision          TP / (TP + FP)                               Wilson score, TP + FP rows
recall             TP / (TP + FN)                               Wilson score, TP + FN rows
specificity        TN / (TN + FP)                               Wilson score, TN + FP rows
f1                 2 TP / (2 TP + FP + FN)                      Wilson interval of q = TP / (TP + FP + FN)
                                                                mapped through F1 = 2 q / (1 + q) (monotone)
roc_auc            Mann-Whitney: P(s+ > s-) + P(s+ = s-) / 2    DeLong standard error, normal, clipped [0, 1]
average_precision  scikit-learn's step-wise AP                  bootstrap percentile (200 Poisson replicates)
log_loss           mean of -[y log p + (1-y) log(1-p)],         normal (CLT) on the per-row losses
                   p clipped to [eps, 1 - eps] (float64 eps)
brier              mean of (p - y)^2                            normal (CLT) on the per-row losses
ece                sum over 10 equal-width bins of              basic bootstrap (200 Poisson replicates):
                   |sum(y) - sum(p)| / n (scikit-learn's        2 ece - quantiles, widened to hold ece,
                   ``calibration_curve`` bins)                  clipped at 0 (ece is biased upwards: its
                                                                percentiles lie above the true value)
================== ============================================ =============================================

log_loss, brier and ece need scores in ``[0, 1]`` (probabilities of the positive class). A metric whose
denominator is 0 (no positive label, no positive prediction, a single class for AUC) is NaN with a
``reason``, never an exception and never scikit-learn's ``zero_division`` 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from detectors.performance._inputs import as_scores, same_length
from detectors.performance._intervals import (
    bootstrap_basic,
    bootstrap_percentile,
    clip01,
    mean_interval,
    normal_interval,
    wilson,
    z_value,
)
from detectors.performance._ranking import SortedScores, auc_delong, average_precision, sort_scores
from detectors.performance.config import BINARY, check_metrics
from detectors.performance.result import MetricValue

__all__ = ["ECE_BINS", "binary_metrics", "expected_calibration_error", "f1_se", "row_losses"]

ECE_BINS = 10
_EPS = float(np.finfo(np.float64).eps)


def _undefined(metric: str, n: int, confidence: float, method: str, reason: str) -> MetricValue:
    return MetricValue(metric, math.nan, math.nan, math.nan, n, confidence, method, reason)


def _rate(metric: str, hits: int, total: int, n: int, confidence: float, reason: str) -> MetricValue:
    if total == 0:
        return _undefined(metric, n, confidence, "wilson", reason)
    lo, hi = wilson(hits, total, z_value(confidence))
    return MetricValue(metric, hits / total, lo, hi, n, confidence, "wilson")


def f1_se(tp: float, fp: float, fn: float) -> float:
    """Delta-method standard error of F1: ``2 / (1 + q)^2 * sqrt(q (1 - q) / m)``, ``q = TP / m``, ``m = TP+FP+FN``."""
    m = tp + fp + fn
    if m <= 0:
        return math.nan
    q = tp / m
    return 2.0 / (1.0 + q) ** 2 * math.sqrt(q * (1.0 - q) / m)


def _f1(tp: int, fp: int, fn: int, n: int, confidence: float) -> MetricValue:
    m = tp + fp + fn
    if m == 0:
        return _undefined("f1", n, confidence, "wilson", "no positive label and no positive prediction")
    lo_q, hi_q = wilson(tp, m, z_value(confidence))
    return MetricValue(
        "f1", 2 * tp / (2 * tp + fp + fn), 2 * lo_q / (1 + lo_q), 2 * hi_q / (1 + hi_q), n, confidence, "wilson"
    )


def _bins(p: NDArray[np.float64]) -> NDArray[np.intp]:
    # scikit-learn's calibration_curve(strategy="uniform"): searchsorted on the inner edges (side="left")
    return np.searchsorted(np.linspace(0.0, 1.0, ECE_BINS + 1)[1:-1], p).astype(np.intp)


def expected_calibration_error(
    y: NDArray[np.float64], p: NDArray[np.float64], weights: NDArray[np.float64] | None = None
) -> float:
    """``ECE = sum_b |sum_{i in b} w_i y_i - sum_{i in b} w_i p_i| / sum_i w_i``.

    Over :data:`ECE_BINS` equal-width bins.
    """
    b = _bins(p)
    w = np.ones_like(p) if weights is None else weights
    total = float(w.sum())
    if total <= 0:
        return math.nan
    gap = np.bincount(b, weights=w * (y - p), minlength=ECE_BINS)
    return float(np.abs(gap).sum() / total)


def _auc(s: SortedScores, n: int, confidence: float) -> MetricValue:
    auc, se = auc_delong(s)
    if not math.isfinite(auc):
        return _undefined("roc_auc", n, confidence, "delong", "single class in window")
    lo, hi = clip01(*normal_interval(auc, se, z_value(confidence)))
    return MetricValue("roc_auc", auc, lo, hi, n, confidence, "delong")


def _ap(s: SortedScores, n: int, confidence: float) -> MetricValue:
    ap = average_precision(s)
    if not math.isfinite(ap):
        return _undefined("average_precision", n, confidence, "bootstrap", "no positive label in window")
    lo, hi = bootstrap_percentile(lambda w: average_precision(s, w), n, confidence)
    return MetricValue("average_precision", ap, lo, hi, n, confidence, "bootstrap")


def row_losses(metric: str, y: NDArray[np.float64], p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-row loss of ``metric``: ``brier`` ``(p - y)^2``; ``log_loss`` ``-[y log q + (1 - y) log(1 - q)]``,
    ``q = p`` clipped to ``[eps, 1 - eps]`` (float64 eps). Their mean is the metric."""
    if metric == "brier":
        return (p - y) ** 2
    q = np.clip(p, _EPS, 1.0 - _EPS)
    return -np.where(y > 0, np.log(q), np.log1p(-q))


def _probabilistic(metric: str, y: NDArray[np.float64], p: NDArray[np.float64], confidence: float) -> MetricValue:
    n = y.size
    method = "bootstrap" if metric == "ece" else "normal"
    if n == 0 or p.min() < 0.0 or p.max() > 1.0:
        return _undefined(metric, n, confidence, method, "scores outside [0, 1] are not probabilities")
    if metric == "ece":
        ece = expected_calibration_error(y, p)
        lo, hi = bootstrap_basic(lambda w: expected_calibration_error(y, p, w), ece, n, confidence)
        return MetricValue("ece", ece, lo, hi, n, confidence, method)
    value, lo, hi = mean_interval(row_losses(metric, y, p), z_value(confidence))
    return MetricValue(metric, value, lo, hi, n, confidence, method)


def binary_metrics(
    labels: ArrayLike,
    scores: ArrayLike,
    *,
    positive_class: Any = 1,
    threshold: float = 0.5,
    metrics: Iterable[str] | None = None,
    confidence: float = 0.95,
) -> dict[str, MetricValue]:
    """Realized metrics of one window of a binary classifier (rules in the module docstring).

    Parameters
    ----------
    labels : array-like of shape (n,)
        True labels (any type); ``labels == positive_class`` is the positive class.
    scores : array-like of float, shape (n,)
        Model scores; ``scores >= threshold`` predicts positive.
    metrics : iterable of str, optional
        Names from ``METRICS["binary_classification"]``; default ``DEFAULT_METRICS`` of the task.

    Returns
    -------
    dict
        ``{metric: MetricValue}`` in the order of ``metrics``.

    Raises
    ------
    PerformanceInputError
        Arrays of different lengths or a non-finite score.
    UnknownNameError
        A metric name not defined for binary classification.

    Examples
    --------
    >>> r = binary_metrics([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.1], metrics=["accuracy", "roc_auc"])
    >>> r["accuracy"].value, r["roc_auc"].value
    (0.75, 1.0)
    """
    names = check_metrics(BINARY, metrics)
    s = as_scores(scores, "binary_metrics(scores)")
    n = same_length("binary_metrics", labels=labels, scores=s)
    pos = np.asarray(labels) == positive_class
    compute = _metric_makers(pos, s, n, threshold=threshold, confidence=confidence)
    return {name: compute[name]() for name in names}


def _metric_makers(
    pos: NDArray[np.bool_], s: NDArray[np.float64], n: int, *, threshold: float, confidence: float
) -> dict[str, Callable[[], MetricValue]]:
    """Per binary metric, the function that computes it on the window (positive labels ``pos``, scores ``s``):
    the confusion counts at ``threshold`` once, the scores sorted only for a ranking metric's first use."""
    pred = s >= threshold
    tp = int(np.count_nonzero(pos & pred))
    fp = int(np.count_nonzero(pred)) - tp
    n_pos = int(np.count_nonzero(pos))
    fn = n_pos - tp
    tn = n - n_pos - fp
    sorted_scores: list[SortedScores] = []

    def ranked() -> SortedScores:
        if not sorted_scores:
            sorted_scores.append(sort_scores(s, pos))
        return sorted_scores[0]

    y = pos.astype(np.float64)
    return {
        "accuracy": lambda: _rate("accuracy", tp + tn, n, n, confidence, "empty window"),
        "precision": lambda: _rate("precision", tp, tp + fp, n, confidence, "no positive prediction in window"),
        "recall": lambda: _rate("recall", tp, tp + fn, n, confidence, "no positive label in window"),
        "specificity": lambda: _rate("specificity", tn, tn + fp, n, confidence, "no negative label in window"),
        "f1": lambda: _f1(tp, fp, fn, n, confidence),
        "roc_auc": lambda: _auc(ranked(), n, confidence),
        "average_precision": lambda: _ap(ranked(), n, confidence),
        "log_loss": lambda: _probabilistic("log_loss", y, s, confidence),
        "brier": lambda: _probabilistic("brier", y, s, confidence),
        "ece": lambda: _probabilistic("ece", y, s, confidence),
    }
