"""Multivariate drift: PCA reconstruction error, thresholds calibrated on reference chunks.

Univariate tests look at one column at a time, so they miss a change in how columns move together
(a correlation that flips while every marginal stays the same). PCA fitted on the reference learns the
directions the data occupies; rows of a drifted joint distribution fall off that subspace, and the mean
reconstruction error of a window rises. The method follows NannyML's ``DataReconstructionDriftCalculator``:

1. encode: categorical columns (given by index; values are numeric category codes) are replaced by the
   reference frequency of their code (share of reference rows with that code; a code unseen in the
   reference encodes to 0.0, a missing value to the reference share of missing values); numeric NaN and
   ±inf are imputed with the reference mean of the column's finite values;
2. standardize with the reference mean and population standard deviation of each encoded column (a
   constant column keeps scale 1, as in scikit-learn's ``StandardScaler``);
3. keep the first ``k`` principal components, ``k`` the smallest number whose cumulative explained
   variance ratio is strictly greater than ``variance_explained`` (scikit-learn's rule for a fractional
   ``n_components``);
4. statistic of a window = mean over its rows of the Euclidean norm of ``z - z V_k^T V_k``;
5. thresholds: the reference is cut into consecutive chunks of ``chunk_size`` rows (an incomplete last
   chunk is dropped, it would be noisier than the others); ``upper, lower = m ± n_sigma * s`` where
   ``m, s`` are the mean and the *sample* standard deviation (``ddof=1``) of the chunks' statistics;
   ``lower`` is clipped at 0. NannyML uses ``ddof=0``; with its ten chunks ``ddof=1`` is 5% wider, which
   lowers the false-alarm rate of a 3-sigma band estimated from few chunks.

Rule: ``drifted = statistic > upper or statistic < lower`` (strict). The thresholds are calibrated for
windows of ``chunk_size`` rows: the spread of the statistic shrinks with the window size, so score
windows of about that size. The chunks are scored with the PCA fitted on the whole reference
(in-sample, like NannyML); with fewer than about 50 rows per feature this makes reference errors
optimistic and raises the false-alarm rate.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from detectors.errors import DetectorError, InsufficientDataError, InvalidParameterError, ProfileFormatError

__all__ = ["MatrixShapeError", "MultivariateResult", "PCAReconstruction"]

FloatArray = NDArray[np.float64]
_KIND = "pca_reconstruction"
_VERSION = 1


class MatrixShapeError(DetectorError):
    """A matrix that is not 2-D or whose column count differs from the reference.

    Attributes
    ----------
    where
        Which input (``"reference"`` or ``"current"``).
    shape
        The shape received.
    expected
        What was expected, in words.
    """

    def __init__(self, where: str, shape: tuple[int, ...], expected: str) -> None:
        self.where = where
        self.shape = shape
        self.expected = expected
        super().__init__(f"{where} matrix has shape {shape}: expected {expected}")


@dataclass(frozen=True, slots=True)
class MultivariateResult:
    """Outcome of scoring one window: ``drifted = statistic > upper or statistic < lower``."""

    method: str
    statistic: float
    lower: float
    upper: float
    drifted: bool
    n_rows: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "method": self.method,
            "statistic": self.statistic,
            "lower": self.lower,
            "upper": self.upper,
            "drifted": self.drifted,
            "n_rows": self.n_rows,
        }


@dataclass(frozen=True, slots=True)
class _Encoding:
    means: FloatArray  # per column, after frequency encoding and imputation
    scales: FloatArray
    impute: FloatArray  # per column: value that replaces a non-finite entry (numeric columns only)
    categorical: tuple[int, ...]
    codes: tuple[FloatArray, ...]  # per categorical column: reference codes, sorted
    freqs: tuple[FloatArray, ...]  # their reference shares
    missing_freqs: tuple[float, ...]  # reference share of missing values per categorical column


class PCAReconstruction:
    """A fitted PCA reconstruction-error detector; build it with :meth:`fit`.

    Attributes (read-only after ``fit``)
    ------------------------------------
    variance_explained, n_sigma, chunk_size
        The fitting parameters.
    n_components
        Number of principal components kept.
    components
        ``(n_components, n_features)`` array, rows are unit principal directions in standardized space.
    explained_variance_ratio
        Share of the standardized reference variance of every component (all of them, descending).
    chunk_statistics
        Statistic of each reference chunk, in order.
    threshold_lower, threshold_upper
        The calibrated band.

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
    >>> detector = PCAReconstruction.fit(data(5000, 0.8), chunk_size=500)
    >>> detector.n_components
    2
    >>> detector.score(data(500, 0.8)).drifted
    False
    >>> detector.score(data(500, 0.0)).drifted
    True
    """

    def __init__(
        self,
        *,
        encoding: _Encoding,
        components: FloatArray,
        explained_variance_ratio: FloatArray,
        chunk_statistics: FloatArray,
        variance_explained: float,
        n_sigma: float,
        chunk_size: int,
    ) -> None:
        self._encoding = encoding
        self._table = _category_table(encoding)
        self._components = components
        self._ratio = explained_variance_ratio
        self._chunk_statistics = chunk_statistics
        self.variance_explained = variance_explained
        self.n_sigma = n_sigma
        self.chunk_size = chunk_size
        mean = float(np.mean(chunk_statistics))
        spread = float(np.std(chunk_statistics, ddof=1))
        self._upper = mean + n_sigma * spread
        self._lower = max(0.0, mean - n_sigma * spread)

    # -- fitting ----------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        reference: ArrayLike,
        *,
        chunk_size: int,
        categorical_columns: Sequence[int] = (),
        variance_explained: float = 0.65,
        n_sigma: float = 3.0,
    ) -> Self:
        """Fit the encoding, the PCA and the threshold band on a reference matrix.

        Parameters
        ----------
        reference
            ``(n_rows, n_features)`` numeric matrix; NaN/±inf are missing values (see module docstring).
        chunk_size
            Rows per reference chunk; score windows of about this many rows.
        categorical_columns
            Indices of columns holding category codes (frequency-encoded).
        variance_explained
            Target cumulative explained variance ratio in (0, 1).
        n_sigma
            Half-width of the band in standard deviations of the chunk statistics.

        Raises
        ------
        MatrixShapeError
            If ``reference`` is not 2-D with at least one column.
        InvalidParameterError
            For a parameter out of its domain.
        InsufficientDataError
            If the reference holds fewer than two full chunks.
        """
        x = _as_matrix(reference, "reference")
        n, p = x.shape
        where = "PCAReconstruction.fit"
        if not 0 < variance_explained < 1:
            raise InvalidParameterError("variance_explained", variance_explained, "in (0, 1)", where=where)
        if not (math.isfinite(n_sigma) and n_sigma > 0):
            raise InvalidParameterError("n_sigma", n_sigma, "a finite number > 0", where=where)
        if chunk_size < 2:
            raise InvalidParameterError("chunk_size", chunk_size, "an integer >= 2", where=where)
        cats = tuple(sorted({int(c) for c in categorical_columns}))
        if any(not 0 <= c < p for c in cats):
            raise InvalidParameterError(
                "categorical_columns", list(categorical_columns), f"indices in [0, {p})", where=where
            )
        n_chunks = n // chunk_size
        if n_chunks < 2:
            raise InsufficientDataError(f"{where} (chunk_size={chunk_size})", 2 * chunk_size, n)

        encoding = _fit_encoding(x, cats)
        z = _standardize(x, encoding)
        _, s, vt = np.linalg.svd(z, full_matrices=False)
        var = s**2
        total = float(var.sum())
        ratio = var / total if total > 0 else np.zeros_like(var)
        k = int(np.searchsorted(np.cumsum(ratio), variance_explained, side="right")) + 1
        components = np.ascontiguousarray(vt[: min(k, p)])
        errors = _row_errors(z, components)
        chunk_stats = errors[: n_chunks * chunk_size].reshape(n_chunks, chunk_size).mean(axis=1)
        return cls(
            encoding=encoding,
            components=components,
            explained_variance_ratio=ratio,
            chunk_statistics=chunk_stats,
            variance_explained=float(variance_explained),
            n_sigma=float(n_sigma),
            chunk_size=int(chunk_size),
        )

    # -- read-only --------------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return int(self._components.shape[1])

    @property
    def n_components(self) -> int:
        return int(self._components.shape[0])

    @property
    def components(self) -> FloatArray:
        return self._components.copy()

    @property
    def explained_variance_ratio(self) -> FloatArray:
        return self._ratio.copy()

    @property
    def chunk_statistics(self) -> FloatArray:
        return self._chunk_statistics.copy()

    @property
    def threshold_lower(self) -> float:
        return self._lower

    @property
    def threshold_upper(self) -> float:
        return self._upper

    # -- scoring ----------------------------------------------------------------------------------
    def transform(self, matrix: ArrayLike) -> FloatArray:
        """Encoded, imputed and standardized copy of ``matrix`` (the space the PCA works in)."""
        return _standardize(self._check(matrix), self._encoding, self._table)

    def reconstruction_errors(self, matrix: ArrayLike) -> FloatArray:
        """Per-row Euclidean reconstruction error in standardized space.

        The two small matrix products run on one BLAS thread (:func:`single_threaded_blas`): a window's
        batches are a few hundred rows, where waking (and then spinning) BLAS worker threads costs several
        times the product itself and steals the core the caller needs; the per-row errors then also do not
        depend on the host's core count.
        """
        z = self.transform(matrix)
        with single_threaded_blas():
            return _row_errors(z, self._components)

    def score(self, current: ArrayLike) -> MultivariateResult:
        """Mean reconstruction error of ``current`` against the calibrated band.

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
        statistic = float(errors.mean())
        return MultivariateResult(
            method=_KIND,
            statistic=statistic,
            lower=self._lower,
            upper=self._upper,
            drifted=statistic > self._upper or statistic < self._lower,
            n_rows=int(errors.size),
        )

    def _check(self, matrix: ArrayLike) -> FloatArray:
        x = _as_matrix(matrix, "current")
        if x.shape[1] != self.n_features:
            raise MatrixShapeError("current", x.shape, f"{self.n_features} columns like the reference")
        return x

    # -- serialization ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists of floats; no NaN or infinity)."""
        enc = self._encoding
        return {
            "kind": _KIND,
            "version": _VERSION,
            "variance_explained": self.variance_explained,
            "n_sigma": self.n_sigma,
            "chunk_size": self.chunk_size,
            "means": enc.means.tolist(),
            "scales": enc.scales.tolist(),
            "impute": enc.impute.tolist(),
            "categorical": list(enc.categorical),
            "codes": [c.tolist() for c in enc.codes],
            "freqs": [f.tolist() for f in enc.freqs],
            "missing_freqs": list(enc.missing_freqs),
            "components": self._components.tolist(),
            "explained_variance_ratio": self._ratio.tolist(),
            "chunk_statistics": self._chunk_statistics.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        ProfileFormatError
            If the payload is of another kind or version, or incomplete.
        """
        source = "PCAReconstruction.from_dict"
        if data.get("kind") != _KIND or data.get("version") != _VERSION:
            raise ProfileFormatError(
                source,
                f"expected kind {_KIND!r} version {_VERSION}, got {data.get('kind')!r} version {data.get('version')!r}",
            )
        try:
            encoding = _Encoding(
                means=_floats(data["means"]),
                scales=_floats(data["scales"]),
                impute=_floats(data["impute"]),
                categorical=tuple(int(c) for c in data["categorical"]),
                codes=tuple(_floats(c) for c in data["codes"]),
                freqs=tuple(_floats(f) for f in data["freqs"]),
                missing_freqs=tuple(float(m) for m in data["missing_freqs"]),
            )
            components = np.asarray(data["components"], dtype=np.float64)
            if components.ndim != 2 or components.shape[1] != encoding.means.size:
                raise ProfileFormatError(source, f"components of shape {components.shape} do not fit")
            return cls(
                encoding=encoding,
                components=components,
                explained_variance_ratio=_floats(data["explained_variance_ratio"]),
                chunk_statistics=_floats(data["chunk_statistics"]),
                variance_explained=float(data["variance_explained"]),
                n_sigma=float(data["n_sigma"]),
                chunk_size=int(data["chunk_size"]),
            )
        except KeyError as exc:
            raise ProfileFormatError(source, f"missing key {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DetectorError):
                raise
            raise ProfileFormatError(source, str(exc)) from None


# -- helpers -------------------------------------------------------------------------------------------
def _floats(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _as_matrix(matrix: ArrayLike, where: str) -> FloatArray:
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 1:
        raise MatrixShapeError(where, x.shape, "a 2-D (rows, features) matrix with at least one column")
    return x


def _fit_encoding(x: FloatArray, cats: tuple[int, ...]) -> _Encoding:
    n, p = x.shape
    finite = np.isfinite(x)
    impute = np.zeros(p)
    for j in range(p):
        if j not in cats and finite[:, j].any():
            impute[j] = float(x[finite[:, j], j].mean())
    codes, freqs, missing = [], [], []
    for j in cats:
        ok = finite[:, j]
        values, counts = np.unique(x[ok, j], return_counts=True)
        codes.append(values.astype(np.float64))
        freqs.append(counts / n)
        missing.append(float((~ok).sum() / n))
    enc = _Encoding(
        means=np.zeros(p),
        scales=np.ones(p),
        impute=impute,
        categorical=cats,
        codes=tuple(codes),
        freqs=tuple(freqs),
        missing_freqs=tuple(missing),
    )
    encoded = _encode(x, enc)
    scales = encoded.std(axis=0)
    scales[scales == 0] = 1.0
    return _Encoding(
        means=encoded.mean(axis=0),
        scales=scales,
        impute=impute,
        categorical=cats,
        codes=enc.codes,
        freqs=enc.freqs,
        missing_freqs=enc.missing_freqs,
    )


@dataclass(frozen=True, slots=True)
class _CategoryTable:
    """The frequency encoding of every categorical column as one array lookup, for reference codes that are
    integers in ``[0, _MAX_TABLE_CODE)`` (category indices, as :func:`detectors.joint.joint_matrix` makes):
    column ``i``'s code ``c`` is at ``values[offsets[i] + c]`` (0.0 when the reference has no such code),
    the last slot of ``values`` (0.0) is for any other finite value."""

    columns: NDArray[np.intp]
    offsets: FloatArray
    sizes: FloatArray
    values: FloatArray
    missing: FloatArray


_MAX_TABLE_CODE = 1 << 16


def _category_table(enc: _Encoding) -> _CategoryTable | None:
    """The lookup table of ``enc``'s categorical columns, or ``None`` when a reference code does not fit."""
    if not enc.categorical:
        return None
    segments, offsets, sizes, start = [], [], [], 0
    for codes, freqs in zip(enc.codes, enc.freqs, strict=True):
        if codes.size and not (codes[0] >= 0 and codes[-1] < _MAX_TABLE_CODE and np.all(codes == np.floor(codes))):
            return None
        size = int(codes[-1]) + 1 if codes.size else 0
        segment = np.zeros(size)
        segment[codes.astype(np.intp)] = freqs
        segments.append(segment)
        offsets.append(start)
        sizes.append(size)
        start += size
    return _CategoryTable(
        columns=np.array(enc.categorical, dtype=np.intp),
        offsets=np.array(offsets, dtype=np.float64),
        sizes=np.array(sizes, dtype=np.float64),
        values=np.concatenate([*segments, [0.0]]),
        missing=np.array(enc.missing_freqs, dtype=np.float64),
    )


def _encode(x: FloatArray, enc: _Encoding, table: _CategoryTable | None = None) -> FloatArray:
    out = np.array(x, dtype=np.float64, copy=True)
    finite = np.isfinite(out)
    impute = ~finite  # non-finite entries of the numeric columns take the column's impute value
    if enc.categorical:
        impute[:, list(enc.categorical)] = False
    if impute.any():
        out[impute] = np.broadcast_to(enc.impute, out.shape)[impute]
    if table is not None:
        # the same values as the search below: a finite code equal to a reference code gets its share,
        # any other finite value 0.0, a non-finite one the share of missing values
        values = x[:, table.columns]
        hit = (values >= 0) & (values < table.sizes) & (values == np.floor(values))
        slots = np.where(hit, values + table.offsets, table.values.size - 1).astype(np.intp)
        encoded = table.values[slots]
        missing = ~finite[:, table.columns]
        if missing.any():
            encoded = np.where(missing, table.missing, encoded)
        out[:, table.columns] = encoded
        return out
    for i, j in enumerate(enc.categorical):
        col = x[:, j]
        ok = finite[:, j]
        every = bool(ok.all())
        values = col if every else col[ok]
        codes, freqs = enc.codes[i], enc.freqs[i]
        encoded = np.zeros(col.shape[0])
        if codes.size:
            pos = np.clip(np.searchsorted(codes, values), 0, codes.size - 1)
            hit = codes[pos] == values
            if every:
                encoded = np.where(hit, freqs[pos], 0.0)
            else:
                encoded[ok] = np.where(hit, freqs[pos], 0.0)
        if not every:
            encoded[~ok] = enc.missing_freqs[i]
        out[:, j] = encoded
    return out


def _standardize(x: FloatArray, enc: _Encoding, table: _CategoryTable | None = None) -> FloatArray:
    z = _encode(x, enc, table)  # a new array: (z - means) / scales in place, the same values
    z -= enc.means
    z /= enc.scales
    return z


_BLAS_LOCK = threading.Lock()
_BLAS: list[list[Any]] = []  # [the BLAS library controllers of threadpoolctl] once looked up ([[]] without it)


def _blas_libraries() -> list[Any]:
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - scikit-learn (through evidently) brings it
            _BLAS.append([])
        else:
            _BLAS.append(list(ThreadpoolController().select(user_api="blas").lib_controllers))
    return _BLAS[0]


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with the BLAS libraries limited to one thread (restored after; a no-op when they
    already use one, or without ``threadpoolctl``). Calls from several threads take turns, so a limit is
    never restored under another call."""
    with _BLAS_LOCK:
        raised = []
        for lib in _blas_libraries():
            threads = lib.get_num_threads()
            if threads is not None and threads != 1:
                raised.append((lib, threads))
        for lib, _ in raised:
            lib.set_num_threads(1)
        try:
            yield
        finally:
            for lib, threads in raised:
                lib.set_num_threads(threads)


def _row_errors(z: FloatArray, components: FloatArray) -> FloatArray:
    residual = (z @ components.T) @ components
    np.subtract(z, residual, out=residual)
    # np.linalg.norm(residual, axis=1) of a real array: sqrt of the row sums of the squares
    return np.sqrt(np.add.reduce(np.multiply(residual, residual, out=residual), axis=1))
