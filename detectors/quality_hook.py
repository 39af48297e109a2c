"""Bridge from :func:`detectors.evaluate` to the data-quality checks of :mod:`detectors.quality`.

Each check gets the reference facts it needs (missing count and rows, range, distinct count, category
set) from the profile and the window's exact counters (nulls, ±inf, values below / above the reference
range, unseen categories), through the checks' ``*_from_counts`` versions, so the findings are exact even
when the window samples its values. Only triggered findings are returned.

Checks per kind: numeric — missing rate, out of range, became constant, infinities and non-numbers
(lenient windows); categorical and binary — missing rate, unseen categories, became constant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from detectors.columns import CategoricalProfile, NumericProfile
from detectors.quality import (
    QualityResult,
    constant_from_counts,
    missing_rate_from_counts,
    out_of_range_from_counts,
    outside_range_p_value,
    type_violations_from_counts,
    unseen_categories_from_counts,
)
from detectors.window_columns import CategoricalWindow, NumericWindow

if TYPE_CHECKING:
    from detectors.profile import ReferenceProfile
    from detectors.window import WindowState

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
            out.extend(_numeric(col, state.numeric(name), triggerable_only=True))
        elif isinstance(col, CategoricalProfile):
            out.extend(_categorical(col, state.categorical(name), triggerable_only=True))
    return [f for f in out if f.triggered]


# A check whose verdict cannot be "triggered" is not run (only triggered findings are returned): these are
# the checks' own defaults, for the conditions below that settle "not triggered" without the test.
def _default(check: Callable[..., QualityResult], name: str) -> Any:
    return (check.__kwdefaults__ or {})[name]


_MISSING_MIN_CHANGE: float = _default(missing_rate_from_counts, "min_abs_change")
_CONSTANT_MIN_ROWS: int = _default(constant_from_counts, "min_rows")
_UNSEEN_MIN_COUNT: int = _default(unseen_categories_from_counts, "min_count")
_RANGE_ALPHA: float = _default(out_of_range_from_counts, "alpha")
_RANGE_MAX_SHARE: float = _default(out_of_range_from_counts, "max_share")


def _missing_quiet(col: NumericProfile | CategoricalProfile, win: NumericWindow | CategoricalWindow) -> bool:
    """The missing-rate check has valid counts and cannot trigger (no current rows, or a change of the
    missing rate below its floor, compared as the check compares it)."""
    if not (col.n_rows >= 1 and 0 <= col.n_null <= col.n_rows and 0 <= win.n_null <= win.n_rows):
        return False
    return win.n_rows == 0 or abs(win.n_null / win.n_rows - col.n_null / col.n_rows) < _MISSING_MIN_CHANGE


def _numeric(col: NumericProfile, win: NumericWindow, *, triggerable_only: bool = False) -> list[QualityResult]:
    """Every check's result, or (``triggerable_only``) those of the checks that may trigger."""
    quiet = triggerable_only
    found = []
    if not (quiet and _missing_quiet(col, win)):
        found.append(missing_rate_from_counts(col.name, win.n_null, win.n_rows, reference_missing=col.n_null,
                                              reference_rows=col.n_rows))
    outside = win.n_below + win.n_above
    if win.n_finite:
        if not (quiet and _out_of_range_quiet(col, win, outside)):
            found.append(_out_of_range(col, win, outside))
        if not quiet or win.min == win.max or col.n_distinct < 0 or _CONSTANT_MIN_ROWS < 1:  # else: not constant
            found.append(constant_from_counts(
                col.name, 1 if win.min == win.max else 2, win.n_finite, reference_distinct=col.n_distinct,
                value=repr(win.min),
            ))
    if win.n_inf or win.n_invalid:
        by_type = {k: v for k, v in (("inf", win.n_inf), ("non-numeric", win.n_invalid)) if v}
        found.append(type_violations_from_counts(col.name, by_type, win.n_rows - win.n_null, kind=col.kind))
    return found


def _out_of_range_quiet(col: NumericProfile, win: NumericWindow, outside: int) -> bool:
    """The out-of-range check has valid arguments and cannot trigger: no value outside, or a share or a
    p-value (the check's own, cached) that its rule rejects."""
    if not (math.isfinite(col.min) and math.isfinite(col.max) and col.min <= col.max and col.n_finite >= 1
            and 0 <= outside <= win.n_finite and 0 < _RANGE_ALPHA < 1):
        return False
    if outside == 0:
        return True
    share = outside / win.n_finite
    return not (share > _RANGE_MAX_SHARE and outside_range_p_value(outside, win.n_finite, col.n_finite) < _RANGE_ALPHA)


def _out_of_range(col: NumericProfile, win: NumericWindow, outside: int) -> QualityResult:
    held = win.sorted_values()  # sorted: the values outside the range are a prefix and a suffix
    below = int(np.searchsorted(held, col.min, side="left"))
    above = int(np.searchsorted(held, col.max, side="right"))
    examples: tuple[tuple[str, int], ...] = ()
    n_distinct = 0
    if below or above < held.size:
        uniq, counts = np.unique(np.concatenate([held[:below], held[above:]]), return_counts=True)
        order = np.lexsort((uniq, -counts))[:MAX_EXAMPLES]
        examples = tuple((repr(float(uniq[i])), int(counts[i])) for i in order)
        n_distinct = int(uniq.size)
    return out_of_range_from_counts(
        col.name, outside, win.n_finite, reference_min=col.min, reference_max=col.max,
        reference_count=col.n_finite, examples=examples, n_distinct_outside=n_distinct,
    )


def _categorical(col: CategoricalProfile, win: CategoricalWindow, *, triggerable_only: bool = False
                 ) -> list[QualityResult]:
    """Every check's result, or (``triggerable_only``) those of the checks that may trigger."""
    quiet = triggerable_only
    found = []
    if not (quiet and _missing_quiet(col, win)):
        found.append(missing_rate_from_counts(col.name, win.n_null, win.n_rows, reference_missing=col.n_null,
                                              reference_rows=col.n_rows))
    if win.n_valid:
        count = sum(win.unseen.values())  # else: fewer unseen values than the check's minimum, valid counts
        if not quiet or count >= _UNSEEN_MIN_COUNT or _UNSEEN_MIN_COUNT < 1 or count > win.n_valid:
            found.append(unseen_categories_from_counts(col.name, win.unseen, win.n_valid,
                                                       max_examples=MAX_EXAMPLES))
        distinct = int(np.count_nonzero(np.asarray(win.counts) > 0)) + sum(1 for n in win.unseen.values() if n > 0)
        if not quiet or distinct == 1 or len(win.counts) != len(col.categories) or _CONSTANT_MIN_ROWS < 1:
            present = [c for c, n in zip(col.categories, win.counts, strict=True) if n > 0]
            present += [k for k, n in win.unseen.items() if n > 0]
            found.append(constant_from_counts(
                col.name, len(present), win.n_valid, reference_distinct=len(col.categories),
                value=present[0] if len(present) == 1 else "",
            ))
    return found
