"""Missing-rate change: Fisher's exact test on small counts, a two-proportion z-test on large ones, and an
absolute-change floor."""

from __future__ import annotations

import scipy  # scipy.stats is loaded at its first use (scipy's lazy submodules)
from numpy.typing import ArrayLike

from detectors.errors import InvalidParameterError
from detectors.quality._result import QualityResult, as_values, null_mask
from detectors.stattests.ztest import ztest_from_counts

__all__ = ["EXACT_BELOW", "missing_p_value", "missing_rate_check", "missing_rate_from_counts", "two_proportion_p_value"]


#: Below this smallest expected cell count of the 2x2 table the p-value is Fisher's exact test's.
EXACT_BELOW = 100.0


def two_proportion_p_value(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test: ``(z, two-sided p-value)``.

    ``z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with ``p = (k1 + k2) / (n1 + n2)``; when ``p`` is
    0 or 1 both samples are identical in this respect and the result is ``(0.0, 1.0)``. The p-value
    equals that of scipy's ``chi2_contingency(..., correction=False)`` on the 2x2 table. The test itself
    is :func:`detectors.stattests.ztest.ztest_from_counts` (whose ``z`` has the other sign).

    >>> z, p = two_proportion_p_value(10, 1000, 30, 1000)
    >>> round(z, 3), round(p, 5)
    (3.194, 0.0014)
    """
    res = ztest_from_counts(k1, n1, k2, n2, alpha=0.5)
    assert res.p_value is not None
    return (-res.statistic if res.statistic else 0.0), res.p_value


def missing_p_value(k1: int, n1: int, k2: int, n2: int) -> tuple[float, str]:
    """Two-sided p-value of "same missing rate" for ``k1`` of ``n1`` reference and ``k2`` of ``n2``
    current values missing, and the test used.

    With ``p = (k1 + k2) / (n1 + n2)`` and ``e = min(n1, n2) * min(p, 1 - p)`` (the smallest expected
    cell count of the 2x2 table): ``e == 0`` gives ``(1.0, "none")`` (nothing missing, or everything);
    ``e < EXACT_BELOW`` (100) gives Fisher's exact test (scipy's ``fisher_exact``, two-sided: the
    conditional probability of a table as likely as or less likely than the observed one), which never
    exceeds its level; otherwise the pooled z-test of :func:`two_proportion_p_value`, whose normal tail
    is accurate at ``alpha = 0.001`` only with large counts (with a 0.5% reference rate it alarmed on 0.9%
    of 30-row windows of unchanged data).

    >>> p, test = missing_p_value(100, 20_000, 2, 30)
    >>> round(p, 4), test
    (0.0102, 'fisher')
    >>> p, test = missing_p_value(2_000, 20_000, 150, 1_000)
    >>> round(p * 1e7, 2), test
    (3.58, 'z')
    """
    pooled = (k1 + k2) / (n1 + n2)
    expected = min(n1, n2) * min(pooled, 1.0 - pooled)
    if expected <= 0.0:
        return 1.0, "none"
    if expected < EXACT_BELOW:
        return float(scipy.stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue), "fisher"
    return two_proportion_p_value(k1, n1, k2, n2)[1], "z"


def missing_rate_check(
    column: str,
    current: ArrayLike,
    *,
    reference_missing: int,
    reference_rows: int,
    alpha: float = 0.001,
    min_abs_change: float = 0.01,
) -> QualityResult:
    """Has the share of missing values changed since the reference? (array version)

    Nulls are counted, never dropped: ``None``, NaN, NaT and ``pandas.NA`` are missing (infinity is not).
    Counts them and applies :func:`missing_rate_from_counts`, whose docstring states the rule.

    >>> import numpy as np
    >>> current = np.array([1.0, np.nan, 3.0, np.nan] * 250)  # 50% missing
    >>> r = missing_rate_check("age", current, reference_missing=50, reference_rows=1000)
    >>> r.triggered, r.message
    (True, 'age: missing rate 50.00% (500 of 1000) vs 5.00% in the reference (p=1.87e-112, change +45.00 points)')
    """
    values = as_values(current)
    return missing_rate_from_counts(
        column,
        int(null_mask(values).sum()),
        int(values.size),
        reference_missing=reference_missing,
        reference_rows=reference_rows,
        alpha=alpha,
        min_abs_change=min_abs_change,
    )


def missing_rate_from_counts(
    column: str,
    missing: int,
    n: int,
    *,
    reference_missing: int,
    reference_rows: int,
    alpha: float = 0.001,
    min_abs_change: float = 0.01,
) -> QualityResult:
    """Has the share of missing values changed since the reference? (counts version, for window states)

    Rule: with ``p_ref = reference_missing / reference_rows`` and ``p_cur = missing / n``,
    ``triggered = p_value < alpha and abs(p_cur - p_ref) >= min_abs_change``, where ``p_value`` is the
    two-sided test of :func:`missing_p_value` (Fisher's exact test when the smallest expected cell count
    is below 100, else the pooled two-proportion z-test). The floor keeps a
    statistically certain but negligible change (0.1% -> 0.2% on a million rows) quiet; the test keeps
    a small window's noise quiet.

    Result: ``value = p_cur - p_ref`` (signed), ``threshold = min_abs_change``, ``reference_value = p_ref``,
    ``count = missing``, ``n = n``. An empty window (``n == 0``) never triggers.

    >>> missing_rate_from_counts("age", 40, 1000, reference_missing=10, reference_rows=1000).triggered
    True
    >>> missing_rate_from_counts("age", 40, 1000, reference_missing=10, reference_rows=1000,
    ...                          min_abs_change=0.05).triggered
    False
    """
    where = "missing_rate_check"
    if reference_rows < 1:
        raise InvalidParameterError("reference_rows", reference_rows, "an integer >= 1", where=where)
    if not 0 <= reference_missing <= reference_rows:
        raise InvalidParameterError(
            "reference_missing", reference_missing, f"an integer in [0, {reference_rows}]", where=where
        )
    if not 0 <= missing <= n:
        raise InvalidParameterError("missing", missing, f"an integer in [0, n={n}]", where=where)
    if not 0 < alpha < 1:
        raise InvalidParameterError("alpha", alpha, "in (0, 1)", where=where)
    if not 0 <= min_abs_change <= 1:
        raise InvalidParameterError("min_abs_change", min_abs_change, "in [0, 1]", where=where)
    p_ref = reference_missing / reference_rows
    if n == 0:
        return QualityResult(
            "missing_rate", column, 0.0, min_abs_change, False,
            f"{column}: no current values, missing rate not checked", 0, 0, 1.0, p_ref,
        )  # fmt: skip
    p_cur = missing / n
    p_value, _ = missing_p_value(reference_missing, reference_rows, missing, n)
    change = p_cur - p_ref
    triggered = p_value < alpha and abs(change) >= min_abs_change
    message = (
        f"{column}: missing rate {p_cur:.2%} ({missing} of {n}) vs {p_ref:.2%} in the reference "
        f"(p={p_value:.3g}, change {100 * change:+.2f} points)"
    )
    return QualityResult("missing_rate", column, change, min_abs_change, triggered, message, missing, n, p_value, p_ref)
