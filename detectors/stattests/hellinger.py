"""Hellinger distance between binned distributions."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from detectors.result import TestResult
from detectors.stattests._common import BinSpec, binned_counts, check_threshold, shares

__all__ = ["hellinger", "hellinger_from_counts"]

NAME = "hellinger"


def hellinger(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, bins: BinSpec = "sturges", threshold: float = 0.1
) -> TestResult:
    """Hellinger distance H = sqrt(1 − Σ sqrt(r_i · c_i)) of the bucket shares, in [0, 1], no p-value.

    Buckets come from ``bins`` (``"categories"`` for categorical data). No smoothing is needed.
    Rule: ``drifted = statistic >= threshold``. Evidently's ``hellinger`` computes the same formula; for
    numeric data it takes Sturges' bins over the *distinct* values of reference ∪ current (pass those
    edges explicitly to reproduce it).

    Examples
    --------
    >>> r = hellinger(["a", "a", "b", "b"], ["a", "b", "b", "b"], bins="categories")
    >>> r.drifted, round(r.statistic, 4)
    (True, 0.1846)
    """
    ref_counts, cur_counts = binned_counts(reference, current, bins, test=NAME)
    return hellinger_from_counts(ref_counts, cur_counts, threshold=threshold)


def hellinger_from_counts(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike, *, threshold: float = 0.1
) -> TestResult:
    """:func:`hellinger` on aligned bucket counts. Rule: ``drifted = statistic >= threshold``."""
    check_threshold(threshold, NAME)
    r = shares(reference_counts, name="reference", test=NAME)
    c = shares(current_counts, name="current", test=NAME)
    bc = float(np.clip(np.sum(np.sqrt(r * c)), 0.0, 1.0))
    stat = float(np.sqrt(1.0 - bc))
    return TestResult(NAME, stat, None, threshold, stat >= threshold)
