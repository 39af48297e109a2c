"""The models, their reference profiles and what each window measured (drift, metrics, performance,
segments, fairness, a bounded sample)."""

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.db.base import Base, UTCDateTime, utcnow

__all__ = ["FairnessResultRow", "FeatureResult", "MetricValue", "ModelRow", "PerformanceReferenceRow",
           "PerformanceValue", "ReferenceRow", "SegmentResultRow", "WindowResult", "WindowSample"]


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
