"""Two-sample Cramér–von Mises test."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from detectors.result import TestResult
from detectors.stattests._common import as_sample, check_alpha

__all__ = ["ReferenceSide", "cramer_von_mises", "cvm_ks_fast", "cvm_ks_sorted", "cvm_pvalue_asymptotic",
           "midrank_t", "own_run_squares", "sorted_self_counts"]

NAME = "cramer_von_mises"


def cramer_von_mises(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, alpha: float = 0.1, method: str = "auto"
) -> TestResult:
    """Two-sample Cramér–von Mises test (``scipy.stats.cramervonmises_2samp``).

    ``statistic`` is T (Anderson 1962); ``p_value`` is exact when both samples have at most 20 values
    under ``method="auto"``, else from the limiting distribution. Needs two values per sample.

    Rule: ``drifted = p_value <= alpha`` (``<=`` as Evidently's ``cramer_von_mises``, threshold 0.1,
    whose code is a copy of scipy's).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = cramer_von_mises(rng.normal(size=300), rng.normal(0.5, 1, size=300))
    >>> r.drifted, round(r.statistic, 3)
    (True, 4.079)
    """
    check_alpha(alpha, NAME)
    ref = as_sample(reference, name="reference", test=NAME, min_size=2)
    cur = as_sample(current, name="current", test=NAME, min_size=2)
    from scipy import stats  # loaded by the exact path only (a watcher's first window close, not its start)

    res = stats.cramervonmises_2samp(ref, cur, method=method)
    p = float(res.pvalue)
    return TestResult(NAME, float(res.statistic), p, alpha, p <= alpha)


def sorted_self_counts(a: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``(#a <= a_i, #a < a_i)`` for every value of the sorted array ``a``: the end and the start of the run
    of equal values holding ``a_i``, in O(n) (the same integers as ``np.searchsorted(a, a, side="right")``
    and ``side="left"``, which compare the same way, e.g. -0.0 == 0.0).

    >>> [c.tolist() for c in sorted_self_counts(np.array([1.0, 2.0, 2.0, 3.0]))]
    [[1, 3, 3, 4], [0, 1, 1, 3]]
    """
    n = a.size
    new_run = np.empty(n, dtype=bool)
    if n:
        new_run[0] = True
        np.not_equal(a[1:], a[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1:] = n
    lengths = ends - starts
    return np.repeat(ends, lengths), np.repeat(starts, lengths)


def cvm_ks_sorted(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    *,
    x_counts: tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]] | None = None,
) -> tuple[float, float]:
    """(Cramér–von Mises T, Kolmogorov–Smirnov D) of two already-sorted finite samples, in one pass.

    T is scipy's two-sample statistic with midranks for ties (Anderson 1962):
    U = n Σ (r_i − i)² + m Σ (s_j − j)², T = U / (nm(n+m)) − (4nm − 1) / (6(n+m)), with r, s the midranks of
    the sorted samples in the pooled sample; the midrank of a value is (#pooled < v + #pooled <= v + 1) / 2.
    D is the largest gap of the empirical CDFs at the points of either sample.

    The eight counts (#x and #y below / at most each point of x and of y) are exact integers: a sample's
    counts at its own points are its runs of equal values (:func:`sorted_self_counts`; ``x_counts`` may
    pass x's, e.g. cached with the reference); #x < y_j and #y <= x_i are the positions in one stable merge
    of y and x (y first, so a y value precedes the x values equal to it) minus the own index; #x <= y_j
    and #y < x_i follow from the runs of x and y. No re-sorting, no search.
    """
    n, m = x.size, y.size
    x_le_x, x_lt_x = sorted_self_counts(x) if x_counts is None else x_counts
    y_le_y, y_lt_y = sorted_self_counts(y)
    # a stable sort of two sorted runs is one merge; its positions depend only on the comparisons
    is_y = np.argsort(np.concatenate([y, x]), kind="stable") < m
    x_lt_y = np.flatnonzero(is_y) - np.arange(m)
    y_le_x = np.flatnonzero(~is_y) - np.arange(n)
    at = np.minimum(x_lt_y, n - 1)  # the first x >= y_j (if any): y_j is in x when it equals it
    x_le_y = np.where(x[at] == y, x_le_x[at], x_lt_y)
    at = np.maximum(y_le_x - 1, 0)  # the last y <= x_i (if any): x_i is in y when it equals it
    y_lt_x = np.where((y_le_x > 0) & (y[at] == x), y_lt_y[at], y_le_x)
    d = max(_max_gap(x_le_x, n, y_le_x, m), _max_gap(x_le_y, n, y_le_y, m))
    u = n * _rank_sq_sum(x_lt_x, y_lt_x, x_le_x, y_le_x) + m * _rank_sq_sum(x_lt_y, y_lt_y, x_le_y, y_le_y)
    k, total = float(n) * m, float(n + m)
    t = u / (k * total) - (4 * k - 1) / (6 * total)
    return float(t), float(d)


