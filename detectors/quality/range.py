"""Values outside the reference range, with an exact distribution-free test."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from detectors.errors import InvalidParameterError
from detectors.quality._result import QualityResult, as_values, format_examples, real_numbers, top_counts

__all__ = ["out_of_range_check", "out_of_range_from_counts", "outside_range_p_value"]


# a pure function of three integers that costs O(n_current) special-function values: count windows of one
# size ask for the same few (count, n) pairs again and again
@lru_cache(maxsize=4096)
def outside_range_p_value(count: int, n_current: int, n_reference: int) -> float:
    r"""P(at least ``count`` of ``n_current`` new values fall outside [min, max] of ``n_reference`` values).

    Under no change, the ``n + m`` values (``n`` reference, ``m`` current) are exchangeable, so their
    order is a uniformly random arrangement. ``K``, the number of current values below the reference
    minimum or above its maximum, then has the exact distribution (continuous data, no ties):

    .. math::

        P(K = k) = \frac{(k + 1) \binom{n + m - k - 2}{n - 2}}{\binom{n + m}{n}}, \quad k = 0..m

    (``a`` current values first, ``b = k - a`` last, the ``n`` reference values and the other current
    values in between, starting and ending with a reference value). Its mean is ``2m / (n + 1)``. Ties
    (discrete data) only make values outside the range rarer, so the test stays conservative. With
    ``n_reference < 2`` the range says nothing and the p-value is 1.

    >>> round(outside_range_p_value(3, 1000, 10_000), 6)
    0.002793
    """
    n, m = n_reference, n_current
    if count <= 0 or n < 2:
        return 1.0
    if count > m:
        return 0.0
    k = np.arange(count, m + 1, dtype=np.float64)
    total = n + m
    log_pmf = (
        np.log(k + 1.0)
        + special.gammaln(total - k - 1.0)
        - special.gammaln(n - 1.0)
        - special.gammaln(total - k - n + 1.0)
        - (special.gammaln(total + 1.0) - special.gammaln(n + 1.0) - special.gammaln(m + 1.0))
    )
    return float(min(1.0, math.exp(special.logsumexp(log_pmf))))


def out_of_range_check(
    column: str,
    current: ArrayLike,
    *,
    reference_min: float,
    reference_max: float,
    reference_count: int,
    alpha: float = 0.001,
    max_share: float = 0.0,
    max_examples: int = 5,
) -> QualityResult:
    """Do more current values fall outside the reference [min, max] than chance allows?

    Only real numbers count (missing values and non-numbers are left to the other checks; ``±inf`` is
    outside any finite range). A value is outside when ``x < reference_min or x > reference_max``.

    Rule: ``triggered = count >= 1 and share > max_share and p_value < alpha``, with ``share = count / n``
    and ``p_value`` the exact exchangeability test of :func:`outside_range_p_value` (``reference_count`` is
    the number of finite reference values the range was taken from). Under no change a window of ``m``
    values has on average ``2m / (reference_count + 1)`` values outside the range, so NannyML's "alert on
    any" fires on most large windows of a continuous feature; this test does not.

    Result: ``value = share``, ``threshold = max_share``, ``reference_value`` = the expected share
    ``2 / (reference_count + 1)``, ``examples`` = the most extreme offending values.

    >>> import numpy as np
    >>> x = np.r_[np.linspace(0, 1, 990), [1.5, 2.0, -3.0] * 3, 7.0]
    >>> r = out_of_range_check("price", x, reference_min=0.0, reference_max=1.0, reference_count=5000)
    >>> r.triggered, r.count
    (True, 10)
    >>> r.examples, f"{r.p_value:.3g}"
    ((('7', 1), ('-3', 3), ('2', 3), ('1.5', 3)), '1.49e-07')
    >>> r.message.split(" (expected")[0]
    'price: 10 of 1000 values (1.00%) outside the reference range [0, 1]'
    """
    x = real_numbers(as_values(current))
    x = x[~np.isnan(x)]
    outside = x[(x < reference_min) | (x > reference_max)]
    # most extreme first: distance to the range, relative to its width
    width = max(reference_max - reference_min, 1e-300)
    distance = np.maximum(reference_min - outside, outside - reference_max) / width
    ranked = [f"{float(v):.6g}" for v in outside[np.argsort(-distance, kind="stable")]]
    counts = dict(top_counts(ranked, len(ranked)))
    examples = tuple((v, counts[v]) for v in dict.fromkeys(ranked))
    return out_of_range_from_counts(
        column,
        int(outside.size),
        int(x.size),
        reference_min=reference_min,
        reference_max=reference_max,
        reference_count=reference_count,
        alpha=alpha,
        max_share=max_share,
        examples=examples[:max_examples],
        n_distinct_outside=len(counts),
    )


def out_of_range_from_counts(
    column: str,
    count: int,
    n: int,
    *,
    reference_min: float,
    reference_max: float,
    reference_count: int,
    alpha: float = 0.001,
    max_share: float = 0.0,
    examples: tuple[tuple[str, int], ...] = (),
    n_distinct_outside: int | None = None,
) -> QualityResult:
    """The rule of :func:`out_of_range_check` on counts (for window states that tally them).

    ``count`` of the ``n`` real-number current values lie outside ``[reference_min, reference_max]``;
    ``examples`` are offending values with counts, shown in the message.

    >>> out_of_range_from_counts("t", 2, 10_000, reference_min=0.0, reference_max=1.0,
    ...                          reference_count=10_000).triggered  # 2 expected by chance
    False
    """
    where = "out_of_range_check"
    if not (math.isfinite(reference_min) and math.isfinite(reference_max) and reference_min <= reference_max):
        raise InvalidParameterError(
            "reference_min/max", (reference_min, reference_max), "finite with min <= max", where=where
        )
    if reference_count < 1:
        raise InvalidParameterError("reference_count", reference_count, "an integer >= 1", where=where)
    if not 0 <= count <= n:
        raise InvalidParameterError("count", count, f"an integer in [0, n={n}]", where=where)
    if not 0 < alpha < 1:
        raise InvalidParameterError("alpha", alpha, "in (0, 1)", where=where)
    share = count / n if n else 0.0
    expected = 2.0 / (reference_count + 1.0)
    p_value = outside_range_p_value(count, n, reference_count)
    triggered = count >= 1 and share > max_share and p_value < alpha
    message = (
        f"{column}: {count} of {n} values ({share:.2%}) outside the reference range "
        f"[{reference_min:.6g}, {reference_max:.6g}] (expected {expected:.2%}, p={p_value:.3g})"
    )
    if examples:
        distinct = len(examples) if n_distinct_outside is None else n_distinct_outside
        message += ": " + format_examples(examples, distinct)
    return QualityResult(
        "out_of_range", column, share, max_share, triggered, message, count, n, p_value, expected, examples
    )
