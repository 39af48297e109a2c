"""Preset ``default``: significance *and* materiality, with false-discovery control across columns.

Per column one test gives a p-value and one effect size on a common [0, 1] scale:

- numeric: p from the two-sample Cramér–von Mises test (scipy's asymptotic p-value at every size; more
  powerful than Kolmogorov–Smirnov on both location and scale changes), its statistic with midranks
  within each sample as well as in the pooled one (:func:`~detectors.stattests.cramer_von_mises.midrank_t`:
  scipy's ``T`` without ties; on a column of few distinct values, such as an hour of day or a count,
  scipy's ``T`` grows with the sample size on unchanged data); effect = the Kolmogorov–Smirnov
  D, the largest gap between the two CDFs (the largest share of the population that moved across any
  cut point). Both come from one pass over the sorted values;
- categorical: two-sample chi-square on the 2×k contingency table (unseen categories as their own
  buckets; buckets with expected count < 5 pooled); effect = total variation distance
  TVD = ½ Σ |r_i − c_i| (the largest share of the population whose category set changed). A
  high-cardinality column (more than ``top_k`` = 20 reference levels, counted before the profile's cap)
  is tested on ``top_k + 1`` buckets instead: its ``top_k`` most frequent kept reference levels (by
  their count in reference and window together, which keeps the chi-square valid) and one
  "other" bucket with everything else (other reference levels and unseen categories), for both the
  chi-square and the TVD (:func:`~detectors.presets._shared.top_k_counts`): every bucket then holds a
  stable share of unchanged data, so the TVD of unchanged data shrinks like ``1/sqrt(n)`` instead of
  staying high on a long tail of rare levels; a shift in the head moves its buckets, a flood of new
  values moves "other". Its effect is bias-corrected: ``effect = max(0, TVD - null_tvd)``, with
  ``null_tvd`` the TVD two samples of these sizes show on these buckets when nothing changed
  (:func:`~detectors.presets._shared.null_tvd`, from the pooled bucket shares; about 0.06 at 1k rows
  per side, above the 0.05 floor, so the uncorrected TVD let ``alpha`` alone hold the false alarms);
- binary: two-proportion Z-test (chi-square when the current data brings a third value); effect = TVD
  (= |p_ref − p_cur|).

The p-values of all columns of the window are adjusted with Benjamini–Hochberg, then

    drifted = p_value_adjusted < alpha  and  effect_size >= min_effect     (alpha = 0.01, min_effect = 0.05)

Significance keeps small windows quiet (at most ``alpha`` chance of any false alarm in a stationary
window); the effect floor keeps large windows quiet on immaterial shifts (peers' p-values flag a 0.02 σ
shift at 100k rows). Both are overridable. The measured false-alarm rate and power are in
``docs/detectors.md`` (``bench/calibration.py``). Dataset drift: share of drifted columns >= 0.5.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from detectors.column_windows import CategoricalWindow, NumericWindow
from detectors.columns import CategoricalProfile, NumericProfile
from detectors.kinds import BINARY
from detectors.multiple_testing import benjamini_hochberg
from detectors.presets._shared import (
    aligned_counts,
    all_null_result,
    missing_current,
    null_tvd,
    top_k_counts,
    unseen_items,
)
from detectors.report import ColumnResult
from detectors.stattests.chisquare import chisquare_from_counts
from detectors.stattests.cramer_von_mises import (
    ReferenceSide,
    cvm_ks_fast,
    cvm_pvalue_asymptotic,
    midrank_t,
    own_run_squares,
)
from detectors.stattests.cvm_grid import cvm_ks_grid
from detectors.stattests.ztest import ztest_from_counts

__all__ = ["DEFAULT_ALPHA", "DEFAULT_MIN_EFFECT", "DEFAULT_TOP_K", "DefaultParams", "adjust", "default_column"]

DEFAULT_ALPHA = 0.01
DEFAULT_MIN_EFFECT = 0.05
DEFAULT_TOP_K = 20
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class DefaultParams:
    alpha: float = DEFAULT_ALPHA
    min_effect: float = DEFAULT_MIN_EFFECT
    top_k: int = DEFAULT_TOP_K


def default_column(
    col: NumericProfile | CategoricalProfile, win: NumericWindow | CategoricalWindow, params: DefaultParams
) -> ColumnResult:
    """Unadjusted result for one column (``drifted`` is settled by :func:`adjust` across the window)."""
    unseen: tuple[tuple[str, int], ...] = ()
    if isinstance(col, NumericProfile) and isinstance(win, NumericWindow):
        if win.n_finite == 0:
            return all_null_result(col, win)
        test, stat, p, effect = _numeric_test(col, win)
        n_ref, n_cur = col.n_finite, win.n_finite
    elif isinstance(col, CategoricalProfile) and isinstance(win, CategoricalWindow):
        if win.n_valid == 0:
            return all_null_result(col, win)
        unseen = unseen_items(win)
        test, stat, p, effect = _categorical_test(col, win, params.top_k)
        n_ref, n_cur = col.n_valid, win.n_valid
    else:  # pragma: no cover
        raise TypeError(f"column {col.name!r}: profile and window kinds differ")
    return ColumnResult(
        name=col.name,
        kind=col.kind,
        test=test,
        statistic=float(stat),
        p_value=float(p),
        threshold=params.min_effect,
        drifted=False,
        missing_rate_reference=col.missing_rate,
        missing_rate_current=missing_current(win),
        n_reference=n_ref,
        n_current=n_cur,
        alpha=params.alpha,
        effect_size=float(effect),
        unseen_categories=unseen,
    )



def _numeric_test(col: NumericProfile, win: NumericWindow) -> tuple[str, float, float, float]:
    """``(test, statistic, p_value, effect)`` of a numeric column with finite current values: the midrank
    Cramér–von Mises statistic and its asymptotic p-value, the Kolmogorov–Smirnov D as the effect."""
    cur = win.sorted_values()
    if col.grid is not None:  # a compact profile: the quantile grid's bounded-error statistics
        t, d = cvm_ks_grid(col.grid, cur)
        n_ref, x_runs = col.grid.n, col.grid.run_squares
    else:
        side = _reference_side(col)
        t, d = cvm_ks_fast(side, cur)
        n_ref, x_runs = col.values.size, side.run_squares
    t = midrank_t(t, n_ref, cur.size, x_runs, own_run_squares(cur))
    return "cramer_von_mises", t, cvm_pvalue_asymptotic(t, n_ref, cur.size), d


def _categorical_test(col: CategoricalProfile, win: CategoricalWindow, top_k: int) -> tuple[str, float, float, float]:
    """``(test, statistic, p_value, effect)`` of a categorical or binary column with non-null current values:
    the TVD of the aligned counts (of the ``top_k + 1`` buckets, bias-corrected, for a high-cardinality
    column) and the Z-test or chi-square on the same counts."""
    high_cardinality = col.kind != BINARY and col.n_levels > top_k
    if high_cardinality:
        ref, cur_counts = top_k_counts(col, win, top_k)
    else:
        ref, cur_counts = aligned_counts(col, win)
    effect = float(0.5 * np.abs(ref / ref.sum() - cur_counts / cur_counts.sum()).sum())
    if high_cardinality:
        effect = max(0.0, effect - null_tvd(ref, cur_counts))
    test, stat, p = _counts_test(col.kind, ref, cur_counts)
    return test, stat, p, effect


def _counts_test(kind: str, ref: npt.NDArray[np.float64], cur: npt.NDArray[np.float64]) -> tuple[str, float, float]:
    """``(test, statistic, p_value)`` on aligned counts: the two-proportion Z-test for a binary column with at
    most two values present (no test, p = 1, with a single one), the chi-square otherwise."""
    present = (ref + cur) > 0
    if kind == BINARY and present.sum() <= 2:
        r, c = ref[present], cur[present]
        if r.size < 2:
            return "z", 0.0, 1.0
        z = ztest_from_counts(int(r[1]), int(r.sum()), int(c[1]), int(c.sum()), alpha=0.5)
        return "z", z.statistic, _p(z.p_value)
    chi = chisquare_from_counts(ref, cur, alpha=0.5, min_expected=MIN_EXPECTED)
    return "chisquare", chi.statistic, _p(chi.p_value)

_REFERENCE_SIDES: weakref.WeakKeyDictionary[NumericProfile, ReferenceSide] = weakref.WeakKeyDictionary()


def _reference_side(col: NumericProfile) -> ReferenceSide:
    """The reference side of the Cramér–von Mises test of ``col``, made on first use and kept while the
    (immutable) profile column lives (profile columns hash by identity)."""
    side = _REFERENCE_SIDES.get(col)
    if side is None:
        side = _REFERENCE_SIDES[col] = ReferenceSide(col.values, col.self_counts)
    return side


def _p(value: float | None) -> float:
    """A p-value that the test always defines (0.0 is a valid, very significant value)."""
    assert value is not None
    return float(value)


def adjust(results: list[ColumnResult], params: DefaultParams) -> list[ColumnResult]:
    """Benjamini–Hochberg across the columns, then the drift rule of the module docstring."""
    tested = [r for r in results if r.test != "all_null"]
    qs = benjamini_hochberg([r.p_value for r in tested])
    q_by_name = {r.name: q for r, q in zip(tested, qs, strict=True)}
    out = []
    for r in results:
        if r.test == "all_null":
            out.append(r)
            continue
        q = q_by_name[r.name]
        drifted = q is not None and q < params.alpha and (r.effect_size or 0.0) >= params.min_effect
        out.append(replace(r, p_value_adjusted=q, drifted=bool(drifted)))
    return out