def _max_gap(a: npt.NDArray[np.integer], n: int, b: npt.NDArray[np.integer], m: int) -> float:
    """``max(|a / n - b / m|)``, the same float operations without temporaries."""
    gap = a / n
    gap -= b / m
    return float(np.abs(gap, out=gap).max())


def _rank_sq_sum(*counts: npt.NDArray[np.integer]) -> float:
    """``sum(((c1 + c2 + c3 + c4 + 1) / 2 - (1, 2, ...)) ** 2)``: midranks minus the sample's own ranks,
    the same float operations (exact integer sum first) without temporaries."""
    total = counts[0] + counts[1]  # integers: any order, exact
    for c in counts[2:]:
        total += c
    total += 1
    r = total / 2.0
    r -= np.arange(1, r.size + 1)
    return float(np.sum(np.square(r, out=r)))


def midrank_t(t: float, n: int, m: int, x_run_squares: int, y_run_squares: int) -> float:
    """The two-sample statistic with midranks *within* each sample too, from scipy's ``T`` of the same samples.

    scipy (and :func:`cvm_ks_sorted`, :func:`cvm_ks_fast`) take each value's midrank in the pooled sample
    but its plain rank ``1, 2, ...`` within its own sample, so a run of ``L`` equal values of one sample adds
    ``Σ_k (L - 1 - 2k)**2 / 4 = L (L**2 - 1) / 12`` to that sample's sum of squares although its values do
    not differ: on a column of few distinct values (an hour of day, a count) ``T`` grows with the sample
    size on unchanged data, and its asymptotic p-value is about 1e-7. With midranks within each sample as
    well (Ruymgaart 1980), those terms are 0:

        T_mid = T - (n Σ_x L (L**2 - 1) / 12 + m Σ_y L (L**2 - 1) / 12) / (n m (n + m))

    ``x_run_squares`` / ``y_run_squares``: ``Σ L (L**2 - 1) / 3`` over each sample's runs of equal values
    (:func:`own_run_squares`). Without ties both are 0 and ``T_mid = T``. The centring term of ``T`` is the
    one without ties, so on heavily tied data ``T_mid`` may be below 0; referred to the continuous limiting
    distribution (:func:`cvm_pvalue_asymptotic`), its p-value is conservative on discrete data.

    >>> x, y = np.repeat([1.0, 2.0, 3.0], 400), np.repeat([1.0, 2.0, 3.0], 40)  # the same shares
    >>> t = cvm_ks_sorted(x, y)[0]
    >>> t_mid = midrank_t(t, 1200, 120, own_run_squares(x), own_run_squares(y))
    >>> round(t, 2), f"{cvm_pvalue_asymptotic(t, 1200, 120):.1e}"  # scipy's: "drifted"
    (99.0, '2.3e-08')
    >>> round(t_mid, 2), cvm_pvalue_asymptotic(t_mid, 1200, 120)
    (-2.02, 1.0)
    """
    return t - (n * x_run_squares + m * y_run_squares) / (4.0 * n * m * (n + m))


def own_run_squares(a: npt.NDArray[np.float64]) -> int:
    """``Σ L (L**2 - 1) / 3`` over the runs of equal values (lengths ``L``) of the sorted ``a`` (exact)."""
    return _own_runs(a, np.empty(0, dtype=np.intp))[0]


