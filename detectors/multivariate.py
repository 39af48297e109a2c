"""Multivariate drift: PCA reconstruction error, its band set out of sample for the window's size.

Univariate tests look at one column at a time, so they miss a change in how columns move together
(a correlation that flips while every marginal stays the same). PCA fitted on the reference learns the
directions the data occupies; rows of a drifted joint distribution fall off that subspace, and the mean
reconstruction error of a window rises. The statistic follows NannyML's ``DataReconstructionDriftCalculator``;
the band does not (see 5.):

1. encode: categorical columns (given by index; values are numeric category codes) are replaced by the
   reference frequency of their code (share of reference rows with that code; a code unseen in the
   reference encodes to 0.0, a missing value to the reference share of missing values); numeric NaN and
   ±inf are imputed with the reference mean of the column's finite values;
2. standardize with the reference mean and population standard deviation of each encoded column (a
   constant column keeps scale 1, as in scikit-learn's ``StandardScaler``);
3. ``k`` = the smallest number of principal components of the whole standardized reference whose
   cumulative explained variance ratio is strictly greater than ``variance_explained`` (scikit-learn's
   rule for a fractional ``n_components``);
4. cross-fitting: the reference rows are dealt into ``folds`` folds by a seeded random permutation; for
   each fold a PCA (first ``k`` right singular vectors, no re-centering: the leading eigenvectors of
   ``z.T z`` of the other folds, a ``p x p`` sum of per-fold products) is fitted on the other folds and
   scores the fold's rows, so every reference row gets an *out-of-sample* error (Euclidean norm of
   ``z - z V_k^T V_k``). A row of current data is scored by every fold model; its error is the mean of
   those ``folds`` errors, and a window's statistic is the mean of its rows' errors;
5. band: :class:`~detectors.multivariate_band.ErrorBand` of the out-of-sample reference errors, for the
   window's actual row count ``n`` (its docstring states the rule: mean ± a Cornish-Fisher quantile of
   ``std * sqrt(1/n + 1/N)`` at a two-sided ``alpha``, default 0.1% per window); no verdict (``drifted =
   None``) for ``n < min_rows`` (default 200).

Rule: ``drifted = statistic < lower(n) or statistic > upper(n)`` for ``n >= min_rows``.

Why cross-fitting: the rows a PCA was fitted on reconstruct better than new rows of the same
distribution (the fit adapts to their noise), so a band set on in-sample reference errors sits below what
unchanged production data gives. With many weakly correlated columns that gap exceeds the band's width
and every window alarms (NannyML's in-sample chunks: 40 independent normal and 10 categorical columns,
20,000 reference rows, statistic 4.16-4.19 against a band [4.03, 4.11]). Scoring current rows with the
fold models themselves makes the reference errors and the production errors two samples of one
distribution: a fold model has never seen its held-out rows, nor production rows. Scoring with one PCA
refitted on all rows would instead need the out-of-sample error of that final model, which the folds only
estimate with a bias of order ``k p / N`` (80% of the rows per fit) -- larger than the band of a
100,000-row window. Cross-fitting rather than one held-out split: every reference row serves the band,
which a large window needs (``1/N`` in the band's variance). The encoding (step 1-2) is fitted on all
rows: its ``2 p`` parameters move the mean error by a negligible ``O(p / N)``.

Serialization keeps the fold models' components (``folds x k x p`` floats) and the band's moments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from detectors._pca_crossfit import _cross_fit
from detectors._pca_encoding import (
    MatrixShapeError,
    _as_matrix,
    _category_table,
    _complement,
    _encode,
    _Encoding,
    _encoding_from_dict,
    _encoding_to_dict,
    _fit_encoding,
    _floats,
    _fold_mean_errors,
    _row_errors,
    _standardize,
    single_threaded_blas,
)
from detectors.errors import DetectorError, InsufficientDataError, InvalidParameterError, ProfileFormatError
from detectors.multivariate_band import DEFAULT_ALPHA, MIN_WINDOW_ROWS, ErrorBand
from detectors.multivariate_result import MultivariateResult

__all__ = ["MatrixShapeError", "MultivariateResult", "PCAReconstruction"]
# re-exported helpers (tests and benches use them)
_HELPERS = (_category_table, _complement, _encode, _Encoding, _row_errors, single_threaded_blas)

FloatArray = NDArray[np.float64]
_KIND = "pca_reconstruction"
_VERSION = 2
#: Folds of the cross-fit (step 4 of the module docstring).
DEFAULT_FOLDS: Final = 5


class PCAReconstruction:
    """A fitted PCA reconstruction-error detector; build it with :meth:`fit`.

    Attributes (read-only after ``fit``)
    ------------------------------------
    variance_explained, folds, seed
        The fitting parameters.
    n_components
        Number of principal components kept (``k``).
    components
        ``(k, n_features)``: the principal directions of the whole standardized reference (descriptive;
        scoring uses the fold models, :attr:`fold_components`).
    fold_components
        ``(folds, k, n_features)``: the components of each fold model.
    explained_variance_ratio
        Share of the standardized reference variance of every component (all of them, descending).
    band
        The :class:`~detectors.multivariate_band.ErrorBand` of the out-of-sample reference errors.

    Examples
    --------
    Three columns driven by one factor; in the current data the factor is gone but every marginal is
    still N(0, 1):

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def data(n, rho):
    ...     f = rng.normal(size=(n, 1))
    ...     e = rng.normal(size=(n, 3))
    ...     return np.hstack([np.sqrt(rho) * f + np.sqrt(1 - rho) * e, rng.normal(size=(n, 2))])
    >>> detector = PCAReconstruction.fit(data(5000, 0.8))
    >>> detector.n_components
    2
    >>> detector.score(data(500, 0.8)).drifted
    False
    >>> detector.score(data(500, 0.0)).drifted
    True
    >>> detector.score(data(50, 0.0)).drifted is None  # below the 200-row minimum: no verdict
    True
    """

    def __init__(
        self,
        *,
        encoding: _Encoding,
        components: FloatArray,
        fold_components: FloatArray,
        explained_variance_ratio: FloatArray,
        band: ErrorBand,
        variance_explained: float,
        seed: int,
    ) -> None:
        self._encoding = encoding
        self._table = _category_table(encoding)
        self._components = components
        self._folds = fold_components
        self._complements = np.concatenate([_complement(c) for c in fold_components])
        self._ratio = explained_variance_ratio
        self.band = band
        self.variance_explained = variance_explained
        self.seed = seed

    # -- fitting ----------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        reference: ArrayLike,
        *,
        categorical_columns: Sequence[int] = (),
        variance_explained: float = 0.65,
        alpha: float = DEFAULT_ALPHA,
        min_rows: int = MIN_WINDOW_ROWS,
        folds: int = DEFAULT_FOLDS,
        seed: int = 0,
    ) -> Self:
        """Fit the encoding, the fold PCAs and the band on a reference matrix (module docstring, steps 1-5).

        Parameters
        ----------
        reference
            ``(n_rows, n_features)`` numeric matrix; NaN/±inf are missing values (see module docstring).
        categorical_columns
            Indices of columns holding category codes (frequency-encoded).
        variance_explained
            Target cumulative explained variance ratio in (0, 1).
        alpha
            Two-sided false-alarm rate per window on unchanged data, in (0, 1).
        min_rows
            Fewest rows of a window with a verdict.
        folds
            Folds of the cross-fit, >= 2.
        seed
            Seed of the permutation that deals rows into folds.

        Raises
        ------
        MatrixShapeError
            If ``reference`` is not 2-D with at least one column.
        InvalidParameterError
            For a parameter out of its domain.
        InsufficientDataError
            If the reference holds fewer than ``2 * folds`` rows.
        """
        x = _as_matrix(reference, "reference")
        cats = _checked_fit_parameters(x.shape, categorical_columns, variance_explained, alpha, min_rows, folds)
        encoding, z = _fit_encoding(x, cats)
        fitted = _cross_fit(z, variance_explained=variance_explained, folds=folds, seed=seed)
        return cls(
            encoding=encoding,
            components=fitted.components,
            fold_components=fitted.fold_components,
            explained_variance_ratio=fitted.explained_variance_ratio,
            band=ErrorBand.from_errors(fitted.errors, alpha=alpha, min_rows=min_rows),
            variance_explained=float(variance_explained),
            seed=int(seed),
        )

    # -- read-only --------------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return int(self._components.shape[1])

    @property
    def n_components(self) -> int:
        return int(self._components.shape[0])

    @property
    def folds(self) -> int:
        return int(self._folds.shape[0])

    @property
    def components(self) -> FloatArray:
        return self._components.copy()

    @property
    def fold_components(self) -> FloatArray:
        return self._folds.copy()

    @property
    def explained_variance_ratio(self) -> FloatArray:
        return self._ratio.copy()

    @property
    def min_rows(self) -> int:
        return self.band.min_rows

    def thresholds(self, n: int) -> tuple[float, float]:
        """``(lower, upper)`` for a window of ``n`` rows (``(nan, nan)`` below :attr:`min_rows`)."""
        return self.band.bounds(n)

    # -- scoring ----------------------------------------------------------------------------------
    def transform(self, matrix: ArrayLike) -> FloatArray:
        """Encoded, imputed and standardized copy of ``matrix`` (the space the PCA works in)."""
        return _standardize(self._check(matrix), self._encoding, self._table)

    def reconstruction_errors(self, matrix: ArrayLike) -> FloatArray:
        """Per-row reconstruction error in standardized space: the mean over the fold models (step 4).

        The small matrix products run on one BLAS thread (:func:`single_threaded_blas`): a window's
        batches are a few hundred rows, where waking (and then spinning) BLAS worker threads costs several
        times the product itself and steals the core the caller needs; the per-row errors then also do not
        depend on the host's core count.
        """
        z = self.transform(matrix)
        with single_threaded_blas():
            return _fold_mean_errors(z, self._complements, self.folds)

    def reconstruction_parts(self, matrix: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """:meth:`reconstruction_errors` and, per column, the squared residuals summed over the rows and
        averaged over the fold models (what :meth:`column_shares` divides)."""
        z = self.transform(matrix)
        squares = np.zeros(self.n_features)
        with single_threaded_blas():
            return _fold_mean_errors(z, self._complements, self.folds, squares), squares

    @staticmethod
    def column_shares(column_squares: ArrayLike) -> FloatArray:
        """Each column's share of the squared reconstruction error: ``column_squares / column_squares.sum()``
        (all zeros when the sum is 0). The squared error of a row is the sum of its columns' squared
        residuals, so the shares add up to 1 and say which columns the rows fell off the reference's
        subspace along."""
        squares = np.asarray(column_squares, dtype=np.float64)
        total = float(squares.sum())
        return squares / total if total > 0 and math.isfinite(total) else np.zeros_like(squares)

    def result(self, statistic: float, n_rows: int) -> MultivariateResult:
        """The verdict on a window of ``n_rows`` rows whose mean error is ``statistic``."""
        lower, upper = self.band.bounds(n_rows)
        return MultivariateResult(
            method=_KIND,
            statistic=float(statistic),
            lower=lower,
            upper=upper,
            drifted=self.band.verdict(statistic, n_rows),
            n_rows=int(n_rows),
        )

    def score(self, current: ArrayLike) -> MultivariateResult:
        """Mean reconstruction error of ``current`` against the band for its row count.

        Raises
        ------
        MatrixShapeError
            If ``current`` is not 2-D with the reference's column count.
        InsufficientDataError
            If ``current`` has no rows.
        """
        errors = self.reconstruction_errors(current)
        if errors.size == 0:
            raise InsufficientDataError("PCAReconstruction.score", 1, 0)
        return self.result(float(errors.mean()), int(errors.size))

    def _check(self, matrix: ArrayLike) -> FloatArray:
        x = _as_matrix(matrix, "current")
        if x.shape[1] != self.n_features:
            raise MatrixShapeError("current", x.shape, f"{self.n_features} columns like the reference")
        return x

    # -- serialization ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists of floats; no NaN or infinity)."""
        return {
            "kind": _KIND,
            "version": _VERSION,
            "variance_explained": self.variance_explained,
            "seed": self.seed,
            **_encoding_to_dict(self._encoding),
            "components": self._components.tolist(),
            "fold_components": self._folds.tolist(),
            "explained_variance_ratio": self._ratio.tolist(),
            "band": self.band.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ProfileFormatError
            If the payload is of another kind or version (version 1, the in-sample chunk band, asks to
            rebuild the profile), or incomplete.
        """
        source = "PCAReconstruction.from_dict"
        if data.get("kind") != _KIND or data.get("version") != _VERSION:
            raise ProfileFormatError(
                source,
                f"expected kind {_KIND!r} version {_VERSION}, got {data.get('kind')!r} version "
                f"{data.get('version')!r}: rebuild the profile from the reference data",
            )
        try:
            encoding = _encoding_from_dict(data)
            components = np.asarray(data["components"], dtype=np.float64)
            p = encoding.means.size
            if components.ndim != 2 or components.shape[1] != p:
                raise ProfileFormatError(source, f"components of shape {components.shape} do not fit")
            folds = np.asarray(data["fold_components"], dtype=np.float64)
            if folds.ndim != 3 or folds.shape[0] < 2 or folds.shape[1:] != components.shape:
                raise ProfileFormatError(source, f"fold_components of shape {folds.shape} do not fit")
            return cls(
                encoding=encoding,
                components=components,
                fold_components=folds,
                explained_variance_ratio=_floats(data["explained_variance_ratio"]),
                band=ErrorBand.from_dict(data["band"]),
                variance_explained=float(data["variance_explained"]),
                seed=int(data["seed"]),
            )
        except KeyError as exc:
            raise ProfileFormatError(source, f"missing key {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DetectorError) and not isinstance(exc, InvalidParameterError):
                raise
            raise ProfileFormatError(source, str(exc)) from None


def _checked_fit_parameters(
    shape: tuple[int, ...], categorical_columns: Sequence[int], variance_explained: float, alpha: float,
    min_rows: int, folds: int,
) -> tuple[int, ...]:
    """The sorted distinct categorical column indices, once every :meth:`PCAReconstruction.fit` parameter is
    checked against the reference's ``shape`` (its ``Raises`` section)."""
    n, p = shape
    where = "PCAReconstruction.fit"
    if not 0 < variance_explained < 1:
        raise InvalidParameterError("variance_explained", variance_explained, "in (0, 1)", where=where)
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise InvalidParameterError("alpha", alpha, "in (0, 1)", where=where)
    if min_rows < 1:
        raise InvalidParameterError("min_rows", min_rows, "an integer >= 1", where=where)
    if folds < 2:
        raise InvalidParameterError("folds", folds, "an integer >= 2", where=where)
    cats = tuple(sorted({int(c) for c in categorical_columns}))
    if any(not 0 <= c < p for c in cats):
        raise InvalidParameterError(
            "categorical_columns", list(categorical_columns), f"indices in [0, {p})", where=where
        )
    if n < 2 * folds:
        raise InsufficientDataError(f"{where} (folds={folds})", 2 * folds, n)
    return cats
