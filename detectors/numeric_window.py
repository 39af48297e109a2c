"""Running state of one numeric column of a window: :class:`NumericWindow` (importable from
:mod:`detectors.column_windows` too, with :class:`~detectors.column_windows.CategoricalWindow`).

Memory bound: exact counts (rows, nulls, ±inf), exact mean / M2 (Chan's parallel update), min, max and
counts in the reference's decile bins, plus the finite values themselves — all of them up to
``max_values``; beyond that a uniform random sample of exactly ``max_values`` values (bottom-k by random
priority, which stays uniform when two states are merged). At most ``16 · max_values`` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.columns import NumericProfile
from detectors.kinds import to_numeric, to_numeric_lenient

__all__ = ["NumericWindow"]

FloatArray = npt.NDArray[np.float64]

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
