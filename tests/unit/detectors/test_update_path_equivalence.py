"""The one-pass lookups of the window update path give exactly the column-by-column ones.

``CategoricalWindow.lookup_block`` (one hash table of the labels of several columns) against each
column's ``lookup_codes``, and ``NumericWindow.add_floats`` against ``update``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors import ReferenceProfile
from detectors.window_columns import CategoricalWindow, NumericWindow


def windows(categories: list[list[str]]) -> list[CategoricalWindow]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{i}": rng.choice(cats, 400) for i, cats in enumerate(categories)})
    profile = ReferenceProfile.build(frame, {name: "categorical" for name in frame.columns}, multivariate=False)
    return [CategoricalWindow.empty(profile[name], 10) for name in frame.columns]  # type: ignore[arg-type]


@pytest.mark.parametrize("categories", [
    [["a", "b", "c"]],
    [["a", "b", "c"], ["a", "b", "c"]],
    [["a", "b"], ["b", "c", "d"], ["x"], ["d", "a", "zz", "q"]],
])
@pytest.mark.parametrize("rows", [0, 1, 7, 513])
def test_lookup_block_equals_the_lookup_of_each_column(categories: list[list[str]], rows: int) -> None:
    cols = windows(categories)
    rng = np.random.default_rng(rows)
    pool = np.array(["a", "b", "c", "d", "x", "zz", "q", "unseen", "", None, "A"], dtype=object)
    block = rng.choice(pool, (rows, len(cols)))
    found = CategoricalWindow.lookup_block(cols, block)
    assert found is not None
    for j, col in enumerate(cols):
        expected = col.lookup_codes(np.array(block[:, j].tolist(), dtype=object))
        assert expected is not None
        assert found[j].dtype == expected.dtype
        np.testing.assert_array_equal(found[j], expected)


def test_lookup_block_declines_what_it_cannot_look_up() -> None:
    cols = windows([["a", "b"], ["b", "c"]])
    assert CategoricalWindow.lookup_block(cols, np.array([["a", ["b"]]], dtype=object)) is None  # unhashable
    assert CategoricalWindow.lookup_block(cols, np.array([["a"]], dtype=object)) is None  # a column short
    assert CategoricalWindow.lookup_block([], np.empty((3, 0), dtype=object)) is None


@pytest.mark.parametrize("max_values", [5, 50, 10_000])
def test_add_floats_equals_update(max_values: int) -> None:
    rng = np.random.default_rng(max_values)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 300)})
    profile = ReferenceProfile.build(frame, multivariate=False)
    a = NumericWindow.empty(profile["x"], max_values)  # type: ignore[arg-type]
    b = NumericWindow.empty(profile["x"], max_values)  # type: ignore[arg-type]
    ra, rb = np.random.default_rng(1), np.random.default_rng(1)
    for size in (0, 1, 20, 40, 3):
        x = rng.normal(0, 2, size)
        if size > 2:
            x[1], x[2] = np.nan, -np.inf
        finite = bool(np.isfinite(x).all())
        a.update(x, ra, source="t")
        b.add_floats(x.copy(), rb, all_finite=finite if size % 2 else None)
    assert (a.meta(), {k: v.tolist() for k, v in a.arrays().items()}) == (
        b.meta(), {k: v.tolist() for k, v in b.arrays().items()})
    assert ra.bit_generator.state == rb.bit_generator.state
