"""A column that varied in the reference and is constant now (a stuck sensor, a default filled in)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from detectors.errors import InvalidParameterError
from detectors.quality._result import QualityResult, as_values, null_mask

__all__ = ["constant_column_check", "constant_from_counts"]


def constant_column_check(
    column: str,
    current: ArrayLike,
    *,
    reference_distinct: int,
    min_rows: int = 2,
) -> QualityResult:
    """Has a column with several reference values collapsed to a single value?

    Missing values are ignored (an all-missing window has 0 distinct values and is the missing-rate
    check's business). Values are compared with ``==`` after ``str()`` for object arrays, numerically
    otherwise.

    Rule: ``triggered = reference_distinct > 1 and distinct == 1 and n >= min_rows``, with ``distinct``
    the number of distinct non-missing current values and ``n`` their count.

    Result: ``value = distinct``, ``threshold = 1``, ``reference_value = reference_distinct``,
    ``examples`` = the constant value with its count.

    >>> r = constant_column_check("speed", [3.0, 3.0, None, 3.0], reference_distinct=120)
    >>> r.triggered, r.message
    (True, 'speed: constant at 3.0 in all 3 non-missing values (reference had 120 distinct values)')
    """
    values = as_values(current)
    present = values[~null_mask(values)]
    if present.dtype.kind == "O":
        uniques = sorted({str(v) for v in present})
        shown = uniques[0] if uniques else ""
        distinct = len(uniques)
    else:
        uniq = np.unique(present)
        shown = str(uniq[0].item()) if uniq.size else ""
        distinct = int(uniq.size)
    return constant_from_counts(
        column, distinct, int(present.size), reference_distinct=reference_distinct, value=shown, min_rows=min_rows
    )


def constant_from_counts(
    column: str,
    distinct: int,
    n: int,
    *,
    reference_distinct: int,
    value: str = "",
    min_rows: int = 2,
) -> QualityResult:
    """The rule of :func:`constant_column_check` on counts: ``distinct`` distinct values among ``n``
    non-missing current values (when only "more than one" is known, e.g. ``min < max`` of a numeric
    window, any ``distinct >= 2`` gives the same verdict); ``value`` is the constant, for the message.

    >>> constant_from_counts("x", 1, 50, reference_distinct=12, value="0").triggered
    True
    """
    where = "constant_column_check"
    if reference_distinct < 0:
        raise InvalidParameterError("reference_distinct", reference_distinct, "an integer >= 0", where=where)
    if min_rows < 1:
        raise InvalidParameterError("min_rows", min_rows, "an integer >= 1", where=where)
    triggered = reference_distinct > 1 and distinct == 1 and n >= min_rows
    if distinct == 1:
        message = (
            f"{column}: constant at {value} in all {n} non-missing values "
            f"(reference had {reference_distinct} distinct values)"
        )
    else:
        message = f"{column}: {distinct} distinct values in {n} non-missing values (reference {reference_distinct})"
    examples = ((value, n),) if distinct == 1 else ()
    return QualityResult(
        "constant", column, float(distinct), 1.0, triggered, message, n if triggered else 0, n, None,
        float(reference_distinct), examples,
    )  # fmt: skip
