"""The fairness section of a model's configuration (``fairness``), strict like every section
(:mod:`monitor.config.models`), and the rule that ties its performance gaps to the model's ``performance``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

__all__ = ["FairnessConfig", "check_fairness_metrics", "fairness_metric_names"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def fairness_metric_names() -> tuple[str, ...]:
    """Every name ``metrics`` accepts: the rate gaps of :mod:`detectors.fairness`, then the performance gaps
    of :mod:`detectors.fairness_performance`."""
    from detectors.fairness import METRICS as RATE_METRICS
    from detectors.fairness_performance import METRICS as PERFORMANCE_METRICS

    return (*RATE_METRICS, *PERFORMANCE_METRICS)


class FairnessConfig(_Strict):
    """Group fairness per window (``detectors.fairness``, ``detectors.fairness_performance``): for each
    attribute (a segment key or a categorical/binary feature), each metric of ``metrics`` with its interval
    at ``confidence``.

    A prediction is positive when ``score >= threshold``. Alert ``fairness_gap`` when a ``*_difference``
    metric's lower bound > its threshold (``thresholds[metric]``, else ``max_gap``), a ``*_ratio`` metric's
    upper bound < its threshold (``thresholds[metric]``, else ``min_ratio``), or the interval lies farther
    than ``max_change`` from ``reference_values[metric]``. ``reference_group`` ``{attribute: group}``: gaps
    are taken to that group instead of between all groups. Groups with fewer than ``min_group_events``
    events (or labelled events, for label and performance metrics) are left out; at most ``max_groups``
    groups per attribute are kept (later ones pooled as ``other``). The performance gaps (``roc_auc_*``,
    ``average_precision_*``, ``log_loss_difference``, ``brier_difference``) need a ``performance`` block of
    task ``binary_classification`` (:func:`check_fairness_metrics`).
    """

    attributes: list[str]
    threshold: float = 0.5
    reference_group: dict[str, str] = Field(default_factory=dict)
    metrics: list[str] = Field(default_factory=lambda: ["demographic_parity_difference", "demographic_parity_ratio",
                                                        "equal_opportunity_difference"])
    max_gap: float = Field(default=0.1, ge=0, le=1)
    min_ratio: float = Field(default=0.8, ge=0, le=1)
    thresholds: dict[str, float] = Field(default_factory=dict)
    confidence: float = Field(default=0.95, ge=0.5, lt=1.0)
    min_group_events: int = Field(default=30, ge=1)
    max_groups: int = Field(default=20, ge=2, le=200)
    reference_values: dict[str, float] = Field(default_factory=dict)
    max_change: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> FairnessConfig:
        valid = fairness_metric_names()
        if not self.attributes:
            raise ValueError("attributes: at least one attribute is needed")
        for name in self.metrics:
            if name not in valid:
                raise ValueError(f"metrics: unknown metric {name!r}; valid: {', '.join(valid)}")
        for attr in self.reference_group:
            if attr not in self.attributes:
                raise ValueError(f"reference_group: {attr!r} is not one of attributes {self.attributes}")
        for section in ("reference_values", "thresholds"):
            for name in getattr(self, section):
                if name not in self.metrics:
                    raise ValueError(f"{section}: {name!r} is not one of metrics {self.metrics}")
        for name, value in self.thresholds.items():
            top = 1.0 if name.endswith("_ratio") else float("inf")
            if not 0 <= value <= top:
                raise ValueError(f"thresholds: {name} = {value!r} must be in [0, {top:g}]")
        if self.reference_values and self.max_change is None:
            raise ValueError("reference_values needs max_change (how far a value may move from its reference)")
        return self

    def threshold_of(self, metric: str) -> float:
        """The alert threshold of ``metric``: ``thresholds[metric]``, else ``max_gap`` (a difference) or
        ``min_ratio`` (a ratio)."""
        default = self.max_gap if metric.endswith("_difference") else self.min_ratio
        return self.thresholds.get(metric, default)

    @property
    def performance_metrics(self) -> list[str]:
        """The metrics of ``metrics`` that are performance gaps (:mod:`detectors.fairness_performance`)."""
        from detectors.fairness_performance import METRICS

        return [m for m in self.metrics if m in METRICS]


def check_fairness_metrics(fairness: FairnessConfig, performance: Any) -> None:
    """Raise a :class:`~pydantic_core.ValidationError` located at ``metrics.<i>`` (so the configuration
    error names the key ``models.<name>.fairness.metrics.<i>`` and the metric) for the first performance gap
    of ``fairness`` when the model's ``performance`` (a
    :class:`~monitor.config.performance.PerformanceSettings` or ``None``) is not of task
    ``binary_classification``: the gaps are computed from its joined labels and scores."""
    task = getattr(performance, "task", None)
    wanted = fairness.performance_metrics
    if not wanted or task == "binary_classification":
        return
    has = "no performance block" if performance is None else f"performance.task {task!r}"
    problem = (f"{wanted[0]} is a performance gap: it needs performance.task 'binary_classification' (labels "
               f"joined to scores), and this model has {has}")
    raise ValidationError.from_exception_data("FairnessConfig", [InitErrorDetails(
        type=PydanticCustomError("value_error", problem.replace("{", "{{").replace("}", "}}")),
        loc=("metrics", fairness.metrics.index(wanted[0])), input=wanted[0])])
