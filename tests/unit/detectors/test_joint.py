"""The multivariate (PCA reconstruction) detector wired through profile, window state and evaluate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from detectors import ProfileFormatError, ReferenceProfile, WindowState, evaluate
from detectors._container import pack, unpack
from detectors.joint import default_chunk_size, usable_columns

N_REF = 20_000
WINDOW = 2_000  # = default_chunk_size(N_REF): the window size the band is calibrated for


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
    assert profile.multivariate.chunk_size == default_chunk_size(N_REF) == WINDOW
    assert 0 <= profile.multivariate.threshold_lower < profile.multivariate.threshold_upper


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
    assert ReferenceProfile.build(frame(199, 0.8, 0)).multivariate is None  # < two chunks of 100 rows
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
    header, arrays = unpack(profile.to_bytes(), source="t", expected_format="driftwarden-profile", max_version=2)
    old = {**header, "format_version": 1}
    del old["multivariate"]
    with pytest.raises(ProfileFormatError, match=r"format_version 1 is no longer supported.*rebuild"):
        ReferenceProfile.from_bytes(pack(old, arrays), source="old.npz")
    tampered = json.loads(json.dumps(header))
    tampered["multivariate"]["detector"]["n_sigma"] = 0.5
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
