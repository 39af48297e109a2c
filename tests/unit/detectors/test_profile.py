from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detectors import IncompatibleTypeError, MissingColumnError, ProfileFormatError, ReferenceProfile, UnknownNameError
from detectors.columns import CategoricalProfile, NumericProfile


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.normal(10, 2, size=500)
    x[:5] = np.nan
    x[5] = np.inf
    return pd.DataFrame(
        {
            "x": x,
            "n_small": rng.integers(0, 4, size=500),
            "flag": rng.integers(0, 2, size=500).astype(bool),
            "city": rng.choice(["paris", "rome", "oslo"], size=500),
            "big_int": rng.integers(0, 10_000, size=500),
        }
    )


def test_kinds_are_inferred_and_overridable() -> None:
    p = ReferenceProfile.build(_frame())
    assert p.kinds == {"x": "numeric", "n_small": "categorical", "flag": "binary", "city": "categorical",
                       "big_int": "numeric"}
    q = ReferenceProfile.build(_frame(), kinds={"n_small": "numeric"})
    assert q.kinds["n_small"] == "numeric"
    with pytest.raises(UnknownNameError, match="valid: binary, categorical, numeric"):
        ReferenceProfile.build(_frame(), kinds={"x": "text"})


def test_numeric_summary_counts_nulls_and_infinities() -> None:
    col = ReferenceProfile.build(_frame())["x"]
    assert isinstance(col, NumericProfile)
    assert (col.n_rows, col.n_null, col.n_inf, col.n_finite) == (500, 5, 1, 494)
    assert col.missing_rate == pytest.approx(0.01)
    finite = _frame()["x"].to_numpy()
    finite = np.sort(finite[np.isfinite(finite)])
    np.testing.assert_array_equal(col.values, finite)
    assert col.std == np.std(finite) and col.min == finite[0] and col.max == finite[-1]
    assert col.bin_counts.sum() == 494 and col.bin_counts.size == col.bin_edges.size + 1


def test_categories_are_sorted_labels_with_counts() -> None:
    col = ReferenceProfile.build(_frame())["city"]
    assert isinstance(col, CategoricalProfile)
    assert col.categories == ("oslo", "paris", "rome")
    assert col.counts.sum() == 500


def test_large_reference_is_sampled_to_the_cap() -> None:
    frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=5000)})
    col = ReferenceProfile.build(frame, max_values=1000)["x"]
    assert isinstance(col, NumericProfile)
    assert col.sampled and col.values.size == 1000 and col.n_finite == 5000
    assert np.all(np.diff(col.values) >= 0)


def test_bytes_and_file_round_trip(tmp_path: Path) -> None:
    p = ReferenceProfile.build(_frame()).with_version(3)
    q = ReferenceProfile.from_bytes(p.to_bytes())
    assert q.content_hash == p.content_hash and q.version == 3 and q.kinds == p.kinds
    path = tmp_path / "ref.dwp"
    p.save(path)
    r = ReferenceProfile.load(path)
    assert r.content_hash == p.content_hash
    np.testing.assert_array_equal(r["x"].values, p["x"].values)  # type: ignore[union-attr]


def test_version_is_not_part_of_the_hash() -> None:
    p = ReferenceProfile.build(_frame())
    assert p.with_version(7).content_hash == p.content_hash


def test_content_hash_changes_with_the_data() -> None:
    f = _frame()
    g = f.copy()
    g.loc[10, "x"] = 99.0
    assert ReferenceProfile.build(f).content_hash != ReferenceProfile.build(g).content_hash


@pytest.mark.parametrize("payload", [b"", b"not a zip at all", b"PK\x03\x04garbage"])
def test_corrupt_file_names_the_file(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "broken.dwp"
    path.write_bytes(payload)
    with pytest.raises(ProfileFormatError, match=r"broken\.dwp"):
        ReferenceProfile.load(path)


def test_foreign_npz_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "foreign.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(ProfileFormatError, match=r"foreign.npz.*no header"):
        ReferenceProfile.load(path)


def test_tampered_profile_is_rejected() -> None:
    data = bytearray(ReferenceProfile.build(_frame()).to_bytes())
    # flip one byte inside a stored array (the last member is an array, not the header)
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ProfileFormatError):
        ReferenceProfile.from_bytes(bytes(data), source="tampered")


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileFormatError, match=r"nope\.dwp"):
        ReferenceProfile.load(tmp_path / "nope.dwp")


def test_unknown_column_and_bad_binary() -> None:
    with pytest.raises(MissingColumnError, match="'zzz'"):
        ReferenceProfile.build(_frame(), columns=["zzz"])
    with pytest.raises(IncompatibleTypeError, match="city"):
        ReferenceProfile.build(_frame(), kinds={"city": "binary"})


def test_text_in_numeric_column_is_incompatible() -> None:
    with pytest.raises(IncompatibleTypeError, match="'city' of reference"):
        ReferenceProfile.build(_frame(), kinds={"city": "numeric"})


def test_pyarrow_table_is_accepted() -> None:
    import pyarrow as pa

    p = ReferenceProfile.build(pa.Table.from_pandas(_frame()))
    assert p.content_hash == ReferenceProfile.build(_frame()).content_hash


def test_progress_bar_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    ReferenceProfile.build(_frame(), progress=True)
    captured = capsys.readouterr()
    assert "profiling reference" in captured.err and captured.out == ""
