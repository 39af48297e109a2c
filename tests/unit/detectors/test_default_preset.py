"""The ``default`` preset's rule: BH across columns, significance and an effect floor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import distance
from statsmodels.stats.multitest import multipletests

from detectors import ReferenceProfile, evaluate
from detectors.multiple_testing import benjamini_hochberg
from detectors.stattests.chisquare import chisquare_from_counts, merge_sparse
from detectors.stattests.jensen_shannon import jensen_shannon_many


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_benjamini_hochberg_matches_statsmodels(seed: int) -> None:
    p = np.random.default_rng(seed).uniform(size=40) ** 3
    ours = benjamini_hochberg(list(p))
    theirs = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(np.array(ours, dtype=float), theirs, rtol=1e-12)


def test_benjamini_hochberg_skips_none() -> None:
    assert benjamini_hochberg([None, 0.01, None, 0.04]) == [None, 0.02, None, 0.04]


@pytest.mark.parametrize("seed", [0, 1])
def test_jensen_shannon_many_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(12)), rng.dirichlet(np.ones(12))
    p[3] = 0.0
    p /= p.sum()
    assert jensen_shannon_many(p, q) == pytest.approx(distance.jensenshannon(p, q), rel=1e-12)
    assert jensen_shannon_many(p, q, 2.0) == pytest.approx(distance.jensenshannon(p, q, 2.0), rel=1e-12)


def test_sparse_buckets_are_pooled() -> None:
    ref = np.array([500.0, 480.0, 3.0, 2.0, 1.0])
    cur = np.array([50.0, 49.0, 0.0, 1.0, 0.0])
    r, c = merge_sparse(ref, cur, 5.0)
    assert r.tolist() == [500.0, 480.0, 6.0] and c.tolist() == [50.0, 49.0, 1.0]
    assert chisquare_from_counts(ref, cur, min_expected=5.0).p_value == pytest.approx(
        chisquare_from_counts(r, c).p_value, rel=1e-12)


def _frames(n: int, shift: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    levels = np.array([f"l{i:02d}" for i in range(20)], dtype=object)
    p = rng.dirichlet(np.full(20, 2.0))
    ref = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(levels, size=n, p=p)})
    cur = pd.DataFrame({"x": rng.normal(shift, 1, size=n), "c": rng.choice(levels, size=n, p=p)})
    return ref, cur


def test_immaterial_shift_on_a_large_sample_is_significant_but_not_drift() -> None:
    ref, cur = _frames(100_000, 0.03, 0)
    col = evaluate(ReferenceProfile.build(ref), cur).column("x")
    assert col.p_value is not None and col.p_value < 1e-6  # a p-value-only detector would alarm
    assert col.effect_size is not None and col.effect_size < 0.05 and not col.drifted


def test_identical_20_level_columns_do_not_alarm_where_evidently_does() -> None:
    alarms_default, alarms_evidently = 0, 0
    for seed in range(20):
        ref, cur = _frames(1000, 0.0, seed)
        profile = ReferenceProfile.build(ref)
        alarms_default += evaluate(profile, cur).column("c").drifted
        alarms_evidently += evaluate(profile, cur, preset="evidently").column("c").drifted
    assert alarms_default == 0
    assert alarms_evidently >= 10  # Evidently's goodness-of-fit test: ~75% of identical pairs


def test_material_shift_is_caught_at_1k_rows() -> None:
    ref, cur = _frames(1000, 0.5, 3)
    col = evaluate(ReferenceProfile.build(ref), cur).column("x")
    assert col.drifted and col.effect_size is not None and col.effect_size >= 0.05
    assert col.p_value_adjusted is not None and col.p_value_adjusted < 0.01


def test_alpha_and_min_effect_overrides() -> None:
    ref, cur = _frames(100_000, 0.03, 0)
    profile = ReferenceProfile.build(ref)
    assert evaluate(profile, cur, overrides={"min_effect": 0.0}).column("x").drifted
    assert not evaluate(profile, cur, overrides={"min_effect": 0.0, "alpha": 1e-300}).column("x").drifted


def test_p_value_zero_is_the_strongest_evidence_not_missing() -> None:
    """Regression: a chi-square p-value that underflows to 0.0 must count as significant."""
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"c": rng.choice(["a", "b", "c"], size=100_000, p=[0.6, 0.3, 0.1]),
                        "b": rng.choice(["y", "n"], size=100_000, p=[0.5, 0.5])})
    cur = pd.DataFrame({"c": rng.choice(["a", "b", "c"], size=100_000, p=[0.4, 0.3, 0.3]),
                        "b": rng.choice(["y", "n"], size=100_000, p=[0.9, 0.1])})
    report = evaluate(ReferenceProfile.build(ref), cur)
    for name in ("c", "b"):
        col = report.column(name)
        assert col.p_value == 0.0 and col.p_value_adjusted == 0.0 and col.drifted
