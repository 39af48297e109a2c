"""Compact numeric references (quantile grids): exactness, the stated error bounds, verdict agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from detectors import ReferenceProfile, evaluate
from detectors.errors import CompactProfileError
from detectors.stattests.cramer_von_mises import ReferenceSide, cvm_ks_fast
from detectors.stattests.cvm_grid import ReferenceGrid, cvm_ks_grid, t_error_bound


def test_grid_of_few_distinct_values_is_exact() -> None:
    rng = np.random.default_rng(3)
    x = np.sort(rng.integers(0, 200, 5000).astype(float))
    y = np.sort(rng.integers(-5, 210, 700).astype(float))  # values below, between and above the reference's
    grid = ReferenceGrid.from_sorted(x, size=256)
    assert grid.exact and grid.atoms.size == np.unique(x).size
    # both paths add the same exact integers: the same floats
    assert cvm_ks_grid(grid, y) == cvm_ks_fast(ReferenceSide(x), y)
    # and scipy's two-sample statistic, computed independently (its float sums: rtol 1e-9)
    assert cvm_ks_grid(grid, y)[0] == pytest.approx(stats.cramervonmises_2samp(x, y).statistic, rel=1e-9)
    assert np.array_equal(grid.run_lengths(), np.unique(x, return_counts=True)[1])


@pytest.mark.parametrize("size", [16, 64, 256])
def test_grid_errors_within_the_stated_bounds(size: int) -> None:
    rng = np.random.default_rng(size)
    x = np.sort(rng.lognormal(size=20_000))
    grid = ReferenceGrid.from_sorted(x, size=size)
    assert 0 < grid.max_gap <= -(-(x.size - 1) // (size - 1)) - 1
    side = ReferenceSide(x)
    worst_d = 0.0
    for shift in (0.0, 0.05, 0.2, 1.0):
        for m in (50, 1000, 5000):
            y = np.sort(rng.lognormal(shift, 1.0, m))
            t, d = cvm_ks_fast(side, y)
            t_grid, d_grid = cvm_ks_grid(grid, y)
            assert abs(d_grid - d) <= grid.eps + 1e-12
            assert abs(t_grid - t) <= t_error_bound(x.size, m, grid.eps, d) + 1e-9
            worst_d = max(worst_d, abs(d_grid - d))
    assert worst_d > 0  # the grid is not exact here: the bounds were exercised


def _frames(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    return pd.DataFrame({
        "normal": rng.normal(shift, 1.0, n),
        "lognormal": rng.lognormal(shift, 1.0, n),
        "rounded": np.round(rng.normal(50 + 10 * shift, 10, n)),
        "uniform": rng.uniform(shift, 10 + shift, n),
    })


def test_compact_profile_verdicts_equal_the_exact_ones() -> None:
    """A reduced version of bench/compact_agreement.py: every feature-window verdict agrees here."""
    rng = np.random.default_rng(11)
    profile = ReferenceProfile.build(_frames(rng, 20_000, 0.0), multivariate=False)
    compact = profile.compacted(size=1024)
    total = 0
    for rep in range(30):
        window = _frames(rng, 1000, (0.0, 0.04, 0.08, 0.15, 0.3)[rep % 5])
        exact, approx = evaluate(profile, window), evaluate(compact, window)
        for e, a in zip(exact.columns, approx.columns, strict=True):
            assert e.drifted == a.drifted, (rep, e.name, e.effect_size, a.effect_size)
            total += 1
    assert total == 120
    assert compact.content_hash == profile.content_hash and compact.compact and not profile.compact


def test_compact_profile_refuses_what_needs_the_values() -> None:
    rng = np.random.default_rng(5)
    frame = _frames(rng, 2000, 0.0)
    compact = ReferenceProfile.build(frame, multivariate=False).compacted(["normal"])
    assert evaluate(compact, frame, preset="evidently", columns=["rounded"]).columns  # an exact column: fine
    with pytest.raises(CompactProfileError, match="'normal'"):
        evaluate(compact, frame, preset="evidently")
    with pytest.raises(CompactProfileError, match="writing the profile"):
        compact.to_bytes()
