"""Benjamini–Hochberg adjusted p-values (false discovery rate control across the columns of a window)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from detectors.report import DriftReport

__all__ = ["adjust_reports", "benjamini_hochberg"]


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """BH-adjusted p-values (q-values); ``None`` entries are skipped and stay ``None``.

    ``q_(i) = min_{j >= i} min(1, m · p_(j) / j)`` over the m defined p-values sorted ascending. Rejecting
    ``q < alpha`` controls the false discovery rate at ``alpha`` (for independent or positively dependent
    tests), and the chance of any false alarm at ``alpha`` when no column drifted.

    Examples
    --------
    >>> [round(q, 3) for q in benjamini_hochberg([0.01, 0.04, 0.03, 0.5])]
    [0.04, 0.053, 0.053, 0.5]
    """
    idx = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    if not idx:
        return out
    p = np.array([p_values[i] for i in idx], dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    q = np.empty(m)
    q[order] = q_sorted
    for k, i in enumerate(idx):
        out[i] = float(q[k])
    return out


def adjust_reports(reports: Sequence[DriftReport], *, alpha: float, min_effect: float,
                   skip: Sequence[str] = ()) -> list[DriftReport]:
    """Benjamini–Hochberg over the columns of several reports together (e.g. one window's segments).

    Every column result of every report whose test is not ``all_null`` and whose name is not in ``skip``
    (columns with their own per-column rule) enters one family of ``m`` raw p-values; then, as in the
    ``default`` preset, ``drifted = q < alpha and effect_size >= min_effect`` with ``q`` the joint q-value,
    and each report's ``drift_share`` / ``dataset_drift`` are recomputed (``drift_share >=
    drift_share_threshold``). When nothing drifted, the chance of any false alarm over all the reports
    stays at most ``alpha`` (independent or positively dependent tests), however many reports are added.

    Examples
    --------
    >>> from detectors.report import ColumnResult, DriftReport
    >>> def rep(p):
    ...     col = ColumnResult("x", "numeric", "ks", 0.1, p, 0.1, True, 0.0, 0.0, effect_size=0.5)
    ...     return DriftReport("default", True, 1.0, 0.5, [col])
    >>> [r.drift_share for r in adjust_reports([rep(0.01), rep(0.04)], alpha=0.05, min_effect=0.1)]
    [1.0, 1.0]
    >>> [r.drift_share for r in adjust_reports([rep(0.01)] + [rep(0.5)] * 9, alpha=0.05, min_effect=0.1)][0]
    0.0
    """
    from dataclasses import replace

    skipped = set(skip)
    where = [(i, j) for i, rep in enumerate(reports) for j, col in enumerate(rep.columns)
             if col.test != "all_null" and col.name not in skipped]
    qs = benjamini_hochberg([reports[i].columns[j].p_value for i, j in where])
    q_at = dict(zip(where, qs, strict=True))
    out = []
    for i, rep in enumerate(reports):
        cols = []
        for j, col in enumerate(rep.columns):
            if (i, j) not in q_at:
                cols.append(col)
                continue
            q = q_at[(i, j)]
            drifted = q is not None and q < alpha and (col.effect_size or 0.0) >= min_effect
            cols.append(replace(col, p_value_adjusted=q, drifted=bool(drifted)))
        share = sum(c.drifted for c in cols) / len(cols) if cols else 0.0
        out.append(replace(rep, columns=cols, drift_share=share,
                           dataset_drift=bool(cols) and share >= rep.drift_share_threshold))
    return out
