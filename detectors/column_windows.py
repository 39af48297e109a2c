"""Per-column running state of a window: :class:`NumericWindow` and :class:`CategoricalWindow`.

Memory bound, per column:

- numeric: exact counts (rows, nulls, ±inf), exact mean / M2 (Chan's parallel update), min, max and
  counts in the reference's decile bins, plus the finite values themselves — all of them up to
  ``max_values``; beyond that a uniform random sample of exactly ``max_values`` values (bottom-k by
  random priority, which stays uniform when two states are merged). At most ``16 · max_values`` bytes.
- categorical / binary: exact counts per kept reference category (at most the profile's ``max_levels``),
  the exact count ``n_rest`` of values of the reference levels the profile did not keep (recognised by
  their label hash, :func:`detectors.columns.label_hashes`; the hashes are the profile's, shared), exact
  null count, exact counts of unseen categories up to ``max_unseen`` distinct labels; further unseen
  labels are counted together under :data:`OTHER_UNSEEN`. At most ``8 · len(categories) + 8`` bytes
  plus ``max_unseen`` labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.columns import CategoricalProfile, NumericProfile, label_hashes
from detectors.kinds import to_labels, to_numeric, to_numeric_lenient

__all__ = ["OTHER_UNSEEN", "CategoricalWindow", "NumericWindow"]

FloatArray = npt.NDArray[np.float64]
OTHER_UNSEEN: Final = "<other unseen>"


#: Value arrays kept per numeric window before they are joined into one (each array costs ~100 bytes more
#: than its values: a window fed a few values at a time would otherwise hold several times its values).
_MAX_CHUNKS = 32

@dataclass(eq=False)
class _Moments:
    """Exact running summaries, kept only once the window holds a sample instead of all values."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = float("inf")
    max: float = float("-inf")

    def absorb(self, n: int, mean: float, m2: float, lo: float, hi: float) -> None:
        """Chan et al.'s parallel update of count, mean and sum of squared deviations."""
        if n == 0:
            return
        total = self.n + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self.mean += delta * n / total
        self.n = total
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)

    @classmethod
    def of(cls, values: FloatArray) -> _Moments:
        if values.size == 0:
            return cls()
        with np.errstate(over="ignore", invalid="ignore"):  # values near ±1.8e308: inf moments, no warning
            mean = float(values.mean())
            m2 = float(((values - mean) ** 2).sum())
        return cls(values.size, mean, m2, float(values.min()), float(values.max()))


