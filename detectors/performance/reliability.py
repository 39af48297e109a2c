"""The CBPE reliability guard: estimates that labelled windows keep contradicting are marked unreliable.

For each window whose labels have arrived, :func:`compare` stores ``error = estimated - realized`` and
``outside = realized < lower or realized > upper`` (the estimate's band). Over the last ``window``
compared windows of a metric (default 5)::

    reliable = count(outside) < max_outside        (default max_outside = 3)

CBPE assumes ``P(y | score)`` is unchanged since the reference; concept drift breaks that, and its
signature is a realized value repeatedly outside the band. Fewer than ``max_outside`` compared windows can
never be unreliable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from detectors.errors import InvalidParameterError
from detectors.performance.result import MetricEstimate, MetricValue

__all__ = ["EstimateCheck", "Reliability", "assess_reliability", "compare"]


@dataclass(frozen=True, slots=True)
class EstimateCheck:
    """One labelled window: the estimate against the realized value."""

    metric: str
    estimated: float
    realized: float
    lower: float
    upper: float
    error: float
    outside: bool


@dataclass(frozen=True, slots=True)
class Reliability:
    """Verdict of :func:`assess_reliability` for one metric."""

    metric: str
    reliable: bool
    n_checked: int
    n_outside: int
    mean_error: float


def compare(estimate: MetricEstimate, realized: MetricValue) -> EstimateCheck | None:
    """``EstimateCheck`` of one window, or ``None`` when either value is undefined.

    Raises
    ------
    InvalidParameterError
        The two values are of different metrics.
    """
    if estimate.metric != realized.metric:
        raise InvalidParameterError("realized.metric", realized.metric, f"{estimate.metric!r}", where="compare")
    if not (math.isfinite(estimate.value) and math.isfinite(realized.value)):
        return None
    outside = realized.value < estimate.lower or realized.value > estimate.upper
    return EstimateCheck(
        estimate.metric,
        estimate.value,
        realized.value,
        estimate.lower,
        estimate.upper,
        estimate.value - realized.value,
        bool(outside),
    )


def assess_reliability(checks: Sequence[EstimateCheck], *, window: int = 5, max_outside: int = 3) -> Reliability:
    """Apply the rule of the module docstring to the checks of one metric (oldest first).

    Raises
    ------
    InvalidParameterError
        ``window < 1``, ``max_outside`` not in ``[1, window]``, or checks of several metrics.

    Examples
    --------
    >>> c = [EstimateCheck("f1", 0.8, r, 0.75, 0.85, 0.8 - r, not 0.75 <= r <= 0.85) for r in (0.8, 0.6, 0.6, 0.6)]
    >>> assess_reliability(c).reliable
    False
    """
    if window < 1:
        raise InvalidParameterError("window", window, "an integer >= 1", where="assess_reliability")
    if not 1 <= max_outside <= window:
        raise InvalidParameterError(
            "max_outside", max_outside, f"an integer in [1, {window}]", where="assess_reliability"
        )
    metrics = {c.metric for c in checks}
    if len(metrics) > 1:
        raise InvalidParameterError("checks", sorted(metrics), "checks of a single metric", where="assess_reliability")
    recent = list(checks)[-window:]
    n_outside = sum(c.outside for c in recent)
    mean_error = sum(c.error for c in recent) / len(recent) if recent else math.nan
    metric = recent[0].metric if recent else ""
    return Reliability(metric, n_outside < max_outside, len(recent), n_outside, mean_error)
