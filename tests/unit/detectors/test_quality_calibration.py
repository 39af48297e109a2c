"""False alarms of the data-quality checks on unchanged data, computed exactly (no simulation): the share
of windows of every size that trigger must stay at or below the stated level (issue #20)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from detectors.quality.missing import EXACT_BELOW, missing_p_value, missing_rate_from_counts

N_REFERENCE = 20_000
ALPHA = 0.001


def _window_counts(n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """The counts ``k`` a window of ``n`` rows can show with probability above 1e-14, and those probabilities."""
    ks = np.arange(n + 1)
    pmf = stats.binom.pmf(ks, n, rate)
    keep = pmf > 1e-14
    return ks[keep], pmf[keep]


@pytest.mark.parametrize("n", [30, 200, 1_000, 10_000])
@pytest.mark.parametrize("rate", [0.005, 0.02, 0.10])
def test_missing_rate_false_alarms_at_most_alpha(n: int, rate: float) -> None:
    """P(trigger) for a window drawn at the reference rate, summed exactly over its missing count.

    The pooled z-test alone gave 0.9% at 30 rows with a 0.5% rate (and 0.3% at 200 rows)."""
    ref_missing = round(rate * N_REFERENCE)
    ks, pmf = _window_counts(n, rate)
    fired = np.array([
        missing_rate_from_counts("x", int(k), n, reference_missing=ref_missing, reference_rows=N_REFERENCE,
                                 alpha=ALPHA).triggered
        for k in ks
    ])
    assert float(pmf[fired].sum()) <= ALPHA


def _fisher_by_hand(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher p-value from the hypergeometric law: the total probability of the tables no more
    likely than the observed one (relative tolerance 1e-7 on "as likely", as in R and scipy)."""
    law = stats.hypergeom(n1 + n2, k1 + k2, n2)
    support = np.arange(max(0, k1 + k2 - n1), min(n2, k1 + k2) + 1)
    pmf = law.pmf(support)
    return float(pmf[pmf <= law.pmf(k2) * (1 + 1e-7)].sum())


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(100, 20_000, 2, 30), (100, 20_000, 0, 200), (5, 1000, 4, 50)])
def test_small_counts_use_fisher_exact(k1: int, n1: int, k2: int, n2: int) -> None:
    p, test = missing_p_value(k1, n1, k2, n2)
    assert test == "fisher"
    assert p == pytest.approx(_fisher_by_hand(k1, n1, k2, n2), rel=1e-9)  # two summation orders: 1e-9


def test_large_counts_use_the_z_test() -> None:
    k1, n1, k2, n2 = 2_000, 20_000, 150, 1_000  # smallest expected cell ~ 105 >= EXACT_BELOW
    assert min(n1, n2) * (k1 + k2) / (n1 + n2) >= EXACT_BELOW
    p, test = missing_p_value(k1, n1, k2, n2)
    _, p_chi2, _, _ = stats.chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False)
    assert test == "z"
    assert p == pytest.approx(p_chi2, rel=1e-9)  # normal tail vs chi2(1) tail: same number to 1e-9
    assert missing_p_value(0, 100, 0, 50) == (1.0, "none")
    assert missing_p_value(100, 100, 50, 50) == (1.0, "none")


def _constant_fires(profile: object, name: str, value: object, n: int) -> bool:
    import pandas as pd

    from detectors import WindowState
    from detectors.quality_hook import quality_findings

    state = WindowState.from_frame(profile, pd.DataFrame({name: [value] * n}))  # type: ignore[arg-type]
    return any(f.check == "constant" for f in quality_findings(profile, state, [name]))  # type: ignore[arg-type]


@pytest.mark.parametrize("share", [0.01, 0.05])
@pytest.mark.parametrize("kind", ["binary", "numeric"])
def test_constant_false_alarms_at_most_alpha(share: float, kind: str) -> None:
    """A column with a rare value: a window of unchanged data is single-valued with probability
    ``(1 - share) ** n + share ** n``; the check may fire on such a window only when that is below alpha.
    The old rule (any single-valued window) fired on 74% of 30-row windows with 1% positives."""
    import pandas as pd

    from detectors import ReferenceProfile

    positives = round(share * N_REFERENCE)
    values = np.array([1] * positives + [0] * (N_REFERENCE - positives))
    frame = pd.DataFrame({"flag": values.astype(float) if kind == "numeric" else values.astype(bool)})
    profile = ReferenceProfile.build(frame, {"flag": kind}, multivariate=False)
    zero: object = 0.0 if kind == "numeric" else False
    one: object = 1.0 if kind == "numeric" else True
    for n in (30, 200, 1_000, 10_000):
        p_zeros, p_ones = (1 - share) ** n, share**n
        alarms = p_zeros * _constant_fires(profile, "flag", zero, n) + p_ones * _constant_fires(profile, "flag", one, n)
        assert alarms <= ALPHA, (n, alarms)
    # power: a window stuck at the common value is caught once that is unlikely by chance
    n_needed = int(np.ceil(np.log(ALPHA) / np.log(1 - share))) + 1
    assert _constant_fires(profile, "flag", zero, n_needed)


def test_constant_on_a_capped_high_cardinality_column() -> None:
    """2,000 ids seen 10 times each, the profile keeps 1,000: a window stuck on one id is caught (the chance
    bound over the unkept ids is 2000 * (1/2000)**n), two equal values are not a finding."""
    import pandas as pd

    from detectors import ReferenceProfile

    ids = np.repeat([f"id{i}" for i in range(2000)], 10)
    profile = ReferenceProfile.build(pd.DataFrame({"item": ids}), multivariate=False)
    col = profile["item"]
    assert col.capped  # type: ignore[union-attr]
    kept = col.categories[0]  # type: ignore[union-attr]
    assert _constant_fires(profile, "item", kept, 3)
    assert not _constant_fires(profile, "item", kept, 1)
