"""The business-metric and model-performance sections of a model's configuration (``business_metrics``,
``performance``), strict like every section (:mod:`monitor.config.models`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Condition", "MetricConfig", "PerformanceReferenceConfig", "PerformanceSettings", "SequentialConfig"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One test on a joined outcome field: ``field op value`` (``op: truthy`` ignores ``value``)."""

    field: str
    op: Literal["truthy", "falsy", ">=", ">", "<=", "<", "==", "!="] = "truthy"
    value: float | str | bool | None = None

    @model_validator(mode="after")
    def _needs_value(self) -> Condition:
        if self.op not in ("truthy", "falsy") and self.value is None:
            raise ValueError(f"op {self.op!r} needs a value")
        return self


class SequentialConfig(_Strict):
    """A sequential detector (``detectors.sequential``) run over the per-window series of a metric."""

    detector: Literal["page_hinkley", "cusum", "adwin"] = "page_hinkley"
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _buildable(self) -> SequentialConfig:
        from detectors.sequential import DETECTORS

        try:
            DETECTORS[self.detector](**self.params)
        except TypeError as exc:
            raise ValueError(f"params of {self.detector}: {exc}") from None
        return self


class MetricConfig(_Strict):
    """A per-window ratio of joined predictions: ``count(numerator) / count(denominator)``.

    ``kind: take_rate`` fills ``denominator = [shown]`` and ``numerator = [shown, played, play_seconds >=
    quality_play_seconds]`` unless given; ``kind: ctr`` fills ``[shown]`` / ``[shown, clicked]``;
    ``kind: ratio`` takes both lists as written. A prediction counts in the numerator only if it also counts
    in the denominator. The alert rule: value < ``reference_value * (1 - max_relative_drop)`` (when
    ``reference_value`` is set and the denominator has at least ``min_denominator``), and/or the sequential
    detector fires.
    """

    name: str
    kind: Literal["take_rate", "ctr", "ratio"] = "ratio"
    numerator: list[Condition] = Field(default_factory=list)
    denominator: list[Condition] = Field(default_factory=list)
    quality_play_seconds: float = Field(default=30.0, ge=0)
    shown_field: str = "shown"
    reference_value: float | None = Field(default=None, ge=0)
    max_relative_drop: float = Field(default=0.2, gt=0, le=1)
    min_denominator: int = Field(default=30, ge=1)
    sequential: SequentialConfig | None = None

    @model_validator(mode="after")
    def _fill_kind(self) -> MetricConfig:
        shown = Condition(field=self.shown_field)
        if self.kind == "take_rate":
            if not self.denominator:
                object.__setattr__(self, "denominator", [shown])
            if not self.numerator:
                quality = [Condition(field="played"),
                           Condition(field="play_seconds", op=">=", value=self.quality_play_seconds)]
                object.__setattr__(self, "numerator", [shown, *quality])
        elif self.kind == "ctr":
            if not self.denominator:
                object.__setattr__(self, "denominator", [shown])
            if not self.numerator:
                object.__setattr__(self, "numerator", [shown, Condition(field="clicked")])
        elif not self.numerator:
            raise ValueError("a ratio metric needs a numerator (a list of conditions)")
        return self


class PerformanceReferenceConfig(_Strict):
    """The labelled validation data (``reference build`` reads it): predictions and labels.

    Binary: ``prediction_column`` holds the score; multiclass: one score column per class named
    ``<prediction_column>_<class>`` (or ``prediction_column`` holds the predicted class when the model's
    prediction kind is ``class``); regression: the predicted value.
    """

    path: Path
    prediction_column: str = "prediction"
    label_column: str = "label"


class PerformanceSettings(_Strict):
    """Model quality per window (see ``docs/performance-quality.md``): realized metrics from joined labels,
    CBPE estimates from the scores, the ``performance_drop`` rule and the reliability guard.

    ``metrics``/``max_drop``/``min_labels``/``confidence``/``positive_class``/``threshold`` are those of
    :class:`detectors.performance.PerformanceConfig` (validated by it). ``classes`` (multiclass): the classes
    in score order. ``sequential``: a detector over the per-window realized series of every metric in
    ``max_drop`` (slow decay). ``reliability_window``/``reliability_max_outside``: the guard's rule.
    """

    task: Literal["binary_classification", "multiclass_classification", "regression"]
    positive_class: int | str | bool = 1
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    classes: list[int | str] | None = None
    metrics: list[str] | None = None
    reference: PerformanceReferenceConfig | None = None
    min_labels: int = Field(default=200, ge=1)
    max_drop: dict[str, float] | None = None
    confidence: float = Field(default=0.95, ge=0.5, lt=1.0)
    sequential: SequentialConfig | None = None
    reliability_window: int = Field(default=5, ge=1)
    reliability_max_outside: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _core_valid(self) -> PerformanceSettings:
        from detectors.errors import DetectorError

        try:
            core = self.core()
        except DetectorError as exc:
            raise ValueError(str(exc)) from None
        object.__setattr__(self, "metrics", list(core.metrics or ()))
        if self.task == "multiclass_classification" and (self.classes is None or len(self.classes) < 2):
            raise ValueError("multiclass_classification needs classes: the class names in score order (>= 2)")
        if self.reliability_max_outside > self.reliability_window:
            raise ValueError(f"reliability_max_outside ({self.reliability_max_outside}) must be <= "
                             f"reliability_window ({self.reliability_window})")
        return self

    def core(self) -> Any:
        """The :class:`detectors.performance.PerformanceConfig` of these settings."""
        from detectors.performance import PerformanceConfig

        return PerformanceConfig(task=self.task, metrics=None if self.metrics is None else tuple(self.metrics),
                                 positive_class=self.positive_class, threshold=float(self.threshold),
                                 min_labels=self.min_labels, max_drop=self.max_drop,
                                 confidence=float(self.confidence))

    @property
    def drops(self) -> dict[str, float]:
        """``max_drop`` with its default filled in (what alerts)."""
        return dict(self.core().max_drop)
