"""Encoding, standardization and per-row reconstruction errors of :mod:`detectors.multivariate` (its steps 1,
2 and 4; the rules are stated in that module's docstring), and the encoding's dict form."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import ThreadpoolController

from detectors.errors import DetectorError

__all__ = ["MatrixShapeError"]

FloatArray = NDArray[np.float64]


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
class _Encoding:
    means: FloatArray  # per column, after frequency encoding and imputation
    scales: FloatArray
    impute: FloatArray  # per column: value that replaces a non-finite entry (numeric columns only)
    categorical: tuple[int, ...]
    codes: tuple[FloatArray, ...]  # per categorical column: reference codes, sorted
    freqs: tuple[FloatArray, ...]  # their reference shares
    missing_freqs: tuple[float, ...]  # reference share of missing values per categorical column


def _floats(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _encoding_to_dict(enc: _Encoding) -> dict[str, Any]:
    """The encoding's part of :meth:`detectors.multivariate.PCAReconstruction.to_dict` (lists of floats)."""
    return {
        "means": enc.means.tolist(),
        "scales": enc.scales.tolist(),
        "impute": enc.impute.tolist(),
        "categorical": list(enc.categorical),
        "codes": [c.tolist() for c in enc.codes],
        "freqs": [f.tolist() for f in enc.freqs],
        "missing_freqs": list(enc.missing_freqs),
    }


def _encoding_from_dict(data: Mapping[str, Any]) -> _Encoding:
    """The encoding of a :func:`_encoding_to_dict` payload (``KeyError``, ``TypeError`` or ``ValueError`` when
    it is incomplete or malformed)."""
    return _Encoding(
        means=_floats(data["means"]),
        scales=_floats(data["scales"]),
        impute=_floats(data["impute"]),
        categorical=tuple(int(c) for c in data["categorical"]),
        codes=tuple(_floats(c) for c in data["codes"]),
        freqs=tuple(_floats(f) for f in data["freqs"]),
        missing_freqs=tuple(float(m) for m in data["missing_freqs"]),
    )


def _as_matrix(matrix: ArrayLike, where: str) -> FloatArray:
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 1:
        raise MatrixShapeError(where, x.shape, "a 2-D (rows, features) matrix with at least one column")
    return x


def _fit_encoding(x: FloatArray, cats: tuple[int, ...]) -> tuple[_Encoding, FloatArray]:
    """The encoding fitted on ``x`` and ``x`` standardized with it (the same values as ``_standardize(x, enc)``,
    without encoding ``x`` a second time)."""
    n, p = x.shape
    columns = np.ascontiguousarray(x.T)  # one column per row: the per-column passes read contiguous memory
    finite = np.isfinite(columns)
    impute = np.zeros(p)
    for j in range(p):
        if j not in cats and finite[j].any():
            impute[j] = float(columns[j][finite[j]].mean())
    codes, freqs, missing = [], [], []
    for j in cats:
        ok = finite[j]
        values, counts = np.unique(columns[j][ok], return_counts=True)
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
    encoded = _encode(x, enc, _category_table(enc))
    means = encoded.mean(axis=0)
    scales = encoded.std(axis=0)
    scales[scales == 0] = 1.0
    fitted = _Encoding(
        means=means,
        scales=scales,
        impute=impute,
        categorical=cats,
        codes=enc.codes,
        freqs=enc.freqs,
        missing_freqs=enc.missing_freqs,
    )
    encoded -= means  # a new array (_encode copies): standardized in place, as _standardize does
    encoded /= scales
    return fitted, encoded


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
    out = np.array(x, dtype=np.float64, copy=True, order="C")  # row-major whatever the input's layout
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
_CONTROLLER: list[ThreadpoolController] = []  # made once: looking the libraries up costs milliseconds


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with the BLAS libraries limited to one thread, restored after
    (``threadpoolctl.ThreadpoolController.limit``; its controller is made once, so a call costs tens of
    microseconds where ``threadpoolctl.threadpool_limits`` costs milliseconds). Calls from several threads
    take turns, so a limit is never restored under another call."""
    with _BLAS_LOCK:
        if not _CONTROLLER:
            _CONTROLLER.append(ThreadpoolController())
        with _CONTROLLER[0].limit(limits=1, user_api="blas"):
            yield


def _complement(components: FloatArray) -> FloatArray:
    """An orthonormal basis of the orthogonal complement of the rows of ``components`` (``k x p``, orthonormal
    rows), as ``(p - k) x p`` rows: the last ``p - k`` columns of the complete QR factorization of
    ``components.T`` (the identity for ``k = 0``)."""
    k, p = components.shape
    if k == 0:
        return np.eye(p)
    q = np.linalg.qr(components.T, mode="complete")[0]
    return np.ascontiguousarray(q[:, k:].T)


def _row_errors(z: FloatArray, complement: FloatArray) -> FloatArray:
    """Each row's reconstruction error ``|z - z V^T V|`` for a model of components ``V``, as the norm of the
    row's coordinates in ``complement`` (:func:`_complement` of ``V``): the residual lies in the complement,
    whose basis is orthonormal, so the two norms are equal (to rounding: no ``|z|^2 - |z V^T|^2``
    cancellation), at ``p - k`` products per row instead of ``2 k`` and no ``n x p`` residual."""
    coords = z @ complement.T
    return np.sqrt(np.add.reduce(np.multiply(coords, coords, out=coords), axis=1))


def _fold_mean_errors(z: FloatArray, complements: FloatArray, folds: int,
                      column_squares: FloatArray | None = None) -> FloatArray:
    """Per row, the mean over the fold models of the row's reconstruction error (:func:`_row_errors`):
    ``complements`` holds the ``folds`` models' complement bases one model after the other
    (``(folds * (p - k), p)``), so one product gives every row's coordinates off every model's subspace.
    ``column_squares`` (length ``p``), when given, gets added, per column, the squared residuals summed over
    the rows and averaged over the fold models: for a model with complement ``W`` and coordinates
    ``Y = z W^T``, the residuals are ``Y W``, whose column sums of squares are ``diag(W^T (Y^T Y) W)``."""
    n = z.shape[0]
    m = complements.shape[0] // folds
    coords = z @ complements.T
    if column_squares is not None:
        for j in range(folds):
            block = slice(j * m, (j + 1) * m)
            y, w = coords[:, block], complements[block]
            column_squares += np.add.reduce((y.T @ y @ w) * w, axis=0) / folds
    np.multiply(coords, coords, out=coords)
    errors = np.sqrt(np.add.reduce(coords.reshape(n, folds, m), axis=2))
    return np.add.reduce(errors, axis=1) / folds
