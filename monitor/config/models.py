"""The typed configuration of the watcher (pydantic): one :class:`MonitorConfig` holding many models.

Every section is strict (unknown keys are errors, so a typo never silently falls back to a default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from monitor.config.durations import Duration
from monitor.config.fairness import FairnessConfig, check_fairness_metrics
from monitor.config.notifications import NotificationsConfig
from monitor.config.performance import (
    Condition,
    MetricConfig,
    PerformanceReferenceConfig,
    PerformanceSettings,
    SequentialConfig,
)
from monitor.config.retention import RetentionConfig

__all__ = [
    "FEATURE_KINDS",
    "AlertPolicy",
    "Condition",
    "FairnessConfig",
    "MetricConfig",
    "ModelConfig",
    "MonitorConfig",
    "PerformanceReferenceConfig",
    "PerformanceSettings",
    "PredictionConfig",
    "ReferenceConfig",
    "RetentionConfig",
    "SampleConfig",
    "SegmentsConfig",
    "SequentialConfig",
    "VolumeConfig",
    "WindowConfig",
]

FEATURE_KINDS = ("numeric", "categorical", "binary")
FeatureKind = Literal["numeric", "categorical", "binary"]
_KIND_ALIASES = {"boolean": "binary", "bool": "binary", "category": "categorical", "number": "numeric"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowConfig(_Strict):
    """How a model's events are cut into windows.

    ``type: count`` -> ``size`` events per window; ``type: time`` -> ``size`` seconds of event time.
    ``slide`` (same unit as ``size``) makes windows overlap; ``None`` means tumbling (``slide == size``).
    ``allowed_lateness`` (time windows): a window stays open that long after its end, in event time, so
    late events still count; events later than that are counted as ``late`` and otherwise ignored.
    ``idle_timeout``: with no new event for that long (processing time), the watermark of a time window is
    pushed forward by the idle time, so the last window of a quiet stream still closes (count windows
    then close partially).
    ``max_values``: values kept per numeric column of a window for the drift tests (a uniform sample
    above it); bounds memory and checkpoint size.
    """

    type: Literal["count", "time"] = "count"
    size: Duration = 1000
    slide: Duration | None = None
    allowed_lateness: Duration = 0.0
    idle_timeout: Duration | None = None
    max_values: int = Field(default=20_000, ge=100, le=1_000_000)

    @model_validator(mode="after")
    def _check(self) -> WindowConfig:
        if self.size <= 0:
            raise ValueError(f"size must be > 0, got {self.size}")
        if self.type == "count":
            if self.size != int(self.size):
                raise ValueError(f"size of a count window must be a whole number of events, got {self.size}")
            if self.slide is not None and self.slide != int(self.slide):
                raise ValueError(f"slide of a count window must be a whole number, got {self.slide}")
        if self.slide is not None and not 0 < self.slide <= self.size:
            raise ValueError(f"slide must be > 0 and <= size ({self.size}), got {self.slide}")
        if self.slide is not None and self.size / self.slide > 48:
            raise ValueError(f"size / slide = {self.size / self.slide:g} overlapping windows; at most 48")
        return self

    @property
    def step(self) -> float:
        return self.size if self.slide is None else self.slide


class PredictionConfig(_Strict):
    """What ``prediction`` holds and which training column it is compared with.

    ``score`` -> one number (tested as numeric column ``column``); ``class`` -> a label (categorical
    ``column``); ``probabilities`` -> ``{class: probability}``: the top class goes to ``column`` and its
    probability to ``<column>_score``.
    """

    kind: Literal["score", "class", "probabilities"] = "score"
    column: str = "prediction"
    near_constant_std_ratio: float = Field(default=0.05, ge=0.0, le=1.0)


class ReferenceConfig(_Strict):
    """Where the training data is (for ``reference build``); the built profile lives in the database."""

    path: Path | None = None


class VolumeConfig(_Strict):
    """Traffic volume anomaly: window event rate vs the median of the last ``history`` windows, with a
    test at ``alpha`` (two-sided) so that the noise of small windows does not alarm (see
    :func:`monitor.pipeline.alert_signals.volume_signal`)."""

    enabled: bool = True
    history: int = Field(default=12, ge=2)
    min_history: int = Field(default=3, ge=1)
    drop_ratio: float = Field(default=0.5, gt=0, lt=1)
    spike_ratio: float = Field(default=3.0, gt=1)
    alpha: float = Field(default=0.001, gt=0, lt=1)


class AlertPolicy(_Strict):
    """When signals fire and how incidents end. See :mod:`monitor.pipeline.alert_signals` for the severity rules."""

    auto_resolve_after: int = Field(default=3, ge=1)
    critical_drift_share: float = Field(default=0.5, gt=0, le=1)
    missing_rate_jump: float = Field(default=0.10, gt=0, le=1)
    out_of_range_share: float = Field(default=0.05, gt=0, le=1)
    min_window_events: int = Field(default=30, ge=1)
    volume: VolumeConfig = Field(default_factory=VolumeConfig)
    disabled_signals: list[str] = Field(default_factory=list)


class EarlyWarningConfig(_Strict):
    """Early warnings inside open windows (:mod:`monitor.pipeline.early`): every ``min_events`` events of the
    model form one block, and block CUSUMs test near-constant scores, missing-value surges and unseen-category
    bursts against the reference. ``ert``: expected run length between false alarms, in blocks, per test
    (per model, signal and column); the default 100,000 blocks of 50 events is 5.0e6 events (about 7 months
    at 1,000 events/hour). ``traffic_block_seconds``: the blocks of event time whose event counts the
    traffic drop/spike CUSUMs test (:mod:`monitor.pipeline.early_traffic`; ``ert`` counts these blocks)."""

    enabled: bool = True
    ert: float = Field(default=100_000.0, gt=1)
    min_events: int = Field(default=50, ge=10, le=100_000)
    traffic_block_seconds: int = Field(default=900, ge=60, le=86_400)


class SampleConfig(_Strict):
    """Bounded sample of each window kept for drill-down (``enabled: false`` for privacy)."""

    enabled: bool = True
    size: int = Field(default=500, ge=1, le=100_000)


class SegmentsConfig(_Strict):
    """Per-segment detection (see ``docs/segments-fairness.md``): the segment keys of the events
    (``segments: {country: FR}``) tested one value at a time.

    Each window keeps drift state for at most ``max_segments`` values per key, the largest by volume (a
    frequent-items sketch; a value that overtakes a kept one replaces it, see ``monitor.pipeline.segments``);
    the events of any other value are pooled as ``<key>=other``. At close, segments with at least
    ``min_events`` events are tested (drift, data quality, business metrics) with Benjamini–Hochberg over
    all their columns together. ``max_values``: values kept per numeric column of one segment's state.
    A ``segments: [country, platform]`` list stands for ``{keys: [...]}`` with the defaults.
    """

    keys: list[str] = Field(default_factory=list)
    min_events: int = Field(default=200, ge=1)
    max_segments: int = Field(default=10, ge=1, le=200)
    max_values: int = Field(default=2000, ge=100, le=1_000_000)
    top_slices: int = Field(default=5, ge=0, le=100)

    @field_validator("keys")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"keys: a key is named twice in {value}")
        return value


class ModelConfig(_Strict):
    """Everything the watcher needs to know about one model."""

    name: str
    features: dict[str, FeatureKind]
    prediction: PredictionConfig = Field(default_factory=PredictionConfig)
    reference: ReferenceConfig = Field(default_factory=ReferenceConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    preset: str = "default"
    tests: dict[str, str] = Field(default_factory=dict)
    thresholds: dict[str, float] = Field(default_factory=dict)
    alpha: float | None = Field(default=None, gt=0, lt=1)
    drift_share: float | None = Field(default=None, ge=0, le=1)
    min_effect: float | None = Field(default=None, ge=0)
    outcome_join_ttl: Duration = 3600.0
    business_metrics: list[MetricConfig] = Field(default_factory=list)
    performance: PerformanceSettings | None = None
    label_ttl: Duration = 30 * 86400.0
    max_awaiting_labels: int = Field(default=1_000_000, ge=1)
    max_waiting_outcomes: int = Field(default=1_000_000, ge=1)
    alerts: AlertPolicy = Field(default_factory=AlertPolicy)
    early_warning: EarlyWarningConfig = Field(default_factory=EarlyWarningConfig)
    sample: SampleConfig = Field(default_factory=SampleConfig)
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    fairness: FairnessConfig | None = None

    @field_validator("fairness")
    @classmethod
    def _fairness_metrics_fit(cls, value: FairnessConfig | None, info: ValidationInfo) -> FairnessConfig | None:
        if value is not None and "performance" in info.data:
            check_fairness_metrics(value, info.data["performance"])
        return value

    @field_validator("segments", mode="before")
    @classmethod
    def _segment_list(cls, value: Any) -> Any:
        return {"keys": value} if isinstance(value, list) else value

    @field_validator("features", mode="before")
    @classmethod
    def _kind_aliases(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _KIND_ALIASES.get(v, v) if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("features")
    @classmethod
    def _some_features(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("at least one feature is needed")
        return value

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        from detectors import PRESETS

        if value not in PRESETS:
            raise ValueError(f"unknown preset {value!r}; valid: {', '.join(PRESETS)}")
        return value

    @field_validator("tests")
    @classmethod
    def _known_tests(cls, value: dict[str, str]) -> dict[str, str]:
        from detectors import TESTS

        for column, test in value.items():
            if test not in TESTS:
                raise ValueError(f"unknown test {test!r} for {column!r}; valid: {', '.join(sorted(TESTS))}")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> ModelConfig:
        known = set(self.columns)
        for section in ("tests", "thresholds"):
            for key in getattr(self, section):
                if key not in known:
                    raise ValueError(f"{section}: {key!r} is not a feature or prediction column of this model")
        for key in self.thresholds:
            if key not in self.tests:
                raise ValueError(f"thresholds: {key!r} needs its test named in tests (a threshold belongs to a test)")
        names = [m.name for m in self.business_metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"business_metrics: duplicate metric name(s) {dupes}")
        if self.prediction.column in self.features:
            raise ValueError(f"prediction.column {self.prediction.column!r} is also a feature name")
        perf = self.performance
        if perf is not None:
            kind = self.prediction.kind
            if perf.task == "binary_classification" and kind != "score":
                raise ValueError(f"performance: binary_classification needs prediction.kind 'score', not {kind!r}")
            if perf.task == "regression" and kind != "score":
                raise ValueError(f"performance: regression needs prediction.kind 'score' (the predicted value), "
                                 f"not {kind!r}")
            if perf.task == "multiclass_classification" and kind != "probabilities":
                raise ValueError(f"performance: multiclass_classification needs prediction.kind 'probabilities', "
                                 f"not {kind!r}")
        if self.label_ttl <= 0:
            raise ValueError(f"label_ttl must be > 0, got {self.label_ttl}")
        fair = self.fairness
        if fair is not None:
            if self.prediction.kind != "score":
                raise ValueError(f"fairness: needs prediction.kind 'score' (positive when score >= threshold), "
                                 f"not {self.prediction.kind!r}")
            for attr in fair.attributes:
                if attr not in self.segments.keys and self.features.get(attr) not in ("categorical", "binary"):
                    raise ValueError(f"fairness.attributes: {attr!r} is neither a segment key {self.segments.keys} "
                                     f"nor a categorical or binary feature")
        return self

    @property
    def prediction_columns(self) -> dict[str, str]:
        """Prediction column(s) of the window frames -> kind."""
        col = self.prediction.column
        if self.prediction.kind == "score":
            return {col: "numeric"}
        if self.prediction.kind == "class":
            return {col: "categorical"}
        return {col: "categorical", f"{col}_score": "numeric"}

    @property
    def columns(self) -> dict[str, str]:
        """Every tested column (features then prediction columns) -> kind."""
        return {**self.features, **self.prediction_columns}

    def overrides(self) -> dict[str, Any]:
        """``detectors.evaluate(overrides=...)``: alpha, drift_share, min_effect and ``per_column``
        ``{column: {"test": ..., "threshold": ...}}``.

        >>> ModelConfig(name="m", features={"x": "numeric"}, tests={"x": "psi"}, thresholds={"x": 0.2},
        ...             alpha=0.01).overrides()
        {'alpha': 0.01, 'per_column': {'x': {'test': 'psi', 'threshold': 0.2}}}
        """
        per_column: dict[str, dict[str, Any]] = {}
        for col, test in self.tests.items():
            per_column.setdefault(col, {})["test"] = test
        for col, threshold in self.thresholds.items():
            per_column.setdefault(col, {})["threshold"] = threshold
        out: dict[str, Any] = {k: v for k in ("alpha", "drift_share", "min_effect")
                               if (v := getattr(self, k)) is not None}
        if per_column:
            out["per_column"] = per_column
        return out


class MonitorConfig(_Strict):
    """The whole file: ``version: 1`` and ``models: {name: ModelConfig}``."""

    version: Literal[1] = 1
    models: dict[str, ModelConfig]
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    source: str | None = Field(default=None, description="The file it was loaded from (set by load_config).")

    @model_validator(mode="after")
    def _windows_outlive_labels(self) -> MonitorConfig:
        keep = self.retention.window_results
        for name, model in self.models.items():
            if keep is not None and keep < model.label_ttl + model.outcome_join_ttl:
                raise ValueError(f"retention.window_results ({keep:g} s) is shorter than models.{name}.label_ttl "
                                 f"+ outcome_join_ttl ({model.label_ttl + model.outcome_join_ttl:g} s): its "
                                 "windows still take labels that long")
        return self

    def model(self, name: str) -> ModelConfig | None:
        return self.models.get(name)
