"""Worst slices: the segment values whose rate deviates most from the rest of the window, with a test.

For each slice ``s`` (a segment value such as ``country=FR``, or a pair ``country=FR&platform=ios``) with
``k_s`` successes in ``n_s`` trials, of ``K`` in ``N`` over the whole window, the rest holds
``K - k_s`` in ``N - n_s``. The slice is compared with the rest by the two-proportion z-test with pooled
variance: ``z = (p_s - p_r) / sqrt(p (1 - p) (1 / n_s + 1 / n_r))``, ``p = K / N``, two-sided
``p_value = 2 Φ(-|z|)`` (``scipy.stats.norm``); ``None`` when ``n_s < min_n``, ``n_r < min_n`` or
``p`` is 0 or 1. The p-values are adjusted by Benjamini–Hochberg across the slices of the call;
``significant = q < alpha``. Slices are ranked by ``significant`` first, then by ``|p_s - p_r|``
(descending), then by name; the first ``top`` are returned.

Examples
--------
>>> rows = {"country=FR": (20, 400), "country=DE": (120, 400), "country=ES": (118, 400)}
>>> [(s.name, s.significant) for s in worst_slices(rows, top=2)]
[('country=FR', True), ('country=DE', True)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import scipy  # scipy.stats is loaded at its first use (scipy's lazy submodules)

from detectors.multiple_testing import benjamini_hochberg

__all__ = ["Slice", "worst_slices"]


@dataclass(frozen=True)
class Slice:
    """One slice against the rest: its rate, the rest's, the test's p-value and its BH q-value."""

    name: str
    n: int
    rate: float
    rest_rate: float | None
    difference: float | None
    p_value: float | None
    q_value: float | None
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _test(k: int, n: int, big_k: int, big_n: int, min_n: int) -> tuple[float | None, float | None, float | None]:
    n_r = big_n - n
    if n_r <= 0:
        return None, None, None
    p_r = (big_k - k) / n_r
    diff = k / n - p_r
    pooled = big_k / big_n
    if n < min_n or n_r < min_n or pooled in (0.0, 1.0):
        return p_r, diff, None
    z = diff / math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / n_r))
    return p_r, diff, float(2 * scipy.stats.norm.sf(abs(z)))


def worst_slices(slices: Mapping[str, tuple[int, int]], *, total: tuple[int, int] | None = None,
                 alpha: float = 0.05, top: int = 5, min_n: int = 30) -> list[Slice]:
    """The ``top`` slices of ``{name: (successes, trials)}`` deviating most from the rest (module docstring).

    ``total`` is the window's ``(K, N)``; by default the sums over ``slices`` (right when they partition
    the window, e.g. the values of one key).
    """
    big_k, big_n = total if total is not None else (sum(k for k, _ in slices.values()),
                                                     sum(n for _, n in slices.values()))
    rows = []
    for name, (k, n) in slices.items():
        if n <= 0:
            continue
        rows.append((name, k, n, *_test(k, n, big_k, big_n, min_n)))
    qs = benjamini_hochberg([r[5] for r in rows])
    out = [Slice(name, n, k / n, p_r, diff, p, q, q is not None and q < alpha)
           for (name, k, n, p_r, diff, p), q in zip(rows, qs, strict=True)]
    out.sort(key=lambda s: (not s.significant, -abs(s.difference or 0.0), s.name))
    return out[:top]
