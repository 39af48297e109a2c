"""Population stability index (PSI)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from detectors.result import TestResult
from detectors.stattests._common import BinSpec, Epsilon, binned_counts, check_threshold, filled_shares

__all__ = ["psi", "psi_from_counts"]

NAME = "psi"


def psi(
    reference: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    bins: BinSpec = "sturges",
    epsilon: Epsilon = 0.0001,
    threshold: float = 0.1,
) -> TestResult:
    """PSI = Σ (r_i − c_i) · ln(r_i / c_i) over the buckets of ``bins``, no p-value.

    r_i, c_i are the reference and current shares of bucket i; zero shares are replaced per
    ``epsilon`` (a float, ``"evidently"`` for Evidently 0.7's adaptive rule, or ``None`` to keep zeros,
    which makes PSI infinite when a bucket is empty on one side only).

    Rule: ``drifted = statistic >= threshold`` (Evidently's docs say "above" but it tests ``>=``; so do
    we, and say so). With ``bins="sturges"`` or ``"categories"`` and ``epsilon="evidently"`` this is
    Evidently's ``psi`` stattest.

    Examples
    --------
    >>> r = psi([1, 1, 2, 2, 3, 3], [1, 2, 2, 3, 3, 3], bins="categories")
    >>> r.drifted, round(r.statistic, 4)
    (True, 0.1831)
    """
    ref_counts, cur_counts = binned_counts(reference, current, bins, test=NAME)
    return psi_from_counts(ref_counts, cur_counts, epsilon=epsilon, threshold=threshold)


def psi_from_counts(
    reference_counts: npt.ArrayLike,
    current_counts: npt.ArrayLike,
    *,
    epsilon: Epsilon = 0.0001,
    threshold: float = 0.1,
) -> TestResult:
    """:func:`psi` on aligned bucket counts. Rule: ``drifted = statistic >= threshold``."""
    check_threshold(threshold, NAME)
    r, c = filled_shares(reference_counts, current_counts, epsilon, NAME)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (r - c) * np.log(r / c)
    terms = np.where((r == 0) & (c == 0), 0.0, terms)
    stat = float(np.sum(terms))
    return TestResult(NAME, stat, None, threshold, stat >= threshold)