def cvm_pvalue_asymptotic(t: float, n: int, m: int) -> float:
    """scipy's asymptotic two-sample p-value of T (Csörgő & Faraway's limiting distribution).

    The normalised statistic tn = 1/6 + (T − E[T]) / sqrt(45 Var[T]) (Anderson 1962, eqs. 11, 14, 15) is
    referred to the one-sample limiting distribution; p = 1 when tn < 0.003 (the CDF is below 1.3e-18).
    """
    k, total = float(n) * m, float(n + m)
    et = (1 + 1 / total) / 6
    vt = (total + 1) * (4 * k * total - 3 * (float(n) ** 2 + float(m) ** 2) - 2 * k) / (45 * total**2 * 4 * k)
    tn = 1 / 6 + (t - et) / math.sqrt(45 * vt)
    if tn < 0.003:
        return 1.0
    return float(max(0.0, 1.0 - _cdf_cvm_inf(tn)))


def _cdf_cvm_inf(x: float) -> float:
    """CDF of the limiting Cramér–von Mises distribution (series (1.3) of Csörgő & Faraway 1996, as scipy)."""
    from scipy import special  # the Bessel function K, loaded at the first p-value

    total, k = 0.0, 0
    while True:
        u = _series_coefficient(k) / (math.pi**1.5 * math.sqrt(x))
        y = 4 * k + 1
        q = y * y / (16 * x)
        z = u * math.sqrt(y) * math.exp(-q) * float(special.kv(0.25, q))
        total += z
        if abs(z) < 1e-7:
            return total
        k += 1


_COEFFICIENTS: list[float] = []


def _series_coefficient(k: int) -> float:
    """``exp(gammaln(k + 1/2) - gammaln(k + 1))``, the x-free factor of the series' k-th term (kept: the
    same few are needed for every window)."""
    from scipy import special

    while len(_COEFFICIENTS) <= k:
        j = len(_COEFFICIENTS)
        _COEFFICIENTS.append(math.exp(special.gammaln(j + 0.5) - special.gammaln(j + 1)))
    return _COEFFICIENTS[k]


def _run_squares(lengths: npt.NDArray[np.integer]) -> int:
    """``sum(L * (L**2 - 1) / 3)`` over runs of equal values of lengths ``L``: the sum over each run of
    (2 * (its midrank - own rank))**2 = (L - 1 - 2k)**2, k = 0 .. L-1 (exact integers)."""
    big = lengths[lengths > 1].astype(np.int64)
    return int(np.sum(big * (big * big - 1))) // 3


class ReferenceSide:
    """What :func:`cvm_ks_fast` needs of one sorted reference sample, computed once (the reference is the
    same for every window): ``x`` with a sentinel after the last value, its ``#x <= x_i`` (with a
    sentinel) and ``#x < x_i``, and the part of the midrank sums that comes from its own ties."""

    __slots__ = ("le", "lt", "run_squares", "x", "x_pad")

    def __init__(self, x: npt.NDArray[np.float64],
                 counts: tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]] | None = None) -> None:
        le, lt = sorted_self_counts(x) if counts is None else counts
        self.x = x
        self.le = np.append(le.astype(np.int64), 0)
        self.lt = lt.astype(np.int64)
        self.x_pad = np.append(x, np.inf)  # x_pad[n] matches no finite value
        starts = np.flatnonzero(self.lt == np.arange(x.size))
        self.run_squares = _run_squares(np.diff(np.append(starts, x.size)))


_SIZE_CONSTANTS: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64],
                                 npt.NDArray[np.float64]]] = {}


def _size_constants(m: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64],
                                     npt.NDArray[np.float64]]:
    """``(j, 2j + 1, j / m, (j + 1) / m)`` for j = 0 .. m-1 (kept for a few window sizes)."""
    hit = _SIZE_CONSTANTS.get(m)
    if hit is None:
        if len(_SIZE_CONSTANTS) >= 16:
            _SIZE_CONSTANTS.clear()
        j = np.arange(m, dtype=np.int64)
        hit = _SIZE_CONSTANTS[m] = (j, 2 * j + 1, j / m, (j + 1) / m)
        for a in hit:
            a.flags.writeable = False
    return hit


