"""Two-sample Cramér–von Mises test."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from detectors.result import TestResult
from detectors.stattests._common import as_sample, check_alpha

__all__ = ["cramer_von_mises", "cvm_ks_sorted", "cvm_pvalue_asymptotic", "sorted_self_counts"]

NAME = "cramer_von_mises"


def cramer_von_mises(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, alpha: float = 0.1, method: str = "auto"
) -> TestResult:
    """Two-sample Cramér–von Mises test (``scipy.stats.cramervonmises_2samp``).

    ``statistic`` is T (Anderson 1962); ``p_value`` is exact when both samples have at most 20 values
    under ``method="auto"``, else from the limiting distribution. Needs two values per sample.

    Rule: ``drifted = p_value <= alpha`` (``<=`` as Evidently's ``cramer_von_mises``, threshold 0.1,
    whose code is a copy of scipy's).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = cramer_von_mises(rng.normal(size=300), rng.normal(0.5, 1, size=300))
    >>> r.drifted, round(r.statistic, 3)
    (True, 4.079)
    """
    check_alpha(alpha, NAME)
    ref = as_sample(reference, name="reference", test=NAME, min_size=2)
    cur = as_sample(current, name="current", test=NAME, min_size=2)
    res = stats.cramervonmises_2samp(ref, cur, method=method)
    p = float(res.pvalue)
    return TestResult(NAME, float(res.statistic), p, alpha, p <= alpha)


def sorted_self_counts(a: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``(#a <= a_i, #a < a_i)`` for every value of the sorted array ``a``: the end and the start of the run
    of equal values holding ``a_i``, in O(n) (the same integers as ``np.searchsorted(a, a, side="right")``
    and ``side="left"``, which compare the same way, e.g. -0.0 == 0.0).

    >>> [c.tolist() for c in sorted_self_counts(np.array([1.0, 2.0, 2.0, 3.0]))]
    [[1, 3, 3, 4], [0, 1, 1, 3]]
    """
    n = a.size
    new_run = np.empty(n, dtype=bool)
    if n:
        new_run[0] = True
        np.not_equal(a[1:], a[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1:] = n
    lengths = ends - starts
    return np.repeat(ends, lengths), np.repeat(starts, lengths)


def cvm_ks_sorted(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    *,
    x_counts: tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]] | None = None,
) -> tuple[float, float]:
    """(Cramér–von Mises T, Kolmogorov–Smirnov D) of two already-sorted finite samples, in one pass.

    T is scipy's two-sample statistic with midranks for ties (Anderson 1962):
    U = n Σ (r_i − i)² + m Σ (s_j − j)², T = U / (nm(n+m)) − (4nm − 1) / (6(n+m)), with r, s the midranks of
    the sorted samples in the pooled sample; the midrank of a value is (#pooled < v + #pooled <= v + 1) / 2.
    D is the largest gap of the empirical CDFs at the points of either sample.

    The eight counts (#x and #y below / at most each point of x and of y) are exact integers: a sample's
    counts at its own points are its runs of equal values (:func:`sorted_self_counts`; ``x_counts`` may
    pass x's, e.g. cached with the reference); #x < y_j and #y <= x_i are the positions in one stable merge
    of y and x (y first, so a y value precedes the x values equal to it) minus the own index; #x <= y_j
    and #y < x_i follow from the runs of x and y. No re-sorting, no search.
    """
    n, m = x.size, y.size
    x_le_x, x_lt_x = sorted_self_counts(x) if x_counts is None else x_counts
    y_le_y, y_lt_y = sorted_self_counts(y)
    # a stable sort of two sorted runs is one merge; its positions depend only on the comparisons
    is_y = np.argsort(np.concatenate([y, x]), kind="stable") < m
    x_lt_y = np.flatnonzero(is_y) - np.arange(m)
    y_le_x = np.flatnonzero(~is_y) - np.arange(n)
    at = np.minimum(x_lt_y, n - 1)  # the first x >= y_j (if any): y_j is in x when it equals it
    x_le_y = np.where(x[at] == y, x_le_x[at], x_lt_y)
    at = np.maximum(y_le_x - 1, 0)  # the last y <= x_i (if any): x_i is in y when it equals it
    y_lt_x = np.where((y_le_x > 0) & (y[at] == x), y_lt_y[at], y_le_x)
    d = max(_max_gap(x_le_x, n, y_le_x, m), _max_gap(x_le_y, n, y_le_y, m))
    u = n * _rank_sq_sum(x_lt_x, y_lt_x, x_le_x, y_le_x) + m * _rank_sq_sum(x_lt_y, y_lt_y, x_le_y, y_le_y)
    k, total = float(n) * m, float(n + m)
    t = u / (k * total) - (4 * k - 1) / (6 * total)
    return float(t), float(d)


def _max_gap(a: npt.NDArray[np.integer], n: int, b: npt.NDArray[np.integer], m: int) -> float:
    """``max(|a / n - b / m|)``, the same float operations without temporaries."""
    gap = a / n
    gap -= b / m
    return float(np.abs(gap, out=gap).max())


def _rank_sq_sum(*counts: npt.NDArray[np.integer]) -> float:
    """``sum(((c1 + c2 + c3 + c4 + 1) / 2 - (1, 2, ...)) ** 2)``: midranks minus the sample's own ranks,
    the same float operations (exact integer sum first) without temporaries."""
    total = counts[0] + counts[1]  # integers: any order, exact
    for c in counts[2:]:
        total += c
    total += 1
    r = total / 2.0
    r -= np.arange(1, r.size + 1)
    return float(np.sum(np.square(r, out=r)))


def cvm_pvalue_asymptotic(t: float, n: int, m: int) -> float:
    """scipy's asymptotic two-sample p-value of T (Csörgő & Faraway's limiting distribution).

    The normalised statistic tn = 1/6 + (T − E[T]) / sqrt(45 Var[T]) (Anderson 1962, eqs. 11, 14, 15) is
    referred to the one-sample limiting distribution; p = 1 when tn < 0.003 (the CDF is below 1.3e-18).
    """
    k, total = float(n) * m, float(n + m)
    et = (1 + 1 / total) / 6
    vt = (total + 1) * (4 * k * total - 3 * (float(n) ** 2 + float(m) ** 2) - 2 * k) / (45 * total**2 * 4 * k)
    tn = 1 / 6 + (t - et) / math.sqrt(45 * vt)
    if tn < 0.003:
        return 1.0
    return float(max(0.0, 1.0 - _cdf_cvm_inf(tn)))


def _cdf_cvm_inf(x: float) -> float:
    """CDF of the limiting Cramér–von Mises distribution (series (1.3) of Csörgő & Faraway 1996, as scipy)."""
    total, k = 0.0, 0
    while True:
        u = _series_coefficient(k) / (math.pi**1.5 * math.sqrt(x))
        y = 4 * k + 1
        q = y * y / (16 * x)
        z = u * math.sqrt(y) * math.exp(-q) * float(special.kv(0.25, q))
        total += z
        if abs(z) < 1e-7:
            return total
        k += 1


_COEFFICIENTS: list[float] = []


def _series_coefficient(k: int) -> float:
    """``exp(gammaln(k + 1/2) - gammaln(k + 1))``, the x-free factor of the series' k-th term (kept: the
    same few are needed for every window)."""
    while len(_COEFFICIENTS) <= k:
        j = len(_COEFFICIENTS)
        _COEFFICIENTS.append(math.exp(special.gammaln(j + 0.5) - special.gammaln(j + 1)))
    return _COEFFICIENTS[k]
