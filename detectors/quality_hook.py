"""Bridge from :func:`detectors.evaluate` to the data-quality checks of :mod:`detectors.quality`.

Each check gets the reference facts it needs (missing count and rows, range, distinct count, category
set) from the profile and the window's exact counters (nulls, ±inf, values below / above the reference
range, unseen categories), through the checks' ``*_from_counts`` versions, so the findings are exact even
when the window samples its values. Only triggered findings are returned.

Checks per kind: numeric — missing rate, out of range, became constant, infinities and non-numbers
(lenient windows); categorical and binary — missing rate, unseen categories, became constant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from detectors.column_windows import CategoricalWindow, NumericWindow
from detectors.columns import CategoricalProfile, NumericProfile
from detectors.quality import (
    QualityResult,
    constant_from_counts,
    missing_rate_from_counts,
    out_of_range_from_counts,
    type_violations_from_counts,
    unseen_categories_from_counts,
)

if TYPE_CHECKING:
    from detectors.profile import ReferenceProfile
    from detectors.window_state import WindowState

__all__ = ["quality_findings"]

MAX_EXAMPLES = 5


def quality_findings(profile: ReferenceProfile, state: WindowState, names: Sequence[str]) -> list[QualityResult]:
    """The triggered data-quality findings of the window, column by column in ``names`` order.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from detectors import ReferenceProfile, WindowState
    >>> ref = pd.DataFrame({"x": np.linspace(0, 1, 500), "c": ["a", "b"] * 250})
    >>> p = ReferenceProfile.build(ref)
    >>> w = WindowState.from_frame(p, pd.DataFrame({"x": [0.5] * 90 + [7.0] * 10, "c": ["a"] * 50 + [None] * 50}))
    >>> [(f.check, f.column) for f in quality_findings(p, w, ["x", "c"])]
    [('out_of_range', 'x'), ('missing_rate', 'c'), ('constant', 'c')]
    """
    out: list[QualityResult] = []
    for name in names:
        col = profile[name]
        if isinstance(col, NumericProfile):
            out.extend(_numeric(col, state.numeric(name)))
        elif isinstance(col, CategoricalProfile):
            out.extend(_categorical(col, state.categorical(name)))
    return [f for f in out if f.triggered]


def _numeric(col: NumericProfile, win: NumericWindow) -> list[QualityResult]:
    found = [
        missing_rate_from_counts(col.name, win.n_null, win.n_rows, reference_missing=col.n_null,
                                 reference_rows=col.n_rows),
    ]
    if win.n_finite:
        held = win.sorted_values()  # sorted: the values outside the range are a prefix and a suffix
        below = int(np.searchsorted(held, col.min, side="left"))
        above = int(np.searchsorted(held, col.max, side="right"))
        outside = _outside(col, win, below, held.size - above)
        examples: tuple[tuple[str, int], ...] = ()
        n_distinct = 0
        if below or above < held.size:
            uniq, counts = np.unique(np.concatenate([held[:below], held[above:]]), return_counts=True)
            order = np.lexsort((uniq, -counts))[:MAX_EXAMPLES]
            examples = tuple((repr(float(uniq[i])), int(counts[i])) for i in order)
            n_distinct = int(uniq.size)
        found.append(out_of_range_from_counts(
            col.name, outside, win.n_finite, reference_min=col.min, reference_max=col.max,
            reference_count=col.n_finite, examples=examples, n_distinct_outside=n_distinct,
        ))
        lo, hi = _extremes(win, held)
        found.append(constant_from_counts(
            col.name, 1 if lo == hi else 2, win.n_finite, reference_distinct=col.n_distinct,
            reference_counts=_reference_runs(col) if lo == hi else (), value=repr(lo),
        ))
    if win.n_inf or win.n_invalid:
        by_type = {k: v for k, v in (("inf", win.n_inf), ("non-numeric", win.n_invalid)) if v}
        found.append(type_violations_from_counts(col.name, by_type, win.n_rows - win.n_null, kind=col.kind))
    return found


def _outside(col: NumericProfile, win: NumericWindow, below: int, above: int) -> int:
    """``win.n_below + win.n_above``: the finite values below the reference minimum or above its maximum.

    While the window holds all its finite values (not sampled) these are the held values below ``col.min``
    (``below``) and above ``col.max`` (``above``): the window's outer bins count the values ``< col.min``
    and ``>= nextafter(col.max, inf)``, i.e. ``> col.max`` for a finite value. Else (or for a reference
    without finite bounds) the window's exact bin counts."""
    if not win.sampled and np.isfinite(col.min) and np.isfinite(col.max):
        return below + above
    return win.n_below + win.n_above


def _run_lengths(sorted_values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """The count of each distinct value of a sorted array (``-0.0 == 0.0``): the reference shares of the
    constant check (from the kept sample when the profile sampled its values)."""
    if sorted_values.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], sorted_values[1:] != sorted_values[:-1], [True]]))
    return np.diff(starts)


def _extremes(win: NumericWindow, held: npt.NDArray[np.float64]) -> tuple[float, float]:
    """``(win.min, win.max)`` of a window with finite values; ``held`` is its ``sorted_values()``.

    While not sampled these are the min and max of ``held``: its first and last value, bit for bit
    unless that is a zero (a value equal to a non-zero float is that float; -0.0 == 0.0 are not the same
    bits, and the zero ``held.min()`` gives is not necessarily the first one), which goes to ``win``."""
    if win.sampled:
        return win.min, win.max
    lo, hi = float(held[0]), float(held[-1])
    return (lo if lo != 0.0 else win.min), (hi if hi != 0.0 else win.max)


def _categorical(col: CategoricalProfile, win: CategoricalWindow) -> list[QualityResult]:
    found = [
        missing_rate_from_counts(col.name, win.n_null, win.n_rows, reference_missing=col.n_null,
                                 reference_rows=col.n_rows),
    ]
    if win.n_valid:
        found.append(unseen_categories_from_counts(
            col.name, win.unseen, win.n_valid, max_examples=MAX_EXAMPLES, reference_count=col.n_valid,
            reference_singletons=col.n_singletons, reference_doubletons=col.n_doubletons,
            reference_unhashed=col.n_unhashed,
        ))
        present = [c for c, n in zip(col.categories, win.counts, strict=True) if n > 0]
        present += [k for k, n in win.unseen.items() if n > 0]
        # values of reference levels the profile did not keep: one level at least, and when nothing else is
        # present the number is unknown, so the window is not called constant
        distinct = len(present) + (0 if not win.n_rest else 1 if present else 2)
        found.append(constant_from_counts(
            col.name, distinct, win.n_valid, reference_distinct=col.n_levels,
            reference_counts=col.counts, reference_other=col.n_other,
            value=present[0] if len(present) == 1 else "",
        ))
    return found


def _reference_runs(col: NumericProfile) -> npt.NDArray[np.int64]:
    """Run lengths of the reference values (of the grid's atoms for a compact column: exact when it kept every
    distinct value)."""
    return col.grid.run_lengths() if col.grid is not None else _run_lengths(col.values)
