"""The arithmetic of CBPE: expected metrics from calibrated probabilities, reference standard errors.

Rules are stated in :mod:`detectors.performance.cbpe`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from detectors.performance._ranking import auc_delong, sort_scores
from detectors.performance.realized import f1_se
from detectors.performance.realized_multiclass import averaged, confusion_matrix, confusion_se, ovr_auc

if TYPE_CHECKING:
    from detectors.performance.cbpe import CBPE

__all__ = ["binary_estimates", "expected_auc", "multiclass_estimates", "reference_errors"]


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _dot(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Inner product without BLAS: a threaded BLAS ``ddot`` waking its pool costs milliseconds per window."""
    return float(np.einsum("i,i->", a, b))


def expected_auc(s: NDArray[np.float64], p: NDArray[np.float64]) -> float:
    """``E[concordant pairs] / E[positive-negative pairs]`` over pairs ``i != j`` ordered by raw score.

    ``s`` holds the raw scores sorted ascending and ``p`` the calibrated probabilities in the same order.
    Row i counts ``p_i`` times the expected negatives scored below it (``sum q`` of the lower rows, ``q =
    1 - p``) plus half those tied with it (itself excluded).
    """
    q = 1.0 - p
    cum = np.cumsum(q)
    below = cum - q  # sum of q over the rows before i
    if s.size > 1 and bool(np.any(s[1:] == s[:-1])):
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        ends = np.r_[starts[1:], s.size]
        group_q = cum[ends - 1] - below[starts]
        below = np.repeat(below[starts] + 0.5 * group_q, ends - starts) - 0.5 * q
    numer = _dot(p, below)
    denom = float(p.sum() * q.sum()) - _dot(p, q)
    return _ratio(numer, denom)


def _rates(tp: float, fp: float, fn: float, tn: float) -> dict[str, float]:
    return {
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def binary_estimates(
    s: NDArray[np.float64], p: NDArray[np.float64], threshold: float, metrics: Sequence[str]
) -> dict[str, float]:
    """Estimated binary metrics from raw scores ``s`` sorted ascending and calibrated ``p`` in that order.

    Sorted, the rows predicted positive (``s >= threshold``) are the tail from ``cut`` on.
    """
    cut = int(np.searchsorted(s, threshold, side="left"))
    tp = float(p[cut:].sum())
    fp = (s.size - cut) - tp
    fn = float(p[:cut].sum())
    tn = cut - fn
    out = _rates(tp, fp, fn, tn)
    if "roc_auc" in metrics:
        out["roc_auc"] = expected_auc(s, p)
    return {m: out[m] for m in metrics}


def _expected_averaged(
    tp: NDArray[np.float64], predicted: NDArray[np.float64], support: NDArray[np.float64], metric: str
) -> float:
    """Macro/weighted precision, recall or f1 from per-class expected counts."""
    kind, average = metric.rsplit("_", 1)
    denom = {"precision": predicted, "recall": support, "f1": predicted + support}[kind]
    numer = 2.0 * tp if kind == "f1" else tp
    ok = denom > 0
    per_class = np.divide(numer, denom, out=np.zeros_like(numer), where=ok)
    weights = ok * (support if average == "weighted" else 1.0)
    return _ratio(float(per_class @ weights), float(weights.sum()))


def multiclass_estimates(
    raw_t: NDArray[np.float64],
    p_t: NDArray[np.float64],
    orders: Sequence[NDArray[np.intp]],
    metrics: Sequence[str],
) -> dict[str, float]:
    """Estimated multiclass metrics from class-major arrays: ``raw_t[j]`` and ``p_t[j]`` are class j's column.

    Predictions are ``argmax`` over the raw scores, probabilities the calibrated ``p_t``; ``orders[j]`` sorts
    ``raw_t[j]`` ascending (one-vs-rest ROC AUC). The expected counts are computed once for all metrics.
    """
    k, n = p_t.shape
    pred = np.argmax(raw_t, axis=0).astype(np.intp)
    p_pred = p_t[pred, np.arange(n)]
    tp = np.asarray(np.bincount(pred, weights=p_pred, minlength=k), dtype=np.float64)
    predicted = np.bincount(pred, minlength=k).astype(np.float64)
    support = p_t.sum(axis=1)
    aucs: NDArray[np.float64] | None = None
    out: dict[str, float] = {}
    for name in metrics:
        if name == "accuracy":
            out[name] = float(p_pred.mean())
        elif name.startswith("roc_auc"):
            if aucs is None:
                aucs = np.array([expected_auc(raw_t[j][o], p_t[j][o]) for j, o in enumerate(orders)])
            w = support if name.endswith("weighted") else np.ones(k)
            ok = np.isfinite(aucs)
            out[name] = _ratio(float(aucs[ok] @ w[ok]), float(w[ok].sum()))
        else:
            out[name] = _expected_averaged(tp, predicted, support, name)
    return out


def _wald(m: float, n_rel: float) -> float:
    return math.sqrt(m * (1.0 - m) / n_rel) if n_rel > 0 and math.isfinite(m) else math.nan


def reference_errors(
    est: CBPE, scores: NDArray[np.float64], targets: NDArray[np.float64]
) -> tuple[dict[str, float], dict[str, float]]:
    """Realized metrics of the reference and their standard errors (the ``reference_se`` of the band)."""
    values: dict[str, float] = {}
    errors: dict[str, float] = {}
    if scores.ndim == 1:
        pos = targets[:, 0] > 0
        pred = scores >= est.threshold
        tp = float(np.count_nonzero(pos & pred))
        fp = float(np.count_nonzero(pred)) - tp
        fn = float(np.count_nonzero(pos)) - tp
        tn = pos.size - tp - fp - fn
        rates = _rates(tp, fp, fn, tn)
        relevant = {"accuracy": pos.size, "precision": tp + fp, "recall": tp + fn, "specificity": tn + fp}
        for name in est.metrics:
            if name == "roc_auc":
                values[name], errors[name] = auc_delong(sort_scores(scores, pos))
            elif name == "f1":
                values[name], errors[name] = rates[name], f1_se(tp, fp, fn)
            else:
                values[name], errors[name] = rates[name], _wald(rates[name], relevant[name])
        return values, errors
    true_idx = np.argmax(targets, axis=1).astype(np.intp)
    k = scores.shape[1]
    cm = confusion_matrix(true_idx, np.argmax(scores, axis=1).astype(np.intp), k)
    n = int(cm.sum())
    for name in est.metrics:
        if name == "accuracy":
            values[name] = float(np.trace(cm)) / n
            errors[name] = _wald(values[name], n)
        elif name.startswith("roc_auc"):
            values[name], errors[name] = ovr_auc(scores, true_idx, name.rsplit("_", 1)[1])
        else:
            values[name] = float(averaged(cm, name))
            errors[name] = confusion_se(cm, name)
    return values, errors
