"""``sample_parquet`` reads the sample's entries directly: the same rows, the same Parquet bytes as pandas
writes of the dicts of ``OpenWindow.sample_rows``."""

from __future__ import annotations

import copy
import io
import random
from typing import Any

import pandas as pd
import pytest

from monitor.pipeline.finish import sample_parquet
from monitor.pipeline.open_window import OpenWindow
from monitor.pipeline.windower import Span

COLUMNS = ["a", "b", "c", "prediction"]


def pandas_parquet(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """The sample's rows as Parquet written by pandas (any values: pandas infers each column's dtype)."""
    frame = pd.DataFrame(rows, columns=["event_id", "ts", *columns])
    frame["ts"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _reference(window: OpenWindow, columns: list[str]) -> tuple[bytes | None, int]:
    """The rows as dicts first, then pandas."""
    if window.sample_size <= 0:
        return None, 0
    rows = window.sample_rows()
    if not rows:
        return None, 0
    return pandas_parquet(rows, columns), len(rows)


def _value(rng: random.Random, kind: str) -> Any:
    if rng.random() < 0.1:
        return None
    if kind == "s":
        return rng.choice(["x", "y", "zz"])
    return rng.choice([rng.gauss(0, 1), -0.0, 0.0, float("nan")]) if kind == "f" else rng.randint(0, 3)


def _window(seed: int, layouts: list[tuple[str, ...]], n: int, sample_size: int, kinds: str = "fsff") -> OpenWindow:
    rng = random.Random(seed)
    window = OpenWindow(Span("count:0", 0.0, 0.0), None, seed, sample_size)
    kind_of = dict(zip(COLUMNS, kinds, strict=True))
    for i in range(n):
        columns = layouts[i % len(layouts)]
        row = tuple(_value(rng, kind_of.get(name, "f")) for name in columns)
        window.add(row, columns, 1_700_000_000.0 + i * 0.37, f"e-{seed}-{i}", "1", None, {})
    return window


SAME = tuple(COLUMNS)
CASES: list[tuple[list[tuple[str, ...]], int, int, str]] = [
    ([SAME], 500, 50, "fsff"),
    ([SAME], 30, 50, "fsff"),  # fewer rows than the sample size
    ([SAME], 0, 50, "fsff"),
    ([SAME], 20, 0, "fsff"),
    ([SAME, ("b", "a", "prediction", "c")], 300, 40, "fsff"),  # another order
    ([SAME, ("a", "b", "extra", "c", "prediction")], 300, 40, "fsff"),  # an extra column
    ([SAME, ("a", "b")], 300, 40, "fsff"),  # missing columns: None
    ([("a", "b", "a", "c", "prediction")], 200, 40, "fsff"),  # a repeated name: its last value
    ([SAME, ("a", "b", "c", "prediction", "ts")], 300, 40, "fsff"),  # a column named ts replaces the time
    ([("c",)], 100, 20, "fsff"),
    ([SAME], 300, 40, "fsif"),  # ints: the pandas path
    ([SAME], 300, 40, "ssss"),
]


@pytest.mark.parametrize(("layouts", "n", "sample_size", "kinds"), CASES)
def test_sample_bytes_are_the_dict_rows_ones(layouts: list[tuple[str, ...]], n: int, sample_size: int,
                                             kinds: str) -> None:
    for seed in range(3):
        window = _window(seed, layouts, n, sample_size, kinds)
        other = copy.deepcopy(window)
        assert sample_parquet(window, COLUMNS) == _reference(other, COLUMNS)
        assert window.sample == other.sample


def test_restored_and_repeated_columns() -> None:
    window = _window(7, [SAME], 400, 60)
    restored = OpenWindow.from_state(window.to_state(), None)  # entries as dicts
    for more in range(50):  # and new entries as tuples
        restored.add((1.5, "x", None, 0.25), SAME, 1_800_000_000.0 + more, f"n-{more}", "1", None, {})
    other = copy.deepcopy(restored)
    assert sample_parquet(restored, COLUMNS) == _reference(other, COLUMNS)
    for columns in (["a", "a"], ["a", "ts"], ["event_id"], []):  # the pandas path (which may raise)
        first, second = copy.deepcopy(window), copy.deepcopy(window)
        assert _outcome(sample_parquet, first, columns) == _outcome(_reference, second, columns)


def _outcome(fn: Any, window: OpenWindow, columns: list[str]) -> Any:
    try:
        return fn(window, columns)
    except Exception as exc:
        return type(exc), str(exc)


def test_row_of_another_length_raises_as_before() -> None:
    window = _window(3, [SAME], 10, 20)
    window.sample.append((0, ("bad", 1.0, (1.0,), SAME)))
    other = copy.deepcopy(window)
    with pytest.raises(ValueError):
        _reference(other, COLUMNS)
    with pytest.raises(ValueError):
        sample_parquet(window, COLUMNS)
