"""The result type of the data-quality checks and the helpers they share (null detection, formatting)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["QualityResult", "as_values", "format_examples", "null_mask", "real_numbers", "top_counts"]


@dataclass(frozen=True, slots=True)
class QualityResult:
    """Outcome of one data-quality check on one column.

    Attributes
    ----------
    check : str
        ``"missing_rate"``, ``"out_of_range"``, ``"unseen_categories"``, ``"constant"`` or
        ``"type_violations"``.
    column : str
        The column checked.
    value : float
        The measured quantity; each check's docstring defines it.
    threshold : float
        What ``value`` is compared with; each check's docstring states the exact rule.
    triggered : bool
        The verdict.
    message : str
        One line naming the column, the measured values and the offending values.
    count : int
        Offending values (missing values, out-of-range values, ...).
    n : int
        Values examined (the denominator of the share).
    p_value : float or None
        For checks with a statistical test (missing rate, out of range), else ``None``.
    reference_value : float or None
        The reference counterpart of ``value`` where there is one (reference missing rate, ...).
    examples : tuple of (str, int)
        Offending values (``repr``) or categories with their counts, most frequent first, capped.
    """

    check: str
    column: str
    value: float
    threshold: float
    triggered: bool
    message: str
    count: int = 0
    n: int = 0
    p_value: float | None = None
    reference_value: float | None = None
    examples: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite floats become ``None``)."""
        return {
            "check": self.check,
            "column": self.column,
            "value": _json(self.value),
            "threshold": _json(self.threshold),
            "triggered": self.triggered,
            "message": self.message,
            "count": self.count,
            "n": self.n,
            "p_value": None if self.p_value is None else _json(self.p_value),
            "reference_value": None if self.reference_value is None else _json(self.reference_value),
            "examples": [list(e) for e in self.examples],
        }


def _json(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def as_values(values: ArrayLike) -> NDArray[Any]:
    """1-D numpy view of ``values`` (lists become object arrays so mixed types survive)."""
    arr = np.asarray(values) if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    return arr.reshape(-1)


def _is_null_scalar(v: object) -> bool:
    if v is None:
        return True
    if isinstance(v, float | np.floating):
        return bool(np.isnan(v))
    if isinstance(v, np.datetime64 | np.timedelta64):
        return bool(np.isnat(v))
    if isinstance(v, str | bytes | int | np.integer | bool | np.bool_):
        return False
    try:  # pandas.NA, pandas.NaT and friends: they are not equal to themselves or refuse to say
        return bool(v != v)
    except (TypeError, ValueError):
        return True


def null_mask(values: NDArray[Any]) -> NDArray[np.bool_]:
    """``True`` where a value is missing: ``None``, float NaN, NaT, ``pandas.NA``.

    Infinity is *not* missing (it is a type violation in a numeric column, see ``type_violation_check``).
    """
    kind = values.dtype.kind
    if kind in "fc":
        return np.isnan(values)
    if kind in "mM":
        return np.isnat(values)
    if kind == "O":
        return np.fromiter((_is_null_scalar(v) for v in values), dtype=bool, count=values.size)
    return np.zeros(values.shape, dtype=bool)


def top_counts(items: Iterable[str], limit: int) -> tuple[tuple[str, int], ...]:
    """The ``limit`` most frequent items with their counts (ties broken by the item, for determinism)."""
    counts = Counter(items)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(ranked[:limit])


def format_examples(examples: tuple[tuple[str, int], ...], total_distinct: int) -> str:
    shown = ", ".join(f"{value} x{count}" for value, count in examples)
    more = total_distinct - len(examples)
    return shown + (f" and {more} more" if more > 0 else "")


def real_numbers(values: NDArray[Any]) -> NDArray[np.float64]:
    """Float copy of ``values`` where everything that is not a real number (or is missing) becomes NaN.

    Strings, bytes, booleans and other objects become NaN here; :func:`type_violation_check` reports them.
    """
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    if values.dtype.kind == "b":
        return np.full(values.shape, np.nan)
    out = np.full(values.shape, np.nan)
    for i, v in enumerate(values):
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_):
            out[i] = float(v)
    return out
