"""Anderson–Darling k-sample test (two samples)."""

from __future__ import annotations

import warnings

import numpy.typing as npt
import scipy  # scipy.stats is loaded at its first use (scipy's lazy submodules)

from detectors.result import TestResult
from detectors.stattests._common import as_sample, check_alpha

__all__ = ["anderson_darling"]

NAME = "anderson"


def anderson_darling(reference: npt.ArrayLike, current: npt.ArrayLike, *, alpha: float = 0.1) -> TestResult:
    """Anderson–Darling k-sample test (``scipy.stats.anderson_ksamp``, midrank variant) on two samples.

    ``statistic`` is the normalised A²; scipy's p-value is interpolated from tabulated critical values
    and therefore floored at 0.001 and capped at 0.25 (scipy warns; we silence the warning and say it
    here). Rule: ``drifted = p_value < alpha``. Same as Evidently's ``anderson`` stattest (threshold 0.1).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = anderson_darling(rng.normal(size=300), rng.normal(0.5, 1, size=300))
    >>> r.drifted, r.p_value
    (True, 0.001)
    """
    check_alpha(alpha, NAME)
    ref = as_sample(reference, name="reference", test=NAME, min_size=2)
    cur = as_sample(current, name="current", test=NAME, min_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = scipy.stats.anderson_ksamp([ref, cur], variant="midrank")
    p = float(res.pvalue)
    return TestResult(NAME, float(res.statistic), p, alpha, p < alpha)
