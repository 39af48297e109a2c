"""Jensen–Shannon distance between binned distributions."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy  # scipy.spatial is loaded at its first use (scipy's lazy submodules)

from detectors.result import TestResult
from detectors.stattests._common import BinSpec, binned_counts, check_threshold, shares

__all__ = ["jensen_shannon", "jensen_shannon_from_counts"]

NAME = "jensenshannon"


def jensen_shannon(
    reference: npt.ArrayLike,
    current: npt.ArrayLike,
    *,
    bins: BinSpec = "sturges",
    base: float | None = None,
    threshold: float = 0.1,
) -> TestResult:
    """Jensen–Shannon distance (square root of the JS divergence) of the binned samples, no p-value.

    Buckets come from ``bins`` (see :data:`detectors.stattests._common.BinSpec`; use ``"categories"``
    for categorical data, where an unseen category is its own bucket). ``base`` is the logarithm base:
    ``None`` = natural log (Evidently's choice, maximum sqrt(ln 2) ≈ 0.833), ``2`` gives a distance in
    [0, 1]. No smoothing is needed (JS is finite with empty buckets).

    Rule: ``drifted = statistic >= threshold``. Same as Evidently's ``jensenshannon`` stattest with
    ``bins="sturges"`` for numeric columns with more than 20 distinct reference values and
    ``bins="categories"`` otherwise.

    Examples
    --------
    >>> r = jensen_shannon(["a", "a", "b", "c"], ["a", "b", "b", "d"], bins="categories")
    >>> r.drifted, round(r.statistic, 4)
    (True, 0.4645)
    """
    ref_counts, cur_counts = binned_counts(reference, current, bins, test=NAME)
    return jensen_shannon_from_counts(ref_counts, cur_counts, base=base, threshold=threshold)


def jensen_shannon_from_counts(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike, *, base: float | None = None, threshold: float = 0.1
) -> TestResult:
    """:func:`jensen_shannon` on aligned bucket counts. Rule: ``drifted = statistic >= threshold``."""
    check_threshold(threshold, NAME)
    p = shares(reference_counts, name="reference", test=NAME)
    q = shares(current_counts, name="current", test=NAME)
    stat = float(scipy.spatial.distance.jensenshannon(p, q, base))
    return TestResult(NAME, stat, None, threshold, stat >= threshold)


def jensen_shannon_many(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64], base: float | None = None) -> float:
    """JS distance of two share vectors (summing to 1), computed like scipy without the checks."""
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    js = (left.sum() + right.sum()) / 2.0
    if base is not None:
        js /= np.log(base)
    return float(np.sqrt(max(js, 0.0)))
