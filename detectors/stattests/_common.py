"""Shared input handling and binning for the two-sample tests (pure numpy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.errors import InsufficientDataError, InvalidParameterError

__all__ = [
    "BinSpec",
    "Epsilon",
    "as_labels",
    "as_sample",
    "binary_counts",
    "binned_counts",
    "check_alpha",
    "check_threshold",
    "fill_zero_shares",
    "filled_shares",
    "shares",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: How to turn two samples into aligned buckets: ``"sturges"`` (Evidently's: Sturges' rule over
#: reference ∪ current), ``"quantile"`` (deciles of the reference, open-ended outer buckets), an
#: ``int`` n (n equal-width bins over reference ∪ current), an explicit increasing edge sequence
#: (``np.histogram``'s buckets plus an underflow and an overflow bucket), or ``"categories"`` (one
#: bucket per distinct value of reference ∪ current, so a category unseen in the reference keeps its
#: own bucket).
BinSpec = Literal["sturges", "quantile", "categories"] | int | Sequence[float] | npt.NDArray[np.float64]

#: Smoothing of empty buckets for PSI and KL: a float replaces every zero share by that value;
#: ``"evidently"`` is Evidently 0.7's rule (1e-4, or the smallest non-zero share / 1e6 when that share
#: is <= 1e-4), applied to each side separately; ``0`` or ``None`` leaves zeros (PSI / KL may be inf).
Epsilon = float | Literal["evidently"] | None


def as_sample(values: npt.ArrayLike, *, name: str, test: str, min_size: int = 1) -> FloatArray:
    """Finite float64 values of ``values`` (NaN and ±inf removed), at least ``min_size`` of them."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(name, f"<array of {arr.dtype}>", "numeric values", where=test) from exc
    out = np.asarray(arr, dtype=np.float64).ravel()
    out = out[np.isfinite(out)]
    if out.size < min_size:
        raise InsufficientDataError(f"{test} ({name})", min_size, int(out.size))
    return out


def as_labels(values: npt.ArrayLike, *, name: str, test: str, min_size: int = 1) -> npt.NDArray[np.object_]:
    """Non-null values of ``values`` as an object array (None, NaN and NaT removed)."""
    ser = pd.Series(np.asarray(values, dtype=object).ravel(), dtype=object)
    out = ser[ser.notna()].to_numpy(dtype=object)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        out = out[np.isfinite(out.astype(np.float64))]
    if out.size < min_size:
        raise InsufficientDataError(f"{test} ({name})", min_size, int(out.size))
    return out


def check_alpha(alpha: float, test: str) -> float:
    if not (0.0 < float(alpha) < 1.0):
        raise InvalidParameterError("alpha", alpha, "a number in (0, 1)", where=test)
    return float(alpha)


def check_threshold(threshold: float, test: str) -> float:
    if not np.isfinite(threshold) or threshold < 0:
        raise InvalidParameterError("threshold", threshold, "a finite number >= 0", where=test)
    return float(threshold)


def category_counts(reference: npt.ArrayLike, current: npt.ArrayLike, test: str) -> tuple[IntArray, IntArray]:
    """Counts per distinct value of reference ∪ current (non-null values), aligned."""
    ref = as_labels(reference, name="reference", test=test)
    cur = as_labels(current, name="current", test=test)
    codes, uniques = pd.factorize(np.concatenate([ref, cur]), sort=False)
    k = len(uniques)
    ref_counts = np.bincount(codes[: ref.size], minlength=k).astype(np.int64)
    cur_counts = np.bincount(codes[ref.size :], minlength=k).astype(np.int64)
    return ref_counts, cur_counts


