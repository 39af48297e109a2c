"""Data-quality checks: rules at their boundaries, statistics against scipy/statsmodels/brute force."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from detectors.errors import InvalidParameterError
from detectors.quality import (
    ColumnReference,
    QualityConfig,
    check_column,
    constant_column_check,
    missing_rate_check,
    missing_rate_from_counts,
    out_of_range_check,
    out_of_range_from_counts,
    outside_range_p_value,
    two_proportion_p_value,
    type_violation_check,
    unseen_categories_check,
    unseen_categories_from_counts,
)


# -- missing rate ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(10, 1000, 30, 1000), (0, 50, 3, 40), (500, 10_000, 61, 1000)])
def test_two_proportion_p_value_equals_scipy_chi2_without_correction(k1: int, n1: int, k2: int, n2: int) -> None:
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    z, p_ours = two_proportion_p_value(k1, n1, k2, n2)
    assert p_ours == pytest.approx(p, rel=1e-9)
    assert z**2 == pytest.approx(chi2, rel=1e-9)
    assert math.copysign(1, z) == math.copysign(1, k2 / n2 - k1 / n1)


def test_two_proportion_p_value_equals_statsmodels() -> None:
    from statsmodels.stats import proportion  # installed with evidently: a missing one must fail, not skip

    z_sm, p_sm = proportion.proportions_ztest([37, 21], [800, 700])
    z, p = two_proportion_p_value(21, 700, 37, 800)
    assert z == pytest.approx(z_sm, rel=1e-12)
    assert p == pytest.approx(p_sm, rel=1e-12)


def test_two_proportion_without_variance() -> None:
    assert two_proportion_p_value(0, 100, 0, 50) == (0.0, 1.0)
    assert two_proportion_p_value(100, 100, 50, 50) == (0.0, 1.0)


def test_nulls_of_every_flavour_are_counted() -> None:
    import pandas as pd

    values = np.array([1.0, None, float("nan"), np.nan, pd.NA, pd.NaT, "x", math.inf, 0], dtype=object)
    r = missing_rate_check("c", values, reference_missing=0, reference_rows=100)
    assert (r.count, r.n) == (5, 9)  # inf and "x" are values, not nulls
    assert missing_rate_check("d", np.array(["2024-01-01", "NaT"], dtype="datetime64[D]"),
                              reference_missing=0, reference_rows=10).count == 1  # fmt: skip


def test_missing_rule_needs_both_significance_and_the_floor() -> None:
    # huge sample, tiny change: p is tiny but the change (0.1 -> 0.2 points) is below the 1-point floor
    r = missing_rate_from_counts("c", 2000, 1_000_000, reference_missing=1000, reference_rows=1_000_000)
    assert r.p_value is not None and r.p_value < 1e-50
    assert not r.triggered
    # big change on a tiny window: above the floor but not significant
    r = missing_rate_from_counts("c", 1, 10, reference_missing=50, reference_rows=1000)
    assert r.value == pytest.approx(0.05)
    assert r.p_value is not None and r.p_value > 0.001
    assert not r.triggered
    # both
    r = missing_rate_from_counts("c", 120, 1000, reference_missing=50, reference_rows=1000)
    assert r.triggered and r.value == pytest.approx(0.07) and r.reference_value == pytest.approx(0.05)
    assert "12.00% (120 of 1000)" in r.message and "5.00%" in r.message
    # a drop in missing values is also a change
    assert missing_rate_from_counts("c", 0, 1000, reference_missing=100, reference_rows=1000).triggered


def test_missing_rate_array_and_counts_versions_agree() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    x[rng.random(2000) < 0.08] = np.nan
    a = missing_rate_check("c", x, reference_missing=30, reference_rows=1000)
    b = missing_rate_from_counts("c", int(np.isnan(x).sum()), 2000, reference_missing=30, reference_rows=1000)
    assert a == b


# -- out of range ----------------------------------------------------------------------------------
def _brute_force_sf(n: int, m: int) -> list[float]:
    """P(K >= k) by enumerating every arrangement of n reference and m current values."""
    counts: Counter[int] = Counter()
    for ref_positions in itertools.combinations(range(n + m), n):
        lo, hi = min(ref_positions), max(ref_positions)
        counts[lo + (n + m - 1 - hi)] += 1
    total = sum(counts.values())
    return [sum(c for k, c in counts.items() if k >= j) / total for j in range(m + 1)]


@pytest.mark.parametrize(("n", "m"), [(2, 3), (4, 5), (6, 4), (3, 8)])
def test_outside_range_p_value_equals_brute_force(n: int, m: int) -> None:
    expected = _brute_force_sf(n, m)
    got = [outside_range_p_value(k, m, n) if k else 1.0 for k in range(m + 1)]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)


def test_outside_range_p_value_matches_simulation_and_mean() -> None:
    n, m, reps = 200, 300, 20_000
    rng = np.random.default_rng(1)
    ref = rng.random((reps, n))
    cur = rng.random((reps, m))
    k = ((cur < ref.min(axis=1, keepdims=True)) | (cur > ref.max(axis=1, keepdims=True))).sum(axis=1)
    for threshold in (2, 4, 8):
        p = outside_range_p_value(threshold, m, n)
        se = math.sqrt(p * (1 - p) / reps)
        assert abs((k >= threshold).mean() - p) < 4 * se
    mean = sum(outside_range_p_value(j, m, n) for j in range(1, m + 1))  # E[K] = sum of P(K >= j)
    assert mean == pytest.approx(2 * m / (n + 1), rel=1e-9)


def test_out_of_range_stays_quiet_where_alert_on_any_fires() -> None:
    """Stationary continuous data: 'any value outside' fires often, the exact test (alpha=0.001) does not."""
    rng = np.random.default_rng(2)
    any_outside, alarms = 0, 0
    for _ in range(300):
        ref = rng.normal(size=2000)
        cur = rng.normal(size=1000)
        r = out_of_range_check("x", cur, reference_min=ref.min(), reference_max=ref.max(), reference_count=2000)
        any_outside += r.count > 0
        alarms += r.triggered
    assert any_outside >= 100  # E[K] = 2000/2001 ~ 1 value per window: P(K >= 1) ~ 0.6
    assert alarms <= 2


def test_out_of_range_detects_a_shift_and_names_the_values() -> None:
    parts = [*np.linspace(0, 1, 980), *[1.5] * 10, *[-2.0] * 5, *[math.inf] * 5, *[np.nan] * 7, *["abc"] * 3]
    x = np.array(parts, dtype=object)
    r = out_of_range_check("p", x, reference_min=0.0, reference_max=1.0, reference_count=10_000)
    assert (r.count, r.n) == (20, 1000)  # NaN and text are not numbers here
    assert r.triggered
    assert r.examples == (("inf", 5), ("-2", 5), ("1.5", 10))
    assert "inf x5, -2 x5, 1.5 x10" in r.message
    assert r.reference_value == pytest.approx(2 / 10_001)


def test_out_of_range_rule_boundaries() -> None:
    kwargs = {"reference_min": 0.0, "reference_max": 1.0, "reference_count": 100_000}
    assert not out_of_range_from_counts("x", 0, 1000, **kwargs).triggered
    assert out_of_range_from_counts("x", 10, 1000, **kwargs).triggered
    assert not out_of_range_from_counts("x", 10, 1000, max_share=0.01, **kwargs).triggered  # share == max
    assert out_of_range_from_counts("x", 11, 1000, max_share=0.01, **kwargs).triggered
    # the boundary itself is inside
    r = out_of_range_check("x", [0.0, 1.0, 0.5], reference_min=0.0, reference_max=1.0, reference_count=10)
    assert r.count == 0


# -- unseen categories -----------------------------------------------------------------------------
def test_unseen_categories_which_and_how_many() -> None:
    labels = ["a"] * 50 + ["b"] * 40 + ["new"] * 7 + ["other"] * 3 + [None] * 10
    r = unseen_categories_check("c", labels, reference_categories=["a", "b", "c"])
    assert (r.count, r.n) == (10, 100)
    assert r.examples == (("new", 7), ("other", 3))
    assert r.value == pytest.approx(0.10)
    assert r.triggered
    assert "'new' x7, 'other' x3" in r.message
    quiet = unseen_categories_check("c", labels, reference_categories=["a", "b", "c"], min_count=11)
    assert not quiet.triggered
    assert not unseen_categories_check("c", ["a", None], reference_categories=["a"]).triggered


def test_unseen_categories_counts_version_and_cap() -> None:
    unseen = {f"u{i}": i + 1 for i in range(8)}
    r = unseen_categories_from_counts("c", unseen, 1000, max_examples=3)
    assert r.count == 36
    assert r.examples == (("u7", 8), ("u6", 7), ("u5", 6))
    assert r.message.endswith("and 5 more")


# -- constant column -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "reference_distinct", "triggered"),
    [
        ([2.0, 2.0, np.nan, 2.0], 10_000, True),  # chance 1e4 * 1e-12
        ([2.0, 2.0, 3.0], 10_000, False),
        ([2.0, 2.0], 1, False),  # constant in the reference too
        ([2.0], 10_000, False),  # below min_rows
        ([np.nan, np.nan], 10_000, False),  # all missing: the missing-rate check's business
        (np.array(["x"] * 8 + [None], dtype=object), 3, True),  # chance 3 / 3**8 = 4.6e-4
        (np.array(["x"] * 6 + [None], dtype=object), 3, False),  # chance 3 / 3**6 = 4.1e-3
    ],
)
def test_constant_column_rule(values: object, reference_distinct: int, triggered: bool) -> None:
    r = constant_column_check("c", values, reference_counts=[7] * reference_distinct)  # type: ignore[arg-type]
    assert r.triggered is triggered


# -- type violations -------------------------------------------------------------------------------
def test_type_violations_in_a_numeric_column() -> None:
    values = [1, 2.5, "3.5", "N/A", b"\x00", True, math.inf, -math.inf, {"a": 1}, None, np.nan,
              dt.datetime(2024, 1, 1), np.float32(1.0), np.int64(3)]  # fmt: skip
    r = type_violation_check("n", values, kind="numeric")
    assert (r.count, r.n) == (7, 12)
    assert r.triggered
    for part in ("str x2", "inf x2", "bool x1", "bytes x1", "dict x1"):
        assert part in r.message
    assert type_violation_check("n", values, kind="numeric", allow_inf=True).count == 5


def test_type_violations_on_float_and_bool_arrays() -> None:
    assert type_violation_check("n", np.array([1.0, np.inf, np.nan]), kind="numeric").count == 1
    assert not type_violation_check("n", np.array([1.0, 2.0]), kind="numeric").triggered
    assert type_violation_check("n", np.array([True, False]), kind="numeric").count == 2
    cat = type_violation_check("c", np.array([1.0, 2.0, 2.5, np.nan]), kind="categorical")
    assert (cat.count, cat.n) == (1, 3)
    assert "non-integral float x1" in cat.message


def test_type_violations_in_a_categorical_column() -> None:
    r = type_violation_check("c", ["a", 3, True, 2.0, 2.7, ["x"], None], kind="categorical")
    assert (r.count, r.n) == (2, 6)
    assert r.examples == (("2.7", 1), ("['x']", 1))


# -- check_column ----------------------------------------------------------------------------------
def test_check_column_numeric() -> None:
    ref = ColumnReference.from_profile(
        SimpleNamespace(kind="numeric", n_rows=1000, n_null=10, n_distinct=990, n_finite=990, min=0.0, max=1.0,
                        values=np.linspace(0.0, 1.0, 990))
    )
    values = np.array([0.5] * 900 + [None] * 50 + ["bad"] * 20 + [math.inf] * 10 + [5.0] * 20, dtype=object)
    results = check_column("x", values, ref)
    by = {r.check: r for r in results}
    assert [r.check for r in results] == ["missing_rate", "type_violations", "out_of_range", "constant"]
    assert by["missing_rate"].triggered and by["missing_rate"].count == 50
    assert by["type_violations"].count == 30
    assert by["out_of_range"].count == 20  # inf is a type violation, not counted twice
    assert by["out_of_range"].n == 920
    assert not by["constant"].triggered  # 0.5 and 5.0
    with_inf = {r.check: r for r in check_column("x", values, ref, config=QualityConfig(allow_inf=True))}
    assert with_inf["out_of_range"].count == 30


def test_check_column_categorical_with_default_labels() -> None:
    ref = ColumnReference.from_profile(
        SimpleNamespace(kind="categorical", n_rows=500, n_null=0, categories=("1", "2", "3"), counts=(100, 200, 200))
    )
    values = np.array([1.0, 2.0, 2.0, 4.0, np.nan] * 40)
    by = {r.check: r for r in check_column("code", values, ref)}
    assert [*by] == ["missing_rate", "type_violations", "unseen_categories", "constant"]
    assert by["unseen_categories"].examples == (("4", 40),)
    assert not by["type_violations"].triggered
    only_one = {r.check: r for r in check_column("code", ["2"] * 20 + [None], ref, labels=["2"] * 20 + [None])}
    assert only_one["constant"].triggered  # chance 0.2**20 + 2 * 0.4**20 = 2.2e-8
    two = {r.check: r for r in check_column("code", ["2", "2", None], ref, labels=["2", "2", None])}
    assert not two["constant"].triggered  # chance 0.36: two equal values are no news
    no_counts = ColumnReference.from_profile(
        SimpleNamespace(kind="categorical", n_rows=500, n_null=0, categories=("1", "2", "3"))
    )
    assert "constant" not in {r.check for r in check_column("code", ["2"] * 20, no_counts)}


def test_results_are_json_safe_and_errors_name_the_parameter() -> None:
    r = missing_rate_check("c", [], reference_missing=0, reference_rows=10)
    assert not r.triggered and r.n == 0
    json.dumps(r.to_dict(), allow_nan=False)
    with pytest.raises(InvalidParameterError, match="reference_rows"):
        missing_rate_check("c", [1.0], reference_missing=0, reference_rows=0)
    with pytest.raises(InvalidParameterError, match="kind"):
        type_violation_check("c", [1.0], kind="text")
    with pytest.raises(InvalidParameterError, match="reference_min"):
        out_of_range_check("c", [1.0], reference_min=2.0, reference_max=1.0, reference_count=5)


def test_public_api_is_pinned() -> None:
    import detectors.quality as quality

    assert set(quality.__all__) == {
        "ColumnReference", "QualityConfig", "QualityResult", "check_column", "constant_column_check",
        "constant_from_counts", "default_labels", "missing_rate_check", "missing_rate_from_counts",
        "out_of_range_check", "out_of_range_from_counts", "outside_range_p_value", "two_proportion_p_value",
        "type_violation_check", "type_violations_from_counts", "unseen_categories_check",
        "unseen_categories_from_counts",
    }  # fmt: skip
    assert all(hasattr(quality, name) for name in quality.__all__)
