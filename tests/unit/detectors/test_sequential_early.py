"""Block LLR CUSUMs of detectors.sequential.early: each block LLR against scipy, detection, ERT >= configured."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from detectors.sequential import InvalidParameterError
from detectors.sequential.early import bernoulli_llr, llr_cusum, poisson_llr, threshold_for_ert, variance_llr


@pytest.mark.parametrize(("x", "n", "p0", "p1"), [(0, 50, 0.01, 0.5), (7, 50, 0.02, 0.3), (50, 50, 0.1, 0.5)])
def test_bernoulli_llr_is_the_binomial_log_likelihood_ratio(x: int, n: int, p0: float, p1: float) -> None:
    expected = stats.binom.logpmf(x, n, p1) - stats.binom.logpmf(x, n, p0)
    assert bernoulli_llr(x, n, p0, p1) == pytest.approx(expected, rel=1e-9, abs=1e-9)  # two log paths


def test_variance_llr_is_the_scaled_chi_square_log_likelihood_ratio() -> None:
    n, ss, s0, s1 = 50, 3.2, 1.0, 0.3
    # ss / sigma^2 ~ chi2(n - 1): density of ss under sigma is chi2.pdf(ss / sigma^2) / sigma^2
    expected = (stats.chi2.logpdf(ss / s1**2, n - 1) - 2 * math.log(s1)) - (
        stats.chi2.logpdf(ss / s0**2, n - 1) - 2 * math.log(s0))
    assert variance_llr(n, ss, s0, s1) == pytest.approx(expected, rel=1e-9)


def test_collapse_detected_on_the_first_block_and_missing_surge_within_two() -> None:
    rng = np.random.default_rng(3)
    flat = llr_cusum(100_000)
    block = rng.normal(0.5, 0.001, 50)
    assert flat.update(variance_llr(50, float(np.sum((block - block.mean()) ** 2)), 0.29, 0.05 * 0.29))
    surge = llr_cusum(100_000)
    steps = [surge.update(bernoulli_llr(int(rng.binomial(50, 0.6)), 50, 0.01, 0.5)) for _ in range(2)]
    assert any(steps)


def test_stationary_stream_raises_no_alarm_and_ert_exceeds_configured() -> None:
    """Seeded reduced simulation: ERT 200 blocks configured; 40 runs of at most 4,000 blocks of 50 events with
    a reference missing rate of 1%: the mean run length (censored at 4,000) must exceed 200."""
    rng = np.random.default_rng(11)
    lengths = []
    for _ in range(40):
        cusum = llr_cusum(200)
        counts = rng.binomial(50, 0.01, size=4000)
        run = 4000
        for i, x in enumerate(counts):
            if cusum.update(bernoulli_llr(int(x), 50, 0.01, 0.5)):
                run = i + 1
                break
        lengths.append(run)
    assert float(np.mean(lengths)) > 200


def test_threshold_is_log_ert_and_rejects_bad_values() -> None:
    assert threshold_for_ert(math.e**5) == pytest.approx(5.0)
    with pytest.raises(InvalidParameterError, match="ert"):
        threshold_for_ert(1.0)
    with pytest.raises(InvalidParameterError, match="p0"):
        bernoulli_llr(1, 10, 0.0, 0.5)


@pytest.mark.parametrize(("x", "lam0", "ratio"), [(0, 40.0, 0.25), (12, 40.0, 0.25), (250, 40.0, 6.0), (3, 0.5, 6.0)])
def test_poisson_llr_is_the_poisson_log_likelihood_ratio(x: int, lam0: float, ratio: float) -> None:
    expected = stats.poisson.logpmf(x, ratio * lam0) - stats.poisson.logpmf(x, lam0)
    assert poisson_llr(x, lam0, ratio) == pytest.approx(expected, rel=1e-9, abs=1e-9)  # two log paths


def test_poisson_llr_cusum_keeps_its_ert_on_stationary_counts_and_catches_a_drop_at_once() -> None:
    """Seeded: 40 expected events per block, ERT 200 blocks, drop alternative 0.25: runs of at most 4,000
    stationary blocks have a mean (censored) length above 200; a block of 4 events alarms on its own."""
    rng = np.random.default_rng(5)
    lengths = []
    for _ in range(40):
        cusum = llr_cusum(200)
        counts = rng.poisson(40.0, size=4000)
        hits = [i for i, x in enumerate(counts) if cusum.update(poisson_llr(int(x), 40.0, 0.25))]
        lengths.append(hits[0] + 1 if hits else 4000)
    assert float(np.mean(lengths)) > 200
    assert llr_cusum(100_000).update(poisson_llr(4, 40.0, 0.25))


def test_poisson_llr_rejects_bad_values() -> None:
    with pytest.raises(InvalidParameterError, match="lam0"):
        poisson_llr(1, 0.0, 0.5)
    with pytest.raises(InvalidParameterError, match="ratio"):
        poisson_llr(1, 3.0, 1.0)
    with pytest.raises(InvalidParameterError, match="count >= 0"):
        poisson_llr(-1, 3.0, 0.5)
