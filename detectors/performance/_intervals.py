"""Interval helpers shared by the realized metrics and CBPE: Wilson, normal (CLT), bootstrap percentile."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

__all__ = [
    "BOOTSTRAP_REPLICATES",
    "BOOTSTRAP_SEED",
    "bootstrap_percentile",
    "bootstrap_se",
    "clip01",
    "mean_interval",
    "normal_interval",
    "wilson",
    "z_value",
]

BOOTSTRAP_REPLICATES = 200
"""Replicates of every bootstrap interval (percentile method)."""
BOOTSTRAP_SEED = 20240614
"""Seed of every bootstrap interval: the same window always gets the same interval."""


def z_value(confidence: float) -> float:
    """Two-sided normal quantile: ``z = Phi^-1((1 + confidence) / 2)`` (1.959963984540054 for 0.95)."""
    return float(ndtri(0.5 + confidence / 2.0))


def wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    r"""Wilson score interval of a binomial proportion.

    ``p = successes / n``; ``centre = (p + z^2/(2n)) / (1 + z^2/n)``;
    ``half = z / (1 + z^2/n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))``; interval ``centre -/+ half``.
    ``(nan, nan)`` when ``n == 0``.
    """
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1.0 - p) / n + z2 / (4.0 * n * n), 0.0))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def clip01(lower: float, upper: float) -> tuple[float, float]:
    """Clip an interval to ``[0, 1]`` (the range of every rate, AUC and AP)."""
    return max(lower, 0.0), min(upper, 1.0)


def normal_interval(value: float, se: float, z: float) -> tuple[float, float]:
    """``value -/+ z * se``; ``(nan, nan)`` when ``se`` is not finite."""
    if not math.isfinite(se):
        return math.nan, math.nan
    return value - z * se, value + z * se


def mean_interval(values: NDArray[np.float64], z: float) -> tuple[float, float, float]:
    """Mean of per-row values with its CLT interval: ``(mean, mean - z s/sqrt(n), mean + z s/sqrt(n))``.

    ``s`` is the sample standard deviation (``ddof=1``); the interval is NaN for fewer than 2 rows.
    """
    n = values.size
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan
    se = float(values.std(ddof=1)) / math.sqrt(n)
    return mean, mean - z * se, mean + z * se


def _replicates(statistic: Callable[[NDArray[np.float64]], float], n: int) -> NDArray[np.float64]:
    """The finite values of :data:`BOOTSTRAP_REPLICATES` seeded Poisson(1)-weight replicates of
    ``statistic(weights)`` (NaN replicates dropped)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    reps = np.empty(BOOTSTRAP_REPLICATES)
    for b in range(BOOTSTRAP_REPLICATES):
        reps[b] = statistic(rng.poisson(1.0, n).astype(np.float64))
    return reps[np.isfinite(reps)]


def bootstrap_se(statistic: Callable[[NDArray[np.float64]], float], n: int) -> float:
    """Bootstrap standard error: the sample standard deviation (``ddof=1``) of the finite replicates of
    ``statistic(weights)`` (:data:`BOOTSTRAP_REPLICATES` seeded Poisson(1) weight vectors); NaN under 2."""
    reps = _replicates(statistic, n)
    return float(reps.std(ddof=1)) if reps.size >= 2 else math.nan


def _bootstrap_quantiles(
    statistic: Callable[[NDArray[np.float64]], float], n: int, confidence: float
) -> tuple[float, float]:
    """The ``(1 -/+ confidence) / 2`` quantiles of :data:`BOOTSTRAP_REPLICATES` seeded Poisson(1)-weight
    replicates of ``statistic(weights)`` (NaN replicates dropped; NaN, NaN under 2 left)."""
    reps = _replicates(statistic, n)
    if reps.size < 2:
        return math.nan, math.nan
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_percentile(
    statistic: Callable[[NDArray[np.float64]], float], n: int, confidence: float
) -> tuple[float, float]:
    """Percentile bootstrap with Poisson(1) row weights (the weighted statistic must not re-sort).

    ``statistic(weights)`` is evaluated for :data:`BOOTSTRAP_REPLICATES` seeded weight vectors;
    replicates where it is NaN are dropped; the interval is the ``(1 -/+ confidence) / 2`` quantiles.
    """
    return _bootstrap_quantiles(statistic, n, confidence)


def bootstrap_basic(
    statistic: Callable[[NDArray[np.float64]], float], value: float, n: int, confidence: float
) -> tuple[float, float]:
    """Basic (reverse-percentile) bootstrap, widened to hold ``value`` and clipped at 0:
    ``[max(0, min(value, 2 value - q_hi)), max(value, 2 value - q_lo)]`` with the quantiles of
    :func:`bootstrap_percentile`.

    For a statistic biased upwards in small samples, such as the expected calibration error (a sum of
    absolute gaps: its replicates sit above it), the percentile interval lies above the true value and
    often above the estimate itself; reflecting the quantiles around the estimate removes that shift.
    When every replicate lies on one side of ``value`` the reflected interval would miss it: it is
    widened to reach it.
    """
    q_lo, q_hi = _bootstrap_quantiles(statistic, n, confidence)
    if not (math.isfinite(q_lo) and math.isfinite(q_hi)):
        return math.nan, math.nan
    return max(0.0, min(value, 2.0 * value - q_hi)), max(value, 2.0 * value - q_lo)
