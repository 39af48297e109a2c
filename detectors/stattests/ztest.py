"""Two-proportion Z-test for binary data."""

from __future__ import annotations

import math

import numpy.typing as npt
import scipy  # scipy.stats is loaded at its first use (scipy's lazy submodules)

from detectors.errors import InvalidParameterError
from detectors.result import TestResult
from detectors.stattests._common import binary_counts, check_alpha

__all__ = ["ztest", "ztest_from_counts"]

NAME = "z"


def ztest(reference: npt.ArrayLike, current: npt.ArrayLike, *, alpha: float = 0.05) -> TestResult:
    """Pooled two-proportion Z-test on a column with at most two distinct values.

    The first value in sorted order of reference ∪ current is "0", the other "1" (Evidently's
    encoding; the two-sided p-value does not depend on it). ``statistic`` is
    z = (p_ref − p_cur) / sqrt(P(1 − P)(1/n_ref + 1/n_cur)) with P the pooled share; ``p_value`` is
    ``2 · norm.sf(|z|)``; identical single-valued samples give z = 0, p = 1.

    Rule: ``drifted = p_value < alpha``. Evidently's ``z`` stattest computes ``2 · (1 − norm.cdf(|z|))``,
    which is the same number except below ~1e-16, where it rounds to 0.

    Examples
    --------
    >>> r = ztest([0] * 60 + [1] * 40, [0] * 40 + [1] * 60)
    >>> r.drifted, round(r.statistic, 4), round(r.p_value, 4)
    (True, -2.8284, 0.0047)
    """
    return ztest_from_counts(*binary_counts(reference, current, NAME), alpha=alpha)


def ztest_from_counts(ones_ref: int, n_ref: int, ones_cur: int, n_cur: int, *, alpha: float = 0.05) -> TestResult:
    """:func:`ztest` on counts of "1" out of n per side. Rule: ``drifted = p_value < alpha``."""
    check_alpha(alpha, NAME)
    if n_ref <= 0 or n_cur <= 0:
        raise InvalidParameterError("n", (n_ref, n_cur), "positive sample sizes", where=NAME)
    p1, p2 = ones_ref / n_ref, ones_cur / n_cur
    pooled = (ones_ref + ones_cur) / (n_ref + n_cur)
    var = pooled * (1 - pooled) * (1.0 / n_ref + 1.0 / n_cur)
    if var == 0:
        return TestResult(NAME, 0.0, 1.0, alpha, False)
    z = (p1 - p2) / math.sqrt(var)
    p = float(2 * scipy.stats.norm.sf(abs(z)))
    return TestResult(NAME, z, p, alpha, p < alpha)
