"""Two-sample Kolmogorov–Smirnov test."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

from detectors.result import TestResult
from detectors.stattests._common import as_sample, check_alpha

__all__ = ["ks", "ks_statistic_sorted"]

NAME = "ks"


def ks(reference: npt.ArrayLike, current: npt.ArrayLike, *, alpha: float = 0.05, method: str = "auto") -> TestResult:
    """Two-sample Kolmogorov–Smirnov test (``scipy.stats.ks_2samp``, two-sided).

    ``statistic`` is D = max |F_ref(x) − F_cur(x)|; ``p_value`` is scipy's (exact when both samples have
    at most 10,000 values under ``method="auto"``, Smirnov's asymptotic formula otherwise).

    Rule: ``drifted = p_value <= alpha`` (``<=`` as in Evidently 0.7's ``ks`` test). NaN and ±inf are
    removed first. Same as Evidently's ``ks`` stattest.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = ks(rng.normal(size=500), rng.normal(0.5, 1, size=500))
    >>> r.test, r.drifted, round(r.statistic, 3)
    ('ks', True, 0.214)
    """
    check_alpha(alpha, NAME)
    ref = as_sample(reference, name="reference", test=NAME)
    cur = as_sample(current, name="current", test=NAME)
    res = stats.ks_2samp(ref, cur, method=method)
    p = float(res.pvalue)
    return TestResult(NAME, float(res.statistic), p, alpha, p <= alpha)


def ks_statistic_sorted(ref_sorted: npt.NDArray[np.float64], cur_sorted: npt.NDArray[np.float64]) -> float:
    """D of two already-sorted finite samples (the same computation as scipy, without re-sorting)."""
    both = np.concatenate([ref_sorted, cur_sorted])
    cdf1 = np.searchsorted(ref_sorted, both, side="right") / ref_sorted.size
    cdf2 = np.searchsorted(cur_sorted, both, side="right") / cur_sorted.size
    return float(np.max(np.abs(cdf1 - cdf2)))


def ks_pvalue_asymptotic(d: float, n1: int, n2: int) -> float:
    """Smirnov's two-sided asymptotic p-value, exactly as ``ks_2samp(method="asymp")`` computes it."""
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))
