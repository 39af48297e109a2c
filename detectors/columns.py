"""Per-column reference summaries: :class:`NumericProfile` and :class:`CategoricalProfile`.

A numeric summary keeps the sorted finite reference values (all of them up to ``max_values``, else a
uniform sample of ``max_values`` drawn with a seeded generator, flagged by ``sampled``), plus exact counts
(rows, nulls, ±inf, distinct values), range, mean, population std, a few quantiles, and the counts of the
reference in its decile bins. A categorical summary keeps the categories (string labels, sorted) and
their exact counts, up to ``max_levels`` categories: above it, the ``max_levels`` most frequent
(ties: smaller label first), the total count of the rest (``n_other``), the counts of reference levels
seen once and twice (``n_singletons``, ``n_doubletons``: the Good–Turing estimate of the unseen mass)
and the sorted 64-bit hashes of the labels of every level (of the ``max_hashed`` most frequent ones
above that bound), which tell a dropped reference level from an unseen one. Nothing else of the raw
data is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.errors import AllNullColumnError, CompactProfileError, IncompatibleTypeError
from detectors.kinds import BINARY, NUMERIC, to_labels, to_numeric
from detectors.stattests.cvm_grid import DEFAULT_GRID_SIZE, ReferenceGrid

__all__ = [
    "DEFAULT_MAX_HASHED",
    "DEFAULT_MAX_LEVELS",
    "QUANTILE_LEVELS",
    "CategoricalProfile",
    "ColumnProfile",
    "NumericProfile",
    "label_hashes",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
QUANTILE_LEVELS: Final = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
#: Categories kept with their counts per categorical column (8 bytes of count + the label each).
DEFAULT_MAX_LEVELS: Final = 1000
#: Label hashes kept per capped categorical column (8 bytes each: 8 MB at the bound).
DEFAULT_MAX_HASHED: Final = 1_000_000
UInt64Array = npt.NDArray[np.uint64]
_NO_HASHES: Final = np.zeros(0, dtype=np.uint64)
_NO_HASHES.flags.writeable = False
_NO_VALUES: Final = np.zeros(0, dtype=np.float64)
_NO_VALUES.flags.writeable = False


def label_hashes(labels: npt.ArrayLike) -> UInt64Array:
    """64-bit hashes of string labels (pandas' ``hash_array``: SipHash with its fixed key, stable across
    runs and machines). Two different labels share a hash with probability 2**-64 per pair: with a
    million reference levels, an unseen label is taken for a reference one with probability below 1e-13.

    >>> label_hashes(["a", "b"]).dtype, label_hashes(["a"])[0] == label_hashes(["a", "b"])[0]
    (dtype('uint64'), np.True_)
    """
    arr = np.asarray(labels, dtype=object)
    if arr.size == 0:
        return _NO_HASHES.copy()
    return np.asarray(pd.util.hash_array(arr, categorize=False), dtype=np.uint64)


def _frozen(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    arr = np.ascontiguousarray(arr)
    arr.flags.writeable = False
    return arr


def _sorted_quantiles(values: FloatArray, levels: FloatArray) -> FloatArray:
    """``np.quantile(values, levels)`` (linear interpolation) for an already-sorted array, without a partition."""
    pos = levels * (values.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, values.size - 1)
    frac = pos - lo
    return np.asarray(values[lo] + (values[hi] - values[lo]) * frac, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """Reference summary of a numeric column (see the module docstring)."""

    name: str
    dtype: str
    n_rows: int
    n_null: int
    n_inf: int
    n_finite: int
    n_distinct: int
    sampled: bool
    values: FloatArray = field(repr=False)
    min: float
    max: float
    mean: float
    std: float
    quantiles: FloatArray = field(repr=False)
    bin_edges: FloatArray = field(repr=False)
    bin_counts: IntArray = field(repr=False)
    kind: str = NUMERIC
    grid: ReferenceGrid | None = field(default=None, repr=False)

    @property
    def missing_rate(self) -> float:
        """Share of null rows (NaN / None / NaT) in the reference."""
        return self.n_null / self.n_rows if self.n_rows else 0.0

    @property
    def compact(self) -> bool:
        """Whether the reference values were replaced by :attr:`grid` (:meth:`compacted`)."""
        return self.grid is not None

    def reference_values(self, needed_by: str) -> FloatArray:
        """``values``; :class:`~detectors.errors.CompactProfileError` naming ``needed_by`` if compact."""
        if self.grid is not None:
            raise CompactProfileError(self.name, needed_by)
        return self.values

    def compacted(self, size: int = DEFAULT_GRID_SIZE) -> NumericProfile:
        """A copy whose ``values`` (empty) are replaced by their :class:`ReferenceGrid` of ``size`` atoms:
        what the default preset's Cramér–von Mises test needs, in ``16 * size`` bytes (see
        :mod:`detectors.stattests.cvm_grid` for the error bound; exact up to ``size`` distinct values)."""
        if self.grid is not None:
            return self
        return replace(self, values=_NO_VALUES, grid=ReferenceGrid.from_sorted(self.values, size=size))

    @cached_property
    def self_counts(self) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]]:
        """``(#values <= v, #values < v)`` at every one of the sorted ``values`` (the reference's own counts
        of :func:`~detectors.stattests.cramer_von_mises.cvm_ks_sorted`, the same for every window), computed
        on first use and kept (int32 when they fit: as much memory as ``values``)."""
        from detectors.stattests.cramer_von_mises import sorted_self_counts

        le, lt = sorted_self_counts(self.reference_values("the exact Cramér-von Mises test"))
        dtype = np.int32 if self.values.size < 2**31 - 1 else np.int64
        return _frozen(le.astype(dtype)), _frozen(lt.astype(dtype))

    @classmethod
    def build(cls, name: str, series: pd.Series, *, max_values: int, rng: np.random.Generator) -> NumericProfile:
        arr = to_numeric(series, column=name, source="reference")
        null = np.isnan(arr)
        finite_mask = np.isfinite(arr)
        finite = arr[finite_mask]  # a copy, sorted in place
        finite.sort()
        if finite.size == 0:
            raise AllNullColumnError(name, "reference")
        n_distinct = int(np.count_nonzero(np.diff(finite)) + 1)
        inner = np.unique(_sorted_quantiles(finite, np.linspace(0.1, 0.9, 9)))
        # values per bin [inner[b-1], inner[b]): differences of the counts below each edge
        counts = np.diff(np.searchsorted(finite, inner, side="left"), prepend=0, append=finite.size)
        sampled = finite.size > max_values
        values = np.sort(rng.choice(finite, size=max_values, replace=False)) if sampled else finite
        return cls(
            name=name,
            dtype=str(series.dtype),
            n_rows=int(arr.size),
            n_null=int(null.sum()),
            n_inf=int(arr.size - null.sum() - finite.size),
            n_finite=int(finite.size),
            n_distinct=n_distinct,
            sampled=bool(sampled),
            values=_frozen(values),
            min=float(finite[0]),
            max=float(finite[-1]),
            mean=float(np.mean(finite)),
            std=float(np.std(finite)),
            quantiles=_frozen(_sorted_quantiles(finite, np.array(QUANTILE_LEVELS))),
            bin_edges=_frozen(inner),
            bin_counts=_frozen(counts.astype(np.int64)),
        )

    def meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "n_rows": self.n_rows,
            "n_null": self.n_null,
            "n_inf": self.n_inf,
            "n_finite": self.n_finite,
            "n_distinct": self.n_distinct,
            "sampled": self.sampled,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
        }

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "values": self.reference_values("writing the profile"),
            "quantiles": self.quantiles,
            "bin_edges": self.bin_edges,
            "bin_counts": self.bin_counts,
        }

    @classmethod
    def from_parts(cls, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> NumericProfile:
        fields = {
            k: meta[k]
            for k in (
                "name",
                "dtype",
                "n_rows",
                "n_null",
                "n_inf",
                "n_finite",
                "n_distinct",
                "sampled",
                "min",
                "max",
                "mean",
                "std",
            )
        }
        return cls(
            **fields,
            values=_frozen(arrays["values"].astype(np.float64)),
            quantiles=_frozen(arrays["quantiles"].astype(np.float64)),
            bin_edges=_frozen(arrays["bin_edges"].astype(np.float64)),
            bin_counts=_frozen(arrays["bin_counts"].astype(np.int64)),
        )


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """Reference summary of a categorical or binary column: sorted string labels and their counts.

    ``categories`` / ``counts`` hold every level up to ``max_levels`` levels; above it the
    ``max_levels`` most frequent (``capped``), with ``n_other`` the reference values of the other
    ``n_levels - len(categories)`` levels and ``hashes`` the sorted :func:`label_hashes` of every
    reference level (of the ``max_hashed`` most frequent above that bound; ``n_unhashed`` counts the
    reference values of the levels left out). ``n_singletons`` / ``n_doubletons`` count the reference
    levels seen exactly once / twice (over all levels, kept or not).

    >>> import pandas as pd
    >>> col = CategoricalProfile.build("c", pd.Series(["a"] * 5 + ["b"] * 3 + ["c", "d"]), "categorical",
    ...                                max_levels=2)
    >>> col.categories, col.counts.tolist(), col.n_other, col.n_levels, col.n_singletons, col.capped
    (('a', 'b'), [5, 3], 2, 4, 2, True)
    """

    name: str
    kind: str
    dtype: str
    n_rows: int
    n_null: int
    categories: tuple[str, ...]
    counts: IntArray = field(repr=False)
    n_levels: int = -1
    n_singletons: int = -1
    n_doubletons: int = -1
    n_other: int = 0
    n_unhashed: int = 0
    hashes: UInt64Array = field(default_factory=lambda: _NO_HASHES, repr=False)

    def __post_init__(self) -> None:  # the counts of an uncapped column are all its levels
        if self.n_levels < 0:
            object.__setattr__(self, "n_levels", len(self.categories))
        if self.n_singletons < 0:
            object.__setattr__(self, "n_singletons", int(np.count_nonzero(self.counts == 1)))
        if self.n_doubletons < 0:
            object.__setattr__(self, "n_doubletons", int(np.count_nonzero(self.counts == 2)))

    @property
    def missing_rate(self) -> float:
        """Share of null rows in the reference."""
        return self.n_null / self.n_rows if self.n_rows else 0.0

    @property
    def n_valid(self) -> int:
        return self.n_rows - self.n_null

    @property
    def capped(self) -> bool:
        """Whether some reference levels are not kept (``n_levels > len(categories)``)."""
        return self.n_levels > len(self.categories)

    @classmethod
    def build(
        cls,
        name: str,
        series: pd.Series,
        kind: str,
        *,
        max_levels: int = DEFAULT_MAX_LEVELS,
        max_hashed: int = DEFAULT_MAX_HASHED,
    ) -> CategoricalProfile:
        return cls.build_with_codes(name, series, kind, max_levels=max_levels, max_hashed=max_hashed)[0]

    @classmethod
    def build_with_codes(
        cls,
        name: str,
        series: pd.Series,
        kind: str,
        *,
        max_levels: int = DEFAULT_MAX_LEVELS,
        max_hashed: int = DEFAULT_MAX_HASHED,
    ) -> tuple[CategoricalProfile, npt.NDArray[np.intp]]:
        """:meth:`build`, and the position of each value's label among the profile's ``categories`` (-1 for
        a null or a level not kept): the lookup the multivariate encoding starts from."""
        labels = to_labels(series)
        codes, uniques = pd.factorize(labels, sort=True)  # a null label: code -1
        counts = np.bincount(codes + 1, minlength=len(uniques) + 1).astype(np.int64)
        n_null = int(counts[0])
        counts = counts[1:]
        if n_null == labels.size:
            raise AllNullColumnError(name, "reference")
        if kind == BINARY and len(uniques) > 2:
            raise IncompatibleTypeError(name, "reference", BINARY, f"{series.dtype} with {len(uniques)} values")
        n_levels = len(uniques)
        extra: dict[str, Any] = {}
        if n_levels > max_levels:
            order = np.argsort(-counts, kind="stable")  # by count, ties in label order (uniques are sorted)
            keep = np.sort(order[:max_levels])
            hashed = order[:max_hashed]
            extra = {
                "n_other": int(counts.sum() - counts[keep].sum()),
                "n_unhashed": int(counts.sum() - counts[hashed].sum()),
                "hashes": _frozen(np.unique(label_hashes(np.asarray(uniques)[hashed]))),
            }
            position = np.full(n_levels + 1, -1, dtype=np.intp)  # the last slot: a null's code -1
            position[keep] = np.arange(keep.size)
            codes = position[codes]
            uniques, kept_counts = np.asarray(uniques)[keep], counts[keep]
        else:
            kept_counts = counts
        col = cls(
            name=name,
            kind=kind,
            dtype=str(series.dtype),
            n_rows=int(labels.size),
            n_null=n_null,
            categories=tuple(str(u) for u in uniques),
            counts=_frozen(kept_counts),
            n_levels=n_levels,
            n_singletons=int(np.count_nonzero(counts == 1)),
            n_doubletons=int(np.count_nonzero(counts == 2)),
            **extra,
        )
        return col, np.asarray(codes, dtype=np.intp)

    def meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "n_rows": self.n_rows,
            "n_null": self.n_null,
            "categories": list(self.categories),
            "n_levels": self.n_levels,
            "n_singletons": self.n_singletons,
            "n_doubletons": self.n_doubletons,
            "n_other": self.n_other,
            "n_unhashed": self.n_unhashed,
        }

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        if self.capped:
            return {"counts": self.counts, "hashes": self.hashes}
        return {"counts": self.counts}

    @classmethod
    def from_parts(cls, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> CategoricalProfile:
        col = cls(
            name=meta["name"],
            kind=meta["kind"],
            dtype=meta["dtype"],
            n_rows=meta["n_rows"],
            n_null=meta["n_null"],
            categories=tuple(meta["categories"]),
            counts=_frozen(arrays["counts"].astype(np.int64)),
            n_levels=int(meta["n_levels"]),
            n_singletons=int(meta["n_singletons"]),
            n_doubletons=int(meta["n_doubletons"]),
            n_other=int(meta["n_other"]),
            n_unhashed=int(meta["n_unhashed"]),
            hashes=_frozen(arrays["hashes"].astype(np.uint64)) if "hashes" in arrays else _NO_HASHES,
        )
        if col.counts.shape != (len(col.categories),) or col.n_levels < len(col.categories):
            raise ValueError(f"categories and counts of column {col.name!r} do not fit")
        if col.capped and col.hashes.size == 0:
            raise ValueError(f"capped column {col.name!r} has no label hashes")
        return col


ColumnProfile = NumericProfile | CategoricalProfile
