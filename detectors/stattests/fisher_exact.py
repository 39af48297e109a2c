"""Fisher's exact test on a 2×2 table (binary data)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy  # scipy.stats is loaded at its first use (scipy's lazy submodules)

from detectors.result import TestResult
from detectors.stattests._common import binary_counts, check_alpha

__all__ = ["fisher_exact", "fisher_exact_from_counts"]

NAME = "fisher_exact"


def fisher_exact(reference: npt.ArrayLike, current: npt.ArrayLike, *, alpha: float = 0.1) -> TestResult:
    """Fisher's exact test (two-sided) on the table [[cur_1, cur_0], [ref_1, ref_0]] of a binary column.

    ``statistic`` is scipy's conditional-MLE-free sample odds ratio; the two-sided p-value does not depend
    on which value is called "1". Unlike Evidently's ``fisher_exact`` (threshold 0.1), the two samples
    need not have the same length. Rule: ``drifted = p_value < alpha``.

    Examples
    --------
    >>> r = fisher_exact([0] * 8 + [1] * 2, [0] * 2 + [1] * 8)
    >>> r.drifted, round(r.p_value, 4)
    (True, 0.023)
    """
    return fisher_exact_from_counts(*binary_counts(reference, current, NAME), alpha=alpha)


def fisher_exact_from_counts(ones_ref: int, n_ref: int, ones_cur: int, n_cur: int, *, alpha: float = 0.1) -> TestResult:
    """:func:`fisher_exact` on counts of "1" out of n per side. Rule: ``drifted = p_value < alpha``."""
    check_alpha(alpha, NAME)
    table = np.array([[ones_cur, n_cur - ones_cur], [ones_ref, n_ref - ones_ref]])
    res = scipy.stats.fisher_exact(table)
    p = float(res.pvalue)
    return TestResult(NAME, float(res.statistic), p, alpha, p < alpha)
