"""A column that varied in the reference and is constant now (a stuck sensor, a default filled in)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

from detectors.errors import InvalidParameterError
from detectors.quality._result import QualityResult, as_values, null_mask

__all__ = ["constant_column_check", "constant_from_counts", "single_value_chance"]

DEFAULT_ALPHA = 0.001


def single_value_chance(reference_counts: ArrayLike, n: int, *, reference_other: int = 0) -> float:
    """The chance that ``n`` values drawn from the reference distribution are all equal.

    ``chance = sum_v (c_v / T) ** n`` over the reference values ``v`` with counts ``c_v``
    (``reference_counts``), ``T`` the total count. When ``reference_other`` values belong to levels whose
    counts are not kept (a capped categorical profile keeps its most frequent levels), each of those
    levels has at most ``m = min(reference_counts)`` values and their part is bounded by
    ``(m / T) ** (n - 1) * reference_other / T``, which is added: the chance is then an upper bound.

    >>> round(single_value_chance([99, 1], 30), 4)  # a binary column with 1% positives
    0.7397
    >>> single_value_chance([50, 50], 30) < 1e-8
    True
    """
    counts = np.asarray(reference_counts, dtype=np.float64)
    total = float(counts.sum()) + reference_other
    if total <= 0 or n < 1:
        return 1.0
    shares = counts[counts > 0] / total
    chance = float(np.sum(shares**n))
    if reference_other > 0:
        smallest = float(shares.min()) if shares.size else 1.0
        chance += smallest ** (n - 1) * reference_other / total
    return min(1.0, chance)


def constant_column_check(
    column: str,
    current: ArrayLike,
    *,
    reference_counts: ArrayLike,
    reference_distinct: int | None = None,
    reference_other: int = 0,
    alpha: float = DEFAULT_ALPHA,
    min_rows: int = 2,
) -> QualityResult:
    """Has a column with several reference values collapsed to a single value?

    Missing values are ignored (an all-missing window has 0 distinct values and is the missing-rate
    check's business). Values are compared with ``==`` after ``str()`` for object arrays, numerically
    otherwise.

    ``reference_counts`` are the counts of the distinct non-missing reference values (any order);
    ``reference_distinct`` defaults to their number. The rule is that of :func:`constant_from_counts`.

    >>> r = constant_column_check("speed", [3.0, 3.0, None, 3.0], reference_counts=[1] * 120)
    >>> r.triggered, r.message
    (True, 'speed: constant at 3.0 in all 3 non-missing values (reference had 120 distinct values; chance 6.9e-05)')
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
    counts = np.asarray(reference_counts)
    return constant_from_counts(
        column, distinct, int(present.size), reference_counts=counts,
        reference_distinct=int(np.count_nonzero(counts)) if reference_distinct is None else reference_distinct,
        reference_other=reference_other, alpha=alpha, value=shown, min_rows=min_rows,
    )  # fmt: skip


def constant_from_counts(
    column: str,
    distinct: int,
    n: int,
    *,
    reference_distinct: int,
    reference_counts: ArrayLike | npt.NDArray[np.float64] = (),
    reference_other: int = 0,
    alpha: float = DEFAULT_ALPHA,
    value: str = "",
    min_rows: int = 2,
) -> QualityResult:
    """Has a column with several reference values collapsed to a single value? (counts version)

    ``distinct`` distinct values among ``n`` non-missing current values (when only "more than one" is
    known, e.g. ``min < max`` of a numeric window, any ``distinct >= 2`` gives the same verdict);
    ``reference_counts`` (and ``reference_other``) describe the non-missing reference values as in
    :func:`single_value_chance`; they are only read when ``distinct == 1``. ``value`` is the constant,
    for the message.

    Rule::

        chance    = single_value_chance(reference_counts, n, reference_other=reference_other)
        triggered = reference_distinct > 1 and distinct == 1 and n >= min_rows and chance < alpha

    ``chance`` is the probability that unchanged data gives a single-valued window of ``n`` values, so on
    unchanged data the check fires in less than ``alpha`` (0.001) of the windows whatever their size. A
    rare value needs a large window: with 1% positives a binary column is constant in 74% of 30-row
    windows, and the check fires from 688 rows on. A column constant in the reference
    (``reference_distinct <= 1``) never fires.

    Result: ``value = distinct``, ``threshold = 1``, ``reference_value = reference_distinct``,
    ``p_value = chance`` (``None`` when ``distinct != 1``), ``examples`` = the constant value with its count.

    >>> constant_from_counts("x", 1, 50, reference_distinct=12, reference_counts=[10] * 12, value="0").triggered
    True
    >>> constant_from_counts("flag", 1, 200, reference_distinct=2, reference_counts=[99, 1], value="0").triggered
    False
    """
    _check_parameters(reference_distinct, reference_other, alpha=alpha, min_rows=min_rows)
    chance = single_value_chance(reference_counts, n, reference_other=reference_other) if distinct == 1 else None
    triggered = reference_distinct > 1 and distinct == 1 and n >= min_rows and chance is not None and chance < alpha
    message = _message(column, distinct, n, reference_distinct, value=value, chance=chance)
    examples = ((value, n),) if distinct == 1 else ()
    return QualityResult(
        "constant", column, float(distinct), 1.0, triggered, message, n if triggered else 0, n, chance,
        float(reference_distinct), examples,
    )  # fmt: skip


def _check_parameters(reference_distinct: int, reference_other: int, *, alpha: float, min_rows: int) -> None:
    """The domains of :func:`constant_from_counts`' parameters (InvalidParameterError outside them)."""
    where = "constant_column_check"
    if reference_distinct < 0:
        raise InvalidParameterError("reference_distinct", reference_distinct, "an integer >= 0", where=where)
    if min_rows < 1:
        raise InvalidParameterError("min_rows", min_rows, "an integer >= 1", where=where)
    if not 0 < alpha < 1:
        raise InvalidParameterError("alpha", alpha, "in (0, 1)", where=where)
    if reference_other < 0:
        raise InvalidParameterError("reference_other", reference_other, "an integer >= 0", where=where)


def _message(column: str, distinct: int, n: int, reference_distinct: int, *, value: str,
             chance: float | None) -> str:
    """The result's message: the constant and its chance when ``distinct == 1``, else the distinct counts."""
    if distinct == 1:
        return (
            f"{column}: constant at {value} in all {n} non-missing values "
            f"(reference had {reference_distinct} distinct values; chance {chance:.2g})"
        )
    return f"{column}: {distinct} distinct values in {n} non-missing values (reference {reference_distinct})"
