"""What a window close computes (statistics from sorted counts, cached profile counts, quality examples, the
multivariate encoding, category lookups, archive reads) equals bit for bit the direct computation."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from detectors import ReferenceProfile, WindowState
from detectors.column_windows import CategoricalWindow
from detectors.columns import CategoricalProfile, NumericProfile
from detectors.joint import joint_matrix
from detectors.kinds import to_labels
from detectors.multivariate import PCAReconstruction, _category_table, _encode, _Encoding, single_threaded_blas
from detectors.quality.range import outside_range_p_value
from detectors.quality_hook import MAX_EXAMPLES, _numeric, quality_findings
from detectors.stattests.cramer_von_mises import cvm_ks_sorted, sorted_self_counts

FloatArray = npt.NDArray[np.float64]


def plain_cvm_ks_sorted(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """The former implementation: eight searches of sorted keys."""
    n, m = x.size, y.size
    x_le_x, y_le_x = np.searchsorted(x, x, side="right"), np.searchsorted(y, x, side="right")
    x_le_y, y_le_y = np.searchsorted(x, y, side="right"), np.searchsorted(y, y, side="right")
    x_lt_x, y_lt_x = np.searchsorted(x, x, side="left"), np.searchsorted(y, x, side="left")
    x_lt_y, y_lt_y = np.searchsorted(x, y, side="left"), np.searchsorted(y, y, side="left")
    d = max(np.max(np.abs(x_le_x / n - y_le_x / m)), np.max(np.abs(x_le_y / n - y_le_y / m)))
    rx = (x_lt_x + y_lt_x + x_le_x + y_le_x + 1) / 2.0
    ry = (x_lt_y + y_lt_y + x_le_y + y_le_y + 1) / 2.0
    u = n * np.sum((rx - np.arange(1, n + 1)) ** 2) + m * np.sum((ry - np.arange(1, m + 1)) ** 2)
    k, total = float(n) * m, float(n + m)
    t = u / (k * total) - (4 * k - 1) / (6 * total)
    return float(t), float(d)


def sample_pairs() -> list[tuple[FloatArray, FloatArray]]:
    rng = np.random.default_rng(11)
    pairs = [
        (np.array([1.0]), np.array([1.0])),
        (np.array([1.0]), np.array([0.0, 2.0])),
        (np.array([0.0, -0.0, 0.0]), np.array([-0.0, 0.0])),  # -0.0 == 0.0: one run
        (np.array([1.0, 2.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])),
        (np.array([1.0, 2.0, 3.0]), np.array([-5.0, 10.0])),  # y outside x on both sides
        (np.array([5.0, 5.0]), np.array([1.0, 2.0, 3.0])),  # all of y below x
    ]
    for n, m, decimals in [(5000, 5000, 4), (5000, 392, 1), (300, 4000, 2), (1000, 1000, 0), (64, 7, 12)]:
        x = rng.normal(size=n).round(decimals)
        y = rng.normal(0.3, 1.2, size=m).round(decimals)
        pairs.append((x, y))
    pairs.append((rng.integers(0, 5, 800).astype(float), rng.integers(2, 9, 600).astype(float)))  # heavy ties
    return [(np.sort(x), np.sort(y)) for x, y in pairs]


@pytest.mark.parametrize("pair", sample_pairs())
def test_cvm_ks_sorted_equals_the_eight_searches(pair: tuple[FloatArray, FloatArray]) -> None:
    x, y = pair
    expected = plain_cvm_ks_sorted(x, y)
    assert cvm_ks_sorted(x, y) == expected
    le, lt = sorted_self_counts(x)
    assert cvm_ks_sorted(x, y, x_counts=(le.astype(np.int32), lt.astype(np.int32))) == expected


@pytest.mark.parametrize("pair", sample_pairs())
def test_sorted_self_counts_are_the_self_searches(pair: tuple[FloatArray, FloatArray]) -> None:
    for a in pair:
        le, lt = sorted_self_counts(a)
        assert np.array_equal(le, np.searchsorted(a, a, side="right"))
        assert np.array_equal(lt, np.searchsorted(a, a, side="left"))
    le, lt = sorted_self_counts(np.empty(0))
    assert le.size == lt.size == 0


def test_profile_self_counts_cached_and_exact() -> None:
    rng = np.random.default_rng(3)
    profile = ReferenceProfile.build(pd.DataFrame({"x": rng.normal(size=3000).round(2)}))
    col = profile["x"]
    assert isinstance(col, NumericProfile)
    le, lt = col.self_counts
    assert col.self_counts is col.self_counts
    assert np.array_equal(le, np.searchsorted(col.values, col.values, side="right"))
    assert np.array_equal(lt, np.searchsorted(col.values, col.values, side="left"))
    assert not le.flags.writeable and not lt.flags.writeable
    assert ReferenceProfile.from_bytes(profile.to_bytes()).content_hash == profile.content_hash


def plain_examples(held: FloatArray, lo: float, hi: float) -> tuple[tuple[tuple[str, int], ...], int]:
    """The former out-of-range examples: a mask over every held value."""
    out_values = held[(held < lo) | (held > hi)]
    uniq, counts = np.unique(out_values, return_counts=True)
    order = np.lexsort((uniq, -counts))[:MAX_EXAMPLES]
    return tuple((repr(float(uniq[i])), int(counts[i])) for i in order), int(uniq.size)


@pytest.mark.parametrize("shift", [0.0, 0.5, 3.0, -4.0])
def test_out_of_range_examples_equal_the_masked_computation(shift: float) -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=2000).round(1)})
    profile = ReferenceProfile.build(ref)
    cur = rng.normal(shift, 1.5, size=3000).round(1)
    cur[:7] = ref["x"].min()  # values on the bounds are inside
    cur[7:12] = ref["x"].max()
    state = WindowState.from_frame(profile, pd.DataFrame({"x": cur}))
    col, win = profile["x"], state.numeric("x")
    assert isinstance(col, NumericProfile)
    expected, distinct = plain_examples(win.sorted_values(), col.min, col.max)
    found = [f for f in _numeric(col, win) if f.check == "out_of_range"]  # triggered or not
    assert len(found) == 1 and found[0].examples == expected
    if distinct > len(expected):
        assert found[0].message.endswith(f" and {distinct - len(expected)} more")
    assert [f.check for f in quality_findings(profile, state, ["x"])].count("out_of_range") == int(
        found[0].triggered)


def test_outside_range_p_value_cache_is_the_function() -> None:
    for args in [(0, 10, 10), (1, 5000, 5000), (3, 5000, 5000), (12, 392, 5000), (7, 6, 100)]:
        assert outside_range_p_value(*args) == outside_range_p_value.__wrapped__(*args)


def plain_encode(x: FloatArray, enc: _Encoding) -> FloatArray:
    """The former encoding loop (one masked assignment per numeric column)."""
    out = np.array(x, dtype=np.float64, copy=True)
    finite = np.isfinite(out)
    for j in range(out.shape[1]):
        if j not in enc.categorical:
            out[~finite[:, j], j] = enc.impute[j]
    for i, j in enumerate(enc.categorical):
        col = x[:, j]
        ok = finite[:, j]
        codes, freqs = enc.codes[i], enc.freqs[i]
        encoded = np.zeros(col.shape[0])
        if codes.size:
            pos = np.clip(np.searchsorted(codes, col[ok]), 0, codes.size - 1)
            hit = codes[pos] == col[ok]
            encoded[ok] = np.where(hit, freqs[pos], 0.0)
        encoded[~ok] = enc.missing_freqs[i]
        out[:, j] = encoded
    return out


@pytest.mark.parametrize("holes", [False, True])
def test_encode_equals_the_column_loop(holes: bool) -> None:
    rng = np.random.default_rng(8)
    n = 3000
    ref = np.column_stack([rng.normal(size=n), rng.integers(0, 4, n).astype(float), rng.normal(size=n),
                           rng.integers(0, 3, n).astype(float)])
    ref[rng.random(n) < 0.05, 1] = np.nan
    detector = PCAReconstruction.fit(ref, categorical_columns=[1, 3])
    cur = np.column_stack([rng.normal(size=700), rng.integers(-1, 6, 700).astype(float), rng.normal(size=700),
                           rng.integers(0, 3, 700).astype(float)])
    if holes:
        for j, bad in [(0, np.nan), (0, np.inf), (1, np.nan), (2, -np.inf), (3, np.nan), (1, np.inf), (3, -np.inf),
                       (1, 2.5), (3, -0.0), (1, 1e9), (3, -1.0), (1, 2.0**70)]:
            cur[rng.random(700) < 0.05, j] = bad
    enc = detector._encoding
    table = _category_table(enc)
    assert table is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in (cur, ref):
            expected = plain_encode(x, enc)
            assert np.array_equal(_encode(x, enc), expected, equal_nan=True)
            assert np.array_equal(_encode(x, enc, table), expected, equal_nan=True)
    assert np.array_equal(detector.transform(cur), (plain_encode(cur, enc) - enc.means) / enc.scales)


def test_category_table_only_for_small_integer_codes() -> None:
    rng = np.random.default_rng(9)
    ref = np.column_stack([rng.normal(size=1000), rng.choice([0.5, 1.0, 2.0], 1000)])
    detector = PCAReconstruction.fit(ref, categorical_columns=[1])
    assert _category_table(detector._encoding) is None  # 0.5 is no index: the search path
    cur = np.column_stack([rng.normal(size=50), rng.choice([0.5, 1.0, 3.0, np.nan], 50)])
    assert np.array_equal(_encode(cur, detector._encoding), plain_encode(cur, detector._encoding))


def test_single_threaded_blas_restores_the_thread_count() -> None:
    import threadpoolctl  # a dependency (pyproject.toml): a missing one must fail, not skip
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    with single_threaded_blas():
        inside = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    after = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert after == before
    assert all(t == 1 for t in inside)


def odd_labels() -> npt.NDArray[np.object_]:
    values: list[Any] = ["a", "b", None, np.nan, "zz", np.str_("c"), 1, 2.0, True, "", "a", float("inf"), "c"]
    return np.array(values * 40, dtype=object)


def test_lookup_codes_shared_with_the_joint_matrix_change_nothing() -> None:
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(size=400), "k": rng.choice(["a", "b", "c", "1", "2", "True"], 400)})
    profile = ReferenceProfile.build(ref)
    col = profile["k"]
    assert isinstance(col, CategoricalProfile)
    raw = odd_labels()
    batch = {"x": rng.normal(size=raw.size), "k": raw}

    win = CategoricalWindow.empty(col, 1000)
    codes = win.lookup_codes(raw)
    assert codes is not None
    index = pd.Index(list(col.categories), dtype=object)
    plain = index.get_indexer(raw)
    assert np.array_equal(codes[codes >= 0], plain[codes >= 0])  # every value found is found as before

    # the counts are those of the labels of every value (the definition, without any lookup shortcut)
    labels = to_labels(pd.Series(raw, dtype=object))
    label_codes = index.get_indexer(labels)
    null = pd.isna(labels)
    unseen = pd.Series(labels[(label_codes < 0) & ~null]).value_counts()
    for known in (codes, None):
        counted = CategoricalWindow.empty(col, 1000)
        counted.update(raw, source="t", codes=known)
        assert counted.n_rows == raw.size and counted.n_null == int(null.sum())
        assert np.array_equal(counted.counts, np.bincount(label_codes[label_codes >= 0], minlength=len(index)))
        assert counted.unseen == {str(k): int(v) for k, v in unseen.items()}

    names = ("x", "k")
    shared = joint_matrix(profile.columns, names, batch, {"k": codes})
    alone = joint_matrix(profile.columns, names, batch)
    assert np.array_equal(shared, alone, equal_nan=True)


def test_hash_table_lookup_equals_the_dict_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    import detectors.column_windows as wc

    col = ReferenceProfile.build(pd.DataFrame({"k": ["a", "b", "c", "1", "True", "nan"] * 20}))["k"]
    assert isinstance(col, CategoricalProfile)
    raw = odd_labels()
    fast = CategoricalWindow.empty(col, 10).lookup_codes(raw)
    monkeypatch.setattr(wc, "_ObjectTable", None)
    plain = CategoricalWindow.empty(col, 10).lookup_codes(raw)
    assert fast is not None and plain is not None and fast.dtype == plain.dtype == np.intp
    assert np.array_equal(fast, plain)
    cats = col.categories
    strings_only = np.array([cats.index(v) if isinstance(v, str) and v in cats else -1 for v in raw])
    assert np.array_equal(fast[fast >= 0], strings_only[fast >= 0])


def test_unhashable_label_is_a_miss() -> None:
    ref = pd.DataFrame({"k": ["a", "b"] * 50})
    col = ReferenceProfile.build(ref)["k"]
    assert isinstance(col, CategoricalProfile)
    win = CategoricalWindow.empty(col, 10)
    codes = win.lookup_codes(np.array(["a", ["a"], "b"], dtype=object))
    assert codes is not None and codes.tolist() == [0, -1, 1]


def test_window_state_with_shared_lookups_equals_the_column_updates() -> None:
    rng = np.random.default_rng(4)
    n = 1200
    ref = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "k": rng.choice(list("pqr"), n),
                        "j": rng.choice(list("uv"), n)})
    profile = ReferenceProfile.build(ref)
    state = WindowState.empty(profile, seed=1)
    manual = WindowState.empty(profile, seed=1)
    for size in (512, 300, 77):
        raw_k = rng.choice(np.array(["p", "q", "r", "s", None], dtype=object), size)
        batch = {"a": rng.normal(size=size), "b": rng.normal(size=size), "k": raw_k,
                 "j": rng.choice(["u", "v"], size).astype(object)}
        state.update(batch)
        # the same rows, each column through the plain (own lookup) path
        detector = profile.multivariate
        assert detector is not None
        manual.joint.add(detector, joint_matrix(profile.columns, profile.multivariate_columns, batch))
        for name in ("a", "b"):
            manual.numeric(name).update(batch[name], manual._rng, source="t")
        for name in ("k", "j"):
            manual.categorical(name).update(batch[name], source="t")
        manual._n_rows += size
    assert state.to_bytes() == manual.to_bytes()


def test_chi2_sf_is_scipys() -> None:
    from scipy import stats

    from detectors.stattests.chisquare import chi2_sf

    rng = np.random.default_rng(1)
    values = [*rng.exponential(5, 2000), *rng.uniform(0, 1e-6, 100), *rng.uniform(0, 3000, 500),
              0.0, -0.0, -1.0, np.inf, 1e-300, 5e-324, 1e308]
    for df in (1, 2, 3, 4, 7, 30, 999):
        for x in values:
            assert chi2_sf(float(x), df) == float(stats.chi2.sf(float(x), df))
    assert np.isnan(chi2_sf(np.nan, 2)) and np.isnan(stats.chi2.sf(np.nan, 2))


def test_bin_counts_cached_until_the_next_update() -> None:
    rng = np.random.default_rng(6)
    profile = ReferenceProfile.build(pd.DataFrame({"x": rng.normal(size=1000)}))
    state = WindowState.empty(profile, seed=0)
    for shift in (0.0, 3.0, -3.0):
        state.update({"x": rng.normal(shift, 1, 300)})
        win = state.numeric("x")
        fresh = win._count_bins(np.sort(win.held()), is_sorted=True)
        assert np.array_equal(win._all_bins(), fresh) and win._all_bins() is win._all_bins()
        assert win.n_below == fresh[0] and win.n_above == fresh[-1]


@pytest.mark.parametrize("values", [[0.0, -0.0, 1.0], [-0.0, 0.0], [3.0], [2.0, -5.5, 7.25, 7.25]])
def test_min_max_without_the_moments_are_the_moments(values: list[float]) -> None:
    from detectors.column_windows import _Moments

    profile = ReferenceProfile.build(pd.DataFrame({"x": np.linspace(-1, 1, 50)}))
    state = WindowState.empty(profile, seed=0)
    state.update({"x": np.array(values)})
    win = state.numeric("x")
    summary = _Moments.of(win.sorted_values())
    got = (win.min, win.max)
    assert got == (summary.min, summary.max) and repr(got) == repr((summary.min, summary.max))
    assert win._cached_summary is None  # the mean and sum of squares were not needed
    assert (win.mean, win.min, win.max) == (summary.mean, summary.min, summary.max)


def test_cvm_pvalue_with_kept_coefficients_is_the_series() -> None:
    import math

    from scipy import special

    from detectors.stattests import cramer_von_mises as cvm

    def plain_cdf(x: float) -> float:
        total, k = 0.0, 0
        while True:
            u = math.exp(special.gammaln(k + 0.5) - special.gammaln(k + 1)) / (math.pi**1.5 * math.sqrt(x))
            y = 4 * k + 1
            q = y * y / (16 * x)
            z = u * math.sqrt(y) * math.exp(-q) * float(special.kv(0.25, q))
            total += z
            if abs(z) < 1e-7:
                return total
            k += 1

    for x in (0.004, 0.01, 0.05, 0.1, 0.17, 0.3, 0.5, 1.0, 2.5, 7.0, 30.0):
        assert cvm._cdf_cvm_inf(x) == plain_cdf(x)
        assert cvm._cdf_cvm_inf(x) == plain_cdf(x)  # again, from the kept coefficients
    t, d = cvm.cvm_ks_sorted(np.sort(np.random.default_rng(0).normal(size=300)), np.linspace(-2, 2, 200))
    assert 0.0 <= cvm.cvm_pvalue_asymptotic(t, 300, 200) <= 1.0 and d > 0


def test_row_errors_are_the_norms_of_the_residuals() -> None:
    from detectors.multivariate import _complement, _row_errors

    rng = np.random.default_rng(12)
    for rows in (1, 7, 392, 512, 1000):
        z = rng.normal(size=(rows, 9)) * rng.uniform(0.01, 50, 9)
        for k in (0, 1, 4, 8, 9):
            components = np.linalg.qr(rng.normal(size=(9, 9)))[0][:k].copy()
            with single_threaded_blas():
                expected = np.linalg.norm(z - (z @ components.T) @ components, axis=1)
                got = _row_errors(z, _complement(components))
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(z).max())


def _np_load_members(data: bytes) -> dict[str, npt.NDArray[Any]]:
    import io

    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def test_plain_npy_members_read_as_np_load_reads_them() -> None:
    from detectors._container import _plain_members, pack

    rng = np.random.default_rng(13)
    n = 1500
    ref = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "k": rng.choice(list("xyz"), n),
                        "e": rng.integers(0, 4, n).astype(float)})
    profile = ReferenceProfile.build(ref)
    state = WindowState.empty(profile, seed=2, max_values=100)  # sampled: priorities and bin counts too
    state.update({"a": rng.normal(size=300), "b": rng.normal(size=300),
                  "k": np.array(list("xyzw") * 75, dtype=object), "e": rng.integers(0, 4, 300).astype(float)})
    odd = pack({"format": "x", "format_version": 1},
               {"zero_d": np.array(7, dtype=np.int64), "two_d": rng.normal(size=(3, 4)), "empty": np.empty(0),
                "i32": np.arange(5, dtype=np.int32), "flags": np.array([True, False]),
                "big": np.arange(4, dtype=">f8"), "u8": np.arange(3, dtype=np.uint8)})
    for data in (profile.to_bytes(), state.to_bytes(), odd):
        fast, plain = _plain_members(data), _np_load_members(data)
        assert fast is not None and list(fast) == list(plain)
        for key in plain:
            assert fast[key].dtype == plain[key].dtype and fast[key].shape == plain[key].shape
            assert fast[key].tobytes() == plain[key].tobytes() and fast[key].flags.writeable
    assert ReferenceProfile.from_bytes(profile.to_bytes()).content_hash == profile.content_hash
    assert WindowState.from_bytes(state.to_bytes(), profile).to_bytes() == state.to_bytes()


def test_unusual_archives_are_left_to_np_load() -> None:
    import io

    from detectors import ProfileFormatError
    from detectors._container import _plain_members, unpack

    buf = io.BytesIO()
    np.savez(buf, header=np.frombuffer(b'{"format": "x", "format_version": 1}', dtype=np.uint8),
             f=np.asfortranarray(np.arange(6.0).reshape(2, 3)), c=np.arange(3) * 1j)
    data = buf.getvalue()
    assert _plain_members(data) is None  # Fortran order, complex: np.load reads them
    header, arrays = unpack(data, source="t", expected_format="x", max_version=1)
    assert header["format"] == "x" and np.array_equal(arrays["f"], np.arange(6.0).reshape(2, 3))
    damaged = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
    with pytest.raises(ProfileFormatError):
        unpack(damaged, source="t", expected_format="x", max_version=1)
    with pytest.raises(ProfileFormatError):
        unpack(b"not a zip", source="t", expected_format="x", max_version=1)
