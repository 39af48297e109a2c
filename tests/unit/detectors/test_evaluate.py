from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from detectors import (
    InsufficientDataError,
    MissingColumnError,
    ProfileMismatchError,
    ReferenceProfile,
    UnknownNameError,
    WindowState,
    evaluate,
)


def make_frame(
    n: int, seed: int, *, shift: float = 0.0, n_num: int = 3, n_cat: int = 2, levels: int = 5
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(n_num):
        data[f"num{i}"] = rng.normal(shift, 1.0, size=n)
    cats = [f"L{j:02d}" for j in range(levels)]
    for i in range(n_cat):
        data[f"cat{i}"] = rng.choice(cats, size=n)
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    return ReferenceProfile.build(make_frame(3000, 0))


def test_default_is_quiet_on_identical_distributions(profile: ReferenceProfile) -> None:
    report = evaluate(profile, make_frame(3000, 1))
    assert not report.dataset_drift and report.drift_share == 0.0
    assert {c.test for c in report.columns} == {"cramer_von_mises", "chisquare"}
    assert all(c.p_value_adjusted is not None and c.alpha == 0.01 for c in report.columns)


def test_default_flags_a_material_shift(profile: ReferenceProfile) -> None:
    report = evaluate(profile, make_frame(3000, 1, shift=0.5))
    assert report.drifted_columns == ["num0", "num1", "num2"]
    assert report.dataset_drift  # 3 of 5 columns >= 0.5


def test_evidently_preset_selection(profile: ReferenceProfile) -> None:
    report = evaluate(profile, make_frame(3000, 1), preset="evidently")
    assert [c.test for c in report.columns] == ["wasserstein"] * 3 + ["jensenshannon"] * 2
    small = ReferenceProfile.build(make_frame(500, 0))
    report = evaluate(small, make_frame(500, 1), preset="evidently")
    assert [c.test for c in report.columns] == ["ks"] * 3 + ["chisquare_gof"] * 2


def test_window_state_and_frame_give_the_same_report(profile: ReferenceProfile) -> None:
    frame = make_frame(2000, 5, shift=0.1)
    state = WindowState.empty(profile, seed=0)
    for start in range(0, 2000, 300):
        state.update(frame.iloc[start : start + 300])
    a, b = evaluate(profile, state), evaluate(profile, frame)
    assert_same_report(a.to_dict(), b.to_dict())


def assert_same_report(got: object, want: object, path: str = "report") -> None:
    """Equal structure and non-float values; floats equal within ``rel=1e-12``.

    Why a tolerance: the incremental state adds each batch's multivariate reconstruction errors to a running
    sum, the whole frame sums them in one pass, and BLAS may pick other kernels for other batch sizes, so the
    two sums can differ in the last bits (``0.8257092168448297`` vs ``...296``). Every count, verdict and name
    must still be equal.
    """
    if isinstance(want, float) and isinstance(got, float):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15, nan_ok=True), path
    elif isinstance(want, dict) and isinstance(got, dict):
        assert list(got) == list(want), path
        for key in want:
            assert_same_report(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list) and isinstance(got, list):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same_report(g, w, f"{path}[{i}]")
    else:
        assert got == want, path


def test_to_dict_is_json_safe() -> None:
    small = ReferenceProfile.build(make_frame(500, 0))
    frame = make_frame(100, 2)
    frame.loc[:, "cat0"] = "brand-new"
    d = evaluate(small, frame, preset="evidently").to_dict()
    text = json.dumps(d, allow_nan=False)
    assert '"brand-new": 100' in text
    cat0 = next(c for c in d["columns"] if c["name"] == "cat0")
    assert cat0["drifted"] and cat0["statistic"] is None  # infinite chi-square -> null
    assert {"name", "kind", "test", "statistic", "p_value", "threshold", "drifted"} <= set(cat0)


def test_unknown_names_list_the_valid_ones(profile: ReferenceProfile) -> None:
    frame = make_frame(100, 2)
    with pytest.raises(UnknownNameError, match="valid: default, evidently"):
        evaluate(profile, frame, preset="nannyml")
    with pytest.raises(UnknownNameError, match="valid: alpha, drift_share, min_effect, per_column"):
        evaluate(profile, frame, overrides={"thresold": 1})
    with pytest.raises(UnknownNameError, match=r"unknown test 'kss'.*ks,"):
        evaluate(profile, frame, overrides={"per_column": {"num0": {"test": "kss"}}})


