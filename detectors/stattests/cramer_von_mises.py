"""Two-sample Cramér–von Mises test."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from detectors.result import TestResult
from detectors.stattests._common import as_sample, check_alpha

__all__ = ["cramer_von_mises", "cvm_ks_sorted", "cvm_pvalue_asymptotic"]

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


def cvm_ks_sorted(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """(Cramér–von Mises T, Kolmogorov–Smirnov D) of two already-sorted finite samples, in one pass.

    T is scipy's two-sample statistic with midranks for ties (Anderson 1962):
    U = n Σ (r_i − i)² + m Σ (s_j − j)², T = U / (nm(n+m)) − (4nm − 1) / (6(n+m)), with r, s the midranks of
    the sorted samples in the pooled sample; the midrank of a value is (#pooled < v + #pooled <= v + 1) / 2.
    D is the largest gap of the empirical CDFs at the points of either sample. Eight searches of sorted
    keys, no re-sorting.
    """
    n, m = x.size, y.size
    x_le_x, y_le_x = np.searchsorted(x, x, side="right"), np.searchsorted(y, x, side="right")
    x_le_y, y_le_y = np.searchsorted(x, y, side="right"), np.searchsorted(y, y, side="right")
    x_lt_x, y_lt_x = np.searchsorted(x, x, side="left"), np.searchsorted(y, x, side="left")
    x_lt_y, y_lt_y = np.searchsorted(x, y, side="left"), np.searchsorted(y, y, side="left")
    d = max(np.max(np.abs(x_le_x / n - y_le_x / m)), np.max(np.abs(x_le_y / n - y_le_y / m)))
    rx = (x_lt_x + y_lt_x + x_le_x + y_le_x + 1) / 2.0
    ry = (x_lt_y + y_lt_y + x_le_y + y_le_y + 1) / 2.0
    u = n * np.sum((rx - np.arange(1, n + 1)) ** 2) + m * np.sum((ry - np.arange(1, m + 1)) ** 2)
    k, total = float(n) * m, float(n + m)
    t = u / (k * total) - (4 * k - 1) / (6 * total)
    return float(t), float(d)


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
        u = math.exp(special.gammaln(k + 0.5) - special.gammaln(k + 1)) / (math.pi**1.5 * math.sqrt(x))
        y = 4 * k + 1
        q = y * y / (16 * x)
        z = u * math.sqrt(y) * math.exp(-q) * float(special.kv(0.25, q))
        total += z
        if abs(z) < 1e-7:
            return total
        k += 1
