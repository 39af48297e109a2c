"""The ``performance_drop`` rule: a realized metric fell below its reference by more than ``max_drop``.

For a metric where higher is better, with the window's interval ``[lower, upper]``::

    dropped = n >= min_labels and value is defined and (reference - upper) > max_drop

and for a loss (``LOWER_IS_BETTER``: log_loss, brier, ece, mae, rmse, mape)::

    dropped = n >= min_labels and value is defined and (lower - reference) > max_drop

So the alert fires only when even the most favourable end of the interval is worse than the reference by
more than ``max_drop``: a small window's wide interval cannot alert on noise. Alerts are deduplicated by
``key = (model, metric)`` by the caller. Slow decay that never crosses ``max_drop`` in one window is the job
of a sequential detector (``detectors.sequential.PageHinkley(mode="down")``) fed with the per-window values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from detectors.errors import InvalidParameterError
from detectors.performance.config import LOWER_IS_BETTER
from detectors.performance.result import MetricValue

__all__ = ["DropResult", "performance_drop"]


@dataclass(frozen=True, slots=True)
class DropResult:
    """Outcome of :func:`performance_drop`.

    Attributes
    ----------
    metric : str
    reference : float
        Realized value on the labelled reference (validation) data.
    value, lower, upper : float
        The window's realized value and interval.
    degradation : float
        ``reference - upper`` (higher is better) or ``lower - reference`` (losses); NaN if undefined.
    max_drop : float
    n, min_labels : int
    dropped : bool
        The verdict (rule in the module docstring).
    reason : str or None
        Why no verdict could be reached (too few labels, undefined value), else ``None``.
    """

    metric: str
    reference: float
    value: float
    lower: float
    upper: float
    degradation: float
    max_drop: float
    n: int
    min_labels: int
    dropped: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite floats become ``None``)."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            v = getattr(self, name)
            out[name] = (v if math.isfinite(v) else None) if isinstance(v, float) else v
        return out


def performance_drop(window: MetricValue, reference: float, *, max_drop: float, min_labels: int = 200) -> DropResult:
    """Apply the drop rule of the module docstring to one window's realized metric.

    Raises
    ------
    InvalidParameterError
        ``max_drop`` negative or not finite, ``min_labels`` below 1, ``reference`` not finite.

    Examples
    --------
    >>> w = MetricValue("accuracy", 0.80, 0.77, 0.83, 500, 0.95, "wilson")
    >>> performance_drop(w, 0.88, max_drop=0.03).dropped
    True
    """
    if not (math.isfinite(max_drop) and max_drop >= 0):
        raise InvalidParameterError(
            "max_drop", max_drop, "a finite number >= 0", where=f"performance_drop({window.metric})"
        )
    if min_labels < 1:
        raise InvalidParameterError(
            "min_labels", min_labels, "an integer >= 1", where=f"performance_drop({window.metric})"
        )
    if not math.isfinite(reference):
        raise InvalidParameterError(
            "reference", reference, "a finite number", where=f"performance_drop({window.metric})"
        )
    lower_better = window.metric in LOWER_IS_BETTER
    degradation = window.lower - reference if lower_better else reference - window.upper
    reason = None
    if window.n < min_labels:
        reason = f"{window.n} labelled rows < min_labels {min_labels}"
    elif not math.isfinite(degradation):
        reason = window.reason or "interval undefined"
    dropped = reason is None and degradation > max_drop
    return DropResult(
        window.metric,
        float(reference),
        window.value,
        window.lower,
        window.upper,
        degradation,
        float(max_drop),
        window.n,
        min_labels,
        dropped,
        reason,
    )
