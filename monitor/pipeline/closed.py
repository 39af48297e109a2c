"""A finished window, ready to persist: :class:`ClosedWindow` (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.pipeline.alert_signals import Signal
from monitor.pipeline.awaiting import PerformanceRecord
from monitor.pipeline.business_metrics import MetricResult
from monitor.pipeline.fairness_state import FairnessRecord
from monitor.pipeline.segment_finish import SegmentResult

__all__ = ["ClosedWindow", "epoch_to_datetime"]


def epoch_to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class ClosedWindow:
    """Everything :func:`monitor.store.writer.persist` writes for one window.

    ``reference_version`` is 0 when the model had no registered reference (then no drift test ran and
    ``report["skipped"]`` says why). ``metrics`` holds the business metrics; ``extra_metrics`` the
    operational ones (``n_events``, ``events_per_second``, ``late_events``, ``joined_outcomes``,
    ``score_std``). For a model with business metrics or a ``performance`` block, ``metrics`` and
    ``performance`` hold what was joined when the window closed (provisional: later outcomes and labels
    update them through :class:`~monitor.pipeline.awaiting.WindowUpdate`). ``sample`` is parquet bytes of
    at most ``sample.size`` rows, or ``None``. ``segments`` / ``fairness``: the per-segment and fairness
    rows of the window (models with segment keys / a ``fairness`` block). ``seq``: its place among the
    pipeline's outputs (:mod:`monitor.pipeline.updates`, "Order of outputs").
    """

    model: str
    window_key: str
    window_start: datetime
    window_end: datetime
    n_events: int
    reference_version: int
    preset: str
    dataset_drift: bool
    drift_share: float
    multivariate_statistic: float | None
    report: dict[str, Any]
    metrics: list[MetricResult] = field(default_factory=list)
    extra_metrics: dict[str, float | None] = field(default_factory=dict)
    signals: list[Signal] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    sample: bytes | None = None
    sample_rows: int = 0
    auto_resolve_after: int = 3
    performance: list[PerformanceRecord] = field(default_factory=list)
    segments: list[SegmentResult] = field(default_factory=list)
    fairness: list[FairnessRecord] = field(default_factory=list)
    seq: int = -1
