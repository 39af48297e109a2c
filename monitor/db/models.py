"""Typed tables of the watcher.

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

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.db.base import Base, UTCDateTime, utcnow

ALERT_STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("info", "warning", "critical")


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    references: Mapped[list[ReferenceRow]] = relationship(back_populates="model")


class ReferenceRow(Base):
    __tablename__ = "reference_profiles"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(128))
    n_rows: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    profile: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    model: Mapped[ModelRow] = relationship(back_populates="references")


class WindowResult(Base):
    __tablename__ = "window_results"
    __table_args__ = (
        UniqueConstraint("model_id", "window_key"),
        Index("ix_window_results_model_end", "model_id", "window_end"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    window_key: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    n_events: Mapped[int] = mapped_column(BigInteger)
    reference_version: Mapped[int] = mapped_column(Integer)
    preset: Mapped[str] = mapped_column(String(50))
    dataset_drift: Mapped[bool] = mapped_column(Boolean)
    drift_share: Mapped[float] = mapped_column(Float)
    multivariate_statistic: Mapped[float | None] = mapped_column(Float, nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    features: Mapped[list[FeatureResult]] = relationship(
        back_populates="window", cascade="all, delete-orphan", passive_deletes=True
    )
    metrics: Mapped[list[MetricValue]] = relationship(
        back_populates="window", cascade="all, delete-orphan", passive_deletes=True
    )


class FeatureResult(Base):
    __tablename__ = "feature_results"
    __table_args__ = (UniqueConstraint("window_id", "feature"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("window_results.id", ondelete="CASCADE"))
    feature: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    test: Mapped[str] = mapped_column(String(50))
    statistic: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float] = mapped_column(Float)
    drifted: Mapped[bool] = mapped_column(Boolean)
    missing_rate_reference: Mapped[float | None] = mapped_column(Float, nullable=True)
    missing_rate_current: Mapped[float | None] = mapped_column(Float, nullable=True)
    # preset "default": drifted = p_value_adjusted < alpha and effect_size >= threshold (migration 0002)
    effect_size: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_value_adjusted: Mapped[float | None] = mapped_column(Float, nullable=True)
    alpha: Mapped[float | None] = mapped_column(Float, nullable=True)

    window: Mapped[WindowResult] = relationship(back_populates="features")


class MetricValue(Base):
    __tablename__ = "metric_values"
    __table_args__ = (
        UniqueConstraint("window_id", "name"),
        Index("ix_metric_values_model_name_ts", "model_id", "name", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("window_results.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    numerator: Mapped[float | None] = mapped_column(Float, nullable=True)
    denominator: Mapped[float | None] = mapped_column(Float, nullable=True)

    window: Mapped[WindowResult] = relationship(back_populates="metrics")


class PerformanceReferenceRow(Base):
    """The labelled validation reference of a model's performance (``reference build`` writes it).

    ``payload`` is :meth:`monitor.pipeline.performance_reference.PerformanceReference.to_dict`: the task,
    the realized metric values on the validation data (with intervals) and the fitted CBPE estimator.
    """

    __tablename__ = "performance_references"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(128))
    task: Mapped[str] = mapped_column(String(50))
    n_rows: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PerformanceValue(Base):
    """One metric of one window's model quality: realized (labels joined so far) and estimated (CBPE).

    Upserted on ``(window_id, metric)`` each time the window's labels change, until ``label_ttl`` has
    passed (``provisional`` is true until then). ``error = estimated - realized`` when both exist.
    """

    __tablename__ = "performance_values"
    __table_args__ = (
        UniqueConstraint("window_id", "metric"),
        Index("ix_performance_values_model_metric_end", "model_id", "metric", "window_end"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("window_results.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(100))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    n_predictions: Mapped[int] = mapped_column(BigInteger)
    n_labelled: Mapped[int] = mapped_column(BigInteger)
    realized: Mapped[float | None] = mapped_column(Float, nullable=True)
    realized_lower: Mapped[float | None] = mapped_column(Float, nullable=True)
    realized_upper: Mapped[float | None] = mapped_column(Float, nullable=True)
    estimated: Mapped[float | None] = mapped_column(Float, nullable=True)
    estimated_lower: Mapped[float | None] = mapped_column(Float, nullable=True)
    estimated_upper: Mapped[float | None] = mapped_column(Float, nullable=True)
    reference: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[float | None] = mapped_column(Float, nullable=True)
    estimate_reliable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    provisional: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SegmentResultRow(Base):
    """One segment (``key=value``) of one window: its events, drift and business metrics (at close)."""

    __tablename__ = "segment_results"
    __table_args__ = (UniqueConstraint("window_id", "segment"), Index("ix_segment_results_model_end", "model_id",
                                                                       "window_end"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("window_results.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    segment: Mapped[str] = mapped_column(String(300))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    n_events: Mapped[int] = mapped_column(BigInteger)
    drift_share: Mapped[float | None] = mapped_column(Float, nullable=True)
    drifted_columns: Mapped[list[str]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    alerted: Mapped[bool] = mapped_column(Boolean)


class FairnessResultRow(Base):
    """One fairness metric of one sensitive attribute in one window, with its interval and per-group rates."""

    __tablename__ = "fairness_results"
    __table_args__ = (UniqueConstraint("window_id", "attribute", "metric"),
                      Index("ix_fairness_results_model_end", "model_id", "window_end"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("window_results.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(100))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    lower: Mapped[float | None] = mapped_column(Float, nullable=True)
    upper: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    violated: Mapped[bool] = mapped_column(Boolean)
    groups: Mapped[dict[str, Any]] = mapped_column(JSON)


class WindowSample(Base):
    __tablename__ = "window_samples"

    window_id: Mapped[int] = mapped_column(
        ForeignKey("window_results.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[str] = mapped_column(String(20), default="parquet")
    n_rows: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Alert(Base):
    """One row per incident; at most one unresolved row per ``dedup_key`` (model + signal + feature)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_dedup_key",
            "dedup_key",
            unique=True,
            postgresql_where=text("status <> 'resolved'"),
            sqlite_where=text("status <> 'resolved'"),
        ),
        Index("ix_alerts_model_status", "model_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    dedup_key: Mapped[str] = mapped_column(String(500))
    signal: Mapped[str] = mapped_column(String(100))
    feature: Mapped[str | None] = mapped_column(String(200), nullable=True)
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    message: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    early: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    detected_events: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    segment: Mapped[str | None] = mapped_column(String(300), nullable=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    windows_count: Mapped[int] = mapped_column(Integer, default=1)
    clean_windows: Mapped[int] = mapped_column(Integer, default=0)
    first_window_id: Mapped[int | None] = mapped_column(
        ForeignKey("window_results.id", ondelete="SET NULL"), nullable=True
    )
    last_window_id: Mapped[int | None] = mapped_column(
        ForeignKey("window_results.id", ondelete="SET NULL"), nullable=True
    )
    acknowledged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ack_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolve_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)  # migration 0008
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # migration 0008

    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertEvent.id"
    )


