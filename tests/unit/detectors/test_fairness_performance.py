"""detectors.fairness_performance against fairlearn.metrics.MetricFrame on seeded data, the coverage of its
intervals measured by simulation, single-class groups and bad names."""

from __future__ import annotations

import fairlearn.metrics as fm  # a dev dependency (pyproject): its absence fails the tests, never skips them
import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from detectors.errors import InvalidParameterError, UnknownNameError
from detectors.fairness import bonferroni_z
from detectors.fairness_performance import METRICS, performance_gap
from detectors.performance._ranking import average_precision, sort_scores
from detectors.performance.errors import PerformanceInputError

SKLEARN = {"roc_auc": roc_auc_score, "average_precision": average_precision_score, "log_loss": log_loss,
           "brier": brier_score_loss}
SEPARATION = {"a": 1.0, "b": 1.4, "c": 1.8}
"""Per group, the shift of the positives' logit: the true AUC is ``Phi(shift / sqrt(2))``."""


def _draw(rng: np.random.Generator, shift: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.random(n) < 0.3
    return y, 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + shift * y - 1.0)))


def _data(seed: int, n: int = 3000, k: int = 4, digits: int | None = 2) -> tuple[np.ndarray, ...]:
    """``k`` groups of different separation; scores rounded to ``digits`` (ties) unless None."""
    rng = np.random.default_rng(seed)
    groups = rng.choice([f"g{i}" for i in range(k)], size=n)
    y = (rng.random(n) < 0.35).astype(int)
    shift = 0.6 + 0.4 * np.array([int(g[1:]) for g in groups])
    scores = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + shift * y - 0.8)))
    return groups, y, scores if digits is None else np.round(scores, digits)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("base", list(SKLEARN))
def test_values_equal_fairlearn_metric_frame(seed: int, base: str) -> None:
    """Per group, the difference and (AUC, AP) the ratio equal MetricFrame's with the sklearn function,
    between groups and to a reference group, with and without tied scores."""
    groups, y, scores = _data(seed, digits=2 if seed % 2 else None)
    frame = fm.MetricFrame(metrics=SKLEARN[base], y_true=y, y_pred=scores, sensitive_features=groups)
    by_group = frame.by_group
    got = performance_gap(f"{base}_difference", groups, y, scores)
    for group, expected in by_group.items():
        assert got.groups[str(group)] == pytest.approx(expected, rel=1e-12, abs=1e-12), group
    assert got.value == pytest.approx(frame.difference(), rel=1e-12, abs=1e-12)
    ref = performance_gap(f"{base}_difference", groups, y, scores, reference_group="g1")
    expected_ref = max(abs(by_group[g] - by_group["g1"]) for g in by_group.index if g != "g1")
    assert ref.value == pytest.approx(expected_ref, rel=1e-12, abs=1e-12)
    assert got.value > 0.01 and not got.skipped  # the groups really differ
    if f"{base}_ratio" in METRICS:
        ratio = performance_gap(f"{base}_ratio", groups, y, scores)
        assert ratio.value == pytest.approx(frame.ratio(), rel=1e-12, abs=1e-12)
        ref_ratio = performance_gap(f"{base}_ratio", groups, y, scores, reference_group="g0")
        expected = min(min(by_group[g], by_group["g0"]) / max(by_group[g], by_group["g0"])
                       for g in by_group.index if g != "g0")
        assert ref_ratio.value == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert ratio.lower is not None and ratio.upper is not None
        assert ratio.lower <= ratio.value <= ratio.upper <= 1.0
    for res in (got, ref):
        assert res.lower is not None and res.upper is not None and 0 <= res.lower <= res.value <= res.upper


