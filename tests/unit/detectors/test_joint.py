"""The multivariate (PCA reconstruction) detector wired through profile, window state and evaluate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from detectors import ProfileFormatError, ReferenceProfile, WindowState, evaluate
from detectors._container import pack, unpack
from detectors.joint import MIN_REFERENCE_ROWS, fit_joint, usable_columns
from detectors.profile import FORMAT_VERSION

N_REF = 20_000
WINDOW = 2_000


def frame(n: int, rho: float, seed: int) -> pd.DataFrame:
    """``a, b, c`` share a factor (correlation ``rho``), every marginal is N(0, 1) whatever ``rho``."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = np.sqrt(rho) * f + np.sqrt(1 - rho) * rng.normal(size=(n, 3))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": rng.normal(size=n),
                         "k": rng.choice(list("xyz"), size=n)})


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    return ReferenceProfile.build(frame(N_REF, 0.8, seed=0))


def test_profile_fits_the_detector_on_usable_columns(profile: ReferenceProfile) -> None:
    assert profile.multivariate is not None
    assert profile.multivariate_columns == ("a", "b", "c", "d", "k")
    lower, upper = profile.multivariate.thresholds(WINDOW)
    assert 0 <= lower < upper
    with pytest.raises(ValueError, match="chunk_size"):
        fit_joint(frame(1000, 0.8, 0), profile.columns, chunk_size=100)


def test_build_has_no_chunk_size() -> None:
    """The band is set per window size: ``ReferenceProfile.build`` takes no ``chunk_size`` any more."""
    with pytest.raises(TypeError, match="chunk_size"):
        ReferenceProfile.build(frame(600, 0.8, 0), chunk_size=100)  # type: ignore[call-arg]


