"""Values whose type does not fit the column's kind (text in a numeric column, infinity, ...)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from detectors.errors import InvalidParameterError
from detectors.quality._result import QualityResult, as_values, format_examples, null_mask

__all__ = ["type_violation_check", "type_violations_from_counts"]

_KINDS = ("numeric", "categorical", "binary")
_NUMBER_LIKE = int | np.integer | dt.date | dt.datetime | dt.timedelta | np.datetime64 | np.timedelta64


def _violation(v: Any, kind: str, allow_inf: bool) -> str | None:
    """The violation label of one non-missing value, or ``None`` if it fits the kind."""
    if kind == "numeric":
        if isinstance(v, bool | np.bool_):
            return "bool"
        if isinstance(v, _NUMBER_LIKE):
            return None
        if isinstance(v, float | np.floating):
            return None if allow_inf or math.isfinite(v) else "inf"
        return type(v).__name__
    # categorical / binary: scalar labels; floats only when integral (codes that went through float)
    if isinstance(v, str | bool | np.bool_ | int | np.integer | np.str_):
        return None
    if isinstance(v, float | np.floating):
        if not math.isfinite(v):
            return "inf"
        return None if float(v).is_integer() else "non-integral float"
    return type(v).__name__


def type_violation_check(
    column: str,
    current: ArrayLike,
    *,
    kind: str,
    allow_inf: bool = False,
    max_examples: int = 5,
) -> QualityResult:
    """Count the non-missing values whose type does not fit ``kind``. Call it on the *raw* values.

    Violations, by kind (missing values are never violations):

    - ``"numeric"``: anything that is not an int, a float or a date/time (``str`` such as ``"3.5"`` or
      ``"N/A"``, ``bytes``, ``bool``, containers, other objects); ``±inf`` unless ``allow_inf``;
    - ``"categorical"`` and ``"binary"``: anything that is not a ``str``, ``bool`` or integer, except
      integral floats (codes that went through a float column); ``±inf`` and non-integral floats (a
      continuous value in a categorical column) are violations.

    Rule: ``triggered = count > 0``. Result: ``value`` = share of violating values among the ``n``
    non-missing values, ``threshold = 0``, ``examples`` = violating values (``repr``) with counts; the
    message also gives the count per type.

    >>> r = type_violation_check("income", [1.0, "N/A", float("inf"), 2, "N/A", None], kind="numeric")
    >>> r.triggered, r.count, r.n
    (True, 3, 5)
    >>> r.message
    "income: 3 of 5 values (60.00%) do not fit kind numeric (str x2, inf x1): 'N/A' x2, inf x1"
    """
    if kind not in _KINDS:
        raise InvalidParameterError("kind", kind, f"one of {', '.join(_KINDS)}", where="type_violation_check")
    values = as_values(current)
    present = values[~null_mask(values)]
    n = int(present.size)
    by_type: Counter[str] = Counter()
    by_value: Counter[str] = Counter()
    if present.dtype.kind in "fc":
        if kind == "numeric" and not allow_inf:
            bad = present[np.isinf(present)]
            by_type["inf"] = int(bad.size)
            by_value.update(repr(float(v)) for v in bad)
        elif kind != "numeric":
            finite = np.isfinite(present)
            bad = present[~finite | (np.round(present) != present)]
            for v in bad:
                by_type[_violation(float(v), kind, allow_inf) or "?"] += 1
                by_value[repr(float(v))] += 1
    elif present.dtype.kind in "OUS":
        for v in present:
            label = _violation(v, kind, allow_inf)
            if label is not None:
                by_type[label] += 1
                by_value[repr(float(v)) if isinstance(v, float | np.floating) else repr(v)] += 1
    elif present.dtype.kind == "b" and kind == "numeric":
        by_type["bool"] = n
        by_value.update(repr(bool(v)) for v in present)
    ranked = sorted(by_value.items(), key=lambda kv: (-kv[1], kv[0]))
    return type_violations_from_counts(
        column, by_type, n, kind=kind, examples=tuple(ranked[:max_examples]), n_distinct_values=len(ranked)
    )


def type_violations_from_counts(
    column: str,
    by_type: Mapping[str, int],
    n: int,
    *,
    kind: str,
    examples: tuple[tuple[str, int], ...] = (),
    n_distinct_values: int | None = None,
) -> QualityResult:
    """The rule of :func:`type_violation_check` on counts: ``by_type`` maps a violation label
    (``"str"``, ``"inf"``, ...) to its count among ``n`` non-missing values; ``examples`` are offending
    values (``repr``) with counts.

    >>> type_violations_from_counts("x", {"inf": 2}, 100, kind="numeric").message
    'x: 2 of 100 values (2.00%) do not fit kind numeric (inf x2)'
    """
    if kind not in _KINDS:
        raise InvalidParameterError("kind", kind, f"one of {', '.join(_KINDS)}", where="type_violation_check")
    types = {str(k): int(v) for k, v in by_type.items() if v > 0}
    count = sum(types.values())
    if count > n:
        raise InvalidParameterError("by_type", count, f"a total <= n={n}", where="type_violation_check")
    share = count / n if n else 0.0
    message = f"{column}: {count} of {n} values ({share:.2%}) do not fit kind {kind}"
    if count:
        listed = ", ".join(f"{t} x{c}" for t, c in sorted(types.items(), key=lambda kv: (-kv[1], kv[0])))
        message += f" ({listed})"
        if examples:
            distinct = len(examples) if n_distinct_values is None else n_distinct_values
            message += ": " + format_examples(examples, distinct)
    return QualityResult("type_violations", column, share, 0.0, count > 0, message, count, n, None, None, examples)
