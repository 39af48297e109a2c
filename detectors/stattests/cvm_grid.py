"""A compact numeric reference for the Cramér–von Mises / Kolmogorov–Smirnov test: a quantile grid.

:class:`ReferenceGrid` keeps, of a sorted reference sample ``x`` of ``n`` values, at most ``size`` *atoms*
(every distinct value when there are at most ``size``; else the distinct values found at ``size`` evenly
spaced ranks, the minimum and the maximum included) with the
exact counts ``#x < atom`` and ``#x <= atom`` (int32), the exact tie term of ``x`` and ``n``: 16 bytes per
atom (4 kB per column at the default ``size = 256``) instead of 8 bytes per reference value.

Counts of a window value ``y`` (what the test needs of the reference, see
:func:`~detectors.stattests.cramer_von_mises.cvm_ks_fast`): at an atom they are exact; between two atoms
``v < w``, ``#x < y`` is interpolated linearly in ``y`` between ``#x <= v`` and ``#x < w`` and ``#x == y``
is taken as 0. Error bound: with ``g`` (:attr:`ReferenceGrid.max_gap`) the most reference values strictly
between two consecutive atoms (at most ``ceil((n - 1) / (size - 1)) - 1``), the reference CDF used differs
from the exact one by at most ``eps = g / n`` at every point; hence

    |D_grid - D| <= eps,    |T_grid - T| <= n m / (n + m) * eps * (6 D + eps)

(``D`` the exact Kolmogorov–Smirnov distance, ``T`` the exact statistic; the T bound for samples without ties:
T = nm/(n+m)^2 Σ over the pooled points of (F - G)^2, each window point's term moves by at most
eps (2D + eps), and the reference points' sum by at most n eps (2D + eps) + 4 n D eps, integrating by parts).
A reference with at most ``size`` distinct values keeps all of them: ``g = 0`` and the counts, hence T and
D, are exact (the same floats as :func:`~detectors.stattests.cramer_von_mises.cvm_ks_fast`).

>>> import numpy as np
>>> x = np.sort(np.random.default_rng(0).normal(size=20_000))
>>> grid = ReferenceGrid.from_sorted(x, size=256)
>>> grid.atoms.size, grid.max_gap, grid.n
(256, 78, 20000)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from detectors.stattests.cramer_von_mises import _own_runs, _run_squares, _size_constants

__all__ = ["DEFAULT_GRID_SIZE", "ReferenceGrid", "cvm_ks_grid", "t_error_bound"]

#: Atoms kept per numeric column of a compact reference (16 bytes each).
DEFAULT_GRID_SIZE: Final = 256

FloatArray = npt.NDArray[np.float64]


def _frozen(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    arr = np.ascontiguousarray(arr)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class ReferenceGrid:
    """The compact reference of one numeric column (see the module docstring)."""

    atoms: FloatArray
    lt: npt.NDArray[np.signedinteger[Any]]
    le: npt.NDArray[np.signedinteger[Any]]
    n: int
    run_squares: int
    max_gap: int

    @classmethod
    def from_sorted(cls, x: FloatArray, *, size: int = DEFAULT_GRID_SIZE) -> ReferenceGrid:
        """The grid of the sorted finite sample ``x`` (``size >= 2`` atoms at most)."""
        n = int(x.size)
        if size < 2:
            raise ValueError(f"grid size {size} is below 2")
        starts = np.flatnonzero(np.concatenate([[True], x[1:] != x[:-1]])) if n else np.zeros(0, np.int64)
        if starts.size <= size:  # every distinct value is an atom: exact
            atoms = x[starts]
        else:
            atoms = np.unique(x[np.round(np.linspace(0, n - 1, size)).astype(np.int64)])
        lt64 = np.searchsorted(x, atoms, side="left")
        le64 = np.searchsorted(x, atoms, side="right")
        gaps = lt64[1:] - le64[:-1]
        dtype = np.int32 if n < 2**31 else np.int64  # counts: 4 bytes each up to 2**31 reference values
        lt, le = lt64.astype(dtype), le64.astype(dtype)
        run_squares = _run_squares(np.diff(np.append(starts, n))) if n else 0
        return cls(atoms=_frozen(atoms), lt=_frozen(lt), le=_frozen(le), n=n, run_squares=run_squares,
                   max_gap=int(gaps.max()) if gaps.size else 0)

    @property
    def exact(self) -> bool:
        """Whether every reference value is an atom (then the test is exact)."""
        return self.max_gap == 0

    @property
    def eps(self) -> float:
        """The bound on the reference CDF's error at any point: ``max_gap / n``."""
        return self.max_gap / self.n if self.n else 0.0

    @property
    def nbytes(self) -> int:
        return int(self.atoms.nbytes + self.lt.nbytes + self.le.nbytes)

    def run_lengths(self) -> npt.NDArray[np.int64]:
        """Lengths of the reference's runs of equal values (exact when :attr:`exact`; else the atoms' runs
        and the values between atoms taken as distinct)."""
        between = int(np.sum(self.lt[1:] - self.le[:-1])) if self.atoms.size else 0
        return np.concatenate([(self.le - self.lt).astype(np.int64), np.ones(between, dtype=np.int64)])

    def counts(self, y: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        """``(a, tie, e)`` for the sorted finite window ``y``: ``a_j`` ≈ ``#x < y_j`` (exact at atoms and
        wherever no reference value lies between the neighbouring atoms), ``tie`` the indices j where
        ``y_j`` is an atom and ``e`` = ``#x == y_j`` there (exact)."""
        k = np.searchsorted(self.atoms, y, side="left")
        size = self.atoms.size
        at = np.minimum(k, size - 1)
        hit = (k < size) & (self.atoms[at] == y)
        a = np.empty(y.size)
        a[k == 0] = 0.0
        a[k == size] = float(self.n)
        inner = (k > 0) & (k < size) & ~hit
        lo = k[inner] - 1
        left, right = self.atoms[lo], self.atoms[lo + 1]
        base = self.le[lo].astype(np.float64)
        a[inner] = base + (self.lt[lo + 1] - self.le[lo]) * ((y[inner] - left) / (right - left))
        tie = np.flatnonzero(hit)
        a[tie] = self.lt[k[tie]]
        return a, tie, (self.le[k[tie]] - self.lt[k[tie]]).astype(np.int64)


def cvm_ks_grid(grid: ReferenceGrid, y: FloatArray) -> tuple[float, float]:
    """(Cramér–von Mises T, Kolmogorov–Smirnov D) of the reference summarised by ``grid`` and the sorted
    finite window ``y``: the formulas of :func:`~detectors.stattests.cramer_von_mises.cvm_ks_fast` on the
    counts of :meth:`ReferenceGrid.counts` (exact integers when ``grid.exact``; the error bounds of the
    module docstring otherwise)."""
    n, m = grid.n, y.size
    _, odd, j_m, j1_m = _size_constants(m)
    a, tie, e = grid.counts(y)
    a_tie = a[tie]
    y_runs, place = _own_runs(y, tie)
    fx = a / n
    d1 = float(np.subtract(fx, j_m).max())
    fx[tie] = (a_tie + e) / n
    d = max(d1, float(np.subtract(j1_m, fx).max()))
    if grid.exact and 4 * max(n, m) * (n + m + 1) ** 2 < 2**53:  # integer sums: the exact path's floats
        ai, ati = a.astype(np.int64), a_tie.astype(np.int64)
        sy4: float = 4 * int(np.dot(ai, ai)) + int(np.dot(4 * ati + e, e)) + y_runs
        sx4: float = (4 * n * m * m - 4 * int(np.dot(odd, ai)) - int(np.dot(4 * tie + 3 + 2 * place, e))
                      + grid.run_squares)
    else:
        sy4 = 4 * float(np.dot(a, a)) + float(np.dot(4 * a_tie + e, e)) + y_runs
        sx4 = (4.0 * n * m * m - 4 * float(np.dot(odd, a)) - float(np.dot(4 * tie + 3 + 2 * place, e))
               + grid.run_squares)
    u = n * (sx4 / 4) + m * (sy4 / 4)
    k, total = float(n) * m, float(n + m)
    t = u / (k * total) - (4 * k - 1) / (6 * total)
    return float(t), d


def t_error_bound(n: int, m: int, eps: float, d: float) -> float:
    """The module docstring's bound on ``|T_grid - T|`` given the exact (or an upper bound of the) ``D``."""
    return n * m / (n + m) * eps * (6 * d + eps)
