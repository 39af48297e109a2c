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

:class:`NumericWindow` lives in :mod:`detectors.numeric_window` and is importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.columns import CategoricalProfile, label_hashes
from detectors.kinds import to_labels
from detectors.numeric_window import NumericWindow
from detectors.numeric_window import _Moments as _Moments  # re-exported: tests compare with it

__all__ = ["OTHER_UNSEEN", "CategoricalWindow", "NumericWindow"]

OTHER_UNSEEN: Final = "<other unseen>"

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
