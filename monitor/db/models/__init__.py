"""Typed tables of the watcher, by concern: :mod:`~monitor.db.models.results` (models, references and
window results), :mod:`~monitor.db.models.alerts` (alerts, incidents, the notification outbox) and
:mod:`~monitor.db.models.consumer_state` (dead letters, offsets, checkpoints); every class is imported from
here.

``models`` ─┬─ ``reference_profiles``   one row per built reference (hash + version)
            ├─ ``window_results`` ─┬─ ``feature_results``   per-feature test outcome of a window
            │                      ├─ ``metric_values``     business / operational metrics of a window
            │                      ├─ ``performance_values`` realized + estimated model quality per metric
            │                      ├─ ``segment_results``   drift and metrics per segment (``key=value``)
            │                      ├─ ``fairness_results``  fairness metric per sensitive attribute
            │                      └─ ``window_samples``    bounded sample kept for drill-down reports
            ├─ ``performance_references`` labelled validation reference: metric values + fitted CBPE
            ├─ ``incidents``                                alerts of one model grouped by time (one cause)
            └─ ``alerts`` ── ``alert_events``               one row per alert episode + its lifecycle history
``dead_letters``        bad input, with raw bytes (bounded) and where it came from
``consumer_offsets``    next offset per (group, topic, partition), written with the window results
``window_checkpoints``  open window state, so a restart resumes it
"""

from __future__ import annotations

from monitor.db.models.alerts import ALERT_STATUSES, SEVERITIES, Alert, AlertEvent, Incident, NotificationRow
from monitor.db.models.consumer_state import ConsumerOffset, DeadLetter, WindowCheckpoint
from monitor.db.models.results import (
    FairnessResultRow,
    FeatureResult,
    MetricValue,
    ModelRow,
    PerformanceReferenceRow,
    PerformanceValue,
    ReferenceRow,
    SegmentResultRow,
    WindowResult,
    WindowSample,
)

__all__ = [
    "ALERT_STATUSES",
    "SEVERITIES",
    "Alert",
    "AlertEvent",
    "ConsumerOffset",
    "DeadLetter",
    "FairnessResultRow",
    "FeatureResult",
    "Incident",
    "MetricValue",
    "ModelRow",
    "NotificationRow",
    "PerformanceReferenceRow",
    "PerformanceValue",
    "ReferenceRow",
    "SegmentResultRow",
    "WindowCheckpoint",
    "WindowResult",
    "WindowSample",
]
