"""Group fairness of a binary classifier's scores: the gap in a performance metric between groups, with its
confidence interval (the gaps in the rates of a thresholded decision are :mod:`detectors.fairness`).

Per group ``g``, from its labelled rows (``y = 1`` when ``label == positive_class``, scores ``p``), a value
``v_g`` computed as scikit-learn computes it (so a gap equals ``fairlearn.metrics.MetricFrame(metrics=f,
...).difference()`` / ``.ratio()`` with the same scikit-learn function ``f``, within 1e-12) and its standard
error ``se_g``:

================= ============================================== ============================================
metric            value (scikit-learn's function)                standard error ``se_g``
================= ============================================== ============================================
roc_auc           ``P(p+ > p-) + P(p+ = p-) / 2`` from DeLong's  DeLong: ``sqrt(var(v10) / n+ + var(v01) /
                  placement values (``roc_auc_score``)           n-)``, ``ddof=1`` variances
average_precision step-wise ``sum_k (R_k - R_k-1) P_k``          bootstrap: standard deviation (``ddof=1``)
                  (``average_precision_score``)                  of the AP of ``BOOTSTRAP_REPLICATES`` (200)
                                                                 Poisson(1) row-weight replicates drawn with
                                                                 seed ``BOOTSTRAP_SEED`` (the same rows give
                                                                 the same interval)
log_loss          mean of ``-[y log q + (1 - y) log(1 - q)]``,   CLT: ``sd(per-row losses, ddof=1) /
                  ``q = p`` clipped to [eps, 1 - eps], float64   sqrt(n_g)``
                  eps (``log_loss``)
brier             mean of ``(p - y)^2`` (``brier_score_loss``)   CLT: ``sd(per-row losses, ddof=1) /
                                                                 sqrt(n_g)``
================= ============================================== ============================================

Groups left out (each named in ``skipped`` with its reason; never an exception): fewer than ``min_group_n``
labelled rows; for ``roc_auc``, fewer than 2 rows of either class (one class only: AUC undefined; one row of
a class: no DeLong variance); for ``average_precision``, no positive row (AP undefined); for ``log_loss`` and
``brier``, fewer than 2 rows (no standard error), or any score of the input outside ``[0, 1]`` (not
probabilities: every group); and any group whose standard error is not finite (an AP with fewer than 2
bootstrap replicates that hold a positive).

Metrics (``METRICS``): ``<metric>_difference`` for the four and ``<metric>_ratio`` for ``roc_auc`` and
``average_precision`` (a ratio of losses, where lower is better, is not offered). Over the groups left
``v``, as :mod:`detectors.fairness` takes the rate gaps: between groups, ``difference = max_g v_g - min_g
v_g`` and ``ratio = min_g v_g / max_g v_g`` (1 when every value is 0); with a ``reference_group`` ``r``,
``difference = max_{g != r} |v_g - v_r|`` and ``ratio = min_{g != r} min(v_g, v_r) / max(v_g, v_r)``. The
value is ``None`` when fewer than two groups are left (or ``r`` is not left).

Intervals (two-sided, level ``confidence``) are simultaneous over the ``m`` compared pairs by Bonferroni,
with :mod:`detectors.fairness`'s conventions: each pair's interval at ``z = Phi^-1(1 - (1 - confidence) /
(2 m))`` (:func:`~detectors.fairness.bonferroni_z`), the groups independent:

- difference of a pair ``d = v_a - v_b``: ``d -/+ z sqrt(se_a^2 + se_b^2)`` (normal); the gap's interval is
  ``[max_pairs L, max_pairs U]`` over the pairs' intervals of ``|d|`` (:func:`~detectors.fairness.combine_pairs`);
- ratio of a pair ``v_a / v_b`` (``v_a <= v_b``): delta method on the log, ``se = sqrt((se_a / v_a)^2 +
  (se_b / v_b)^2)``, ``[r exp(-z se), min(1, r exp(z se))]``; when ``v_a = 0``: ``[0, min(1, z se_a / (v_b
  - z se_b))]`` (1 when ``v_b - z se_b <= 0``); when ``v_b = 0``: ``[1, 1]``. The metric's interval is
  ``[min_pairs L, min_pairs U]``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> groups = rng.choice(["a", "b"], size=4000)
>>> labels = rng.random(4000) < 0.4
>>> scores = 1 / (1 + np.exp(-np.where(groups == "a", 2.0, 0.8) * (labels - 0.5) - rng.normal(size=4000)))
>>> res = performance_gap("roc_auc_difference", groups, labels, scores)
>>> round(res.value, 3), res.lower < res.value < res.upper, res.pair, res.skipped
(0.21, True, ('a', 'b'), {})
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from detectors.errors import InvalidParameterError, UnknownNameError
from detectors.fairness import FairnessValue, PairInterval, bonferroni_z, combine_pairs, compared_pairs
from detectors.performance._inputs import as_scores
from detectors.performance._intervals import bootstrap_se
from detectors.performance._ranking import auc_delong, average_precision, sort_scores
from detectors.performance.realized import row_losses

__all__ = ["METRICS", "PERFORMANCE_METRICS", "PerformanceGap", "group_performance", "performance_gap"]

PERFORMANCE_METRICS: Final = ("roc_auc", "average_precision", "log_loss", "brier")
METRICS: Final = (*(f"{m}_difference" for m in PERFORMANCE_METRICS), "roc_auc_ratio", "average_precision_ratio")


@dataclass(frozen=True)
class PerformanceGap(FairnessValue):
    """A :class:`~detectors.fairness.FairnessValue` of a performance metric (``groups``: the per-group
    values), with the groups left out and why (``skipped``: group -> reason)."""

    skipped: dict[str, str] = field(default_factory=dict)


def group_performance(metric: str, positive: NDArray[np.bool_], scores: NDArray[np.float64]
                      ) -> tuple[float, float] | str:
    """``(value, standard error)`` of ``metric`` (a name of ``PERFORMANCE_METRICS``) on one group's rows,
    or the reason it has none (rules in the module docstring)."""
    n_pos = int(np.count_nonzero(positive))
    n_neg = positive.size - n_pos
    if metric == "roc_auc":
        if n_pos == 0 or n_neg == 0:
            return "one class only (AUC undefined)"
        if n_pos < 2 or n_neg < 2:
            return f"{min(n_pos, n_neg)} row of a class (no DeLong variance: needs 2 of each)"
        return auc_delong(sort_scores(scores, positive))
    if metric == "average_precision":
        if n_pos == 0:
            return "no positive label (average precision undefined)"
        ranked = sort_scores(scores, positive)
        return average_precision(ranked), bootstrap_se(lambda w: average_precision(ranked, w), positive.size)
    if positive.size < 2:
        return f"{positive.size} row (no standard error: needs 2)"
    losses = row_losses(metric, positive.astype(np.float64), scores)
    return float(losses.mean()), float(losses.std(ddof=1)) / math.sqrt(losses.size)


def _per_group(metric: str, keys: NDArray[Any], positive: NDArray[np.bool_], scores: NDArray[np.float64],
               min_group_n: int) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
    """``(values, standard errors, skipped)`` of the groups of ``keys`` (sorted), rules in the module docstring."""
    probabilities = scores.size == 0 or (scores.min() >= 0.0 and scores.max() <= 1.0)
    values: dict[str, float] = {}
    ses: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for group in sorted(set(keys.tolist())):
        rows = keys == group
        n = int(np.count_nonzero(rows))
        if n < min_group_n:
            skipped[group] = f"{n} labelled row(s) < min_group_n ({min_group_n})"
            continue
        if metric in ("log_loss", "brier") and not probabilities:
            skipped[group] = "scores outside [0, 1] are not probabilities"
            continue
        got = group_performance(metric, positive[rows], scores[rows])
        if isinstance(got, str):
            skipped[group] = got
        elif not math.isfinite(got[1]):
            skipped[group] = "no finite standard error (too few rows that count)"
        else:
            values[group], ses[group] = got
    return values, ses, skipped


def _difference(values: dict[str, float], ses: dict[str, float]) -> PairInterval:
    def interval(a: str, b: str, z: float) -> tuple[float, float]:
        d, half = values[a] - values[b], z * math.hypot(ses[a], ses[b])
        return d - half, d + half
    return interval


def _ratio(values: dict[str, float], ses: dict[str, float]) -> PairInterval:
    def interval(a: str, b: str, z: float) -> tuple[float, float]:
        va, vb = values[a], values[b]
        if vb == 0:
            return 1.0, 1.0
        if va == 0:
            low_b = vb - z * ses[b]
            return 0.0, 1.0 if low_b <= 0 else min(1.0, z * ses[a] / low_b)
        r = va / vb
        se = math.hypot(ses[a] / va, ses[b] / vb)
        return r * math.exp(-z * se), min(1.0, r * math.exp(z * se))
    return interval


def performance_gap(metric: str, groups: Sequence[Any] | NDArray[Any], labels: ArrayLike, scores: ArrayLike, *,
                    positive_class: Any = 1, confidence: float = 0.95, reference_group: str | None = None,
                    min_group_n: int = 1) -> PerformanceGap:
    """``metric`` (a name of ``METRICS``) over the groups of labelled rows (rules in the module docstring).

    Parameters
    ----------
    groups : sequence of shape (n,)
        Each row's group (made a string with ``str``).
    labels : array-like of shape (n,)
        True labels; ``labels == positive_class`` is the positive class.
    scores : array-like of float, shape (n,)
        Scores of the positive class (probabilities for ``log_loss`` and ``brier``).

    Raises
    ------
    UnknownNameError
        ``metric`` is not one of ``METRICS``.
    InvalidParameterError
        ``confidence`` outside ``[0.5, 1)``, ``min_group_n < 1``, or arrays of different lengths.
    PerformanceInputError
        A score that is not a finite number.
    """
    if metric not in METRICS:
        raise UnknownNameError("fairness performance metric", metric, METRICS)
    if not 0.5 <= confidence < 1.0:
        raise InvalidParameterError("confidence", confidence, "a level in [0.5, 1)", where="performance_gap")
    if min_group_n < 1:
        raise InvalidParameterError("min_group_n", min_group_n, "an integer >= 1", where="performance_gap")
    base, _, kind = metric.rpartition("_")
    p = as_scores(scores, "performance_gap(scores)")
    lab = np.asarray(labels)
    if len(groups) != p.size or lab.shape != p.shape:
        raise InvalidParameterError("labels/scores", (lab.size, p.size), f"arrays as long as groups ({len(groups)})",
                                    where="performance_gap")
    keys = np.asarray([str(g) for g in groups], dtype=object)
    values, ses, skipped = _per_group(base, keys, lab == positive_class, p, min_group_n)
    pairs = compared_pairs(list(values), reference_group)
    if not pairs:
        return PerformanceGap(metric, None, None, None, values, None, skipped)
    interval = _difference(values, ses) if kind == "difference" else _ratio(values, ses)
    value, lower, upper, pair = combine_pairs(kind, values, pairs, interval, bonferroni_z(confidence, len(pairs)),
                                              between_groups=reference_group is None)
    return PerformanceGap(metric, value, lower, upper, values, pair, skipped)
