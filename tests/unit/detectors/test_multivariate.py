"""PCA reconstruction error: pieces against scikit-learn/scipy, calibration, power, serialization."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import linalg, stats

from detectors.errors import InsufficientDataError, InvalidParameterError, ProfileFormatError
from detectors.multivariate import MatrixShapeError, MultivariateResult, PCAReconstruction


def _data(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    """Columns 0-2 share a factor (pairwise correlation rho), columns 3-4 independent; all N(0, 1)."""
    factor = rng.normal(size=(n, 1))
    noise = rng.normal(size=(n, 3))
    block = np.sqrt(rho) * factor + np.sqrt(1 - rho) * noise
    return np.hstack([block, rng.normal(size=(n, 2))])


def _reference(seed: int = 0, n: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = _data(rng, n, 0.8)
    x[:, 3] = 10 + 4 * x[:, 3]  # other location and scale: standardization matters
    return x


# -- the PCA pieces against independent implementations --------------------------------------------
def _folds(n: int, folds: int = 5, seed: int = 0) -> list[np.ndarray]:
    """The documented fold rule: a seeded permutation of the rows cut into ``folds`` near-equal parts."""
    return np.array_split(np.random.default_rng(seed).permutation(n), folds)


def test_pieces_match_sklearn_and_scipy() -> None:
    from sklearn import decomposition, preprocessing  # installed with evidently: a missing one must fail

    x = _reference()
    det = PCAReconstruction.fit(x)
    scaler = preprocessing.StandardScaler().fit(x)
    z = scaler.transform(x)
    np.testing.assert_allclose(det.transform(x), z, rtol=0, atol=1e-12)
    pca = decomposition.PCA(n_components=0.65, svd_solver="full").fit(z)
    assert det.n_components == pca.n_components_ == 2
    np.testing.assert_allclose(
        det.explained_variance_ratio[: det.n_components], pca.explained_variance_ratio_, rtol=1e-10
    )
    # components agree up to sign
    np.testing.assert_allclose(np.abs(np.sum(det.components * pca.components_, axis=1)), 1.0, atol=1e-10)
    # fold models: the first k right singular vectors of the other folds' rows (scipy's SVD, no re-centering)
    current = _data(np.random.default_rng(9), 300, 0.3)
    zc = scaler.transform(current)
    per_fold, held_out = [], np.empty(len(x))
    for rows in _folds(len(x)):
        train = np.setdiff1d(np.arange(len(x)), rows)
        v = linalg.svd(z[train], full_matrices=False)[2][:2]
        per_fold.append(np.linalg.norm(zc - zc @ v.T @ v, axis=1))
        held_out[rows] = np.linalg.norm(z[rows] - z[rows] @ v.T @ v, axis=1)
    # two SVD implementations and two product orders: agreement to 1e-9, not bit for bit
    np.testing.assert_allclose(det.reconstruction_errors(current), np.mean(per_fold, axis=0), rtol=0, atol=1e-9)
    # the band is set on the out-of-sample errors of the reference rows
    assert det.band.n_reference == len(x)
    assert det.band.mean == pytest.approx(held_out.mean(), rel=1e-10)
    assert det.band.std == pytest.approx(held_out.std(ddof=1), rel=1e-10)
    assert det.band.skewness == pytest.approx(stats.skew(held_out, bias=False), rel=1e-8)
    assert det.band.excess_kurtosis == pytest.approx(stats.kurtosis(held_out, bias=False), rel=1e-8)


def test_explained_variance_matches_scipy_eigh() -> None:
    x = _reference(3)
    det = PCAReconstruction.fit(x)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    eigenvalues = linalg.eigh(np.cov(z, rowvar=False), eigvals_only=True)[::-1]
    np.testing.assert_allclose(det.explained_variance_ratio, eigenvalues / eigenvalues.sum(), rtol=1e-9)


def test_band_for_any_window_size_is_the_stated_rule() -> None:
    det = PCAReconstruction.fit(_reference(4))
    b = det.band
    z = stats.norm.isf(0.0005)
    for n in (200, 1000, 7_777, 100_000):
        v, big = 1 / n + 1 / b.n_reference, b.n_reference
        g3 = b.skewness * (1 / n**2 - 1 / big**2) / v**1.5
        g4 = b.excess_kurtosis * (1 / n**3 + 1 / big**3) / v**2

        def q(x: float, g3: float = g3, g4: float = g4) -> float:
            return x + (x**2 - 1) * g3 / 6 + (x**3 - 3 * x) * g4 / 24 - (2 * x**3 - 5 * x) * g3**2 / 36

        lower, upper = det.thresholds(n)
        assert upper == pytest.approx(b.mean + b.std * np.sqrt(v) * q(z), rel=1e-12)
        assert lower == pytest.approx(max(0.0, b.mean + b.std * np.sqrt(v) * q(-z)), rel=1e-12)
    widths = [np.subtract(*det.thresholds(n)[::-1]) for n in (200, 1000, 10_000, 100_000)]
    assert widths == sorted(widths, reverse=True)  # narrower for larger windows ...
    assert widths[-1] > 2 * z * b.std / np.sqrt(b.n_reference) * 0.99  # ... never narrower than the mean's own error


def test_below_the_minimum_window_there_is_no_verdict() -> None:
    rng = np.random.default_rng(5)
    det = PCAReconstruction.fit(_data(rng, 5000, 0.8))
    assert det.min_rows == 200
    small = det.score(_data(rng, 199, 0.0))  # a change that 200 rows would show
    assert small.drifted is None and small.n_rows == 199
    assert np.isnan(small.lower) and np.isnan(small.upper)
    assert det.score(_data(rng, 200, 0.0)).drifted is True
    assert PCAReconstruction.fit(_data(rng, 5000, 0.8), min_rows=50).score(_data(rng, 60, 0.0)).drifted is True


# -- calibration and power -----------------------------------------------------------------------
def _alarms(det: PCAReconstruction, errors: np.ndarray, n: int) -> tuple[int, int]:
    means = errors[: errors.size // n * n].reshape(-1, n).mean(axis=1)
    return sum(bool(det.result(m, n).drifted) for m in means), means.size


def test_unchanged_independent_columns_do_not_alarm_issue_20() -> None:
    """The case of issue #20: 40 independent normal and 10 categorical columns (20 levels), 20k reference,
    1k windows. The in-sample chunk band flagged every window (statistic 4.16-4.19, band [4.03, 4.11])."""
    rng = np.random.default_rng(20)

    def rows(n: int) -> np.ndarray:
        return np.hstack([rng.normal(size=(n, 40)), rng.integers(0, 20, size=(n, 10)).astype(float)])

    det = PCAReconstruction.fit(rows(20_000), categorical_columns=range(40, 50))
    alarms, windows = _alarms(det, det.reconstruction_errors(rows(100_000)), 1000)
    assert windows == 100 and alarms <= 1, alarms


def test_false_alarm_rate_on_stationary_data_at_every_window_size() -> None:
    """3 references x 300k unchanged rows cut into windows of 200, 1k and 10k rows (5490 windows).

    Measured: 2 alarms in all (target rate 0.1%: 5.5 expected at most)."""
    total, windows = 0, 0
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        det = PCAReconstruction.fit(_data(rng, 5000, 0.8))
        errors = det.reconstruction_errors(_data(rng, 300_000, 0.8))
        for n in (200, 1000, 10_000):
            a, w = _alarms(det, errors, n)
            total, windows = total + a, windows + w
    assert windows == 5490
    assert total <= 14, total  # P(Poisson(5.5) > 14) < 0.001


def test_correlation_change_with_unchanged_marginals_is_detected() -> None:
    rng = np.random.default_rng(7)
    det = PCAReconstruction.fit(_data(rng, 5000, 0.8))
    reference = _data(rng, 5000, 0.8)
    detected, ks_rejections, ks_tests = 0, 0, 0
    for _ in range(40):
        current = _data(rng, 500, 0.2)
        result = det.score(current)
        detected += bool(result.drifted)
        assert result.statistic > result.upper
        for j in range(5):
            ks_rejections += stats.ks_2samp(reference[:, j], current[:, j]).pvalue < 0.05
            ks_tests += 1
    assert detected == 40
    # the marginals did not move: per-column KS rejects at about its 5% level only
    assert ks_rejections / ks_tests <= 0.10


def test_lower_band_catches_a_collapse_onto_the_subspace() -> None:
    """Perfectly correlated current data reconstructs too well: statistic < lower."""
    rng = np.random.default_rng(8)
    det = PCAReconstruction.fit(_data(rng, 5000, 0.8))
    current = _data(rng, 500, 0.999)
    current[:, 3:] = 0.0
    result = det.score(current)
    assert result.statistic < result.lower
    assert result.drifted


# -- missing values and categorical columns --------------------------------------------------------
def test_missing_numeric_values_are_imputed_with_the_reference_mean() -> None:
    x = _reference(5)
    holes = x.copy()
    holes[::7, 1] = np.nan
    det = PCAReconstruction.fit(holes)
    z = det.transform(np.array([[0.0, np.nan, 0.0, 10.0, np.inf]]))
    observed_mean = np.nanmean(holes[:, 1])
    imputed = np.where(np.isnan(holes[:, 1]), observed_mean, holes[:, 1])
    assert z[0, 1] == pytest.approx((observed_mean - imputed.mean()) / imputed.std(), abs=1e-12)
    assert z[0, 4] == pytest.approx((np.mean(x[:, 4]) - np.mean(x[:, 4])) / np.std(x[:, 4]), abs=1e-12)


def test_null_surge_in_a_correlated_column_is_detected() -> None:
    rng = np.random.default_rng(6)
    det = PCAReconstruction.fit(_data(rng, 5000, 0.8))
    current = _data(rng, 2000, 0.8)
    assert not det.score(current).drifted
    current[:1000, 0] = np.nan
    assert det.score(current).drifted


def test_categorical_columns_are_frequency_encoded() -> None:
    n = 1000
    codes = np.repeat([1.0, 2.0, 3.0, np.nan], [500, 300, 150, 50])
    x = np.column_stack([codes, np.random.default_rng(0).normal(size=n)])
    det = PCAReconstruction.fit(x, categorical_columns=[0])
    encoded_reference = np.repeat([0.5, 0.3, 0.15, 0.05], [500, 300, 150, 50])
    m, s = encoded_reference.mean(), encoded_reference.std()
    z = det.transform(np.array([[1.0, 0.0], [3.0, 0.0], [7.0, 0.0], [np.nan, 0.0]]))
    np.testing.assert_allclose(z[:, 0], (np.array([0.5, 0.15, 0.0, 0.05]) - m) / s, atol=1e-12)


# -- serialization and errors --------------------------------------------------------------------
def test_json_round_trip_scores_identically() -> None:
    x = _reference(2)
    x[::11, 2] = np.nan
    x[:, 4] = np.round(np.abs(x[:, 4]) * 2)  # category codes 0..8
    det = PCAReconstruction.fit(x, categorical_columns=[4])
    payload = json.loads(json.dumps(det.to_dict(), allow_nan=False))
    back = PCAReconstruction.from_dict(payload)
    current = _reference(3)[:400]
    assert back.score(current) == det.score(current)
    assert back.to_dict() == det.to_dict()
    assert isinstance(det.score(current), MultivariateResult)


def test_from_dict_rejects_foreign_payloads() -> None:
    payload = PCAReconstruction.fit(_reference()).to_dict()
    with pytest.raises(ProfileFormatError, match="version 1: rebuild the profile"):
        PCAReconstruction.from_dict({**payload, "version": 1})  # the in-sample chunk band of older profiles
    with pytest.raises(ProfileFormatError, match="fold_components"):
        PCAReconstruction.from_dict({**payload, "fold_components": payload["fold_components"][:1]})
    with pytest.raises(ProfileFormatError, match="alpha"):
        PCAReconstruction.from_dict({**payload, "band": {**payload["band"], "alpha": 2.0}})
    del payload["components"]
    with pytest.raises(ProfileFormatError, match="components"):
        PCAReconstruction.from_dict(payload)


def test_input_errors_name_the_problem() -> None:
    det = PCAReconstruction.fit(_reference())
    with pytest.raises(MatrixShapeError, match=r"\(10, 4\)"):
        det.score(np.zeros((10, 4)))
    with pytest.raises(InsufficientDataError):
        det.score(np.zeros((0, 5)))
    with pytest.raises(InsufficientDataError, match="folds=5"):
        PCAReconstruction.fit(_reference()[:9])
    for bad in ({"variance_explained": 1.0}, {"categorical_columns": [5]}, {"alpha": 0.0}, {"folds": 1},
                {"min_rows": 0}):
        with pytest.raises(InvalidParameterError, match=next(iter(bad))):
            PCAReconstruction.fit(_reference(), **bad)  # type: ignore[arg-type]


def test_public_api_is_pinned() -> None:
    import detectors.multivariate as multivariate

    assert set(multivariate.__all__) == {"MatrixShapeError", "MultivariateResult", "PCAReconstruction"}
