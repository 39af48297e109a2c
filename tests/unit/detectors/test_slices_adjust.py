"""detectors.slices (pooled two-proportion test = 2x2 chi-square) and adjust_reports (joint BH)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, false_discovery_control

import detectors
from detectors.multiple_testing import adjust_reports, benjamini_hochberg
from detectors.profile import ReferenceProfile
from detectors.report import ColumnResult, DriftReport
from detectors.slices import worst_slices


def test_slice_p_value_equals_chi_square() -> None:
    """The pooled two-proportion z-test equals the uncorrected 2x2 chi-square test (z^2 = chi2)."""
    slices = {"a": (30, 200), "b": (80, 300), "c": (90, 310)}
    got = {s.name: s for s in worst_slices(slices, top=3)}
    total_k, total_n = 200, 810
    for name, (k, n) in slices.items():
        table = np.array([[k, n - k], [total_k - k, total_n - n - (total_k - k)]])
        _, p, _, _ = chi2_contingency(table, correction=False)
        # rtol 1e-9: normal tail vs chi-square(1) tail, two scipy paths
        assert got[name].p_value == pytest.approx(p, rel=1e-9)
    assert [s.q_value for s in got.values()] == benjamini_hochberg([s.p_value for s in got.values()])


def test_slices_rank_the_broken_segment_first() -> None:
    slices = {f"country={c}": (100, 400) for c in "ABCDEFGH"} | {"country=FR": (40, 400)}
    ranked = worst_slices(slices, top=5)
    assert ranked[0].name == "country=FR" and ranked[0].significant
    assert not any(s.significant for s in ranked[1:])
    assert len(ranked) == 5


def test_small_slices_untested() -> None:
    out = worst_slices({"a": (1, 5), "b": (50, 500)}, min_n=30)
    assert all(s.p_value is None and not s.significant for s in out)


def test_adjust_reports_joint_bh() -> None:
    """One family over every column of every report: the q-values are scipy's BH over all the raw p-values
    (not each report's own), and the verdicts follow ``q < alpha and effect >= min_effect``."""
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "y": rng.normal(size=3000)})
    profile = ReferenceProfile.build(ref)
    reports = [detectors.evaluate(profile, pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)}))
               for _ in range(20)]
    joint = adjust_reports(reports, alpha=0.05, min_effect=0.0)
    raw = [c.p_value for r in reports for c in r.columns]
    # rtol 1e-12: the same step-up rule, two implementations
    expected = false_discovery_control(raw, method="bh")
    assert [c.p_value_adjusted for r in joint for c in r.columns] == pytest.approx(list(expected), rel=1e-12)
    shifted = detectors.evaluate(profile, pd.DataFrame({"x": rng.normal(1, 1, size=300), "y": rng.normal(size=300)}))
    joint = adjust_reports([*reports, shifted], alpha=0.05, min_effect=0.0)
    assert joint[-1].column("x").drifted and joint[-1].drift_share == 0.5
    assert not any(r.dataset_drift for r in joint[:-1])


def test_joint_bh_does_not_flag_what_per_report_bh_would() -> None:
    """20 reports of 2 columns; one column has p = 0.004. Adjusted within its own report (m = 2) it would
    drift at alpha 0.01 (q = 0.008); in the window's one family (m = 40) q = 0.16 and it does not."""
    def report(p_x: float, p_y: float) -> DriftReport:
        cols = [ColumnResult(name, "numeric", "ks", 0.1, p, 0.1, True, 0.0, 0.0, effect_size=0.5)
                for name, p in (("x", p_x), ("y", p_y))]
        return DriftReport("default", True, 1.0, 0.5, cols)

    reports = [report(0.004, 0.9), *(report(0.5 + 0.02 * i, 0.95) for i in range(19))]
    own = false_discovery_control([0.004, 0.9], method="bh")
    assert own[0] == pytest.approx(0.008) and own[0] < 0.01  # what per-report adjustment would give
    joint = adjust_reports(reports, alpha=0.01, min_effect=0.1)
    x = joint[0].column("x")
    assert x.p_value_adjusted == pytest.approx(0.004 * 40, rel=1e-12) and not x.drifted
    assert all(r.drift_share == 0.0 for r in joint)
