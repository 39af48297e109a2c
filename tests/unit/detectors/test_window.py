from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors import (
    IncompatibleTypeError,
    MissingColumnError,
    ProfileFormatError,
    ProfileMismatchError,
    ReferenceProfile,
    WindowState,
)
from detectors.column_windows import OTHER_UNSEEN


def _profile(seed: int = 0) -> ReferenceProfile:
    rng = np.random.default_rng(seed)
    return ReferenceProfile.build(pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b", "c"], 300)}))


def _batch(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[::10] = np.nan
    c = rng.choice(np.array(["a", "b", "c", "new", None], dtype=object), n)
    return pd.DataFrame({"x": x, "c": c})


def test_nulls_are_counted_not_dropped() -> None:
    w = WindowState.empty(_profile(), seed=0)
    w.update(pd.DataFrame({"x": [1.0, np.nan, np.inf, None], "c": ["a", None, "zz", "b"]}))
    x, c = w.numeric("x"), w.categorical("c")
    assert (w.n_rows, x.n_rows, x.n_null, x.n_inf, x.n_finite) == (4, 4, 2, 1, 1)
    assert (c.n_rows, c.n_null, c.unseen, int(c.counts.sum())) == (4, 1, {"zz": 1}, 2)


def test_moments_match_numpy() -> None:
    w = WindowState.empty(_profile(), seed=0)
    frames = [_batch(n, s) for n, s in [(50, 1), (1, 2), (400, 3)]]
    for f in frames:
        w.update(f)
    allx = pd.concat(frames)["x"].to_numpy()
    allx = allx[np.isfinite(allx)]
    x = w.numeric("x")
    assert x.mean == pytest.approx(allx.mean(), rel=1e-12)
    assert x.std == pytest.approx(allx.std(), rel=1e-12)
    np.testing.assert_array_equal(x.sorted_values(), np.sort(allx))


def test_merge_equals_single_pass_below_the_cap() -> None:
    p = _profile()
    a, b, whole = (WindowState.empty(p, seed=s) for s in (1, 2, 3))
    fa, fb = _batch(200, 10), _batch(300, 11)
    a.update(fa)
    b.update(fb)
    whole.update(fa)
    whole.update(fb)
    m = a.merge(b)
    assert m.n_rows == whole.n_rows == 500
    np.testing.assert_array_equal(m.numeric("x").sorted_values(), whole.numeric("x").sorted_values())
    np.testing.assert_array_equal(m.categorical("c").counts, whole.categorical("c").counts)
    assert m.categorical("c").unseen == whole.categorical("c").unseen
    np.testing.assert_array_equal(m.numeric("x").bin_counts, whole.numeric("x").bin_counts)
    assert a.n_rows == 200  # merge does not mutate its inputs


def test_memory_bound_and_uniform_sample_above_the_cap() -> None:
    p = _profile()
    w = WindowState.empty(p, max_values=1000, seed=0)
    for s in range(20):
        w.update(pd.DataFrame({"x": np.full(500, float(s)), "c": ["a"] * 500}))
    x = w.numeric("x")
    assert x.sampled and x.held().size == 1000 and x.n_finite == 10_000
    # every batch should be represented about equally: 50 of each value expected
    counts = np.bincount(x.held().astype(int), minlength=20)
    assert counts.min() > 20 and counts.max() < 90
    assert x.mean == pytest.approx(9.5)


def test_merge_of_sampled_states_keeps_the_bound() -> None:
    p = _profile()
    a = WindowState.empty(p, max_values=500, seed=1)
    b = WindowState.empty(p, max_values=500, seed=2)
    a.update(pd.DataFrame({"x": np.zeros(2000), "c": ["a"] * 2000}))
    b.update(pd.DataFrame({"x": np.ones(2000), "c": ["b"] * 2000}))
    m = a.merge(b)
    held = m.numeric("x").held()
    assert held.size == 500 and 150 < held.sum() < 350


def test_merge_rejects_another_reference() -> None:
    a = WindowState.empty(_profile(0))
    b = WindowState.empty(_profile(1))
    with pytest.raises(ProfileMismatchError, match=r"WindowState\.merge"):
        a.merge(b)


def test_unseen_categories_are_capped_into_one_bucket() -> None:
    w = WindowState.empty(_profile(), max_unseen=2, seed=0)
    w.update(pd.DataFrame({"x": np.zeros(5), "c": ["u1", "u2", "u3", "u4", "u1"]}))
    assert w.categorical("c").unseen == {"u1": 2, "u2": 1, OTHER_UNSEEN: 2}


def test_bytes_round_trip_restores_a_state_that_continues_identically() -> None:
    p = _profile()
    w = WindowState.empty(p, max_values=100, seed=5)
    w.update(_batch(300, 1))
    clone = WindowState.from_bytes(w.to_bytes(), p)
    w.update(_batch(300, 2))
    clone.update(_batch(300, 2))
    np.testing.assert_array_equal(w.numeric("x").sorted_values(), clone.numeric("x").sorted_values())
    assert w.categorical("c").unseen == clone.categorical("c").unseen
    assert w.n_rows == clone.n_rows == 600


def test_from_bytes_checks_profile_and_format() -> None:
    w = WindowState.empty(_profile(0))
    with pytest.raises(ProfileMismatchError):
        WindowState.from_bytes(w.to_bytes(), _profile(1))
    with pytest.raises(ProfileFormatError, match="checkpoint-7"):
        WindowState.from_bytes(b"junk", _profile(0), source="checkpoint-7")
    with pytest.raises(ProfileFormatError, match="not a driftwarden-window"):
        WindowState.from_bytes(_profile(0).to_bytes(), _profile(0))


def test_update_needs_every_column_and_compatible_types() -> None:
    w = WindowState.empty(_profile())
    with pytest.raises(MissingColumnError, match="'c' of current data"):
        w.update({"x": np.zeros(3)})
    with pytest.raises(IncompatibleTypeError, match="'x'"):
        w.update({"x": np.array(["a", "b"], dtype=object), "c": np.array(["a", "b"], dtype=object)})


def test_mapping_of_arrays_is_accepted() -> None:
    w = WindowState.empty(_profile())
    w.update({"x": np.arange(4.0), "c": np.array(["a", "b", "a", "q"], dtype=object)})
    assert w.n_rows == 4 and w.categorical("c").unseen == {"q": 1}


def test_out_of_range_and_bin_counts_stay_exact_when_sampling() -> None:
    p = _profile()
    lo, hi = p["x"].min, p["x"].max  # type: ignore[union-attr]
    w = WindowState.empty(p, max_values=50, seed=0)
    values = np.concatenate([np.full(30, lo - 1), np.full(20, hi + 1), np.zeros(500), [lo, hi]])
    for chunk in np.array_split(values, 7):
        w.update({"x": chunk, "c": np.array(["a"] * chunk.size, dtype=object)})
    x = w.numeric("x")
    assert x.sampled and (x.n_below, x.n_above) == (30, 20)
    assert int(x.bin_counts.sum()) == values.size
    exact = WindowState.from_frame(p, {"x": values, "c": np.array(["a"] * values.size, dtype=object)})
    np.testing.assert_array_equal(x.bin_counts, exact.numeric("x").bin_counts)
    assert x.mean == pytest.approx(values.mean()) and x.std == pytest.approx(values.std())
    assert (x.min, x.max) == (lo - 1, hi + 1)
    restored = WindowState.from_bytes(w.to_bytes(), p).numeric("x")
    assert (restored.n_below, restored.n_above, restored.mean) == (30, 20, x.mean)


def test_lenient_update_counts_non_numbers_instead_of_raising() -> None:
    p = _profile()
    w = WindowState.empty(p, seed=0)
    batch = {"x": np.array([1.0, "oops", None, "2.5", np.inf], dtype=object), "c": np.array(["a"] * 5, dtype=object)}
    with pytest.raises(IncompatibleTypeError):
        w.update(batch)
    w = WindowState.empty(p, seed=0)
    w.update(batch, strict=False)
    x = w.numeric("x")
    assert (x.n_rows, x.n_invalid, x.n_null, x.n_inf, x.n_finite) == (5, 1, 1, 1, 2)
    restored = WindowState.from_bytes(w.to_bytes(), p).numeric("x")
    assert restored.n_invalid == 1
    from detectors.quality_hook import quality_findings

    found = [f for f in quality_findings(p, w, ["x"]) if f.check == "type_violations"]
    assert found and "non-numeric" in found[0].message


def test_a_rejected_batch_leaves_the_state_untouched() -> None:
    rng = np.random.default_rng(0)
    p = ReferenceProfile.build(pd.DataFrame({"c": rng.choice(["a", "b"], 100), "x": rng.normal(size=100)}))
    w = WindowState.empty(p, seed=0)
    with pytest.raises(IncompatibleTypeError):
        w.update({"c": np.array(["a", "b"], dtype=object), "x": np.array(["bad", "worse"], dtype=object)})
    assert w.n_rows == 0 and w.categorical("c").n_rows == 0


def test_summaries_follow_updates() -> None:
    w = WindowState.empty(_profile(), seed=0)
    w.update({"x": np.array([1.0, 2.0]), "c": np.array(["a", "a"], dtype=object)})
    assert w.numeric("x").mean == 1.5
    w.update({"x": np.array([6.0]), "c": np.array(["a"], dtype=object)})
    w.numeric("x").sorted_values()
    assert (w.numeric("x").mean, w.numeric("x").max) == (3.0, 6.0)


def test_state_without_the_joint_score() -> None:
    """``multivariate=False`` (a segment's state): no joint score, no multivariate verdict; the flag survives
    ``to_bytes``/``from_bytes`` and ``merge``; the columns are the same as with it."""
    import numpy as np
    import pandas as pd

    from detectors.profile import ReferenceProfile
    from detectors.window_state import WindowState

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({f"x{i}": rng.normal(size=2000) for i in range(4)})
    profile = ReferenceProfile.build(ref)
    assert profile.multivariate is not None
    batch = {f"x{i}": rng.normal(size=300) for i in range(4)}
    full, bare = WindowState.empty(profile, seed=1), WindowState.empty(profile, seed=1, multivariate=False)
    full.update(batch)
    bare.update(batch)
    assert full.multivariate() is not None and bare.multivariate() is None and bare.joint.n == 0
    assert bare.numeric("x0").arrays()["values"].tolist() == full.numeric("x0").arrays()["values"].tolist()
    again = WindowState.from_bytes(bare.to_bytes(), profile)
    assert not again.track_joint and WindowState.from_bytes(full.to_bytes(), profile).track_joint
    assert not again.merge(bare).track_joint
