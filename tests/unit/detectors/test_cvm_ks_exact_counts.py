"""The ``default`` preset's Cramér–von Mises and KS statistics from sorted counts (``cvm_ks_fast``) equal bit for
bit the ones of ``cvm_ks_sorted``, and a report built on them is the same report."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from detectors import ReferenceProfile, WindowState, evaluate
from detectors.presets import default as default_preset
from detectors.stattests.cramer_von_mises import ReferenceSide, cvm_ks_fast, cvm_ks_sorted, sorted_self_counts

FloatArray = npt.NDArray[np.float64]


def _bits(values: tuple[float, float]) -> tuple[bytes, ...]:
    return tuple(np.float64(v).tobytes() for v in values)


def cvm_pairs() -> list[tuple[FloatArray, FloatArray]]:
    rng = np.random.default_rng(29)
    pairs = [
        (np.array([1.0]), np.array([1.0])),
        (np.array([1.0]), np.array([0.0, 2.0])),
        (np.array([2.0, 3.0]), np.array([7.0])),
        (np.array([0.0, -0.0, 0.0]), np.array([-0.0, 0.0])),  # -0.0 == 0.0: one run
        (np.array([1.0, 2.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])),
        (np.array([1.0, 2.0, 3.0]), np.array([-5.0, 10.0])),
        (np.array([5.0, 5.0]), np.array([1.0, 2.0, 3.0])),
        (np.full(50, 1.0), np.full(70, 1.0)),
        (np.full(50, 1.0), np.full(70, 2.0)),
    ]
    for n, m, decimals in [(5000, 5000, 4), (5000, 5000, 12), (5000, 392, 1), (300, 4000, 2), (1000, 1000, 0),
                           (64, 7, 12), (7, 64, 12), (20_000, 20_000, 3)]:
        pairs.append((rng.normal(size=n).round(decimals), rng.normal(0.1, 1.1, size=m).round(decimals)))
    pairs.append((rng.integers(0, 5, 800).astype(float), rng.integers(2, 9, 600).astype(float)))
    pairs.append((rng.choice([-0.0, 0.0, 2.0, 3.5], 900), rng.choice([0.0, -0.0, 3.5, 7.0], 500)))
    pairs.append((rng.normal(size=3000), np.sort(rng.normal(size=3000))[::3].repeat(3)))  # ties in y only
    return [(np.sort(x), np.sort(y)) for x, y in pairs]


@pytest.mark.parametrize("pair", cvm_pairs())
def test_cvm_ks_fast_is_cvm_ks_sorted_bit_for_bit(pair: tuple[FloatArray, FloatArray]) -> None:
    x, y = pair
    expected = _bits(cvm_ks_sorted(x, y))
    assert _bits(cvm_ks_fast(ReferenceSide(x), y)) == expected
    le, lt = sorted_self_counts(x)
    assert _bits(cvm_ks_fast(ReferenceSide(x, (le.astype(np.int32), lt.astype(np.int32))), y)) == expected


def test_cvm_ks_counts_random_sizes_and_ties() -> None:
    rng = np.random.default_rng(5)
    for trial in range(400):
        n, m = (int(v) for v in rng.choice([1, 2, 3, 5, 17, 200, 1500], size=2))
        decimals = int(rng.choice([0, 1, 2, 4, 15]))
        x = np.sort(rng.normal(size=n).round(decimals))
        y = np.sort(rng.normal(rng.normal(0, 0.3), 1.0, size=m).round(decimals))
        assert _bits(cvm_ks_fast(ReferenceSide(x), y)) == _bits(cvm_ks_sorted(x, y)), (trial, n, m, decimals)


def _frames(seed: int, rows: int, decimals: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(size: int, shift: float) -> pd.DataFrame:
        data: dict[str, Any] = {
            f"x{i}": rng.normal(shift * (i % 3), 1, size).round(decimals) for i in range(6)
        }
        data["ties"] = rng.integers(0, 4, size).astype(float)
        data["c"] = rng.choice(list("abcd"), size)
        data["b"] = rng.choice(["yes", "no"], size)
        return pd.DataFrame(data)

    ref, cur = frame(4000, 0.0), frame(rows, 0.2)
    cur.loc[cur.index[::7], "x1"] = np.nan
    return ref, cur


@pytest.mark.parametrize(("seed", "rows", "decimals"), [(1, 3000, 4), (2, 40, 1), (3, 1, 2), (4, 5000, 12)])
def test_evaluate_report_is_the_one_of_cvm_ks_sorted(seed: int, rows: int, decimals: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ref, cur = _frames(seed, rows, decimals)
    profile = ReferenceProfile.build(ref)
    fast = evaluate(profile, WindowState.from_frame(profile, cur)).to_dict()

    def plain(side: ReferenceSide, y: FloatArray) -> tuple[float, float]:
        return cvm_ks_sorted(side.x, y)

    monkeypatch.setattr(default_preset, "cvm_ks_fast", plain)
    assert evaluate(profile, WindowState.from_frame(profile, cur)).to_dict() == fast
    assert repr(evaluate(profile, WindowState.from_frame(profile, cur)).to_dict()) == repr(fast)


def test_reference_side_kept_per_profile_column() -> None:
    ref, _ = _frames(6, 10, 3)
    profile = ReferenceProfile.build(ref)
    col = profile["x0"]
    assert default_preset._reference_side(col) is default_preset._reference_side(col)
    other = ReferenceProfile.build(ref)["x0"]
    assert default_preset._reference_side(other) is not default_preset._reference_side(col)

