"""Per-column running state of a window: :class:`NumericWindow` and :class:`CategoricalWindow`.

Memory bound, per column:

- numeric: exact counts (rows, nulls, ±inf), exact mean / M2 (Chan's parallel update), min, max and
  counts in the reference's decile bins, plus the finite values themselves — all of them up to
  ``max_values``; beyond that a uniform random sample of exactly ``max_values`` values (bottom-k by
  random priority, which stays uniform when two states are merged). At most ``16 · max_values`` bytes.
- categorical / binary: exact counts per reference category, exact null count, exact counts of unseen
  categories up to ``max_unseen`` distinct labels; further unseen labels are counted together under
  :data:`OTHER_UNSEEN`. At most ``8 · n_categories`` bytes plus ``max_unseen`` labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.columns import CategoricalProfile, NumericProfile
from detectors.kinds import to_labels, to_numeric

__all__ = ["OTHER_UNSEEN", "CategoricalWindow", "NumericWindow"]

FloatArray = npt.NDArray[np.float64]
OTHER_UNSEEN: Final = "<other unseen>"


@dataclass(eq=False)
class NumericWindow:
    """Running state of one numeric column (see the module docstring for the memory bound)."""

    name: str
    edges: FloatArray
    max_values: int
    n_rows: int = 0
    n_null: int = 0
    n_inf: int = 0
    n_finite: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = float("inf")
    max: float = float("-inf")
    bin_counts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _chunks: list[FloatArray] = field(default_factory=list)
    _priorities: FloatArray | None = None  # set once the state holds a sample instead of all values
    _sorted: FloatArray | None = None

    @classmethod
    def empty(cls, col: NumericProfile, max_values: int) -> NumericWindow:
        return cls(
            name=col.name,
            edges=col.bin_edges,
            max_values=max_values,
            bin_counts=np.zeros(col.bin_edges.size + 1, dtype=np.int64),
        )

    @property
    def sampled(self) -> bool:
        """True once more finite values arrived than ``max_values`` (the values are then a uniform sample)."""
        return self._priorities is not None

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.n_finite)) if self.n_finite else float("nan")

    def held(self) -> FloatArray:
        if len(self._chunks) != 1:
            self._chunks = [np.concatenate(self._chunks)] if self._chunks else [np.empty(0)]
        return self._chunks[0]

    def sorted_values(self) -> FloatArray:
        """The finite values held (all, or the uniform sample), sorted; cached until the next update."""
        if self._sorted is None:
            self._sorted = np.sort(self.held())
        return self._sorted

    def update(self, raw: pd.Series | npt.ArrayLike, rng: np.random.Generator, *, source: str) -> None:
        x = to_numeric(raw, column=self.name, source=source)
        finite_mask = np.isfinite(x)
        n_null = int(np.isnan(x).sum())
        f = x[finite_mask]
        self.n_rows += x.size
        self.n_null += n_null
        self.n_inf += int(x.size - n_null - f.size)
        if f.size == 0:
            return
        self._absorb_moments(
            f.size, float(f.mean()), float(((f - f.mean()) ** 2).sum()), float(f.min()), float(f.max())
        )
        self.bin_counts += np.bincount(np.searchsorted(self.edges, f, side="right"), minlength=self.edges.size + 1)
        self._sorted = None
        held = sum(c.size for c in self._chunks)
        if self._priorities is None and held + f.size <= self.max_values:
            self._chunks.append(f.copy())
            return
        self._sample_in(f, rng.random(f.size), rng)

    def _absorb_moments(self, n: int, mean: float, m2: float, lo: float, hi: float) -> None:
        total = self.n_finite + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n_finite * n / total
        self.mean += delta * n / total
        self.n_finite = total
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)

    def _sample_in(self, values: FloatArray, priorities: FloatArray, rng: np.random.Generator) -> None:
        held = self.held()
        if self._priorities is None:
            self._priorities = rng.random(held.size)
        vals = np.concatenate([held, values])
        pri = np.concatenate([self._priorities, priorities])
        if vals.size > self.max_values:
            keep = np.argpartition(pri, self.max_values - 1)[: self.max_values]
            vals, pri = vals[keep], pri[keep]
        self._chunks = [vals]
        self._priorities = pri
        self._sorted = None

    def merge_from(self, other: NumericWindow, rng: np.random.Generator) -> None:
        self.n_rows += other.n_rows
        self.n_null += other.n_null
        self.n_inf += other.n_inf
        if other.n_finite:
            self._absorb_moments(other.n_finite, other.mean, other.m2, other.min, other.max)
        self.bin_counts = self.bin_counts + other.bin_counts
        theirs = other.held()
        if self._priorities is None and other._priorities is None and self.held().size + theirs.size <= self.max_values:
            self._chunks = [np.concatenate([self.held(), theirs])]
        else:
            pri = other._priorities if other._priorities is not None else rng.random(theirs.size)
            self._sample_in(theirs, pri, rng)
        self._sorted = None

    def meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_rows": self.n_rows,
            "n_null": self.n_null,
            "n_inf": self.n_inf,
            "n_finite": self.n_finite,
            "mean": self.mean,
            "m2": self.m2,
            "min": self.min if self.n_finite else None,
            "max": self.max if self.n_finite else None,
        }

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        out: dict[str, npt.NDArray[Any]] = {"values": self.held(), "bin_counts": self.bin_counts}
        if self._priorities is not None:
            out["priorities"] = self._priorities
        return out

    @classmethod
    def from_parts(
        cls, col: NumericProfile, max_values: int, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> NumericWindow:
        w = cls.empty(col, max_values)
        w.n_rows, w.n_null, w.n_inf, w.n_finite = meta["n_rows"], meta["n_null"], meta["n_inf"], meta["n_finite"]
        w.mean, w.m2 = float(meta["mean"]), float(meta["m2"])
        w.min = float(meta["min"]) if meta["min"] is not None else float("inf")
        w.max = float(meta["max"]) if meta["max"] is not None else float("-inf")
        w.bin_counts = arrays["bin_counts"].astype(np.int64).copy()
        if w.bin_counts.shape != (col.bin_edges.size + 1,):
            raise ValueError(f"bin_counts of column {col.name!r} do not fit the profile")
        w._chunks = [arrays["values"].astype(np.float64).copy()]
        if "priorities" in arrays:
            w._priorities = arrays["priorities"].astype(np.float64).copy()
        return w


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

    @classmethod
    def empty(cls, col: CategoricalProfile, max_unseen: int) -> CategoricalWindow:
        return cls(
            name=col.name,
            index=pd.Index(list(col.categories), dtype=object),
            max_unseen=max_unseen,
            counts=np.zeros(len(col.categories), dtype=np.int64),
        )

    @property
    def n_valid(self) -> int:
        return self.n_rows - self.n_null

    @property
    def n_unseen(self) -> int:
        return sum(self.unseen.values())

    def update(self, raw: pd.Series | npt.ArrayLike, *, source: str) -> None:
        labels = to_labels(raw)
        null = pd.isna(labels)
        codes = self.index.get_indexer(labels)
        self.n_rows += labels.size
        self.n_null += int(null.sum())
        self.counts += np.bincount(codes[codes >= 0], minlength=len(self.index))
        unseen_mask = (codes < 0) & ~null
        if unseen_mask.any():
            vc = pd.Series(labels[unseen_mask]).value_counts()
            self._add_unseen({str(k): int(v) for k, v in vc.items()})

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
        self._add_unseen(other.unseen)

    def meta(self) -> dict[str, Any]:
        return {"name": self.name, "n_rows": self.n_rows, "n_null": self.n_null, "unseen": self.unseen}

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"counts": self.counts}

    @classmethod
    def from_parts(
        cls, col: CategoricalProfile, max_unseen: int, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> CategoricalWindow:
        w = cls.empty(col, max_unseen)
        w.n_rows, w.n_null = int(meta["n_rows"]), int(meta["n_null"])
        w.unseen = {str(k): int(v) for k, v in meta["unseen"].items()}
        w.counts = arrays["counts"].astype(np.int64).copy()
        if w.counts.shape != (len(col.categories),):
            raise ValueError(f"counts of column {col.name!r} do not fit the profile")
        return w
