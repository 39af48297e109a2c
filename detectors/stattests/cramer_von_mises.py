"""Two-sample Cramér–von Mises test."""

from __future__ import annotations

import numpy.typing as npt
from scipy import stats

from detectors.result import TestResult
from detectors.stattests._common import as_sample, check_alpha

__all__ = ["cramer_von_mises"]

NAME = "cramer_von_mises"


def cramer_von_mises(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, alpha: float = 0.1, method: str = "auto"
) -> TestResult:
    """Two-sample Cramér–von Mises test (``scipy.stats.cramervonmises_2samp``).

    ``statistic`` is T (Anderson 1962); ``p_value`` is exact when both samples have at most 20 values
    under ``method="auto"``, else from the limiting distribution. Needs two values per sample.

    Rule: ``drifted = p_value <= alpha`` (``<=`` as Evidently's ``cramer_von_mises``, threshold 0.1,
    whose code is a copy of scipy's).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = cramer_von_mises(rng.normal(size=300), rng.normal(0.5, 1, size=300))
    >>> r.drifted, round(r.statistic, 3)
    (True, 4.079)
    """
    check_alpha(alpha, NAME)
    ref = as_sample(reference, name="reference", test=NAME, min_size=2)
    cur = as_sample(current, name="current", test=NAME, min_size=2)
    res = stats.cramervonmises_2samp(ref, cur, method=method)
    p = float(res.pvalue)
    return TestResult(NAME, float(res.statistic), p, alpha, p <= alpha)
