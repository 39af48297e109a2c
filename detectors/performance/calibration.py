"""Isotonic calibration of scores into probabilities, applied only where it helps (NannyML's rule).

:func:`needs_calibration` decides, on labelled reference data, whether isotonic regression lowers the
expected calibration error out of sample:

1. no calibration when the reference holds a single class, or when its ROC AUC exceeds 0.999;
2. otherwise 10 stratified shuffle splits (10 % test, ``random_state=42``); on each, isotonic regression
   (increasing, clipped out of range) is fitted on the train part and applied to the test part;
3. the test parts are pooled; ECE is computed before and after calibration over 10 equal-count bins of
   the sorted scores (``ECE = sum_b (n_b / n) |mean(p_b) - mean(y_b)|``);
4. ``needs_calibration = ece_before > ece_after``.

This is NannyML 0.13's ``nannyml.calibration.needs_calibration`` step for step, so both decide alike.
:class:`Isotonic` is the fitted map, stored as its breakpoints and applied with linear interpolation
(identical to scikit-learn's ``IsotonicRegression.predict`` with ``out_of_bounds="clip"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from detectors.performance._ranking import auc_delong, sort_scores

__all__ = ["Isotonic", "needs_calibration"]


@dataclass(frozen=True)
class Isotonic:
    """A fitted increasing isotonic map: ``p = interp(score, x, y)`` (constant beyond the ends)."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    @classmethod
    def fit(cls, scores: NDArray[np.float64], target: NDArray[np.float64]) -> Isotonic:
        """Fit scikit-learn's ``IsotonicRegression(increasing=True, out_of_bounds="clip")``."""
        from sklearn.isotonic import IsotonicRegression  # fitting only: a watcher never imports scikit-learn

        reg = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(scores, target)
        return cls(tuple(map(float, reg.X_thresholds_)), tuple(map(float, reg.y_thresholds_)))

    @cached_property
    def _arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return np.asarray(self.x, dtype=np.float64), np.asarray(self.y, dtype=np.float64)

    def __call__(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated values (several times faster on scores sorted ascending: callers sort first)."""
        return np.interp(scores, *self._arrays)

    def to_dict(self) -> dict[str, Any]:
        """``{"x": [...], "y": [...]}``."""
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Isotonic:
        """Inverse of :meth:`to_dict` (``KeyError``/``ValueError`` on a bad payload, mapped by the caller)."""
        x, y = tuple(float(v) for v in data["x"]), tuple(float(v) for v in data["y"])
        if len(x) != len(y) or not x:
            raise ValueError("x and y must be non-empty and of one length")
        return cls(x, y)


def _equal_count_ece(y: NDArray[np.float64], p: NDArray[np.float64], bins: int) -> float:
    n = p.size
    if n <= 2 * bins:
        bins = n // 2
    width = n // bins
    edges = np.arange(0, n + 1, width)
    edges[-1] = n
    order = np.argsort(p)
    ps, ys = p[order], y[order]
    total = 0.0
    for lo, hi in pairwise(edges):
        total += (hi - lo) / n * abs(float(ps[lo:hi].mean()) - float(ys[lo:hi].mean()))
    return total


def needs_calibration(
    target: NDArray[np.float64], scores: NDArray[np.float64], *, bins: int = 10, splits: int = 10
) -> bool:
    """Whether isotonic calibration lowers the cross-validated ECE (rule in the module docstring).

    ``target`` is 0/1 (the one-vs-rest target for a multiclass column).
    """
    if np.unique(target).size < 2:
        return False
    auc, _ = auc_delong(sort_scores(scores, target > 0))
    if auc > 0.999:
        return False
    from sklearn.isotonic import IsotonicRegression
    from sklearn.model_selection import StratifiedShuffleSplit

    sss = StratifiedShuffleSplit(n_splits=splits, test_size=0.1, random_state=42)
    ys, raw, cal = [], [], []
    for train, test in sss.split(scores, target):
        iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(scores[train], target[train])
        ys.append(target[test])
        raw.append(scores[test])
        cal.append(iso.predict(scores[test]))
    y_all = np.concatenate(ys)
    return _equal_count_ece(y_all, np.concatenate(raw), bins) > _equal_count_ece(y_all, np.concatenate(cal), bins)
