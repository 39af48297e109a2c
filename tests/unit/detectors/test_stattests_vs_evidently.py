"""Every statistic against scipy and against Evidently 0.7's own stattests, on seeded data.

Tolerance: relative 1e-9 where the math is the same. Where it differs, the test says how and why.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from detectors.stattests.anderson_darling import anderson_darling
from detectors.stattests.chisquare import chisquare, chisquare_gof
from detectors.stattests.cramer_von_mises import cramer_von_mises
from detectors.stattests.energy import energy_distance
from detectors.stattests.fisher_exact import fisher_exact
from detectors.stattests.hellinger import hellinger
from detectors.stattests.jensen_shannon import jensen_shannon
from detectors.stattests.kl_divergence import kl_divergence
from detectors.stattests.ks import ks, ks_pvalue_asymptotic, ks_statistic_sorted
from detectors.stattests.psi import psi
from detectors.stattests.wasserstein import wasserstein, wasserstein_sorted
from detectors.stattests.ztest import ztest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from evidently.legacy.calculations.stattests.anderson_darling_stattest import _anderson_darling
    from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test
    from evidently.legacy.calculations.stattests.cramer_von_mises_stattest import _cramer_von_mises
    from evidently.legacy.calculations.stattests.energy_distance import _energy_dist
    from evidently.legacy.calculations.stattests.fisher_exact_stattest import _fisher_exact_stattest
    from evidently.legacy.calculations.stattests.hellinger_distance import _hellinger_distance
    from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
    from evidently.legacy.calculations.stattests.kl_div import _kl_div
    from evidently.legacy.calculations.stattests.ks_stattest import _ks_stat_test
    from evidently.legacy.calculations.stattests.psi import _psi
    from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
    from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test
    from evidently.legacy.core import ColumnType

RTOL = 1e-9
NUM = ColumnType.Numerical
CAT = ColumnType.Categorical
SEEDS = [0, 1, 2]
SIZES = [(40, 25), (300, 300), (2000, 700)]


def numeric(seed: int, n: int, m: int, shift: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), rng.normal(shift, 1.1, size=m)


def categorical(seed: int, n: int, m: int, levels: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cats = np.array([f"c{i}" for i in range(levels)], dtype=object)
    p = rng.dirichlet(np.ones(levels))
    q = rng.dirichlet(np.ones(levels)) * 0.2 + 0.8 * p
    return rng.choice(cats, size=n, p=p), rng.choice(cats, size=m, p=q / q.sum())


def close(a: float, b: float) -> None:
    assert a == pytest.approx(b, rel=RTOL, abs=1e-300), (a, b)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_ks_matches_scipy_and_evidently(seed: int, n: int, m: int) -> None:
    ref, cur = numeric(seed, n, m)
    ours = ks(ref, cur)
    sp = stats.ks_2samp(ref, cur)
    close(ours.statistic, sp.statistic)
    close(ours.p_value or 0.0, sp.pvalue)
    p_ev, drift_ev = _ks_stat_test(pd.Series(ref), pd.Series(cur), NUM, 0.05)
    close(ours.p_value or 0.0, p_ev)
    assert ours.drifted == drift_ev
    # the vectorised pieces used by the default preset
    close(ks_statistic_sorted(np.sort(ref), np.sort(cur)), sp.statistic)
    asym = stats.ks_2samp(ref, cur, method="asymp").pvalue
    en = n * m / (n + m)
    if en <= 500:  # scipy's own formula
        close(ks_pvalue_asymptotic(sp.statistic, n, m), asym)
    else:  # Stephens' approximation, documented bound
        assert ks_pvalue_asymptotic(sp.statistic, n, m) == pytest.approx(asym, rel=0.025 if asym > 1e-4 else 0.055)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), [*SIZES, (1000, 1000), (5, 3)])
def test_wasserstein_matches_scipy_and_evidently(seed: int, n: int, m: int) -> None:
    ref, cur = numeric(seed, n, m)
    ours = wasserstein(ref, cur)
    close(wasserstein_sorted(np.sort(ref), np.sort(cur)), stats.wasserstein_distance(ref, cur))
    value_ev, drift_ev = _wasserstein_distance_norm(pd.Series(ref), pd.Series(cur), NUM, 0.1)
    close(ours.statistic, value_ev)
    assert ours.drifted == drift_ev


def test_wasserstein_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    ref, cur = np.round(rng.normal(size=777)), np.round(rng.normal(0.3, 1, size=1234))
    close(wasserstein_sorted(np.sort(ref), np.sort(cur)), stats.wasserstein_distance(ref, cur))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_distances_on_numeric_match_evidently(seed: int, n: int, m: int) -> None:
    """JS / PSI / KL with Sturges bins over reference ∪ current (Evidently: numeric, > 20 distinct values)."""
    ref, cur = numeric(seed, n, m, shift=0.4)
    r, c = pd.Series(ref), pd.Series(cur)
    js_ev, _ = _jensenshannon(r, c, NUM, 0.1)
    close(jensen_shannon(ref, cur, bins="sturges").statistic, js_ev)
    psi_ev, psi_drift = _psi(r, c, NUM, 0.1)
    ours = psi(ref, cur, bins="sturges", epsilon="evidently")
    close(ours.statistic, psi_ev)
    assert ours.drifted == psi_drift
    kl_ev, _ = _kl_div(r, c, NUM, 0.1)
    close(kl_divergence(ref, cur, bins="sturges", epsilon="evidently").statistic, kl_ev)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_distances_on_categories_match_evidently(seed: int, n: int, m: int) -> None:
    ref, cur = categorical(seed, n, m)
    cur[:3] = "never-seen"  # an unseen category: its own bucket on both sides
    r, c = pd.Series(ref), pd.Series(cur)
    close(jensen_shannon(ref, cur, bins="categories").statistic, _jensenshannon(r, c, CAT, 0.1)[0])
    close(psi(ref, cur, bins="categories", epsilon="evidently").statistic, _psi(r, c, CAT, 0.1)[0])
    close(kl_divergence(ref, cur, bins="categories", epsilon="evidently").statistic, _kl_div(r, c, CAT, 0.1)[0])
    close(hellinger(ref, cur, bins="categories").statistic, _hellinger_distance(r.copy(), c.copy(), CAT, 0.1)[0])


@pytest.mark.parametrize("seed", SEEDS)
def test_hellinger_numeric_matches_evidently_with_its_bins(seed: int) -> None:
    """Evidently bins numeric Hellinger with Sturges' rule over the *distinct* values of ref ∪ cur."""
    ref, cur = numeric(seed, 500, 400, shift=0.3)
    edges = np.histogram_bin_edges(np.unique(np.concatenate([ref, cur])), bins="sturges")
    ev, _ = _hellinger_distance(pd.Series(ref), pd.Series(cur), NUM, 0.1)
    close(hellinger(ref, cur, bins=edges).statistic, ev)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_chisquare_gof_matches_evidently(seed: int, n: int, m: int) -> None:
    ref, cur = categorical(seed, n, m)
    ours = chisquare_gof(ref, cur)
    with np.errstate(divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_ev, drift_ev = _chi_stat_test(pd.Series(ref), pd.Series(cur), CAT, 0.05)
    close(ours.p_value or 0.0, p_ev)
    assert ours.drifted == drift_ev


def test_chisquare_gof_unseen_category_is_p_zero_like_evidently() -> None:
    ref, cur = categorical(0, 300, 300)
    cur[0] = "new"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_ev, drift_ev = _chi_stat_test(pd.Series(ref), pd.Series(cur), CAT, 0.05)
    ours = chisquare_gof(ref, cur)
    assert ours.p_value == p_ev == 0.0 and ours.drifted and drift_ev


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_chisquare_contingency_matches_scipy(seed: int, n: int, m: int) -> None:
    ref, cur = categorical(seed, n, m)
    ours = chisquare(ref, cur)
    keys = sorted(set(ref) | set(cur))
    table = np.array([[np.sum(ref == k) for k in keys], [np.sum(cur == k) for k in keys]])
    sp = stats.chi2_contingency(table, correction=False)
    close(ours.statistic, sp.statistic)
    close(ours.p_value or 0.0, sp.pvalue)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_ztest_matches_evidently(seed: int, n: int, m: int) -> None:
    """Evidently computes 2·(1 − Φ(|z|)), we 2·Φ̄(|z|): equal to 1e-9 relative while p > ~1e-7."""
    rng = np.random.default_rng(seed)
    ref, cur = rng.binomial(1, 0.3, size=n), rng.binomial(1, 0.36, size=m)
    ours = ztest(ref, cur)
    p_ev, drift_ev = _z_stat_test(pd.Series(ref), pd.Series(cur), CAT, 0.05)
    assert p_ev > 1e-7
    close(ours.p_value or 0.0, p_ev)
    assert ours.drifted == drift_ev
    # and against statsmodels-free textbook formula via scipy
    table = np.array([[np.sum(ref == 1), np.sum(ref == 0)], [np.sum(cur == 1), np.sum(cur == 0)]])
    close(ours.p_value or 0.0, stats.chi2_contingency(table, correction=False).pvalue)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_anderson_matches_scipy_and_evidently(seed: int, n: int, m: int) -> None:
    ref, cur = numeric(seed, n, m, shift=0.1)
    ours = anderson_darling(ref, cur)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sp = stats.anderson_ksamp([ref, cur], variant="midrank")
        p_ev, drift_ev = _anderson_darling(pd.Series(ref), pd.Series(cur), NUM, 0.1)
    close(ours.statistic, sp.statistic)
    close(ours.p_value or 0.0, p_ev)
    assert ours.drifted == drift_ev


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), [(12, 9), *SIZES])
def test_cramer_von_mises_matches_scipy_and_evidently(seed: int, n: int, m: int) -> None:
    """Exact p-values (both samples <= 20): Evidently's copy of an older scipy divides two factorials in
    floating point, current scipy counts exactly; they differ by ~1e-8 relative, so 1e-6 there."""
    ref, cur = numeric(seed, n, m, shift=0.2)
    ours = cramer_von_mises(ref, cur)
    sp = stats.cramervonmises_2samp(ref, cur)
    close(ours.statistic, sp.statistic)
    close(ours.p_value or 0.0, sp.pvalue)
    p_ev, drift_ev = _cramer_von_mises(pd.Series(ref), pd.Series(cur), NUM, 0.1)
    rel = 1e-6 if max(n, m) <= 20 else RTOL
    assert ours.p_value == pytest.approx(float(p_ev), rel=rel)
    assert ours.drifted == drift_ev


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_energy_matches_scipy_and_evidently(seed: int, n: int, m: int) -> None:
    ref, cur = numeric(seed, n, m)
    ours = energy_distance(ref, cur)
    close(ours.statistic, stats.energy_distance(ref, cur))
    value_ev, drift_ev = _energy_dist(pd.Series(ref), pd.Series(cur), NUM, 0.1)
    close(ours.statistic, value_ev)
    assert ours.drifted == drift_ev  # '>=' vs '>' differ only at equality


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [20, 300])
def test_fisher_matches_scipy_and_evidently(seed: int, n: int) -> None:
    """Evidently's fisher_exact needs equal lengths; ours does not (checked against scipy below)."""
    rng = np.random.default_rng(seed)
    ref, cur = rng.binomial(1, 0.3, size=n), rng.binomial(1, 0.45, size=n)
    ours = fisher_exact(ref, cur)
    p_ev, drift_ev = _fisher_exact_stattest(pd.Series(ref), pd.Series(cur), CAT, 0.1)
    close(ours.p_value or 0.0, p_ev)
    assert ours.drifted == drift_ev
    cur2 = rng.binomial(1, 0.45, size=n + 17)
    table = [[int(cur2.sum()), int(cur2.size - cur2.sum())], [int(ref.sum()), int(ref.size - ref.sum())]]
    close(fisher_exact(ref, cur2).p_value or 0.0, stats.fisher_exact(table).pvalue)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "m", "ties"), [(30, 40, False), (500, 300, True), (2000, 700, False), (100, 7000, True)])
def test_default_preset_cvm_and_ks_from_sorted_match_scipy(seed: int, n: int, m: int, ties: bool) -> None:
    """The one-pass (T, D) of the default preset against scipy's cramervonmises_2samp (asymptotic) and ks_2samp."""
    from detectors.stattests.cramer_von_mises import cvm_ks_sorted, cvm_pvalue_asymptotic

    ref, cur = numeric(seed, n, m, shift=0.15)
    if ties:
        ref, cur = np.round(ref, 1), np.round(cur, 1)
    t, d = cvm_ks_sorted(np.sort(ref), np.sort(cur))
    sp = stats.cramervonmises_2samp(ref, cur, method="asymptotic")
    close(t, sp.statistic)
    close(cvm_pvalue_asymptotic(t, n, m), sp.pvalue)
    close(d, stats.ks_2samp(ref, cur).statistic)
