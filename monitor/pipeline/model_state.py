"""Per-model state of a pipeline: windower, outcome joiner, open windows, metric history, detectors."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import Any

from detectors.profile import ReferenceProfile
from detectors.sequential import DETECTORS, SequentialDetector
from monitor.config import MetricConfig, ModelConfig
from monitor.pipeline.awaiting import AwaitingWindow, WindowUpdate
from monitor.pipeline.early import EarlyWarning
from monitor.pipeline.labels import LabelBook
from monitor.pipeline.open_window import OpenWindow
from monitor.pipeline.outcome_join import OutcomeJoiner
from monitor.pipeline.performance import QualityState
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.pipeline.window_books import attach_books, segment_keys
from monitor.pipeline.windower import Span, Windower

__all__ = ["ModelState", "build_sequential"]


def build_sequential(metric: MetricConfig) -> SequentialDetector | None:
    """The metric's sequential detector; Page-Hinkley and CUSUM default to ``mode="down"`` (drops only)."""
    if metric.sequential is None:
        return None
    cls = DETECTORS[metric.sequential.detector]
    params = dict(metric.sequential.params)
    if metric.sequential.detector in ("page_hinkley", "cusum"):
        params.setdefault("mode", "down")
    return cls(**params)


def window_seed(model: str, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{model}|{key}".encode(), digest_size=4).digest(), "big")


class ModelState:
    """Everything one pipeline keeps about one model."""

    def __init__(self, config: ModelConfig, profile: ReferenceProfile | None,
                 performance: PerformanceReference | None = None) -> None:
        self.config = config
        self.profile = profile
        self.windower = Windower(config.window)
        self.joiner = OutcomeJoiner(self.join_ttl(config), max_waiting=config.max_waiting_outcomes)
        self.windows: dict[str, OpenWindow] = {}
        self.quality: QualityState | None = (
            QualityState(config, performance) if config.performance is not None else None)
        self.awaiting: dict[str, AwaitingWindow] = {}
        """Closed windows still waiting for labels / outcomes, in close order."""
        self.dirty: set[str] = set()
        """Keys of awaiting windows whose labels or outcomes changed since the last persist point."""
        self.updates: list[WindowUpdate] = []
        """Final updates not yet handed to a persist point."""
        self.n_awaiting = 0
        self.due_at = math.inf
        """The least end of an open window (``Windower.clock`` reaching it closes a window at that event)."""
        self.final_at = (math.inf, math.inf)
        """:func:`monitor.pipeline.updates.final_points` (outcome clock, prediction clock)."""
        """Predictions kept in label books (open and awaiting windows); at most ``max_awaiting_labels``."""
        self.rates: list[float] = []
        self.metric_history: dict[str, list[float]] = {}
        self.detectors: dict[str, SequentialDetector] = {}
        self.counters: Counter[str] = Counter()
        self.coerced: Counter[str] = Counter()
        self.last_arrival: float | None = None
        self.metric_fields = self._metric_fields(config)
        self.arrived_since_advance = False
        self._derive()
        self._build_detectors()
        self.early: EarlyWarning | None = self._build_early()

    def _build_early(self) -> EarlyWarning | None:
        """The early tests (:mod:`monitor.pipeline.early`), kept across a reload that keeps their settings."""
        if not self.config.early_warning.enabled or self.profile is None:
            return None
        early = EarlyWarning(self.config, self.profile, self.columns)
        return early if early.tests or early.traffic is not None or early.business else None

    def joined_record(self, key: str, event_id: str) -> dict[str, Any] | None:
        """The merged outcome record of ``event_id`` in window ``key`` (open or awaiting), if any."""
        window = self.windows.get(key)
        if window is not None:
            return window.joined.get(event_id)
        waiting = self.awaiting.get(key)
        return None if waiting is None else waiting.joined.get(event_id)

    def _derive(self) -> None:
        """What the per-event path needs of the configuration, computed once per configuration."""
        config = self.config
        self.columns: tuple[str, ...] = tuple(config.columns)
        """Names of a row's values: the configured features, then the prediction columns."""
        self._score_column = next((c for c, k in config.prediction_columns.items() if k == "numeric"), None)
        self.score_index: int | None = (
            None if self._score_column is None else self.columns.index(self._score_column))
        self.segment_names = segment_keys(config)
        self.feature_spec: tuple[tuple[str, str], ...] = tuple(config.features.items())
        # a row is the features' values then the prediction's (unless a feature is named like a prediction
        # column: then the row goes through event_row)
        self.plain_rows = len(self.columns) == len(config.features) + len(config.prediction_columns)
        self.binary_index: tuple[int, ...] = tuple(
            i for i, kind in enumerate(config.features.values()) if kind == "binary")
        self.score_prediction = config.prediction.kind == "score"
        self.typed_features: type | None = None
        """The last typed :class:`~monitor.events.Features` struct found to match ``feature_spec``."""

    @staticmethod
    def _metric_fields(config: ModelConfig) -> frozenset[str]:
        """Outcome fields some business metric looks at (the only ones kept in the join state)."""
        return frozenset(c.field for m in config.business_metrics for c in (*m.numerator, *m.denominator))

    @staticmethod
    def join_ttl(config: ModelConfig) -> float:
        """How long a prediction waits for outcomes and labels: the larger of ``outcome_join_ttl`` (business
        metrics) and ``label_ttl`` (performance)."""
        ttl = float(config.outcome_join_ttl) if config.business_metrics or config.performance is None else 0.0
        return max(ttl, float(config.label_ttl) if config.performance is not None else 0.0)

    @property
    def joins(self) -> bool:
        """Whether outcomes matter for this model (it has business metrics or a performance block)."""
        return bool(self.config.business_metrics) or self.config.performance is not None

    def ttl_passed(self, last_ts: float, ttl: float, idle_seconds: float) -> bool:
        """Whether every prediction up to ``last_ts`` had ``ttl`` (event time) to meet its outcomes: the
        outcome clock passed ``last_ts + ttl``, or the prediction clock passed it by ``2 x ttl`` more (the
        outcome stream stopped); ``idle_seconds`` (processing time without events) count on both clocks."""
        if not math.isfinite(last_ts):
            return True
        need = last_ts + ttl
        extra = max(0.0, idle_seconds)
        return (self.joiner.outcome_clock + extra >= need
                or self.joiner.prediction_clock + extra >= need + 2 * ttl)

    def _build_detectors(self) -> None:
        for metric in self.config.business_metrics:
            if metric.name not in self.detectors:
                detector = build_sequential(metric)
                if detector is not None:
                    self.detectors[metric.name] = detector
        names = {m.name for m in self.config.business_metrics if m.sequential is not None}
        for name in list(self.detectors):
            if name not in names:
                del self.detectors[name]

    def reconfigure(self, config: ModelConfig, profile: ReferenceProfile | None) -> None:
        """New settings; open windows keep their spans and their reference, new ones use the new ones."""
        old = self.config
        self.config = config
        self.metric_fields = self._metric_fields(config)
        self._derive()
        old_profile = self.profile
        self.profile = profile
        early = self.early
        self.early = self._build_early()
        if early is not None and self.early is not None:
            if profile is old_profile and config.early_warning == old.early_warning and self.columns == tuple(
                    old.columns):
                self.early.restore(early.to_state())
            else:  # new tests: only the alerts not yet persisted carry over
                self.early.pending = early.pending
        if config.window != old.window:
            self.windower = self.windower.with_config(config.window)
        self.joiner.ttl = self.join_ttl(config)
        self.joiner.lag_allowance = 2 * self.joiner.ttl
        self.joiner.max_waiting = config.max_waiting_outcomes
        if config.performance is None:
            self.quality = None
        elif self.quality is None or config.performance != old.performance:
            previous = self.quality
            self.quality = QualityState(config, previous.reference if previous is not None else None)
            if previous is not None:
                self.quality.restore(previous.to_state())
        for metric in config.business_metrics:
            before = next((m for m in old.business_metrics if m.name == metric.name), None)
            if before is not None and before.sequential != metric.sequential:
                self.detectors.pop(metric.name, None)
        self._build_detectors()

    def open_window(self, span: Span) -> OpenWindow:
        window = self.windows.get(span.key)
        if window is None:
            size = self.config.sample.size if self.config.sample.enabled else 0
            window = OpenWindow(span, self.profile, window_seed(self.config.name, span.key), size,
                                self.config.window.max_values)
            if self.quality is not None:
                window.book = LabelBook(self.quality.width)
            attach_books(self.config, window, self.columns, window_seed(self.config.name, span.key))
            self.windows[span.key] = window
        return window

    def set_reference(self, performance: PerformanceReference | None) -> None:
        if self.quality is not None and performance is not None:
            self.quality.reference = performance

    # -- serialisation -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "windower": self.windower.state(),
            "joiner": self.joiner.state(),
            "windows": [w.to_state() for w in self.windows.values()],
            "rates": self.rates,
            "metric_history": self.metric_history,
            "detectors": {name: d.to_dict() for name, d in self.detectors.items()},
            "counters": dict(self.counters),
            "coerced": dict(self.coerced),
            "awaiting": [w.to_state() for w in self.awaiting.values()],
            "dirty": sorted(self.dirty),
            "updates": [u.to_dict() for u in self.updates],
            "quality": self.quality.to_state() if self.quality is not None else None,
            "early": self.early.to_state() if self.early is not None else None,
        }

    @classmethod
    def from_state(cls, config: ModelConfig, profile: ReferenceProfile | None, data: dict[str, Any],
                   profiles_by_hash: dict[str, ReferenceProfile],
                   performance: PerformanceReference | None = None) -> ModelState:
        state = cls(config, profile, performance)
        state.windower = Windower(config.window, data["windower"])
        state.joiner = OutcomeJoiner.from_state(data["joiner"], ttl=cls.join_ttl(config),
                                                 max_waiting=config.max_waiting_outcomes)
        for item in data["windows"]:
            ref_hash = item.get("profile_hash")
            window_profile = profiles_by_hash.get(ref_hash) if ref_hash else None
            if ref_hash and window_profile is None:
                raise KeyError(f"reference profile {str(ref_hash)[:12]} of open window {item['key']!r} "
                               f"of model {config.name!r} is not available")
            window = OpenWindow.from_state(item, window_profile)
            attach_books(config, window, state.columns, window_seed(config.name, window.span.key))
            state.windows[window.span.key] = window
        state.rates = [float(x) for x in data.get("rates", [])]
        state.metric_history = {k: [float(x) for x in v] for k, v in data.get("metric_history", {}).items()}
        for name, payload in data.get("detectors", {}).items():
            if any(m.name == name and m.sequential is not None for m in config.business_metrics):
                state.detectors[name] = DETECTORS[payload["kind"]].from_dict(payload)
        state.counters = Counter({k: int(v) for k, v in data.get("counters", {}).items()})
        state.coerced = Counter({k: int(v) for k, v in data.get("coerced", {}).items()})
        for item in data.get("awaiting", []):
            waiting = AwaitingWindow.from_state(item)
            state.awaiting[waiting.key] = waiting
        state.dirty = {str(k) for k in data.get("dirty", [])}
        state.updates = [WindowUpdate.from_dict(u) for u in data.get("updates", [])]
        if state.early is not None and data.get("early"):
            state.early.restore(data["early"])
        if state.quality is not None and data.get("quality"):
            state.quality.restore(data["quality"])
        state.n_awaiting = sum(len(w.book) for w in state.windows.values() if w.book is not None) + sum(
            len(w.book) for w in state.awaiting.values() if w.book is not None)
        # last_arrival is processing time of the previous process: not restored, the idle timer restarts
        return state