@dataclass(eq=False)
class NumericWindow:
    """Running state of one numeric column (see the module docstring for the memory bound).

    While all finite values are held, the summaries (mean, std, range, decile-bin counts) are computed
    from them when asked; once the state samples, exact running summaries take over.
    """

    name: str
    edges: FloatArray
    max_values: int
    n_rows: int = 0
    n_null: int = 0
    n_inf: int = 0
    n_finite: int = 0
    n_invalid: int = 0
    _chunks: list[FloatArray] = field(default_factory=list)
    _priorities: FloatArray | None = None  # set once the state holds a sample instead of all values
    _moments: _Moments | None = None  # exact summaries, from the moment sampling starts
    _bins: npt.NDArray[np.int64] | None = None
    _sorted: FloatArray | None = None
    _cached_summary: tuple[FloatArray, _Moments] | None = None  # (the sorted array it was computed from, summary)
    _cached_bins: tuple[FloatArray, npt.NDArray[np.int64]] | None = None  # (the sorted array, its bin counts)
    _cached_extremes: tuple[FloatArray, float, float] | None = None  # (the sorted array, its min, its max)

    @classmethod
    def empty(cls, col: NumericProfile, max_values: int) -> NumericWindow:
        # internal edges: reference min, the deciles, just above the reference max -> the outer buckets count
        # the values outside the reference range exactly
        edges = np.concatenate([[col.min], col.bin_edges, [np.nextafter(col.max, np.inf)]])
        return cls(name=col.name, edges=edges, max_values=max_values)

    @property
    def sampled(self) -> bool:
        """True once more finite values arrived than ``max_values`` (the values are then a uniform sample)."""
        return self._priorities is not None

    def _summary(self) -> _Moments:
        if self._moments is not None:
            return self._moments
        values = self.sorted_values()
        if self._cached_summary is None or self._cached_summary[0] is not values:  # stale after an update
            self._cached_summary = (values, _Moments.of(values))
        return self._cached_summary[1]

    @property
    def mean(self) -> float:
        return self._summary().mean if self.n_finite else float("nan")

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0) of the finite values seen (exact)."""
        return float(np.sqrt(self._summary().m2 / self.n_finite)) if self.n_finite else float("nan")

    def _extremes(self) -> tuple[float, float]:
        """(min, max) as :meth:`_summary` has them, without its mean and sum of squares when not yet computed."""
        if self._moments is not None:
            return self._moments.min, self._moments.max
        values = self.sorted_values()
        summary = self._cached_summary
        if summary is not None and summary[0] is values:
            return summary[1].min, summary[1].max
        if self._cached_extremes is None or self._cached_extremes[0] is not values:  # stale after an update
            self._cached_extremes = (values, float(values.min()), float(values.max()))
        return self._cached_extremes[1], self._cached_extremes[2]

    @property
    def min(self) -> float:
        return self._extremes()[0] if self.n_finite else float("nan")

    @property
    def max(self) -> float:
        return self._extremes()[1] if self.n_finite else float("nan")

    def _all_bins(self) -> npt.NDArray[np.int64]:
        if self._bins is not None:
            return self._bins
        values = self.sorted_values()
        if self._cached_bins is None or self._cached_bins[0] is not values:  # stale after an update
            self._cached_bins = (values, self._count_bins(values, is_sorted=True))
        return self._cached_bins[1]

    @property
    def bin_counts(self) -> npt.NDArray[np.int64]:
        """Exact counts in the reference's decile bins: (-inf, e0), [e0, e1), ..., [e_last, inf)."""
        b = self._all_bins()
        return np.concatenate([[b[0] + b[1]], b[2:-2], [b[-2] + b[-1]]])

    @property
    def n_below(self) -> int:
        """Finite values below the reference minimum (exact)."""
        return int(self._all_bins()[0])

    @property
    def n_above(self) -> int:
        """Finite values above the reference maximum (exact)."""
        return int(self._all_bins()[-1])

    def _count_bins(self, values: FloatArray, *, is_sorted: bool = False) -> npt.NDArray[np.int64]:
        if is_sorted:
            cuts = np.searchsorted(values, self.edges, side="left")
            return np.diff(np.concatenate([[0], cuts, [values.size]])).astype(np.int64)
        return np.bincount(np.searchsorted(self.edges, values, side="right"), minlength=self.edges.size + 1)

    def held(self) -> FloatArray:
        if len(self._chunks) != 1:
            self._chunks = [np.concatenate(self._chunks)] if self._chunks else [np.empty(0)]
        return self._chunks[0]

    def sorted_values(self) -> FloatArray:
        """The finite values held (all, or the uniform sample), sorted; cached until the next update."""
        if self._sorted is None:
            self._sorted = np.sort(self.held())
        return self._sorted

    def update(
        self, raw: pd.Series | npt.ArrayLike, rng: np.random.Generator, *, source: str, strict: bool = True
    ) -> None:
        """Add values; non-numbers raise IncompatibleTypeError, or with ``strict=False`` count as ``n_invalid``."""
        if strict:
            x, invalid = to_numeric(raw, column=self.name, source=source), 0
        else:
            x, invalid = to_numeric_lenient(raw)
        finite_mask = np.isfinite(x)
        f = x if finite_mask.all() else x[finite_mask]
        n_null = 0 if f.size == x.size else int(np.isnan(x).sum()) - invalid
        self.n_rows += x.size
        self.n_invalid += invalid
        self.n_null += n_null
        self.n_inf += int(x.size - n_null - invalid - f.size)
        if f.size == 0:
            return
        self.n_finite += f.size
        self._sorted = None
        held = sum(map(len, self._chunks))  # 1-D chunks
        if self._priorities is None and held + f.size <= self.max_values:
            self._chunks.append(f.copy() if f is x else f)  # never alias the caller's array
            if len(self._chunks) >= _MAX_CHUNKS:  # a few values per update: one array, not hundreds
                self._chunks = [np.concatenate(self._chunks)]
            return
        self._start_sampling(rng)
        assert self._moments is not None and self._bins is not None
        m = _Moments.of(f)
        self._moments.absorb(m.n, m.mean, m.m2, m.min, m.max)
        self._bins = self._bins + self._count_bins(f)
        self._sample_in(f, rng.random(f.size))

    def _start_sampling(self, rng: np.random.Generator) -> None:
        if self._priorities is not None:
            return
        held = self.held()
        self._moments = _Moments.of(held)
        self._bins = self._count_bins(held)
        self._priorities = rng.random(held.size)

    def _sample_in(self, values: FloatArray, priorities: FloatArray) -> None:
        assert self._priorities is not None
        vals = np.concatenate([self.held(), values])
        pri = np.concatenate([self._priorities, priorities])
        if vals.size > self.max_values:
            keep = np.argpartition(pri, self.max_values - 1)[: self.max_values]
            vals, pri = vals[keep], pri[keep]
        self._chunks = [vals]
        self._priorities = pri
        self._sorted = None

    def merge_from(self, other: NumericWindow, rng: np.random.Generator) -> None:
        theirs = other.held()
        fits = self.held().size + theirs.size <= self.max_values
        if self._priorities is None and other._priorities is None and fits:
            self._chunks = [np.concatenate([self.held(), theirs])]
        else:
            their_summary, their_bins = other._summary(), other._all_bins()
            self._start_sampling(rng)
            assert self._moments is not None and self._bins is not None
            s = their_summary
            self._moments.absorb(s.n, s.mean, s.m2, s.min, s.max)
            self._bins = self._bins + their_bins
            pri = other._priorities if other._priorities is not None else rng.random(theirs.size)
            self._sample_in(theirs, pri)
        self.n_rows += other.n_rows
        self.n_null += other.n_null
        self.n_inf += other.n_inf
        self.n_invalid += other.n_invalid
        self.n_finite += other.n_finite
        self._sorted = None

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "n_rows": self.n_rows, "n_null": self.n_null,
                               "n_inf": self.n_inf, "n_finite": self.n_finite, "n_invalid": self.n_invalid}
        if self._moments is not None:
            mo = self._moments
            out["moments"] = {"n": mo.n, "mean": mo.mean, "m2": mo.m2, "min": mo.min, "max": mo.max}
        return out

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        out: dict[str, npt.NDArray[Any]] = {"values": self.held()}
        if self._priorities is not None and self._bins is not None:
            out["priorities"] = self._priorities
            out["bin_counts"] = self._bins
        return out

    @classmethod
    def from_parts(cls, col: NumericProfile, max_values: int, meta: dict[str, Any],
                   arrays: dict[str, npt.NDArray[Any]]) -> NumericWindow:
        w = cls.empty(col, max_values)
        w.n_rows, w.n_null = int(meta["n_rows"]), int(meta["n_null"])
        w.n_inf, w.n_finite = int(meta["n_inf"]), int(meta["n_finite"])
        w.n_invalid = int(meta.get("n_invalid", 0))
        w._chunks = [arrays["values"].astype(np.float64).copy()]
        if "priorities" in arrays:
            mo = meta["moments"]
            w._moments = _Moments(int(mo["n"]), float(mo["mean"]), float(mo["m2"]), float(mo["min"]), float(mo["max"]))
            w._priorities = arrays["priorities"].astype(np.float64).copy()
            w._bins = arrays["bin_counts"].astype(np.int64).copy()
            if w._bins.shape != (w.edges.size + 1,) or w._priorities.shape != w._chunks[0].shape:
                raise ValueError(f"sample of column {col.name!r} does not fit the profile")
        return w


