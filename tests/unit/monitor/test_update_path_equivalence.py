"""The window-filling fast path gives exactly what the plain path gives.

``OpenWindow.flush_buffer`` (rows packed at once into one float matrix, a ``ColumnBatch`` whose float
rows ``WindowState.update`` checks in one pass) against the column-by-column flush it replaced feeding a
plain dict to ``WindowState.update``: the same window state byte for byte (``to_bytes``: counts, values,
sample, generator state, joint score), on seeded rows with nulls, NaN/inf, ints, numeric strings, values
that need coercion, unseen labels, sampling above ``max_values`` and tiny batches.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from detectors import ReferenceProfile
from detectors.window import ColumnBatch, WindowState
from monitor.pipeline.rows import coerce
from monitor.pipeline.window import BATCH_ROWS, OpenWindow
from monitor.windows import Span

_STR_OR_NONE = frozenset({str, type(None)})


def plain_batch(rows: list[tuple[Any, ...]], profile: ReferenceProfile) -> dict[str, Any]:
    """The column arrays of the column-by-column flush (before the packed one)."""
    batch: dict[str, Any] = {}
    for col, raw in zip(profile, zip(*rows, strict=True), strict=True):
        values: Any = raw
        if col.kind == "numeric":
            try:
                batch[col.name] = np.fromiter(values, dtype=np.float64, count=len(values))
            except (TypeError, ValueError):
                values = [coerce(col.kind, v) for v in values]
                batch[col.name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        else:
            if not _STR_OR_NONE.issuperset(map(type, values)):
                values = [coerce(col.kind, v) for v in values]
            batch[col.name] = np.array(values, dtype=object)
    return batch


def profile_of(kinds: dict[str, str], seed: int = 0, n: int = 600) -> ReferenceProfile:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for name, kind in kinds.items():
        if kind == "numeric":
            data[name] = rng.normal(0, 1, n).round(3)
        elif kind == "binary":
            data[name] = rng.choice([True, False], n)
        else:
            data[name] = rng.choice(["a", "b", "c", "d"], n)
    return ReferenceProfile.build(pd.DataFrame(data), kinds)


MIXED = {"x0": "numeric", "c0": "categorical", "c1": "categorical", "x1": "numeric", "b0": "binary",
         "x2": "numeric", "x3": "numeric"}

NUMBERS: list[Any] = [0.5, -1.25, 3.0, 1e300, -0.0, 2, -7, 2**60 + 1, True, False, np.float64(0.75), np.int64(3)]
ODD_NUMBERS: list[Any] = [None, float("nan"), float("inf"), -float("inf"), "1.5", " 2 ", "inf", "abc", "", [1.0],
                          {"a": 1}, b"2.5"]
LABELS: list[Any] = ["a", "b", "c", "d", "zz", "unseen-1", None]
ODD_LABELS: list[Any] = [3, 2.0, 2.5, True, float("nan"), [1], "yes", "True", "1", 0, 1]


def make_rows(profile: ReferenceProfile, n: int, rng: random.Random, odd: float) -> list[tuple[Any, ...]]:
    rows = []
    for _ in range(n):
        row = []
        for col in profile:
            if col.kind == "numeric":
                pool = ODD_NUMBERS if rng.random() < odd else NUMBERS
                row.append(rng.choice(pool) if rng.random() < 0.5 or pool is ODD_NUMBERS else rng.gauss(0, 2))
            else:
                row.append(rng.choice(ODD_LABELS if rng.random() < odd else LABELS))
        rows.append(tuple(row))
    return rows


def fill_both(profile: ReferenceProfile, batches: list[list[tuple[Any, ...]]], max_values: int,
              seed: int = 7) -> tuple[OpenWindow, WindowState, int]:
    """A window filled through flush_buffer, and a state fed the plain batches (with its rejected rows)."""
    window = OpenWindow(Span("count:0", 0, 10**6), profile, seed, 0, max_values=max_values)
    plain = WindowState.empty(profile, seed=seed, max_values=max_values)
    dropped = 0
    for rows in batches:
        window.buffer = list(rows)
        window.flush_buffer()
        try:
            plain.update(plain_batch(rows, profile))
        except ValueError:
            dropped += len(rows)
    return window, plain, dropped


def assert_same(window: OpenWindow, plain: WindowState, dropped: int) -> None:
    assert window.state is not None
    assert window.dropped_rows == dropped
    assert window.state.to_bytes() == plain.to_bytes()
    assert window.buffer == []


@pytest.mark.parametrize("odd", [0.0, 0.002, 0.05, 0.5])
@pytest.mark.parametrize("max_values", [20_000, 300, 1])
def test_flush_equals_the_plain_column_flush(odd: float, max_values: int) -> None:
    profile = profile_of(MIXED)
    rng = random.Random(int(odd * 1000) + max_values)
    sizes = [BATCH_ROWS, 1, 2, 37, BATCH_ROWS, 5, BATCH_ROWS]
    batches = [make_rows(profile, size, rng, odd) for size in sizes]
    assert_same(*fill_both(profile, batches, max_values))


@pytest.mark.parametrize("kinds", [
    {"x": "numeric"},
    {"x": "numeric", "y": "numeric"},
    {"c": "categorical"},
    {"c": "categorical", "b": "binary"},
    {"c": "categorical", "x": "numeric"},
    {f"x{i}": "numeric" for i in range(6)},
])
@pytest.mark.parametrize("odd", [0.0, 0.1])
def test_flush_equals_the_plain_flush_for_few_or_one_kind_of_columns(kinds: dict[str, str], odd: float) -> None:
    profile = profile_of(kinds, seed=len(kinds))
    rng = random.Random(len(kinds))
    batches = [make_rows(profile, size, rng, odd) for size in (BATCH_ROWS, 3, 1, 200)]
    assert_same(*fill_both(profile, batches, 250))


@pytest.mark.parametrize("value", [None, "2.5", "abc", [1.0], float("inf"), 7, True, "inf", "1_0"])
def test_one_odd_value_in_a_batch_of_floats(value: Any) -> None:
    profile = profile_of(MIXED)
    rng = random.Random(3)
    for where in (0, 200, BATCH_ROWS - 1):
        rows = make_rows(profile, BATCH_ROWS, rng, 0.0)
        rows = [tuple(float(v) if isinstance(v, int) else v for v in row) for row in rows]
        for col in (0, 3, 6):  # x0, x1, x3
            row = list(rows[where])
            row[col] = value
            rows[where] = tuple(row)
            assert_same(*fill_both(profile, [rows, rows[:10]], 600))


def test_random_big_ints_convert_alike() -> None:
    profile = profile_of({"x": "numeric", "c": "categorical", "y": "numeric"})
    rng = random.Random(11)
    rows = [(rng.getrandbits(rng.randrange(1, 1000)) * rng.choice([1, -1]), "a", rng.random())
            for _ in range(BATCH_ROWS)]
    assert_same(*fill_both(profile, [rows], 10_000))


def test_too_large_an_int_raises_as_before() -> None:
    profile = profile_of({"x": "numeric", "c": "categorical"})
    rows = [(1.0, "a")] * 10 + [(10**400, "b")]
    window = OpenWindow(Span("count:0", 0, 10**6), profile, 1, 0)
    window.buffer = list(rows)
    with pytest.raises(OverflowError):
        window.flush_buffer()
    with pytest.raises(OverflowError):
        plain_batch(rows, profile)
    assert window.buffer == rows and window.state is not None and window.state.n_rows == 0


def test_labels_without_a_truth_value_are_coerced_as_before() -> None:
    class NoTruth:
        def __bool__(self) -> bool:
            raise ValueError("no truth")

    profile = profile_of({"x": "numeric", "c": "categorical"})
    rows = [(float(i), "a" if i % 7 else NoTruth()) for i in range(50)]
    assert_same(*fill_both(profile, [rows], 100))


def test_restored_checkpoint_buffers_flush_alike() -> None:
    profile = profile_of(MIXED)
    rng = random.Random(5)
    window = OpenWindow(Span("count:0", 0, 10**6), profile, 3, 0, max_values=400)
    columns = profile.names
    rows = make_rows(profile, 3 * BATCH_ROWS + 100, rng, 0.05)
    for i, row in enumerate(rows):
        window.add(row, columns, float(i), f"e{i}", "1", None, {})
    restored = OpenWindow.from_state(window.to_state(), profile)
    window.flush_buffer()
    restored.flush_buffer()
    plain = WindowState.empty(profile, seed=3, max_values=400)
    dropped = 0
    for start in range(0, len(rows), BATCH_ROWS):
        try:
            plain.update(plain_batch(rows[start:start + BATCH_ROWS], profile))
        except ValueError:
            dropped += len(rows[start:start + BATCH_ROWS])
    assert_same(window, plain, dropped)
    assert_same(restored, plain, dropped)


def test_rows_of_another_layout_are_projected_then_flushed_alike() -> None:
    profile = profile_of(MIXED)
    rng = random.Random(9)
    layout = ("x3", "extra", "c1", "x0", "b0")  # lacks c0, x1, x2 (None), has a column the profile has not
    window = OpenWindow(Span("count:0", 0, 10**6), profile, 2, 0, max_values=100)
    plain_rows = []
    for i in range(BATCH_ROWS + 20):
        full = dict(zip(profile.names, make_rows(profile, 1, rng, 0.05)[0], strict=True))
        window.add(tuple(full.get(c, "?") for c in layout), layout, float(i), f"e{i}", "1", None, {})
        plain_rows.append(tuple(full[c] if c in layout else None for c in profile.names))
    window.flush_buffer()
    plain = WindowState.empty(profile, seed=2, max_values=100)
    plain.update(plain_batch(plain_rows[:BATCH_ROWS], profile))
    plain.update(plain_batch(plain_rows[BATCH_ROWS:], profile))
    assert_same(window, plain, 0)


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("max_values", [10, 10_000])
def test_column_batch_update_equals_the_plain_mapping(strict: bool, max_values: int) -> None:
    profile = profile_of(MIXED)
    rng = np.random.default_rng(4)
    numeric = [c.name for c in profile if c.kind == "numeric"]
    for rows in (0, 1, 2, 300):
        floats = rng.normal(0, 3, (len(numeric), rows))
        if rows > 1:
            floats[0, 0] = np.nan
            floats[2, 1] = np.inf
            floats[3, :] = np.nan
        others = {c.name: np.array(rng.choice(np.array(["a", "b", "zz", None], dtype=object), rows), dtype=object)
                  for c in profile if c.kind != "numeric"}
        fast = WindowState.empty(profile, seed=1, max_values=max_values)
        slow = WindowState.empty(profile, seed=1, max_values=max_values)
        for _ in range(3):
            batch = ColumnBatch(profile.names, floats, numeric, others)
            assert list(batch) == list(profile.names)
            for name, x in zip(numeric, floats, strict=True):
                assert rows == 0 or np.shares_memory(batch[name], floats)
                assert np.array_equal(batch[name], x, equal_nan=True)
            fast.update(batch, strict=strict)
            slow.update(dict(batch), strict=strict)
        assert fast.to_bytes() == slow.to_bytes()


def test_column_batch_entries_replaced_after_building_are_converted_as_usual() -> None:
    profile = profile_of(MIXED)
    numeric = [c.name for c in profile if c.kind == "numeric"]
    floats = np.arange(len(numeric) * 4, dtype=np.float64).reshape(len(numeric), 4)
    others = {c.name: np.array(["a", "b", None, "q"], dtype=object) for c in profile if c.kind != "numeric"}
    batch = ColumnBatch(profile.names, floats, numeric, others)
    batch["x0"] = np.array([1, 2, 3, 4], dtype=np.int64)
    batch["x1"] = np.array([np.nan, 1.0, np.inf, 2.0])
    fast = WindowState.empty(profile, seed=1)
    slow = WindowState.empty(profile, seed=1)
    fast.update(batch)
    slow.update(dict(batch))
    assert fast.to_bytes() == slow.to_bytes()
    batch["x2"] = np.array(["1", "x", None, "2"], dtype=object)
    lenient = WindowState.empty(profile, seed=1)
    lenient.update(batch, strict=False)
    assert lenient.numeric("x2").n_invalid == 1
    with pytest.raises(ValueError, match="x2"):
        fast.update(batch)
