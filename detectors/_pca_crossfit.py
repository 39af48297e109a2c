"""The cross-fit of :mod:`detectors.multivariate` (its steps 3 and 4; the rules are stated in that module's
docstring): rows dealt into folds, the principal axes of the whole standardized reference and of each fold
model, and every reference row's out-of-sample reconstruction error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from detectors._pca_encoding import _complement, _row_errors, single_threaded_blas

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _CrossFit:
    components: FloatArray  # (k, p): principal directions of the whole standardized reference
    fold_components: FloatArray  # (folds, k, p): the components of each fold model
    explained_variance_ratio: FloatArray  # of every component, descending
    errors: FloatArray  # (n,): each reference row's error under the model that did not see it


def _cross_fit(z: FloatArray, *, variance_explained: float, folds: int, seed: int) -> _CrossFit:
    """Steps 3 and 4 on the standardized reference ``z``."""
    n, p = z.shape
    rows = _fold_rows(n, folds, seed)
    with single_threaded_blas():  # p x p problems and thin products: threads cost more than they save
        held = [z[r] for r in rows]
        fold_grams = np.stack([_gram(zj) for zj in held])
        gram = fold_grams.sum(axis=0)
        var, vt = _principal_axes(gram)
        total = float(var.sum())
        ratio = var / total if total > 0 else np.zeros_like(var)
        k = _n_components(ratio, variance_explained)
        fold_components = np.empty((folds, k, p))
        errors = np.empty(n)
        for j in range(folds):
            fold_components[j] = _principal_axes(gram - fold_grams[j])[1][:k]
            errors[rows[j]] = _row_errors(held[j], _complement(fold_components[j]))
    return _CrossFit(np.ascontiguousarray(vt[:k]), fold_components, ratio, errors)


def _fold_rows(n: int, folds: int, seed: int) -> list[NDArray[np.intp]]:
    """Each fold's rows, in increasing order: a permutation of the rows seeded with ``seed``, split into
    ``folds`` near-equal parts."""
    return [np.sort(r) for r in np.array_split(np.random.default_rng(seed).permutation(n), folds)]


def _n_components(ratio: FloatArray, variance_explained: float) -> int:
    """``k`` of step 3: the fewest leading components whose cumulative explained variance ratio is strictly
    greater than ``variance_explained`` (all of them when none is)."""
    return min(int(np.searchsorted(np.cumsum(ratio), variance_explained, side="right")) + 1, ratio.size)


def _gram(z: FloatArray) -> FloatArray:
    """``z.T @ z`` (symmetric ``p x p``)."""
    return np.asarray(z.T @ z)


def _principal_axes(gram: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(s**2, vt)`` of the thin SVD ``z = u diag(s) vt`` from ``gram = z.T @ z`` (eigenvalues in
    decreasing order, clipped at 0, and the matching unit eigenvectors as rows; each row's sign set so that
    its largest-magnitude entry is positive). The same subspaces as ``np.linalg.svd(z)`` up to rounding
    (the eigendecomposition of a ``p x p`` matrix instead of an SVD of ``n x p``: the cost no longer grows
    with the rows beyond one product); rounding in the small eigenvalues is relative to the largest.
    """
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1]
    vt = np.ascontiguousarray(vectors[:, order].T)
    signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
    vt *= np.where(signs == 0, 1.0, signs)[:, None]
    return np.clip(values[order], 0.0, None), vt
