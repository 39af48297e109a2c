"""The quality checks of a window read from its kept counts, and the Cramér–von Mises runs, equal bit for bit
the direct computations over the values (reference copies of those below)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from detectors import ReferenceProfile, WindowState
from detectors import quality_hook as hook
from detectors.column_windows import NumericWindow
from detectors.columns import NumericProfile
from detectors.quality import QualityResult, constant_from_counts, out_of_range_from_counts
from detectors.stattests.cramer_von_mises import _own_runs, _run_squares

FloatArray = npt.NDArray[np.float64]


def _reference_numeric(col: NumericProfile, win: NumericWindow) -> list[QualityResult]:
    """The range and constant checks as ``quality_hook._numeric`` made them before (from the window's bins
    and its min / max)."""
    outside = win.n_below + win.n_above
    held = win.sorted_values()
    below = int(np.searchsorted(held, col.min, side="left"))
    above = int(np.searchsorted(held, col.max, side="right"))
    examples: tuple[tuple[str, int], ...] = ()
    n_distinct = 0
    if below or above < held.size:
        uniq, counts = np.unique(np.concatenate([held[:below], held[above:]]), return_counts=True)
        order = np.lexsort((uniq, -counts))[: hook.MAX_EXAMPLES]
        examples = tuple((repr(float(uniq[i])), int(counts[i])) for i in order)
        n_distinct = int(uniq.size)
    return [
        out_of_range_from_counts(col.name, outside, win.n_finite, reference_min=col.min, reference_max=col.max,
                                 reference_count=col.n_finite, examples=examples, n_distinct_outside=n_distinct),
        constant_from_counts(col.name, 1 if win.min == win.max else 2, win.n_finite,
                             reference_distinct=col.n_distinct, value=repr(win.min),
                             reference_counts=np.unique(col.values, return_counts=True)[1] if win.min == win.max
                             else ()),
    ]


def _columns(rng: np.random.Generator, size: int, shift: float) -> dict[str, Any]:
    zeros = rng.choice([-0.0, 0.0], size)
    return {
        "normal": rng.normal(shift, 1, size).round(3),
        "ties": rng.integers(0, 5, size).astype(float) + shift,
        "zeros": zeros,  # only zeros: the min and max are zeros of either sign
        "zero_ends": np.concatenate([zeros[: size // 2], rng.normal(5, 1, size - size // 2)]),
        "neg_zero_top": -np.abs(rng.normal(0, 1, size)) * (rng.random(size) < 0.5),
        "const": np.full(size, 2.0 + shift),
        "nulls": np.where(rng.random(size) < 0.3, np.nan, rng.normal(shift, 2, size)),
        "huge": rng.choice([-1e150, 1e150, 0.0, 1.0], size),
    }


def _cases() -> list[tuple[pd.DataFrame, pd.DataFrame, int]]:
    rng = np.random.default_rng(11)
    out = []
    for size, shift, max_values in [(3000, 0.0, 20_000), (3000, 0.7, 20_000), (7, 0.2, 20_000), (1, 3.0, 20_000),
                                    (5000, 0.4, 1000), (400, -0.5, 50), (2, 0.0, 1)]:
        ref, cur = pd.DataFrame(_columns(rng, 2000, 0.0)), pd.DataFrame(_columns(rng, size, shift))
        out.append((ref, cur, max_values))
    return out


@pytest.mark.parametrize("case", _cases())
def test_numeric_quality_is_the_reference_bit_for_bit(case: tuple[pd.DataFrame, pd.DataFrame, int]) -> None:
    ref, cur, max_values = case
    profile = ReferenceProfile.build(ref, dict.fromkeys(ref.columns, "numeric"))
    state = WindowState.empty(profile, seed=3, max_values=max_values)
    for part in np.array_split(np.arange(len(cur)), 3):
        state.update(cur.iloc[part])
    for name in profile.names:
        col, win = profile[name], state.numeric(name)
        assert isinstance(col, NumericProfile)
        if not win.n_finite:
            continue
        got = hook._numeric(col, win)[1:3]
        fresh = WindowState.empty(profile, seed=3, max_values=max_values)  # no caches shared with `got`
        for part in np.array_split(np.arange(len(cur)), 3):
            fresh.update(cur.iloc[part])
        expected = _reference_numeric(col, fresh.numeric(name))
        assert repr(got) == repr(expected), name
        assert [f.to_dict() for f in got] == [f.to_dict() for f in expected], name


def _runs_reference(y: FloatArray, tie: npt.NDArray[np.intp]) -> tuple[int, npt.NDArray[np.intp]]:
    """The run terms as ``cvm_ks_fast`` computed them before."""
    m = y.size
    j = np.arange(m)
    if m > 1:
        y_new = np.empty(m, dtype=bool)
        y_new[0] = True
        np.not_equal(y[1:], y[:-1], out=y_new[1:])
        y_starts = np.flatnonzero(y_new) if not y_new.all() else j
    else:
        y_starts = j
    if y_starts.size < m:
        return (_run_squares(np.diff(np.append(y_starts, m))),
                tie - y_starts[np.searchsorted(y_starts, tie, side="right") - 1])
    return 0, np.zeros(tie.size, dtype=np.int64)


def test_own_runs_is_the_reference() -> None:
    rng = np.random.default_rng(13)
    arrays = [np.array([1.0]), np.array([-0.0, 0.0]), np.full(30, 4.0), np.arange(9.0)]
    for _ in range(300):
        size = int(rng.choice([1, 2, 3, 10, 500, 5000]))
        arrays.append(np.sort(rng.normal(size=size).round(int(rng.choice([0, 1, 3, 15])))))
    for y in arrays:
        tie = np.flatnonzero(rng.random(y.size) < 0.3)
        runs, place = _own_runs(y, tie)
        runs_ref, place_ref = _runs_reference(y, tie)
        assert runs == runs_ref and type(runs) is type(runs_ref)
        assert place.tolist() == place_ref.tolist()