def test_per_column_override_runs_a_registered_test(profile: ReferenceProfile) -> None:
    frame = make_frame(1000, 3)
    report = evaluate(profile, frame, overrides={"per_column": {"num0": {"test": "psi", "threshold": 0.2},
                                                                "cat1": {"test": "hellinger"}}})
    assert report.column("num0").test == "psi" and report.column("num0").threshold == 0.2
    assert report.column("cat1").test == "hellinger"
    assert report.column("num1").test == "cramer_von_mises"


def test_all_null_current_column_is_reported_not_skipped(profile: ReferenceProfile) -> None:
    frame = make_frame(200, 3)
    frame["num0"] = np.nan
    for preset in ("default", "evidently"):
        col = evaluate(profile, frame, preset=preset).column("num0")
        assert col.test == "all_null" and col.drifted and col.missing_rate_current == 1.0


def test_columns_restricts_the_evaluation(profile: ReferenceProfile) -> None:
    report = evaluate(profile, make_frame(200, 3)[["num0", "cat1"]], columns=["num0", "cat1"])
    assert [c.name for c in report.columns] == ["num0", "cat1"]
    with pytest.raises(MissingColumnError):
        evaluate(profile, make_frame(200, 3), columns=["nope"])


def test_errors_on_bad_current(profile: ReferenceProfile) -> None:
    with pytest.raises(MissingColumnError, match="'cat1' of current data"):
        evaluate(profile, make_frame(200, 3).drop(columns=["cat1"]))
    with pytest.raises(InsufficientDataError):
        evaluate(profile, WindowState.empty(profile))
    other = ReferenceProfile.build(make_frame(100, 9))
    with pytest.raises(ProfileMismatchError):
        evaluate(profile, WindowState.empty(other))


def test_missing_rates_are_reported(profile: ReferenceProfile) -> None:
    frame = make_frame(1000, 4)
    frame.loc[:249, "num1"] = np.nan
    col = evaluate(profile, frame).column("num1")
    assert col.missing_rate_reference == 0.0 and col.missing_rate_current == 0.25


def test_dataset_drift_share_override(profile: ReferenceProfile) -> None:
    frame = make_frame(3000, 1)
    frame["num0"] = frame["num0"] + 1.0
    assert not evaluate(profile, frame).dataset_drift
    assert evaluate(profile, frame, overrides={"drift_share": 0.2}).dataset_drift


def test_unseen_category_gets_its_own_bucket(profile: ReferenceProfile) -> None:
    frame = make_frame(3000, 1)
    frame.loc[:299, "cat0"] = "L99"
    col = evaluate(profile, frame).column("cat0")
    assert col.unseen_categories == (("L99", 300),)
    assert col.drifted and col.effect_size == pytest.approx(0.1, abs=0.02)


def test_pandas_frame_helpers_accept_int_and_float_mix() -> None:
    ref = pd.DataFrame({"code": np.tile(np.arange(5), 200)})
    prof = ReferenceProfile.build(ref)
    cur = pd.DataFrame({"code": np.tile([0.0, 1.0, 2.0, 3.0, 4.0, np.nan], 100)})
    col = evaluate(prof, cur).column("code")
    assert col.kind == "categorical" and col.unseen_categories == () and not col.drifted


def test_quality_findings_come_from_the_window_counters(profile: ReferenceProfile) -> None:
    frame = make_frame(2000, 6)
    frame.loc[:399, "num0"] = np.nan  # missing rate 0 -> 20%
    frame.loc[400:409, "num1"] = 1e6  # out of the reference range
    frame.loc[:99, "cat0"] = "L77"  # unseen category
    frame["cat1"] = "L01"  # constant
    report = evaluate(profile, frame)
    found = {(q.check, q.column) for q in report.quality}
    assert found == {("missing_rate", "num0"), ("out_of_range", "num1"), ("unseen_categories", "cat0"),
                     ("constant", "cat1")}
    d = report.to_dict()["quality"]
    assert all(q["triggered"] for q in d) and len(d) == 4
    assert evaluate(profile, make_frame(2000, 7)).quality == []
