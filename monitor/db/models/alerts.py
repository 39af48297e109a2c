"""Alerts, their history and incidents, and the notification outbox written with them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.db.base import Base, UTCDateTime, utcnow

__all__ = ["ALERT_STATUSES", "SEVERITIES", "Alert", "AlertEvent", "Incident", "NotificationRow"]

ALERT_STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("info", "warning", "critical")


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
