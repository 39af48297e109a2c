"""Missing-rate change: a two-proportion z-test with an absolute-change floor."""

from __future__ import annotations

import math

from numpy.typing import ArrayLike
from scipy import stats

from detectors.errors import InvalidParameterError
from detectors.quality._result import QualityResult, as_values, null_mask

__all__ = ["missing_rate_check", "missing_rate_from_counts", "two_proportion_p_value"]


def two_proportion_p_value(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test: ``(z, two-sided p-value)``.

    ``z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with ``p = (k1 + k2) / (n1 + n2)``; when ``p`` is
    0 or 1 both samples are identical in this respect and the result is ``(0.0, 1.0)``. The p-value
    equals that of scipy's ``chi2_contingency(..., correction=False)`` on the 2x2 table.

    >>> z, p = two_proportion_p_value(10, 1000, 30, 1000)
    >>> round(z, 3), round(p, 5)
    (3.194, 0.0014)
    """
    p1, p2 = k1 / n1, k2 / n2
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if var <= 0.0:
        return 0.0, 1.0
    z = (p2 - p1) / math.sqrt(var)
    return z, float(2.0 * stats.norm.sf(abs(z)))


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
    two-sided pooled two-proportion z-test (:func:`two_proportion_p_value`). The floor keeps a
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
    _, p_value = two_proportion_p_value(reference_missing, reference_rows, missing, n)
    change = p_cur - p_ref
    triggered = p_value < alpha and abs(change) >= min_abs_change
    message = (
        f"{column}: missing rate {p_cur:.2%} ({missing} of {n}) vs {p_ref:.2%} in the reference "
        f"(p={p_value:.3g}, change {100 * change:+.2f} points)"
    )
    return QualityResult("missing_rate", column, change, min_abs_change, triggered, message, missing, n, p_value, p_ref)
