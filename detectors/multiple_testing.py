"""Benjamini–Hochberg adjusted p-values (false discovery rate control across the columns of a window)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["benjamini_hochberg"]


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
