"""The window sample's Parquet: the very bytes pandas writes of the sample's rows, whatever the values."""

from __future__ import annotations

import io
import math
import random
from typing import Any

import pandas as pd
import pytest

from monitor.pipeline.finish import sample_parquet
from monitor.pipeline.open_window import OpenWindow
from monitor.pipeline.windower import Span
from tests.unit.monitor.test_window_sample import pandas_parquet

COLUMNS = ["x", "y", "genre", "score"]


def _rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append({
            "event_id": f"e-{i:05d}",
            "ts": 1_795_440_000.0 + rng.random() * 1000 + rng.choice([0.0, 0.1, 0.123456789]),
            "x": round(rng.gauss(0, 1), 4),
            "y": rng.choice([None, rng.random(), math.nan]),
            "genre": rng.choice(["a", "b", None, "ü"]),
            "score": rng.random(),
        })
    return rows


def _window(rows: list[dict[str, Any]]) -> OpenWindow:
    """A window whose sample keeps every row (each with its own columns, in its own order)."""
    window = OpenWindow(Span("count:0", 0.0, 0.0), None, 0, len(rows))
    for row in rows:
        columns = tuple(k for k in row if k not in ("event_id", "ts"))
        window.add(tuple(row[k] for k in columns), columns, row["ts"], row["event_id"], "1", None, {})
    return window


def _same(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    window = _window(rows)
    expected = pandas_parquet(window.sample_rows(), columns)
    got, n = sample_parquet(window, columns)
    assert got is not None and n == len(rows)
    assert got == expected
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(got)), pd.read_parquet(io.BytesIO(expected)))
    return got


@pytest.mark.parametrize("n", [1, 2, 37, 200])
def test_sample_bytes_are_the_pandas_ones(n: int) -> None:
    assert _same(_rows(n, seed=n), COLUMNS)


def test_sample_missing_keys_and_other_orders() -> None:
    rows = _rows(50, seed=3)
    for row in rows[::4]:
        del row["y"]
    rows[1] = {k: rows[1][k] for k in reversed(list(rows[1]))}
    rows[2]["extra"] = "not a column"
    frame = pd.read_parquet(io.BytesIO(_same(rows, COLUMNS)))
    assert str(frame["ts"].dtype) == "datetime64[ns, UTC]" and frame["y"].isna().sum() >= 12


def test_sample_layouts_are_kept_apart() -> None:
    assert _same(_rows(20, seed=1), COLUMNS)
    rows = _rows(20, seed=2)
    for row in rows:
        row["genre"], row["x"] = row["x"], row["genre"] or "z"  # swapped kinds, same names
    assert _same(rows, COLUMNS)
    assert _same(_rows(20, seed=4), ["score", "x"])


@pytest.mark.parametrize("change", [
    {"x": 3},  # an int: pandas' own inference
    {"x": True},
    {"genre": 1.5},  # mixed str and float
    {"ts": 1_795_440_000},  # an int timestamp
])
def test_other_values(change: dict[str, Any]) -> None:
    rows = _rows(10)
    rows[4].update(change)
    window = _window(rows)
    try:
        expected: Any = pandas_parquet(window.sample_rows(), COLUMNS)
    except Exception as exc:  # (a column of strings and floats: pyarrow refuses it)
        with pytest.raises(type(exc)):
            sample_parquet(window, COLUMNS)
        return
    assert sample_parquet(window, COLUMNS) == (expected, len(rows))


def test_all_null_column() -> None:
    rows = _rows(10)
    for row in rows:
        row["y"] = None
    assert _same(rows, COLUMNS)
