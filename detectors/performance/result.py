"""The frozen results of the performance core: one realized metric, one CBPE estimate.

Both are plain values (JSON-safe through ``to_dict``) so the watcher can store them per window: their
floats are Python floats whatever the computation returned (a numpy scalar is converted when the result
is made), so anything built from them, such as the watcher's checkpoint, encodes as JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["MetricEstimate", "MetricValue"]


def _json(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class MetricValue:
    """A realized metric of one window (labels joined) with its confidence interval.

    Attributes
    ----------
    metric : str
        Metric name (``"roc_auc"``, ``"f1_macro"``, ``"rmse"``, ...); see :mod:`detectors.performance.config`.
    value : float
        The metric; NaN when undefined for this window (then ``reason`` says why).
    lower, upper : float
        The two-sided confidence interval at ``confidence``; NaN when ``value`` is NaN or the interval is
        undefined (e.g. fewer than 2 observations).
    n : int
        Rows used (labelled rows of the window).
    confidence : float
        Nominal coverage of ``[lower, upper]`` (``0.95`` by default).
    method : str
        How the interval was computed: ``"wilson"``, ``"delong"``, ``"delta"``, ``"normal"`` (CLT on a mean
        of per-row losses), ``"bootstrap"`` or ``"none"``.
    reason : str or None
        ``None`` when ``value`` is defined, else a one-line reason (``"single class in window"``, ...).
    """

    metric: str
    value: float
    lower: float
    upper: float
    n: int
    confidence: float
    method: str
    reason: str | None = None

    def __post_init__(self) -> None:
        for name in ("value", "lower", "upper", "confidence"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))

    @property
    def defined(self) -> bool:
        """Whether ``value`` is a finite number."""
        return math.isfinite(self.value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite floats become ``None``)."""
        return {
            "metric": self.metric,
            "value": _json(self.value),
            "lower": _json(self.lower),
            "upper": _json(self.upper),
            "n": int(self.n),
            "confidence": float(self.confidence),
            "method": self.method,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class MetricEstimate:
    """A CBPE estimate of one metric for one window (no labels needed).

    Attributes
    ----------
    metric : str
        Metric name.
    value : float
        Estimated metric (NaN with ``reason`` when undefined, e.g. an empty window).
    sampling_error : float
        Standard error of the metric for a window of ``n`` rows:
        ``sampling_error = reference_se * sqrt(n_reference / n)`` (see :class:`detectors.performance.cbpe.CBPE`).
    lower, upper : float
        The band ``value -/+ band_sigmas * sampling_error``, clipped to the metric's range ``[0, 1]``.
    n : int
        Rows of the window.
    reason : str or None
        ``None`` when ``value`` is defined, else why not.
    """

    metric: str
    value: float
    sampling_error: float
    lower: float
    upper: float
    n: int
    reason: str | None = None

    def __post_init__(self) -> None:
        for name in ("value", "sampling_error", "lower", "upper"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite floats become ``None``)."""
        return {
            "metric": self.metric,
            "value": _json(self.value),
            "sampling_error": _json(self.sampling_error),
            "lower": _json(self.lower),
            "upper": _json(self.upper),
            "n": int(self.n),
            "reason": self.reason,
        }
