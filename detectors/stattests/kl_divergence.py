"""Kullback–Leibler divergence KL(reference ‖ current)."""

from __future__ import annotations

import numpy.typing as npt
import scipy  # scipy.stats is loaded at its first use (scipy's lazy submodules)

from detectors.result import TestResult
from detectors.stattests._common import BinSpec, Epsilon, binned_counts, check_threshold, filled_shares

__all__ = ["kl_divergence", "kl_divergence_from_counts"]

NAME = "kl_div"


def kl_divergence(
    reference: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    bins: BinSpec = "sturges",
    epsilon: Epsilon = 0.0001,
    threshold: float = 0.1,
) -> TestResult:
    """KL(r ‖ c) = Σ r_i · ln(r_i / c_i) over the buckets of ``bins`` (natural log), no p-value.

    Zero shares are replaced per ``epsilon`` (see :func:`detectors.stattests.psi.psi`); with
    ``epsilon=None`` a bucket empty in the current sample only makes KL infinite.

    Rule: ``drifted = statistic >= threshold``. With ``epsilon="evidently"`` this is Evidently's
    ``kl_div`` stattest.

    Examples
    --------
    >>> r = kl_divergence(["a", "a", "b", "b"], ["a", "b", "b", "b"], bins="categories")
    >>> r.drifted, round(r.statistic, 4)
    (True, 0.1438)
    """
    ref_counts, cur_counts = binned_counts(reference, current, bins, test=NAME)
    return kl_divergence_from_counts(ref_counts, cur_counts, epsilon=epsilon, threshold=threshold)


def kl_divergence_from_counts(
    reference_counts: npt.ArrayLike,
    current_counts: npt.ArrayLike,
    *,
    epsilon: Epsilon = 0.0001,
    threshold: float = 0.1,
) -> TestResult:
    """:func:`kl_divergence` on aligned bucket counts. Rule: ``drifted = statistic >= threshold``."""
    check_threshold(threshold, NAME)
    r, c = filled_shares(reference_counts, current_counts, epsilon, NAME)
    stat = float(scipy.stats.entropy(r, c))
    return TestResult(NAME, stat, None, threshold, stat >= threshold)