try:  # pandas' hash table of Python objects (the engine of its object indexes)
    from pandas._libs.hashtable import PyObjectHashTable as _ObjectTable
except ImportError:  # pragma: no cover - a pandas without it: dict lookups
    _ObjectTable = None


@lru_cache(maxsize=1024)
def _label_table(labels: tuple[Any, ...]) -> Any:
    """A read-only hash table of the reference labels (position of each), shared by every window."""
    table = _ObjectTable(len(labels))
    keys = np.empty(len(labels), dtype=object)
    keys[:] = labels
    table.map_locations(keys)
    return table


@dataclass(eq=False)
class CategoricalWindow:
    """Running state of one categorical or binary column (see the module docstring)."""

    name: str
    index: pd.Index
    max_unseen: int
    n_rows: int = 0
    n_null: int = 0
    counts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unseen: dict[str, int] = field(default_factory=dict)
    n_rest: int = 0
    hashes: npt.NDArray[np.uint64] | None = field(default=None, repr=False, compare=False)
    _lookup: dict[Any, int] | None = field(default=None, repr=False, compare=False)
    _labels: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)

    def _codes(self, arr: npt.NDArray[np.object_]) -> npt.NDArray[np.intp]:
        """Index positions of ``arr``'s values (-1 when absent), by exact hash lookup: pandas' hash table
        of Python objects for the whole array (C; ~5x faster than a dict lookup per value, which is the
        fallback, and much faster than ``pd.Index.get_indexer``'s per-call setup on the watcher's batches).

        A value found is equal to (and hashes like) a label, i.e. a ``str`` (or a subclass, which the
        conversion of the misses would turn into that same label); an unhashable value is a miss."""
        if _ObjectTable is not None:
            if self._labels is None:
                self._labels = tuple(self.index)
            try:
                return np.asarray(_label_table(self._labels).lookup(arr), dtype=np.intp)
            except TypeError:  # an unhashable value (a list, a dict): the per-value lookup below
                pass
        lookup = self._lookup
        if lookup is None:
            lookup = self._lookup = {label: i for i, label in enumerate(self.index)}
        get = lookup.get
        try:
            return np.fromiter(map(get, arr, repeat(-1)), dtype=np.intp, count=arr.size)
        except TypeError:  # an unhashable value (a list, a dict): look up the strings only
            return np.fromiter((get(v, -1) if type(v) is str else -1 for v in arr), dtype=np.intp, count=arr.size)

    @staticmethod
    def object_values(raw: Any) -> npt.NDArray[np.object_] | None:
        """``raw`` as an object array when it is one (or an object Series), else ``None`` (the values that
        :meth:`update` looks up before converting)."""
        if isinstance(raw, pd.Series):
            return raw.to_numpy() if raw.dtype == object else None
        return raw if isinstance(raw, np.ndarray) and raw.dtype == object else None

    def lookup_codes(self, raw: Any) -> npt.NDArray[np.intp] | None:
        """The dict-lookup codes of ``raw`` (:meth:`_codes`) when it is an object array, else ``None``: pass
        them to :meth:`update` (``codes=``) and :func:`detectors.joint.joint_matrix` to look up only once."""
        arr = self.object_values(raw)
        return None if arr is None else self._codes(arr)

    @classmethod
    def empty(cls, col: CategoricalProfile, max_unseen: int) -> CategoricalWindow:
        return cls(
            name=col.name,
            index=pd.Index(list(col.categories), dtype=object),
            max_unseen=max_unseen,
            counts=np.zeros(len(col.categories), dtype=np.int64),
            hashes=col.hashes if col.capped else None,
        )

    @property
    def n_valid(self) -> int:
        return self.n_rows - self.n_null

    def update(
        self, raw: pd.Series | npt.ArrayLike, *, source: str, codes: npt.NDArray[np.intp] | None = None
    ) -> None:
        """Count a batch of values; ``codes`` are ``raw``'s :meth:`lookup_codes` when already computed."""
        arr = self.object_values(raw)
        if arr is not None:
            # fast path for object columns of strings: look the raw values up, convert only the misses
            if codes is None:
                codes = self._codes(arr)
            miss = codes < 0
            if not miss.any():  # every value a reference label: no null, nothing unseen
                self.n_rows += arr.size
                self.counts += np.bincount(codes, minlength=len(self.index))
                return
            labels = to_labels(pd.Series(arr[miss], dtype=object))
            codes_miss = self.index.get_indexer(labels)
            n = arr.size
        else:
            labels = to_labels(raw)
            codes_miss = self.index.get_indexer(labels)
            codes = codes_miss
            miss = np.ones(labels.size, dtype=bool)
            n = labels.size
        null = pd.isna(labels)
        self.n_rows += n
        self.n_null += int(null.sum())
        self.counts += np.bincount(codes[codes >= 0], minlength=len(self.index))
        if miss.any():
            found = codes_miss[codes_miss >= 0]
            if arr is not None and found.size:
                self.counts += np.bincount(found, minlength=len(self.index))
            unseen_mask = (codes_miss < 0) & ~null
            if unseen_mask.any() and self.hashes is not None:
                unseen_mask[unseen_mask] = ~self._in_reference(labels[unseen_mask])
            if unseen_mask.any():
                vc = pd.Series(labels[unseen_mask]).value_counts()
                self._add_unseen({str(k): int(v) for k, v in vc.items()})

    def _in_reference(self, labels: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
        """Which (non-null, not kept) labels are reference levels the profile did not keep; counts them."""
        assert self.hashes is not None
        h = label_hashes(labels)
        pos = np.minimum(np.searchsorted(self.hashes, h), self.hashes.size - 1)
        found = self.hashes[pos] == h
        self.n_rest += int(found.sum())
        return np.asarray(found, dtype=bool)

    def _add_unseen(self, new: dict[str, int]) -> None:
        for label, count in new.items():
            if label in self.unseen or len(self.unseen) < self.max_unseen:
                self.unseen[label] = self.unseen.get(label, 0) + count
            else:
                self.unseen[OTHER_UNSEEN] = self.unseen.get(OTHER_UNSEEN, 0) + count

    def merge_from(self, other: CategoricalWindow) -> None:
        self.n_rows += other.n_rows
        self.n_null += other.n_null
        self.counts = self.counts + other.counts
        self.n_rest += other.n_rest
        self._add_unseen(other.unseen)

    def meta(self) -> dict[str, Any]:
        return {"name": self.name, "n_rows": self.n_rows, "n_null": self.n_null, "unseen": self.unseen,
                "n_rest": self.n_rest}

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"counts": self.counts}

    @classmethod
    def from_parts(
        cls, col: CategoricalProfile, max_unseen: int, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> CategoricalWindow:
        w = cls.empty(col, max_unseen)
        w.n_rows, w.n_null = int(meta["n_rows"]), int(meta["n_null"])
        w.unseen = {str(k): int(v) for k, v in meta["unseen"].items()}
        w.n_rest = int(meta.get("n_rest", 0))
        w.counts = arrays["counts"].astype(np.int64).copy()
        if w.counts.shape != (len(col.categories),):
            raise ValueError(f"counts of column {col.name!r} do not fit the profile")
        return w
