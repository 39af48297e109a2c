"""Chi-square tests: two-sample (contingency table) and Evidently's goodness-of-fit variant."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special

from detectors.errors import InvalidParameterError
from detectors.result import TestResult
from detectors.stattests._common import category_counts, check_alpha, shares

__all__ = ["chi2_sf", "chisquare", "chisquare_from_counts", "chisquare_gof", "chisquare_gof_from_counts",
           "merge_sparse"]

NAME = "chisquare"
NAME_GOF = "chisquare_gof"


def chisquare(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, alpha: float = 0.05, min_expected: float = 0.0
) -> TestResult:
    """Two-sample chi-square test of homogeneity on the 2×k contingency table of category counts.

    One column per distinct value of reference ∪ current (an unseen category is its own column);
    Pearson's statistic without continuity correction, k − 1 degrees of freedom. Both samples carry
    sampling noise, so unlike :func:`chisquare_gof` it keeps its level when the reference is small.
    Buckets whose expected count is below ``min_expected`` in either row are pooled into one bucket
    first (``0`` = no pooling; 5 is the textbook rule).

    Rule: ``drifted = p_value < alpha``.

    Examples
    --------
    >>> r = chisquare(["a"] * 50 + ["b"] * 50, ["a"] * 30 + ["b"] * 70)
    >>> r.drifted, round(r.statistic, 4), round(r.p_value, 4)
    (True, 8.3333, 0.0039)
    """
    ref_counts, cur_counts = category_counts(reference, current, NAME)
    return chisquare_from_counts(ref_counts, cur_counts, alpha=alpha, min_expected=min_expected)


def chisquare_from_counts(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike, *, alpha: float = 0.05, min_expected: float = 0.0
) -> TestResult:
    """:func:`chisquare` on aligned counts. Rule: ``drifted = p_value < alpha``."""
    check_alpha(alpha, NAME)
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    shares(ref, name="reference", test=NAME)
    shares(cur, name="current", test=NAME)
    if ref.shape != cur.shape:
        raise InvalidParameterError(
            "current_counts", cur.shape, f"the shape of reference_counts {ref.shape}", where=NAME
        )
    ref, cur = merge_sparse(ref, cur, min_expected)
    keep = (ref + cur) > 0
    ref, cur = ref[keep], cur[keep]
    if ref.size < 2:
        return TestResult(NAME, 0.0, 1.0, alpha, False)
    n_ref, n_cur = ref.sum(), cur.sum()
    pooled = (ref + cur) / (n_ref + n_cur)
    exp_ref, exp_cur = pooled * n_ref, pooled * n_cur
    stat = float(np.sum((ref - exp_ref) ** 2 / exp_ref) + np.sum((cur - exp_cur) ** 2 / exp_cur))
    p = chi2_sf(stat, ref.size - 1)
    return TestResult(NAME, stat, p, alpha, p < alpha)


def chi2_sf(x: float, df: int) -> float:
    """``scipy.stats.chi2.sf(x, df)`` of one value and ``df >= 1``, without the distribution machinery
    (some 50x faster, the same float): ``special.chdtrc(df, x)`` inside the support ``(0, inf)``, 1.0 at
    or below 0, 0.0 at infinity, NaN for NaN.

    >>> from scipy import stats
    >>> chi2_sf(3.84, 1) == float(stats.chi2.sf(3.84, 1)), chi2_sf(0.0, 3), chi2_sf(math.inf, 3)
    (True, 1.0, 0.0)
    """
    if math.isnan(x):
        return math.nan
    if x <= 0.0:
        return 1.0
    if x == math.inf:
        return 0.0
    return float(special.chdtrc(df, x))


def merge_sparse(
    ref: npt.NDArray[np.float64], cur: npt.NDArray[np.float64], min_expected: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Pool the buckets whose expected count (under homogeneity) is below ``min_expected`` in either row."""
    if min_expected <= 0:
        return ref, cur
    total = ref.sum() + cur.sum()
    pooled = ref + cur
    small = pooled * min(ref.sum(), cur.sum()) / total < min_expected
    if small.sum() <= 1:
        return ref, cur
    return (
        np.append(ref[~small], ref[small].sum()),
        np.append(cur[~small], cur[small].sum()),
    )


def chisquare_gof(reference: npt.ArrayLike, current: npt.ArrayLike, *, alpha: float = 0.05) -> TestResult:
    """Evidently 0.7's ``chisquare``: goodness of fit of the current counts to the reference shares.

    Expected counts are the reference counts scaled to the current size (``scipy.stats.chisquare``);
    the reference is treated as the exact truth, so with a small reference it alarms far more often than
    ``alpha`` on identical distributions (about 75% of the time with 20 levels). A category unseen in
    the reference has expected count 0, so the statistic is infinite and p = 0. Kept for the
    ``evidently`` preset; prefer :func:`chisquare`.

    Rule: ``drifted = p_value < alpha``.

    Examples
    --------
    >>> r = chisquare_gof(["a"] * 50 + ["b"] * 50, ["a"] * 30 + ["b"] * 70)
    >>> r.drifted, round(r.statistic, 4)
    (True, 16.0)
    """
    ref_counts, cur_counts = category_counts(reference, current, NAME_GOF)
    return chisquare_gof_from_counts(ref_counts, cur_counts, alpha=alpha)


def chisquare_gof_from_counts(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike, *, alpha: float = 0.05
) -> TestResult:
    """:func:`chisquare_gof` on aligned counts. Rule: ``drifted = p_value < alpha``."""
    check_alpha(alpha, NAME_GOF)
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    shares(ref, name="reference", test=NAME_GOF)
    shares(cur, name="current", test=NAME_GOF)
    f_exp = ref * (cur.sum() / ref.sum())
    if np.any((f_exp == 0) & (cur > 0)):
        return TestResult(NAME_GOF, float("inf"), 0.0, alpha, True)
    keep = f_exp > 0
    terms = (cur[keep] - f_exp[keep]) ** 2 / f_exp[keep]
    stat = float(np.sum(terms))
    p = chi2_sf(stat, cur.size - 1) if cur.size > 1 else 1.0
    return TestResult(NAME_GOF, stat, p, alpha, p < alpha)
