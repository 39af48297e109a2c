"""Helpers shared by the presets: aligned counts, missing rates and the all-null result."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from detectors.columns import CategoricalProfile, ColumnProfile, NumericProfile
from detectors.report import ColumnResult
from detectors.result import TestResult
from detectors.window_columns import CategoricalWindow, NumericWindow

__all__ = ["aligned_counts", "all_null_result", "column_result", "missing_current", "unseen_items", "value_counts"]


def aligned_counts(
    col: CategoricalProfile, win: CategoricalWindow
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Reference and current counts over reference categories, then one bucket per unseen category."""
    unseen = np.array([n for _, n in unseen_items(win)], dtype=np.float64)
    ref = np.concatenate([col.counts.astype(np.float64), np.zeros(unseen.size)])
    cur = np.concatenate([win.counts.astype(np.float64), unseen])
    return ref, cur


def unseen_items(win: CategoricalWindow) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(((k, v) for k, v in win.unseen.items() if v > 0), key=lambda kv: (-kv[1], kv[0])))


def value_counts(
    ref_sorted: npt.NDArray[np.float64], cur_sorted: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Counts per distinct value of reference ∪ current (for numeric columns with few values)."""
    keys = np.unique(np.concatenate([ref_sorted, cur_sorted]))
    ref = np.diff(np.searchsorted(ref_sorted, keys, side="right"), prepend=0).astype(np.float64)
    cur = np.diff(np.searchsorted(cur_sorted, keys, side="right"), prepend=0).astype(np.float64)
    return ref, cur


def missing_current(win: NumericWindow | CategoricalWindow) -> float:
    return win.n_null / win.n_rows if win.n_rows else 0.0


def all_null_result(col: ColumnProfile, win: NumericWindow | CategoricalWindow) -> ColumnResult:
    """A column with rows but no usable current value: reported as drifted (test ``all_null``), never skipped."""
    n_ref = col.n_finite if isinstance(col, NumericProfile) else col.n_valid
    return ColumnResult(
        name=col.name,
        kind=col.kind,
        test="all_null",
        statistic=missing_current(win),
        p_value=None,
        threshold=1.0,
        drifted=True,
        missing_rate_reference=col.missing_rate,
        missing_rate_current=missing_current(win),
        n_reference=n_ref,
        n_current=0,
    )


def column_result(
    col: ColumnProfile,
    win: NumericWindow | CategoricalWindow,
    res: TestResult,
    n_reference: int,
    n_current: int,
    unseen: tuple[tuple[str, int], ...] = (),
    alpha: float | None = None,
) -> ColumnResult:
    """The report row of one column's test result ``res``."""
    return ColumnResult(
        name=col.name,
        kind=col.kind,
        test=res.test,
        statistic=res.statistic,
        p_value=res.p_value,
        threshold=res.threshold,
        drifted=res.drifted,
        missing_rate_reference=col.missing_rate,
        missing_rate_current=missing_current(win),
        n_reference=n_reference,
        n_current=n_current,
        alpha=alpha,
        unseen_categories=unseen,
    )
