"""Preset ``evidently``: Evidently 0.7's default test selection and thresholds, reproduced exactly.

Selection (``_get_default_stattest`` in Evidently's ``stattests/registry.py``), with n_ref the reference's
non-null finite row count and n_values the distinct values of reference ∪ current:

==============  ==========================  ===========================================================
n_ref           numeric                     categorical / binary
==============  ==========================  ===========================================================
<= 1000         n_values > 5: ``ks``,       n_values > 2: ``chisquare_gof`` (p < 0.05);
                p <= 0.05; else as          else ``z`` (p < 0.05)
                categorical
> 1000          n_values > 5:               ``jensenshannon`` on one bucket per value (natural log),
                ``wasserstein`` >= 0.1;     >= 0.1
                else ``jensenshannon``
==============  ==========================  ===========================================================

NaN and ±inf are dropped before testing, as Evidently does (the window still counts them and the report
carries both missing rates). Dataset drift: share of drifted columns >= 0.5.
"""

from __future__ import annotations

import numpy as np
import scipy  # scipy.stats is loaded at its first use (scipy's lazy submodules)

from detectors.column_windows import CategoricalWindow, NumericWindow
from detectors.columns import CategoricalProfile, NumericProfile
from detectors.presets._shared import aligned_counts, all_null_result, column_result, unseen_items, value_counts
from detectors.report import ColumnResult
from detectors.result import TestResult
from detectors.stattests.chisquare import chisquare_gof_from_counts
from detectors.stattests.jensen_shannon import jensen_shannon_many
from detectors.stattests.wasserstein import wasserstein_sorted
from detectors.stattests.ztest import ztest_from_counts

__all__ = ["SMALL_REFERENCE", "evidently_column"]

SMALL_REFERENCE = 1000
FEW_VALUES = 5
P_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1


def evidently_column(col: NumericProfile | CategoricalProfile, win: NumericWindow | CategoricalWindow) -> ColumnResult:
    """The ``evidently`` preset's verdict for one column."""
    unseen: tuple[tuple[str, int], ...] = ()
    if isinstance(col, NumericProfile) and isinstance(win, NumericWindow):
        if win.n_finite == 0:
            return all_null_result(col, win)
        res, n_ref, n_cur = _numeric(col, win), col.n_finite, win.n_finite
    elif isinstance(col, CategoricalProfile) and isinstance(win, CategoricalWindow):
        if win.n_valid == 0:
            return all_null_result(col, win)
        unseen = unseen_items(win)
        ref, cur = aligned_counts(col, win)
        res, n_ref, n_cur = _from_counts(ref, cur, col.n_valid), col.n_valid, win.n_valid
    else:  # pragma: no cover - the window is built from the profile
        raise TypeError(f"column {col.name!r}: profile and window kinds differ")
    return column_result(col, win, res, n_ref, n_cur, unseen)


def _numeric(col: NumericProfile, win: NumericWindow) -> TestResult:
    ref = col.reference_values("the evidently preset")
    cur = win.sorted_values()
    few = col.n_distinct <= FEW_VALUES and np.unique(np.concatenate([ref, cur])).size <= FEW_VALUES
    if few:
        ref_counts, cur_counts = value_counts(ref, cur)
        return _from_counts(ref_counts, cur_counts, col.n_finite)
    if col.n_finite <= SMALL_REFERENCE:
        res = scipy.stats.ks_2samp(ref, cur)
        p = float(res.pvalue)
        return TestResult("ks", float(res.statistic), p, P_THRESHOLD, p <= P_THRESHOLD)
    stat = wasserstein_sorted(ref, cur) / max(col.std, 0.001)
    return TestResult("wasserstein", stat, None, DISTANCE_THRESHOLD, stat >= DISTANCE_THRESHOLD)


def _from_counts(ref: np.ndarray, cur: np.ndarray, n_ref: int) -> TestResult:
    present = (ref + cur) > 0
    ref, cur = ref[present], cur[present]
    if n_ref <= SMALL_REFERENCE:
        if ref.size > 2:
            return chisquare_gof_from_counts(ref, cur, alpha=P_THRESHOLD)
        if ref.size == 1:
            return TestResult("z", 0.0, 1.0, P_THRESHOLD, False)
        return ztest_from_counts(int(ref[1]), int(ref.sum()), int(cur[1]), int(cur.sum()), alpha=P_THRESHOLD)
    stat = jensen_shannon_many(ref / ref.sum(), cur / cur.sum())
    return TestResult("jensenshannon", stat, None, DISTANCE_THRESHOLD, stat >= DISTANCE_THRESHOLD)
