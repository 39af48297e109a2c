"""Realized performance of one window of a multiclass classifier, with confidence intervals.

Inputs: ``labels`` (n,) of any type, ``proba`` (n, k) scores whose column j belongs to ``classes[j]``; the
predicted class is ``classes[argmax(proba[i])]`` (first column on ties). From the confusion matrix
``C[t, p]`` (true t, predicted p):

- ``accuracy = trace(C) / n``; Wilson score interval.
- per class: ``precision_j = C[j,j] / sum_t C[t,j]``, ``recall_j = C[j,j] / sum_p C[j,p]``,
  ``f1_j = 2 C[j,j] / (sum_t C[t,j] + sum_p C[j,p])``; a class whose denominator is 0 is left out of the
  average (scikit-learn counts it as 0 through ``zero_division``).
- ``*_macro`` = unweighted mean over the classes kept; ``*_weighted`` = mean weighted by support
  ``sum_p C[j,p]``. Interval: percentile bootstrap of the confusion matrix (2,000 multinomial
  replicates of the n rows over the k*k cells; exact for the nonparametric bootstrap, cost independent of n).
- ``roc_auc_macro`` / ``roc_auc_weighted``: one-vs-rest AUC of column j against ``label == classes[j]``
  (ties count 1/2), averaged over the classes present and absent in the window (equal weights / support
  weights), as scikit-learn's ``roc_auc_score(multi_class="ovr")`` when every class is present.
  Interval: normal with the DeLong standard error of the average, from the per-row influence
  ``psi_i = sum_j w_j psi_ij`` (``psi_ij = (v10_ij - AUC_j) / n_j+`` for a positive, ``(v01_ij - AUC_j) / n_j-``
  for a negative), ``Var = sum_i psi_i^2``.
- ``log_loss`` = mean of ``-log(clip(proba[i, true_i], eps, 1 - eps))``; normal (CLT) interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from detectors.performance._inputs import as_scores, class_indices, same_length
from detectors.performance._intervals import clip01, mean_interval, normal_interval, wilson, z_value
from detectors.performance._ranking import SortedScores, placements
from detectors.performance.config import MULTICLASS, check_metrics
from detectors.performance.errors import PerformanceInputError
from detectors.performance.result import MetricValue

__all__ = ["CONFUSION_REPLICATES", "averaged", "confusion_matrix", "confusion_se", "multiclass_metrics", "ovr_auc"]

CONFUSION_REPLICATES = 2000
_SEED = 20240614
_EPS = float(np.finfo(np.float64).eps)


def confusion_matrix(true_idx: NDArray[np.intp], pred_idx: NDArray[np.intp], k: int) -> NDArray[np.int64]:
    """``C[t, p]`` = rows with true class index t and predicted index p."""
    return np.bincount(true_idx * k + pred_idx, minlength=k * k).reshape(k, k).astype(np.int64)


def averaged(cm: NDArray[Any], metric: str) -> NDArray[np.float64]:
    """``metric`` (``"precision_macro"``, ...) of a confusion matrix or a stack ``(..., k, k)`` of them."""
    kind, average = metric.rsplit("_", 1)
    diag = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    rows = cm.sum(axis=-1).astype(np.float64)
    cols = cm.sum(axis=-2).astype(np.float64)
    denom = {"precision": cols, "recall": rows, "f1": rows + cols}[kind]
    numer = 2.0 * diag if kind == "f1" else diag
    ok = denom > 0
    per_class = np.divide(numer, denom, out=np.zeros_like(numer), where=ok)
    weights = ok * (rows if average == "weighted" else 1.0)
    total = weights.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((per_class * weights).sum(axis=-1) / total)


def _replicates(cm: NDArray[np.int64], metric: str) -> NDArray[np.float64]:
    n = int(cm.sum())
    rng = np.random.default_rng(_SEED)
    reps = rng.multinomial(n, cm.ravel() / n, size=CONFUSION_REPLICATES).reshape(-1, *cm.shape)
    values = averaged(reps, metric)
    return values[np.isfinite(values)]


def confusion_se(cm: NDArray[np.int64], metric: str) -> float:
    """Bootstrap standard error (``ddof=1``) of an averaged metric of the confusion matrix ``cm``."""
    values = _replicates(cm, metric)
    return float(values.std(ddof=1)) if values.size > 1 else math.nan


def _bootstrap_cm(cm: NDArray[np.int64], metric: str, confidence: float) -> tuple[float, float]:
    values = _replicates(cm, metric)
    if values.size < 2:
        return math.nan, math.nan
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def ovr_auc(proba: NDArray[np.float64], true_idx: NDArray[np.intp], average: str) -> tuple[float, float]:
    """One-vs-rest AUC averaged over the classes both present and absent, and its standard error.

    ``average`` is ``"macro"`` or ``"weighted"``; ``(nan, nan)`` when no class qualifies.
    """
    n, k = proba.shape
    support = np.bincount(true_idx, minlength=k)
    keep = [j for j in range(k) if 0 < support[j] < n]
    if not keep:
        return math.nan, math.nan
    w = np.array([support[j] if average == "weighted" else 1.0 for j in keep], dtype=np.float64)
    w /= w.sum()
    psi = np.zeros(n)
    value = 0.0
    for wj, j in zip(w, keep, strict=True):
        order = np.argsort(proba[:, j])
        pos = true_idx[order] == j
        v10, v01 = placements(SortedScores(proba[order, j], pos))
        auc = float(v10.mean())
        contrib = np.empty(n)
        contrib[pos] = (v10 - auc) / v10.size
        contrib[~pos] = (v01 - auc) / v01.size
        psi[order] += wj * contrib
        value += wj * auc
    return value, math.sqrt(float(psi @ psi))


def multiclass_metrics(
    labels: ArrayLike,
    proba: ArrayLike,
    classes: Sequence[Any],
    *,
    metrics: Iterable[str] | None = None,
    confidence: float = 0.95,
) -> dict[str, MetricValue]:
    """Realized metrics of one window of a multiclass classifier (rules in the module docstring).

    Raises
    ------
    PerformanceInputError
        Lengths differ, ``proba`` has not ``len(classes)`` columns, a non-finite score, or a label that is
        not one of ``classes`` (named in the message).
    UnknownNameError
        A metric name not defined for multiclass classification.

    Examples
    --------
    >>> r = multiclass_metrics(["a", "b", "c", "a"], [[.8, .1, .1], [.2, .7, .1], [.5, .1, .4], [.6, .3, .1]],
    ...                        ["a", "b", "c"], metrics=["accuracy"])
    >>> r["accuracy"].value
    0.75
    """
    names = check_metrics(MULTICLASS, metrics)
    p = as_scores(proba, "multiclass_metrics(proba)", ndim=2)
    n = same_length("multiclass_metrics", labels=labels, proba=p)
    k = len(classes)
    if p.shape[1] != k:
        raise PerformanceInputError("multiclass_metrics(proba)", f"{p.shape[1]} columns for {k} classes")
    true_idx = class_indices(labels, classes, "multiclass_metrics(labels)")
    z = z_value(confidence)
    cm = confusion_matrix(true_idx, np.argmax(p, axis=1).astype(np.intp), k) if n else np.zeros((k, k), np.int64)
    out: dict[str, MetricValue] = {}
    for name in names:
        if n == 0:
            out[name] = MetricValue(name, math.nan, math.nan, math.nan, 0, confidence, "none", "empty window")
        elif name == "accuracy":
            hits = int(np.trace(cm))
            out[name] = MetricValue(name, hits / n, *wilson(hits, n, z), n, confidence, "wilson")
        elif name.startswith("roc_auc"):
            auc, se = ovr_auc(p, true_idx, name.rsplit("_", 1)[1])
            if math.isfinite(auc):
                out[name] = MetricValue(name, auc, *clip01(*normal_interval(auc, se, z)), n, confidence, "delong")
            else:
                out[name] = MetricValue(
                    name, auc, math.nan, math.nan, n, confidence, "delong", "single class in window"
                )
        elif name == "log_loss":
            losses = -np.log(np.clip(p[np.arange(n), true_idx], _EPS, 1.0 - _EPS))
            value, lo, hi = mean_interval(losses, z)
            out[name] = MetricValue(name, value, lo, hi, n, confidence, "normal")
        else:
            value = float(averaged(cm, name))
            out[name] = MetricValue(name, value, *_bootstrap_cm(cm, name, confidence), n, confidence, "bootstrap")
    return out
