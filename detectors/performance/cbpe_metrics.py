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


def expected_auc(raw: NDArray[np.float64], p: NDArray[np.float64]) -> float:
    """``E[concordant pairs] / E[positive-negative pairs]`` over pairs ``i != j`` ordered by ``raw``."""
    order = np.argsort(raw)
    s, pp = raw[order], p[order]
    q = 1.0 - pp
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], s.size]
    cum = np.r_[0.0, np.cumsum(q)]
    below, group_q = cum[starts], cum[ends] - cum[starts]
    per_row = np.repeat(below + 0.5 * group_q, ends - starts) - 0.5 * q
    numer = float(pp @ per_row)
    denom = float(pp.sum() * q.sum() - pp @ q)
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
    raw: NDArray[np.float64], p: NDArray[np.float64], threshold: float, metrics: Sequence[str]
) -> dict[str, float]:
    """Estimated binary metrics from raw scores (order, predictions) and calibrated ``p``."""
    pred = raw >= threshold
    tp = float(p[pred].sum())
    fp = float(pred.sum()) - tp
    fn = float(p[~pred].sum())
    tn = float((~pred).sum()) - fn
    out = _rates(tp, fp, fn, tn)
    if "roc_auc" in metrics:
        out["roc_auc"] = expected_auc(raw, p)
    return {m: out[m] for m in metrics}


def _expected_averaged(pred: NDArray[np.intp], p: NDArray[np.float64], metric: str) -> float:
    k = p.shape[1]
    onehot = pred[:, None] == np.arange(k)[None, :]
    tp = (p * onehot).sum(axis=0)
    predicted = onehot.sum(axis=0).astype(np.float64)
    support = p.sum(axis=0)
    kind, average = metric.rsplit("_", 1)
    denom = {"precision": predicted, "recall": support, "f1": predicted + support}[kind]
    numer = 2.0 * tp if kind == "f1" else tp
    ok = denom > 0
    per_class = np.divide(numer, denom, out=np.zeros_like(numer), where=ok)
    weights = ok * (support if average == "weighted" else 1.0)
    return _ratio(float(per_class @ weights), float(weights.sum()))


def multiclass_estimates(raw: NDArray[np.float64], p: NDArray[np.float64], metrics: Sequence[str]) -> dict[str, float]:
    """Estimated multiclass metrics; predictions are ``argmax(raw)``, probabilities the calibrated ``p``."""
    n, k = p.shape
    pred = np.argmax(raw, axis=1).astype(np.intp)
    out: dict[str, float] = {}
    for name in metrics:
        if name == "accuracy":
            out[name] = float(p[np.arange(n), pred].mean())
        elif name.startswith("roc_auc"):
            aucs = np.array([expected_auc(raw[:, j], p[:, j]) for j in range(k)])
            w = p.sum(axis=0) if name.endswith("weighted") else np.ones(k)
            ok = np.isfinite(aucs)
            out[name] = _ratio(float(aucs[ok] @ w[ok]), float(w[ok].sum()))
        else:
            out[name] = _expected_averaged(pred, p, name)
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
