"""Validation of the arrays handed to the realized metrics and to CBPE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from detectors.performance.errors import PerformanceInputError

__all__ = ["as_scores", "class_indices", "same_length"]


def as_scores(values: ArrayLike, where: str, *, ndim: int = 1) -> NDArray[np.float64]:
    """Float array of the given rank with only finite values, else :class:`PerformanceInputError`."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise PerformanceInputError(where, "values are not numbers") from None
    if arr.ndim != ndim:
        raise PerformanceInputError(where, f"expected a {ndim}-d array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1))[0]
        raise PerformanceInputError(where, f"non-finite value at row {int(bad)}")
    return arr


def same_length(where: str, **arrays: Any) -> int:
    """Common length of the named arrays, else :class:`PerformanceInputError` naming both lengths."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise PerformanceInputError(where, f"arrays of different lengths ({listed})")
    return next(iter(lengths.values()))


def class_indices(labels: ArrayLike, classes: Sequence[Any], where: str) -> NDArray[np.intp]:
    """Column index of each label in ``classes`` (labels may be strings, ints, ...).

    Raises :class:`PerformanceInputError` naming the first label that is not one of ``classes``.
    """
    lab = np.asarray(labels)
    cls = np.asarray(list(classes))
    if len(set(cls.tolist())) != cls.size:
        raise PerformanceInputError(where, f"classes {cls.tolist()!r} repeat a class")
    try:
        sorter = np.argsort(cls, kind="stable")
        pos = np.searchsorted(cls[sorter], lab)
    except TypeError:
        raise PerformanceInputError(where, "labels and classes are of incomparable types") from None
    pos = np.clip(pos, 0, cls.size - 1)
    idx = sorter[pos]
    bad = np.flatnonzero(cls[idx] != lab)
    if bad.size:
        raise PerformanceInputError(where, f"label {lab[bad[0]]!r} at row {int(bad[0])} is not one of {cls.tolist()!r}")
    return idx.astype(np.intp)
