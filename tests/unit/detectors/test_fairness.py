"""detectors.fairness against fairlearn.metrics on seeded data, and the coverage of its intervals."""

from __future__ import annotations

import fairlearn.metrics as fm  # a dev dependency (pyproject): its absence fails the tests, never skips them
import numpy as np
import pytest

from detectors.errors import UnknownNameError
from detectors.fairness import fairness_metric, group_counts


def _data(seed: int, n: int = 3000, k: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = rng.choice([f"g{i}" for i in range(k)], size=n)
    base = {f"g{i}": 0.2 + 0.1 * i for i in range(k)}
    y_true = rng.random(n) < 0.4
    rate = np.array([base[g] for g in groups]) + 0.3 * y_true
    y_pred = rng.random(n) < rate
    return groups, y_pred.astype(int), y_true.astype(int)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_values_equal_fairlearn(seed: int) -> None:
    groups, y_pred, y_true = _data(seed)
    counts = group_counts(groups, y_pred, y_true)
    # rtol 1e-12: fairlearn computes each rate with sklearn (float means), we with integer counts
    pairs = {
        "demographic_parity_difference": fm.demographic_parity_difference(y_true, y_pred, sensitive_features=groups),
        "demographic_parity_ratio": fm.demographic_parity_ratio(y_true, y_pred, sensitive_features=groups),
        "equal_opportunity_difference": fm.equal_opportunity_difference(y_true, y_pred, sensitive_features=groups),
        "equal_opportunity_ratio": fm.equal_opportunity_ratio(y_true, y_pred, sensitive_features=groups),
        "false_positive_rate_difference": fm.false_positive_rate_difference(
            y_true, y_pred, sensitive_features=groups),
        "accuracy_difference": fm.accuracy_score_difference(y_true, y_pred, sensitive_features=groups),
        "accuracy_ratio": fm.accuracy_score_ratio(y_true, y_pred, sensitive_features=groups),
    }
    for metric, expected in pairs.items():
        got = fairness_metric(metric, counts)
        assert got.value == pytest.approx(expected, rel=1e-12, abs=1e-12), metric
        assert got.lower is not None and got.upper is not None
        assert got.lower <= got.value <= got.upper, metric


def test_group_rates_equal_metric_frame() -> None:
    from sklearn.metrics import precision_score, recall_score

    groups, y_pred, y_true = _data(5)
    frame = fm.MetricFrame(metrics={"selection_rate": fm.selection_rate, "true_positive_rate": recall_score,
                                    "precision": precision_score, "false_positive_rate": fm.false_positive_rate},
                           y_true=y_true, y_pred=y_pred, sensitive_features=groups)
    counts = group_counts(groups, y_pred, y_true)
    for rate in ("selection_rate", "true_positive_rate", "precision", "false_positive_rate"):
        got = fairness_metric(f"{rate}_difference", counts).groups
        for group, expected in frame.by_group[rate].items():
            assert got[str(group)] == pytest.approx(expected, rel=1e-12, abs=1e-12), (rate, group)
    ref = fairness_metric("selection_rate_difference", counts, reference_group="g0")
    by_group = frame.by_group["selection_rate"]
    expected = max(abs(by_group[g] - by_group["g0"]) for g in by_group.index if g != "g0")
    assert ref.value == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("metric", ["demographic_parity_difference", "demographic_parity_ratio"])
def test_interval_coverage(metric: str) -> None:
    """Simulated windows of 3 groups: the interval covers the true gap in >= 93% of 400 windows at 95%."""
    rng = np.random.default_rng(11)
    rates = {"a": 0.3, "b": 0.25, "c": 0.35}
    truth = 0.35 - 0.25 if metric.endswith("difference") else 0.25 / 0.35
    covered = 0
    for _ in range(400):
        groups = rng.choice(list(rates), size=900)
        positive = rng.random(900) < np.array([rates[g] for g in groups])
        res = fairness_metric(metric, group_counts(groups, positive))
        covered += res.lower <= truth <= res.upper
    assert covered / 400 >= 0.93


def test_min_group_and_unknown() -> None:
    counts = group_counts(["a"] * 50 + ["b"] * 3, [1] * 20 + [0] * 30 + [1, 1, 1])
    assert fairness_metric("demographic_parity_difference", counts, min_group_n=10).value is None
    assert fairness_metric("demographic_parity_difference", counts).value == pytest.approx(0.6, abs=1e-15)
    with pytest.raises(UnknownNameError, match="fairness metric"):
        fairness_metric("parity", counts)


@pytest.mark.parametrize("metric", ["demographic_parity_difference", "demographic_parity_ratio"])
@pytest.mark.parametrize("reference_group", [None, "g0"])
def test_intervals_are_bonferroni_over_the_pairs_per_statsmodels(metric: str, reference_group: str | None) -> None:
    """Each pair's interval from statsmodels (Newcombe's hybrid score for differences, Katz's log interval
    for ratios) at level ``1 - 0.05 / m``, ``m`` the compared pairs, combined by the module's rule; and it
    is strictly wider than the pairs' unadjusted 95% intervals would give."""
    from itertools import combinations

    from statsmodels.stats.proportion import confint_proportions_2indep

    groups, y_pred, _ = _data(7, n=2400, k=4)
    counts = group_counts(groups, y_pred)
    kn = {g: (int(y_pred[groups == g].sum()), int((groups == g).sum())) for g in sorted(set(groups))}
    pairs = ([(g, "g0") for g in kn if g != "g0"] if reference_group else list(combinations(kn, 2)))

    def combined(alpha: float) -> tuple[float, float]:
        lows, highs = [], []
        for a, b in pairs:
            if metric.endswith("difference"):
                lo, hi = confint_proportions_2indep(*kn[a], *kn[b], method="newcomb", compare="diff", alpha=alpha)
                lo, hi = (lo, hi) if lo > 0 else (-hi, -lo) if hi < 0 else (0.0, max(-lo, hi))
            else:
                low_g, high_g = sorted((a, b), key=lambda g: kn[g][0] / kn[g][1])
                lo, hi = confint_proportions_2indep(*kn[low_g], *kn[high_g], method="log", compare="ratio",
                                                    alpha=alpha)
                hi = min(1.0, hi)
            lows.append(float(lo))
            highs.append(float(hi))
        pick = max if metric.endswith("difference") else min
        return pick(lows), pick(highs)

    got = fairness_metric(metric, counts, reference_group=reference_group)
    assert len(pairs) == (3 if reference_group else 6)
    lower, upper = combined(0.05 / len(pairs))
    # rtol 1e-9: the same closed forms, computed by two libraries
    assert got.lower == pytest.approx(lower, rel=1e-9, abs=1e-12)
    assert got.upper == pytest.approx(upper, rel=1e-9, abs=1e-12)
    plain_lower, plain_upper = combined(0.05)
    assert got.lower < plain_lower - 1e-3 and (got.upper > plain_upper + 1e-3 or got.upper == 1.0)