class Incident(Base):
    """Alerts of one model raised together (see :mod:`monitor.alerts.incidents` for the grouping rule).

    ``first_seen``/``last_seen``/``detected_at`` span its alerts' (event time); ``status`` is ``resolved``
    when every alert is, ``acknowledged`` when a person acknowledged it, else ``open``; ``title`` names the
    top-ranked alert(s), ``top_signal``/``top_feature`` the first one."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_model_status", "model_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    title: Mapped[str] = mapped_column(Text)
    top_signal: Mapped[str] = mapped_column(String(100))
    top_feature: Mapped[str | None] = mapped_column(String(200), nullable=True)
    severity: Mapped[str] = mapped_column(String(20))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_opened: Mapped[datetime] = mapped_column(UTCDateTime)
    alerts_count: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlertEvent(Base):
    """Audit trail of an alert: opened, seen again, acknowledged, resolved (by whom, with what note)."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    alert: Mapped[Alert] = relationship(back_populates="events")


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(500))
    partition: Mapped[int | None] = mapped_column(Integer, nullable=True)
    offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    error_class: Mapped[str] = mapped_column(String(100))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_size: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    requeued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    requeue_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class NotificationRow(Base):
    """The transactional outbox: one notification for one destination, written in the transaction that
    changed the alerts it tells about, delivered at least once by :mod:`monitor.notify.sender`
    (``status``: pending -> sent, or failed after the last attempt; ``key`` is the idempotency key a
    receiver deduplicates on, the same for every destination of one notification)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("key", "destination"),
        Index("ix_notifications_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ConsumerOffset(Base):
    """Next offset to read, stored in the same transaction as the window results it covers."""

    __tablename__ = "consumer_offsets"

    group_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    topic: Mapped[str] = mapped_column(String(300), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WindowCheckpoint(Base):
    """Serialized open-window state (per consumer group and key), so a restart resumes it."""

    __tablename__ = "window_checkpoints"

    group_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


__all__ = [
    "ALERT_STATUSES",
    "SEVERITIES",
    "Alert",
    "AlertEvent",
    "ConsumerOffset",
    "DeadLetter",
    "FeatureResult",
    "MetricValue",
    "ModelRow",
    "NotificationRow",
    "PerformanceReferenceRow",
    "PerformanceValue",
    "ReferenceRow",
    "WindowCheckpoint",
    "WindowResult",
    "WindowSample",
]
