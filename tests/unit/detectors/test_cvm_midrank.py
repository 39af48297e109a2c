"""The ``default`` preset's Cramér–von Mises statistic takes midranks within each sample too
(:func:`detectors.stattests.cramer_von_mises.midrank_t`): equal to an independent computation from
``scipy.stats.rankdata``, to scipy's statistic without ties, and calibrated on discrete columns (an hour of
day, a count), where scipy's statistic gives p ~ 1e-7 on unchanged data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import detectors
from detectors.profile import ReferenceProfile
from detectors.stattests.cramer_von_mises import cvm_ks_sorted, midrank_t, own_run_squares


def _midrank_t_by_ranks(x: np.ndarray, y: np.ndarray) -> float:
    """Anderson's T with midranks in the pooled sample and within each sample (independent of the package)."""
    n, m = x.size, y.size
    pooled = stats.rankdata(np.concatenate([x, y]))
    u = n * np.sum((pooled[:n] - stats.rankdata(x)) ** 2) + m * np.sum((pooled[n:] - stats.rankdata(y)) ** 2)
    return float(u / (n * m * (n + m)) - (4 * n * m - 1) / (6 * (n + m)))


@pytest.mark.parametrize("seed", range(5))
def test_midrank_t_equals_the_rank_formula_on_tied_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.integers(0, 24, size=3000).astype(float))
    y = np.sort(rng.poisson(8, size=400).astype(float))
    n, m = x.size, y.size
    got = midrank_t(cvm_ks_sorted(x, y)[0], n, m, own_run_squares(x), own_run_squares(y))
    assert got == pytest.approx(_midrank_t_by_ranks(x, y), rel=1e-10, abs=1e-10)


def test_without_ties_it_is_scipys_statistic() -> None:
    rng = np.random.default_rng(3)
    x, y = np.sort(rng.normal(size=2000)), np.sort(rng.normal(0.1, 1, size=300))
    assert own_run_squares(x) == own_run_squares(y) == 0
    t = midrank_t(cvm_ks_sorted(x, y)[0], x.size, y.size, 0, 0)
    assert t == pytest.approx(stats.cramervonmises_2samp(x, y).statistic, rel=1e-10)


def _p_value(reference: np.ndarray, window: np.ndarray) -> float:
    profile = ReferenceProfile.build(pd.DataFrame({"v": reference}))
    return float(detectors.evaluate(profile, pd.DataFrame({"v": window})).column("v").p_value)


@pytest.mark.parametrize("m", [300, 2000])
def test_a_discrete_column_that_did_not_change_is_not_significant(m: int) -> None:
    """24 levels (an hour of day): the share of p < 0.01 over 60 unchanged windows is at most 3/60 (scipy's
    statistic: every one, p ~ 1e-7)."""
    rng = np.random.default_rng(m)
    shares = rng.dirichlet(np.full(24, 5.0))
    reference = rng.choice(24, size=20_000, p=shares).astype(float)
    ps = [_p_value(reference, rng.choice(24, size=m, p=shares).astype(float)) for _ in range(60)]
    assert sum(p < 0.01 for p in ps) <= 3, sorted(ps)[:5]
    window = rng.choice(24, size=m, p=shares).astype(float)
    scipy_p = stats.cramervonmises_2samp(reference, window).pvalue
    assert scipy_p < 1e-4  # what the plain statistic says of unchanged data


def test_a_discrete_column_that_moved_is_still_found() -> None:
    rng = np.random.default_rng(11)
    reference = rng.integers(0, 24, size=20_000).astype(float)
    window = np.minimum(rng.integers(0, 24, size=500) + 2, 23)  # two hours later
    assert _p_value(reference, window.astype(float)) < 1e-6