def independent(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {f"x{i}": rng.normal(size=n) for i in range(40)}
    cols.update({f"c{i}": rng.integers(0, 20, n).astype(str) for i in range(10)})
    return pd.DataFrame(cols)


def test_unchanged_independent_columns_do_not_alarm_issue_20() -> None:
    """Issue #20 end to end: 40 independent normal and 10 categorical columns (20 levels), a 20k reference,
    1k windows of unchanged data. The in-sample chunk band flagged all of them (statistic 4.16-4.19 vs
    [4.03, 4.11]); at a 0.1% rate, 2 alarms in 20 windows have probability 2e-4."""
    profile = ReferenceProfile.build(independent(N_REF, 0))
    results = [evaluate(profile, independent(1_000, 100 + i)).multivariate for i in range(20)]
    assert all(r is not None and r.n_rows == 1_000 for r in results)
    assert sum(bool(r.drifted) for r in results if r is not None) <= 1


def test_verdict_holds_for_the_window_size_and_none_below_the_minimum(profile: ReferenceProfile) -> None:
    detector = profile.multivariate
    assert detector is not None
    for n in (200, 1_000, 5_000):
        report = evaluate(profile, frame(n, 0.8, seed=40 + n)).multivariate
        assert report is not None and report.n_rows == n
        assert (report.lower, report.upper) == detector.thresholds(n)
    small = evaluate(profile, frame(150, 0.0, seed=41))
    assert small.multivariate is not None and small.multivariate.drifted is None
    assert small.to_dict()["multivariate"]["drifted"] is None
    assert small.to_dict()["multivariate"]["upper"] is None  # NaN band: null in JSON


def test_correlation_change_is_caught_only_by_the_multivariate_test(profile: ReferenceProfile) -> None:
    report = evaluate(profile, frame(WINDOW, 0.0, seed=11))
    assert report.multivariate is not None and report.multivariate.drifted
    assert report.multivariate.statistic > report.multivariate.upper
    assert report.drifted_columns == []  # marginals unchanged: no per-column test fires
    assert not report.dataset_drift
    assert report.to_dict()["multivariate"]["drifted"] is True


def test_stationary_windows_are_quiet(profile: ReferenceProfile) -> None:
    verdicts = [evaluate(profile, frame(WINDOW, 0.8, seed=100 + i)).multivariate for i in range(20)]
    assert all(v is not None and v.n_rows == WINDOW for v in verdicts)
    assert sum(v.drifted for v in verdicts if v is not None) <= 1


def test_window_state_streaming_merge_and_checkpoint_match_the_frame(profile: ReferenceProfile) -> None:
    cur = frame(WINDOW, 0.0, seed=12)
    whole = evaluate(profile, cur).multivariate
    a = WindowState.empty(profile, seed=0, max_values=100)  # sampling columns does not touch the joint score
    b = WindowState.empty(profile, seed=1, max_values=100)
    for start in range(0, WINDOW, 300):
        (a if start % 600 == 0 else b).update(cur.iloc[start:start + 300])
    merged = WindowState.from_bytes(a.merge(b).to_bytes(), profile)
    streamed = evaluate(profile, merged).multivariate
    assert whole is not None and streamed is not None
    assert streamed.n_rows == WINDOW
    assert streamed.statistic == pytest.approx(whole.statistic, rel=1e-12)


def test_no_detector_when_switched_off_too_small_or_too_few_columns() -> None:
    assert ReferenceProfile.build(frame(5000, 0.8, 0), multivariate=False).multivariate is None
    assert ReferenceProfile.build(frame(MIN_REFERENCE_ROWS - 1, 0.8, 0)).multivariate is None
    assert ReferenceProfile.build(frame(MIN_REFERENCE_ROWS, 0.8, 0)).multivariate is not None
    one = frame(5000, 0.8, 0)[["a"]].assign(const=1.0)
    p = ReferenceProfile.build(one)
    assert usable_columns(p.columns) == ("a",) and p.multivariate is None
    assert evaluate(p, one.iloc[:500]).multivariate is None


def test_restricted_columns_skip_the_multivariate_test(profile: ReferenceProfile) -> None:
    assert evaluate(profile, frame(WINDOW, 0.0, 3), columns=["a", "b"]).multivariate is None


def test_round_trip_keeps_the_detector(profile: ReferenceProfile, tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "ref.npz"  # type: ignore[operator]
    profile.save(path)
    for loaded in (ReferenceProfile.load(path), ReferenceProfile.from_bytes(profile.to_bytes())):
        assert loaded.content_hash == profile.content_hash
        assert loaded.multivariate is not None and profile.multivariate is not None
        assert loaded.multivariate_columns == profile.multivariate_columns
        assert loaded.multivariate.to_dict() == profile.multivariate.to_dict()
        cur = frame(WINDOW, 0.0, 5)
        assert evaluate(loaded, cur).multivariate == evaluate(profile, cur).multivariate
    off = ReferenceProfile.build(frame(5000, 0.8, 0), multivariate=False)
    assert ReferenceProfile.from_bytes(off.to_bytes()).multivariate is None
    assert off.content_hash != ReferenceProfile.build(frame(5000, 0.8, 0)).content_hash


def test_old_format_version_and_tampered_detector_are_rejected(profile: ReferenceProfile) -> None:
    header, arrays = unpack(profile.to_bytes(), source="t", expected_format="driftwarden-profile",
                            max_version=FORMAT_VERSION)
    old = {**header, "format_version": 1}
    del old["multivariate"]
    with pytest.raises(ProfileFormatError, match=r"format_version 1 is no longer supported.*rebuild"):
        ReferenceProfile.from_bytes(pack(old, arrays), source="old.npz")
    tampered = json.loads(json.dumps(header))
    tampered["multivariate"]["detector"]["band"]["alpha"] = 0.5
    with pytest.raises(ProfileFormatError, match="content hash mismatch"):
        ReferenceProfile.from_bytes(pack(tampered, arrays))
    broken = json.loads(json.dumps(header))
    broken["multivariate"]["columns"] = ["a"]
    with pytest.raises(ProfileFormatError, match="multivariate columns"):
        ReferenceProfile.from_bytes(pack(broken, arrays))


def test_multivariate_columns_restrict_the_detector() -> None:
    ref = frame(5000, 0.8, 0)
    p = ReferenceProfile.build(ref, multivariate_columns=["a", "b", "k"])
    assert p.multivariate_columns == ("a", "b", "k") and p.multivariate is not None
    assert p.multivariate.n_features == 3
    assert evaluate(p, ref.iloc[:500], columns=["a", "b", "k"]).multivariate is not None
    with pytest.raises(ValueError, match="nope"):
        ReferenceProfile.build(ref, multivariate_columns=["a", "nope"])


def test_the_builds_label_positions_encode_as_the_lookup_does() -> None:
    """The profile build hands its own label positions to the joint matrix: the same matrix as looking the
    values up, with nulls, levels the profile does not keep (``max_levels``) and non-string objects."""
    from detectors.columns import CategoricalProfile
    from detectors.joint import joint_matrix

    rng = np.random.default_rng(21)
    n = 3000
    mixed = rng.choice(np.array(["a", "b", 1, 2.5, None, "rare1", "rare2"], dtype=object), size=n,
                       p=[0.3, 0.3, 0.15, 0.1, 0.1, 0.03, 0.02])
    data = pd.DataFrame({"x": rng.normal(size=n), "m": pd.Series(mixed, dtype=object),
                         "s": rng.choice(np.array(["u", "v", "w", None], dtype=object), size=n)})
    for max_levels in (2, 3, 1000):
        columns, codes = {}, {}
        for name in ("m", "s"):
            columns[name], codes[name] = CategoricalProfile.build_with_codes(
                name, data[name], "categorical", max_levels=max_levels)
        columns["x"] = ReferenceProfile.build(data[["x"]], multivariate=False)["x"]
        names = ("x", "m", "s")
        assert np.array_equal(joint_matrix(columns, names, data, codes), joint_matrix(columns, names, data),
                              equal_nan=True)