def binned_counts(
    reference: npt.ArrayLike, current: npt.ArrayLike, bins: BinSpec, *, test: str
) -> tuple[IntArray, IntArray]:
    """Aligned bucket counts of the two samples under ``bins`` (see :data:`BinSpec`)."""
    if isinstance(bins, str) and bins == "categories":
        return category_counts(reference, current, test)
    ref = as_sample(reference, name="reference", test=test)
    cur = as_sample(current, name="current", test=test)
    if isinstance(bins, str):
        if bins == "sturges":
            edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
            return np.histogram(ref, edges)[0].astype(np.int64), np.histogram(cur, edges)[0].astype(np.int64)
        if bins == "quantile":
            inner = np.unique(np.quantile(ref, np.linspace(0.1, 0.9, 9)))
            return _outer_counts(ref, inner), _outer_counts(cur, inner)
        raise InvalidParameterError("bins", bins, "'sturges', 'quantile', 'categories', an int or edges", where=test)
    if isinstance(bins, int | np.integer):
        if bins < 1:
            raise InvalidParameterError("bins", bins, "a positive number of bins", where=test)
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=int(bins))
        return np.histogram(ref, edges)[0].astype(np.int64), np.histogram(cur, edges)[0].astype(np.int64)
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 1 or np.any(np.diff(edges) <= 0) or not np.all(np.isfinite(edges)):
        raise InvalidParameterError("bins", bins, "strictly increasing finite edges", where=test)
    return _outer_counts(ref, edges), _outer_counts(cur, edges)


def _outer_counts(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts in (-inf, e0), [e0, e1), ..., [e_{k-1}, e_k], (e_k, inf): len(edges) + 1 buckets.

    Inside [e0, e_k] the buckets are those of ``np.histogram`` (the last one closed); values outside go
    to the two outer buckets, so nothing is dropped.
    """
    idx = np.searchsorted(edges, values, side="right")
    if edges.size > 1:
        idx[values == edges[-1]] = edges.size - 1
    return np.bincount(idx, minlength=edges.size + 1).astype(np.int64)


def shares(counts: npt.ArrayLike, *, name: str, test: str) -> FloatArray:
    arr = np.asarray(counts, dtype=np.float64)
    total = arr.sum()
    if arr.ndim != 1 or np.any(arr < 0) or not total > 0:
        raise InsufficientDataError(f"{test} ({name} counts)", 1, int(total) if np.isfinite(total) else 0)
    return arr / total


def filled_shares(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike, epsilon: Epsilon, test: str
) -> tuple[FloatArray, FloatArray]:
    """Both sides' bucket shares with zero shares replaced per ``epsilon`` (PSI and KL divergence)."""
    r = fill_zero_shares(shares(reference_counts, name="reference", test=test), epsilon, test)
    c = fill_zero_shares(shares(current_counts, name="current", test=test), epsilon, test)
    return r, c


def binary_counts(
    reference: npt.ArrayLike, current: npt.ArrayLike, test: str
) -> tuple[int, int, int, int]:
    """``(ones_ref, n_ref, ones_cur, n_cur)`` of two binary samples ("one" = not the smallest label of both);
    more than two distinct values raise :class:`InvalidParameterError`."""
    ref = as_labels(reference, name="reference", test=test)
    cur = as_labels(current, name="current", test=test)
    keys = sorted(set(ref.tolist()) | set(cur.tolist()))
    if len(keys) > 2:
        raise InvalidParameterError("current", f"{len(keys)} distinct values", "at most 2 (binary data)", where=test)
    return int(np.count_nonzero(ref != keys[0])), ref.size, int(np.count_nonzero(cur != keys[0])), cur.size


def fill_zero_shares(share: FloatArray, epsilon: Epsilon, test: str) -> FloatArray:
    """Replace zero shares according to ``epsilon`` (see :data:`Epsilon`); returns a new array."""
    out = share.copy()
    if epsilon is None or (not isinstance(epsilon, str) and epsilon == 0):
        return out
    zero = out == 0
    if not zero.any():
        return out
    if isinstance(epsilon, str):
        if epsilon != "evidently":
            raise InvalidParameterError("epsilon", epsilon, "a float >= 0, None or 'evidently'", where=test)
        smallest = float(out[~zero].min())
        out[zero] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
        return out
    if not (0 < float(epsilon) < 1):
        raise InvalidParameterError("epsilon", epsilon, "a float in [0, 1), None or 'evidently'", where=test)
    out[zero] = float(epsilon)
    return out
