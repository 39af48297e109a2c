"""Rank statistics from one sort: ROC AUC with DeLong's variance, and average precision.

Scores are sorted once (ascending); ties get midranks, so tied scores count one half, exactly as
scikit-learn's ``roc_auc_score``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["SortedScores", "auc_delong", "average_precision", "sort_scores"]


@dataclass(frozen=True, slots=True)
class SortedScores:
    """Scores sorted ascending with the positive flags in the same order."""

    scores: NDArray[np.float64]
    positive: NDArray[np.bool_]


def sort_scores(scores: NDArray[np.float64], positive: NDArray[np.bool_]) -> SortedScores:
    """Sort once and carry the labels along."""
    order = np.argsort(scores)  # ties are grouped afterwards: stability is not needed
    return SortedScores(scores[order], positive[order])


def _group_bounds(sorted_values: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    n = sorted_values.size
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]]) if n else np.zeros(0, np.intp)
    ends = np.r_[starts[1:], n].astype(np.intp)
    return starts, ends


def midranks(sorted_values: NDArray[np.float64]) -> NDArray[np.float64]:
    """1-based midranks of an ascending array (ties share the mean of their ranks)."""
    starts, ends = _group_bounds(sorted_values)
    return np.repeat((starts + ends + 1) / 2.0, ends - starts)


def placements(s: SortedScores) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """DeLong's placement values.

    ``v10[i]`` (positive i) = fraction of negatives scored below it (ties count 1/2);
    ``v01[j]`` (negative j) = fraction of positives scored above it (ties count 1/2).
    ``AUC = mean(v10) = mean(v01)``.
    """
    ranks = midranks(s.scores)
    pos, neg = s.positive, ~s.positive
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    v10 = (ranks[pos] - midranks(s.scores[pos])) / n_neg
    v01 = (n_pos - (ranks[neg] - midranks(s.scores[neg]))) / n_pos
    return v10, v01


def auc_delong(s: SortedScores) -> tuple[float, float]:
    r"""ROC AUC and DeLong's standard error.

    ``AUC = mean(v10)``; ``Var = var(v10)/n_pos + var(v01)/n_neg`` with ``ddof=1`` variances
    (DeLong, DeLong & Clarke-Pearson 1988). ``(nan, nan)`` unless both classes are present; the standard
    error is NaN when a class has a single row.
    """
    n_pos = int(s.positive.sum())
    n_neg = s.positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan, math.nan
    v10, v01 = placements(s)
    auc = float(v10.mean())
    if n_pos < 2 or n_neg < 2:
        return auc, math.nan
    var = float(v10.var(ddof=1)) / n_pos + float(v01.var(ddof=1)) / n_neg
    return auc, math.sqrt(max(var, 0.0))


def average_precision(s: SortedScores, weights: NDArray[np.float64] | None = None) -> float:
    r"""Average precision, scikit-learn's definition (step-wise, no interpolation).

    Thresholds at each distinct score, descending: ``AP = sum_k (R_k - R_{k-1}) P_k`` with
    ``P_k = TP_k / (TP_k + FP_k)`` and ``R_k = TP_k / P``. ``weights`` (row weights in the sorted order)
    give the weighted statistic used by the bootstrap. NaN when there is no positive (weight).
    """
    y = s.positive[::-1].astype(np.float64)
    w = np.ones_like(y) if weights is None else weights[::-1]
    desc = s.scores[::-1]
    last = np.flatnonzero(np.r_[desc[1:] != desc[:-1], True])
    tps = np.cumsum(y * w)[last]
    alls = np.cumsum(w)[last]
    total = tps[-1] if tps.size else 0.0
    if total <= 0:
        return math.nan
    keep = alls > 0
    precision = np.divide(tps, alls, out=np.zeros_like(tps), where=keep)
    recall = tps / total
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
