"""Wasserstein (earth mover's) distance normalised by the reference standard deviation."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from detectors.result import TestResult
from detectors.stattests._common import as_sample, check_threshold

__all__ = ["wasserstein", "wasserstein_sorted"]

NAME = "wasserstein"


def wasserstein(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, threshold: float = 0.1, min_std: float = 0.001
) -> TestResult:
    """W1(reference, current) / max(std(reference), ``min_std``), no p-value.

    ``std`` is the population standard deviation (ddof=0). Rule: ``drifted = statistic >= threshold``.
    NaN and ±inf are removed first. Same as Evidently's ``wasserstein`` stattest (threshold 0.1,
    ``min_std`` 0.001).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = wasserstein(rng.normal(size=2000), rng.normal(0.3, 1, size=2000))
    >>> r.drifted, round(r.statistic, 2)
    (True, 0.33)
    """
    check_threshold(threshold, NAME)
    ref = np.sort(as_sample(reference, name="reference", test=NAME))
    cur = np.sort(as_sample(current, name="current", test=NAME))
    norm = max(float(np.std(as_sample(reference, name="reference", test=NAME))), min_std)
    stat = wasserstein_sorted(ref, cur) / norm
    return TestResult(NAME, stat, None, threshold, stat >= threshold)


def wasserstein_sorted(u: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> float:
    """W1 between two already-sorted finite samples, via their quantile functions.

    W1 = ∫₀¹ |U⁻¹(t) − V⁻¹(t)| dt: on the merged grid of breakpoints i/n and j/m both quantile functions
    are constant, so the integral is a weighted sum of |u[i] − v[j]| (a gather, no search). The grid only
    depends on (n, m) and is cached, so every column of a window with the same sizes shares it. Equals
    ``scipy.stats.wasserstein_distance`` (the CDF form of the same integral) up to rounding (~1e-15
    relative).
    """
    n, m = u.size, v.size
    if n == m:
        return float(np.mean(np.abs(u - v)))
    weights, iu, iv = _quantile_grid(n, m)
    return float(np.dot(weights, np.abs(u[iu] - v[iv])) / (n * m))


@lru_cache(maxsize=16)
def _quantile_grid(
    n: int, m: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Segment widths (in units of 1/(n·m)) and the u / v indices of the merged grid i·m ∪ j·n."""
    both = np.concatenate([np.arange(n + 1, dtype=np.int64) * m, np.arange(m + 1, dtype=np.int64) * n])
    both.sort(kind="stable")  # two sorted runs: a linear merge
    grid = both[np.concatenate([[True], np.diff(both) != 0])]
    start = grid[:-1]
    weights = np.diff(grid).astype(np.float64)
    iu, iv = start // m, start // n
    for arr in (weights, iu, iv):
        arr.flags.writeable = False
    return weights, iu, iv
