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
def test_pieces_match_sklearn() -> None:
    from sklearn import decomposition, preprocessing  # installed with evidently: a missing one must fail

    x = _reference()
    det = PCAReconstruction.fit(x, chunk_size=400)
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
    current = _data(np.random.default_rng(9), 300, 0.3)
    zc = scaler.transform(current)
    expected = np.linalg.norm(zc - pca.inverse_transform(pca.transform(zc)), axis=1)
    np.testing.assert_allclose(det.reconstruction_errors(current), expected, rtol=0, atol=1e-9)


def test_explained_variance_matches_scipy_eigh() -> None:
    x = _reference(3)
    det = PCAReconstruction.fit(x, chunk_size=400)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    eigenvalues = linalg.eigh(np.cov(z, rowvar=False), eigvals_only=True)[::-1]
    np.testing.assert_allclose(det.explained_variance_ratio, eigenvalues / eigenvalues.sum(), rtol=1e-9)


def test_thresholds_are_mean_plus_minus_3_sample_std_of_chunk_errors() -> None:
    x = _reference(4, n=4100)  # 10 chunks of 400, last 100 rows dropped
    det = PCAReconstruction.fit(x, chunk_size=400)
    chunk_means = det.reconstruction_errors(x)[:4000].reshape(10, 400).mean(axis=1)
    np.testing.assert_allclose(det.chunk_statistics, chunk_means, rtol=1e-12)
    m, s = chunk_means.mean(), chunk_means.std(ddof=1)
    assert det.threshold_upper == pytest.approx(m + 3 * s, rel=1e-12)
    assert det.threshold_lower == pytest.approx(max(0.0, m - 3 * s), rel=1e-12)
    assert 0 < det.threshold_lower < det.threshold_upper


# -- calibration and power -----------------------------------------------------------------------
def test_false_alarm_rate_on_stationary_data() -> None:
    """1000 windows (20 references x 50 windows) from the reference distribution.

    Measured: 15 alarms, 1.5% (a 3-sigma band estimated from 10 chunks: Student t with 9 df predicts about 2%).
    """
    alarms = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        det = PCAReconstruction.fit(_data(rng, 5000, 0.8), chunk_size=500)
        alarms += sum(det.score(_data(rng, 500, 0.8)).drifted for _ in range(50))
    assert 5 <= alarms <= 50, alarms


def test_correlation_change_with_unchanged_marginals_is_detected() -> None:
    rng = np.random.default_rng(7)
    det = PCAReconstruction.fit(_data(rng, 5000, 0.8), chunk_size=500)
    reference = _data(rng, 5000, 0.8)
    detected, ks_rejections, ks_tests = 0, 0, 0
    for _ in range(40):
        current = _data(rng, 500, 0.2)
        result = det.score(current)
        detected += result.drifted
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
    det = PCAReconstruction.fit(_data(rng, 5000, 0.8), chunk_size=500)
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
    det = PCAReconstruction.fit(holes, chunk_size=400)
    z = det.transform(np.array([[0.0, np.nan, 0.0, 10.0, np.inf]]))
    observed_mean = np.nanmean(holes[:, 1])
    imputed = np.where(np.isnan(holes[:, 1]), observed_mean, holes[:, 1])
    assert z[0, 1] == pytest.approx((observed_mean - imputed.mean()) / imputed.std(), abs=1e-12)
    assert z[0, 4] == pytest.approx((np.mean(x[:, 4]) - np.mean(x[:, 4])) / np.std(x[:, 4]), abs=1e-12)


def test_null_surge_in_a_correlated_column_is_detected() -> None:
    rng = np.random.default_rng(6)
    det = PCAReconstruction.fit(_data(rng, 5000, 0.8), chunk_size=500)
    current = _data(rng, 500, 0.8)
    assert not det.score(current).drifted
    current[:250, 0] = np.nan
    assert det.score(current).drifted


def test_categorical_columns_are_frequency_encoded() -> None:
    n = 1000
    codes = np.repeat([1.0, 2.0, 3.0, np.nan], [500, 300, 150, 50])
    x = np.column_stack([codes, np.random.default_rng(0).normal(size=n)])
    det = PCAReconstruction.fit(x, chunk_size=100, categorical_columns=[0])
    encoded_reference = np.repeat([0.5, 0.3, 0.15, 0.05], [500, 300, 150, 50])
    m, s = encoded_reference.mean(), encoded_reference.std()
    z = det.transform(np.array([[1.0, 0.0], [3.0, 0.0], [7.0, 0.0], [np.nan, 0.0]]))
    np.testing.assert_allclose(z[:, 0], (np.array([0.5, 0.15, 0.0, 0.05]) - m) / s, atol=1e-12)


# -- serialization and errors --------------------------------------------------------------------
def test_json_round_trip_scores_identically() -> None:
    x = _reference(2)
    x[::11, 2] = np.nan
    x[:, 4] = np.round(np.abs(x[:, 4]) * 2)  # category codes 0..8
    det = PCAReconstruction.fit(x, chunk_size=400, categorical_columns=[4])
    payload = json.loads(json.dumps(det.to_dict(), allow_nan=False))
    back = PCAReconstruction.from_dict(payload)
    current = _reference(3)[:400]
    assert back.score(current) == det.score(current)
    assert back.to_dict() == det.to_dict()
    assert isinstance(det.score(current), MultivariateResult)


def test_from_dict_rejects_foreign_payloads() -> None:
    payload = PCAReconstruction.fit(_reference(), chunk_size=400).to_dict()
    with pytest.raises(ProfileFormatError, match="version"):
        PCAReconstruction.from_dict({**payload, "version": 2})
    del payload["components"]
    with pytest.raises(ProfileFormatError, match="components"):
        PCAReconstruction.from_dict(payload)


def test_input_errors_name_the_problem() -> None:
    det = PCAReconstruction.fit(_reference(), chunk_size=400)
    with pytest.raises(MatrixShapeError, match=r"\(10, 4\)"):
        det.score(np.zeros((10, 4)))
    with pytest.raises(InsufficientDataError):
        det.score(np.zeros((0, 5)))
    with pytest.raises(InsufficientDataError, match="chunk_size=3000"):
        PCAReconstruction.fit(_reference(), chunk_size=3000)
    with pytest.raises(InvalidParameterError, match="variance_explained"):
        PCAReconstruction.fit(_reference(), chunk_size=400, variance_explained=1.0)
    with pytest.raises(InvalidParameterError, match="categorical_columns"):
        PCAReconstruction.fit(_reference(), chunk_size=400, categorical_columns=[5])


def test_public_api_is_pinned() -> None:
    import detectors.multivariate as multivariate

    assert set(multivariate.__all__) == {"MatrixShapeError", "MultivariateResult", "PCAReconstruction"}
