"""Wasserstein (earth mover's) distance normalised by the reference standard deviation."""

from __future__ import annotations

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
    norm = max(float(np.std(ref)), min_std)
    stat = wasserstein_sorted(ref, cur) / norm
    return TestResult(NAME, stat, None, threshold, stat >= threshold)


def wasserstein_sorted(u: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> float:
    """W1 between two already-sorted finite samples: ∫ |F_u − F_v| dx over the merged support.

    The same sum as ``scipy.stats.wasserstein_distance`` (CDFs at the merged values, times the gaps),
    without re-sorting the inputs.
    """
    both = np.concatenate([u, v])
    both.sort(kind="stable")  # two sorted runs: a linear merge
    deltas = np.diff(both)
    u_cdf = np.searchsorted(u, both[:-1], side="right") / u.size
    v_cdf = np.searchsorted(v, both[:-1], side="right") / v.size
    return float(np.sum(np.abs(u_cdf - v_cdf) * deltas))