def _own_runs(y: npt.NDArray[np.float64], tie: npt.NDArray[np.intp]) -> tuple[int, npt.NDArray[np.intp]]:
    """``(Σ L (L**2 - 1) / 3 over y's runs of equal values of lengths L, y_k's place in its run for each k of
    tie)`` for a sorted ``y`` (exact integers): the first is ``(Σ L**3 - y.size) / 3``, as Σ L = y.size
    (the same integer as :func:`_run_squares`).

    >>> runs, place = _own_runs(np.array([1.0, 2.0, 2.0, 2.0, 3.0]), np.array([0, 2, 3]))
    >>> runs, place.tolist()
    (8, [0, 1, 2])
    """
    m = y.size
    if m > 1:
        new = np.empty(m, dtype=bool)
        new[0] = True
        np.not_equal(y[1:], y[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        if starts.size < m:
            lengths = np.empty(starts.size, dtype=np.int64)
            np.subtract(starts[1:], starts[:-1], out=lengths[:-1])
            lengths[-1] = m - starts[-1]
            runs = (int(np.dot(lengths * lengths, lengths)) - m) // 3
            return runs, tie - starts[np.searchsorted(starts, tie, side="right") - 1]
    return 0, np.zeros(tie.size, dtype=np.intp)


def cvm_ks_fast(ref: ReferenceSide, y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """:func:`cvm_ks_sorted` ``(ref.x, y)``: the same two floats from y's side of one merge.

    The merge (one stable argsort of y then x: y first among equal values) gives a_j = #x < y_j; #x <= y_j
    is a_j + e_j with e_j = #x == y_j, non-zero only where y_j equals a value of x.

    U: 2 (midrank - rank) of y_j is (a_j + #x <= y_j) + (its y-run part, which sums to 0 over a run of
    equal y values), so its sum of squares is Σ (2 a_j + e_j)**2 + Σ_runs L (L**2 - 1) / 3. For x_i it is
    (#y < x_i + #y <= x_i) + (x's own run part); counting the pairs (j, k) of y values below x_i gives
    Σ_i (#y < x_i + #y <= x_i)**2 = 4 n m**2 - 4 Σ (2j + 1) a_j - Σ (4j + 3 + 2 d_j) e_j, d_j being y_j's
    place in its run of equal values. All in exact integers; scipy's float sums of the squared half
    -integers add exact multiples of 1/4, exact while below 2**51, so they equal these sums / 4 (larger
    sizes run :func:`cvm_ks_sorted`).

    D: between two y values F_y is constant, so the largest F_x - F_y is at the last x below the next y
    value, the pair (a_j, j); the largest F_y - F_x is at a y value, (a_j + e_j, j + 1). The other points
    of each sample give no larger float (the same float operations, monotone in each count), so the max
    of these is the max over every point of :func:`cvm_ks_sorted`.
    """
    x = ref.x
    n, m = x.size, y.size
    if n == 0 or m == 0 or 4 * max(n, m) * (n + m + 1) ** 2 >= 2**53:
        return cvm_ks_sorted(x, y, x_counts=(ref.le[:-1], ref.lt))
    j, odd, j_m, j1_m = _size_constants(m)
    a = np.flatnonzero(np.argsort(np.concatenate([y, x]), kind="stable") < m)
    a -= j  # #x < y_j: y_j's place in the merge less the y values before it
    tie = np.flatnonzero(ref.x_pad[a] == y)  # y_j equals the first x >= y_j
    a_tie = a[tie]
    e = ref.le[a_tie] - a_tie  # #x == y_j there
    y_runs, place = _own_runs(y, tie)
    # D
    fx = a / n
    d1 = float(np.subtract(fx, j_m).max())
    fx[tie] = (a_tie + e) / n
    d = max(d1, float(np.subtract(j1_m, fx).max()))
    # U
    sy4 = 4 * int(np.dot(a, a)) + int(np.dot(4 * a_tie + e, e)) + y_runs
    sx4 = 4 * n * m * m - 4 * int(np.dot(odd, a)) - int(np.dot(4 * tie + 3 + 2 * place, e)) + ref.run_squares
    u = n * (sx4 / 4) + m * (sy4 / 4)
    k, size = float(n) * m, float(n + m)
    t = u / (k * size) - (4 * k - 1) / (6 * size)
    return float(t), d