def test_difference_interval_is_the_bonferroni_wald_rule() -> None:
    """Two groups (one pair): the AUC gap's interval is ``|d| -/+ z sqrt(se_a^2 + se_b^2)`` with DeLong's
    standard errors recomputed here from the placement values, at ``z = Phi^-1(0.975)``; with three groups
    the same pair's interval is wider (Bonferroni over 3 pairs)."""
    rng = np.random.default_rng(3)
    ya, pa = _draw(rng, 1.8, 800)
    yb, pb = _draw(rng, 0.8, 800)

    def delong(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
        pos, neg = p[y], p[~y]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
        return float(v10.mean()), float(np.sqrt(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size))

    (auc_a, se_a), (auc_b, se_b) = delong(ya, pa), delong(yb, pb)
    groups = ["a"] * 800 + ["b"] * 800
    res = performance_gap("roc_auc_difference", groups, np.r_[ya, yb], np.r_[pa, pb])
    half = norm.ppf(0.975) * np.hypot(se_a, se_b)
    assert res.value == pytest.approx(auc_a - auc_b, abs=1e-12) and res.pair == ("a", "b")
    assert res.lower == pytest.approx(auc_a - auc_b - half, rel=1e-9)
    assert res.upper == pytest.approx(auc_a - auc_b + half, rel=1e-9)
    assert bonferroni_z(0.95, 3) == pytest.approx(norm.ppf(1 - 0.05 / 6), rel=1e-12)
    yc, pc = _draw(rng, 1.3, 800)
    three = performance_gap("roc_auc_difference", [*groups, *["c"] * 800], np.r_[ya, yb, yc], np.r_[pa, pb, pc])
    assert three.pair == ("a", "b") and three.upper is not None and three.upper > res.upper + 1e-3


def _truth(metric: str, reference_group: str | None) -> float:
    """The population gap: AUC in closed form, the other metrics on 2,000,000 rows per group."""
    base, _, kind = metric.rpartition("_")
    rng = np.random.default_rng(123)
    values = {}
    for g, shift in SEPARATION.items():
        if base == "roc_auc":
            values[g] = float(norm.cdf(shift / np.sqrt(2)))
            continue
        y, p = _draw(rng, shift, 2_000_000)
        if base == "average_precision":
            values[g] = average_precision(sort_scores(p, y))
        elif base == "brier":
            values[g] = float(np.mean((p - y) ** 2))
        else:
            values[g] = float(np.mean(-np.where(y, np.log(p), np.log1p(-p))))
    if reference_group is None:
        top, low = max(values.values()), min(values.values())
        return top - low if kind == "difference" else low / top
    others = [g for g in values if g != reference_group]
    r = values[reference_group]
    if kind == "difference":
        return max(abs(values[g] - r) for g in others)
    return min(min(values[g], r) / max(values[g], r) for g in others)


@pytest.mark.parametrize(("metric", "reference_group", "reps"), [
    ("roc_auc_difference", None, 1000),
    ("roc_auc_difference", "a", 1000),
    ("roc_auc_ratio", None, 1000),
    ("log_loss_difference", None, 1000),
    ("brier_difference", None, 1000),
    ("average_precision_difference", None, 200),
    ("average_precision_ratio", "a", 200),
])
def test_interval_coverage(metric: str, reference_group: str | None, reps: int) -> None:
    """Simulated windows of 3 groups of 400 labelled rows (prevalence 0.3, logit shifts 1.0/1.4/1.8): the
    fraction of 95% intervals that hold the true gap, in a band around 0.95 (seeded: the same fraction on
    every run). Measured: AUC difference 0.989 (0.977 to a reference group), AUC ratio 0.989, log loss
    difference 0.989, Brier difference 0.988 (1,000 windows each); AP difference 0.970 and AP ratio to a
    reference group 0.965 (200 windows each: the bootstrap is slow). Above 0.95 because Bonferroni over the
    3 pairs (2 to a reference) is conservative for the largest gap; AP lower than the others (its
    bootstrap SE of 200 replicates is itself noisy, and AP is biased upwards in small groups)."""
    truth = _truth(metric, reference_group)
    rng = np.random.default_rng(7)
    groups = np.repeat(list(SEPARATION), 400)
    covered = 0
    for _ in range(reps):
        drawn = [_draw(rng, shift, 400) for shift in SEPARATION.values()]
        res = performance_gap(metric, groups, np.concatenate([d[0] for d in drawn]),
                              np.concatenate([d[1] for d in drawn]), reference_group=reference_group)
        assert res.lower is not None and res.upper is not None
        covered += res.lower <= truth <= res.upper
    assert 0.95 <= covered / reps <= 0.995


def test_single_class_groups_are_skipped_and_named() -> None:
    groups, y, scores = _data(4, k=3)
    y[groups == "g2"] = 0  # g2: negatives only
    auc = performance_gap("roc_auc_difference", groups, y, scores)
    assert set(auc.groups) == {"g0", "g1"} and auc.skipped == {"g2": "one class only (AUC undefined)"}
    rows = groups != "g2"
    expected = fm.MetricFrame(metrics=roc_auc_score, y_true=y[rows], y_pred=scores[rows],
                              sensitive_features=groups[rows]).difference()
    assert auc.value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    ap = performance_gap("average_precision_ratio", groups, y, scores)
    assert ap.skipped == {"g2": "no positive label (average precision undefined)"} and set(ap.groups) == {"g0", "g1"}
    brier = performance_gap("brier_difference", groups, y, scores)  # a loss is defined on one class
    assert not brier.skipped and set(brier.groups) == {"g0", "g1", "g2"}
    one = np.r_[True, np.zeros(99, bool)]
    lone = performance_gap("roc_auc_difference", ["a"] * 100 + ["b"] * 100, np.r_[one, one], np.r_[scores[:200]])
    assert lone.value is None and lone.lower is None and set(lone.skipped) == {"a", "b"}
    assert "no DeLong variance" in lone.skipped["a"]


def test_too_few_rows_reference_absent_and_non_probabilities() -> None:
    groups, y, scores = _data(5, k=3)
    few = performance_gap("log_loss_difference", groups, y, scores, min_group_n=2000)
    assert few.value is None and set(few.skipped) == {"g0", "g1", "g2"} and "min_group_n (2000)" in few.skipped["g0"]
    assert performance_gap("roc_auc_difference", groups, y, scores, reference_group="zz").value is None
    wide = performance_gap("brier_difference", groups, y, scores * 3.0)
    assert wide.value is None and wide.skipped["g1"] == "scores outside [0, 1] are not probabilities"
    assert performance_gap("roc_auc_difference", groups, y, scores * 3.0).value is not None  # a rank: any scale


def test_bad_names_and_inputs() -> None:
    groups, y, scores = _data(6, n=300)
    with pytest.raises(UnknownNameError, match="'log_loss_ratio'") as info:
        performance_gap("log_loss_ratio", groups, y, scores)
    assert "roc_auc_difference" in str(info.value)
    with pytest.raises(UnknownNameError, match="'roc_auc'"):
        performance_gap("roc_auc", groups, y, scores)
    with pytest.raises(InvalidParameterError, match="confidence"):
        performance_gap("brier_difference", groups, y, scores, confidence=1.0)
    with pytest.raises(InvalidParameterError, match="min_group_n"):
        performance_gap("brier_difference", groups, y, scores, min_group_n=0)
    with pytest.raises(InvalidParameterError, match="as long as groups"):
        performance_gap("brier_difference", groups, y[:-1], scores[:-1])
    with pytest.raises(PerformanceInputError, match="non-finite value at row 3"):
        performance_gap("brier_difference", groups, y, np.r_[scores[:3], np.nan, scores[4:]])


def test_the_same_rows_give_the_same_bootstrap_interval() -> None:
    groups, y, scores = _data(8, n=1200, k=3)
    first = performance_gap("average_precision_difference", groups, y, scores)
    again = performance_gap("average_precision_difference", list(groups), y.tolist(), scores.tolist())
    assert first == again and first.lower is not None and first.lower < first.value
