"""Read-only queries behind the dashboard: SQLAlchemy ``select()`` in, pandas DataFrames (or small dataclasses) out.

Every function takes an open :class:`~sqlalchemy.Connection` (or a :class:`~sqlalchemy.orm.Session`'s
connection), never writes, and never commits. Time columns come back as ``datetime64[ns, UTC]``; a query
that matches nothing returns an empty frame *with* its columns, so callers can always index them.

Alert state changes go through :class:`monitor.alerts.service.AlertService`, not through this module.

>>> from monitor.db import make_engine
>>> from monitor.db.base import Base
>>> engine = make_engine("sqlite://")
>>> Base.metadata.create_all(engine)
>>> with engine.connect() as conn:
...     list(model_overview(conn).columns)[:3], len(alerts(conn))
(['model_id', 'model', 'open_critical'], 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import pandas as pd
from sqlalchemy import Connection, Executable, Select, and_, case, func, select

from monitor.db.models import (
    ALERT_STATUSES,
    SEVERITIES,
    Alert,
    AlertEvent,
    DeadLetter,
    FeatureResult,
    MetricValue,
    ModelRow,
    ReferenceRow,
    WindowResult,
    WindowSample,
)
from monitor.store.performance_queries import (
    PERFORMANCE_FIELDS,
    PerformanceRow,
    performance_metrics,
    performance_series,
)

__all__ = [
    "ALERT_STATUSES",
    "MODEL_OVERVIEW_COLUMNS",
    "PERFORMANCE_FIELDS",
    "SEVERITIES",
    "AlertDetail",
    "PerformanceRow",
    "ReferenceBlob",
    "SampleBlob",
    "alert_detail",
    "alerts",
    "dead_letters",
    "feature_results",
    "metric_names",
    "metric_series",
    "model_overview",
    "models",
    "performance_metrics",
    "performance_series",
    "reference_profile",
    "window_reports",
    "window_sample",
    "windows",
]

MODEL_OVERVIEW_COLUMNS = (
    "model_id", "model", "open_critical", "open_warning", "open_info", "acknowledged",
    "windows", "first_window_end", "last_window_end",
)
WINDOW_COLUMNS = (
    "window_id", "window_key", "window_start", "window_end", "n_events", "reference_version", "preset",
    "dataset_drift", "drift_share", "multivariate_statistic", "has_sample",
)
FEATURE_COLUMNS = (
    "window_id", "window_end", "feature", "kind", "test", "statistic", "p_value", "threshold", "drifted",
    "missing_rate_reference", "missing_rate_current", "effect_size", "p_value_adjusted", "alpha",
)
METRIC_COLUMNS = ("model_id", "model", "window_id", "ts", "name", "value", "numerator", "denominator")
ALERT_COLUMNS = (
    "alert_id", "model_id", "model", "signal", "feature", "segment", "severity", "status", "message", "first_seen",
    "last_seen", "windows_count", "first_window_id", "last_window_id", "acknowledged_by", "acknowledged_at",
    "ack_note", "resolved_by", "resolved_at", "resolve_note", "detected_at", "early", "detected_events",
    "assignee", "snoozed_until",
)
DEAD_LETTER_COLUMNS = ("created_at", "model", "source", "error_class", "reason")
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
_TIME_COLUMNS = {
    "window_start", "window_end", "first_window_end", "last_window_end", "ts", "first_seen", "last_seen",
    "acknowledged_at", "resolved_at", "created_at", "detected_at", "snoozed_until",
}


@dataclass(frozen=True)
class SampleBlob:
    """The bounded sample kept for one window (``format`` is ``"parquet"`` unless the writer says otherwise)."""

    window_id: int
    format: str
    n_rows: int
    data: bytes


@dataclass(frozen=True)
class ReferenceBlob:
    """One stored reference profile (load with ``detectors.ReferenceProfile.from_bytes(blob.profile)``)."""

    model_id: int
    version: int
    content_hash: str
    n_rows: int
    columns: list[str]
    profile: bytes


@dataclass(frozen=True)
class AlertDetail:
    """One alert (a row of :func:`alerts`, as a dict) with its audit trail (``ts, action, actor, note``)."""

    alert: dict[str, Any]
    events: pd.DataFrame


def _frame(conn: Connection, stmt: Executable, columns: Sequence[str]) -> pd.DataFrame:
    rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(columns))
    for col in _TIME_COLUMNS.intersection(frame.columns):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def _between(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    clauses = []
    if start is not None:
        clauses.append(column >= start)
    if end is not None:
        clauses.append(column <= end)
    return clauses


def models(conn: Connection) -> pd.DataFrame:
    """Every watched model: ``model_id, model`` ordered by name."""
    return _frame(conn, select(ModelRow.id, ModelRow.name).order_by(ModelRow.name), ("model_id", "model"))


def model_overview(conn: Connection) -> pd.DataFrame:
    """One row per model: unresolved alerts by severity/status, window count and first/last window end."""
    open_alerts = Alert.status == "open"
    per_alerts = (
        select(
            Alert.model_id,
            func.sum(case((and_(open_alerts, Alert.severity == "critical"), 1), else_=0)).label("open_critical"),
            func.sum(case((and_(open_alerts, Alert.severity == "warning"), 1), else_=0)).label("open_warning"),
            func.sum(case((and_(open_alerts, Alert.severity == "info"), 1), else_=0)).label("open_info"),
            func.sum(case((Alert.status == "acknowledged", 1), else_=0)).label("acknowledged"),
        )
        .where(Alert.status != "resolved")
        .group_by(Alert.model_id)
        .subquery()
    )
    per_windows = (
        select(
            WindowResult.model_id,
            func.count(WindowResult.id).label("windows"),
            func.min(WindowResult.window_end).label("first_window_end"),
            func.max(WindowResult.window_end).label("last_window_end"),
        )
        .group_by(WindowResult.model_id)
        .subquery()
    )
    stmt = (
        select(
            ModelRow.id,
            ModelRow.name,
            func.coalesce(per_alerts.c.open_critical, 0),
            func.coalesce(per_alerts.c.open_warning, 0),
            func.coalesce(per_alerts.c.open_info, 0),
            func.coalesce(per_alerts.c.acknowledged, 0),
            func.coalesce(per_windows.c.windows, 0),
            per_windows.c.first_window_end,
            per_windows.c.last_window_end,
        )
        .outerjoin(per_alerts, per_alerts.c.model_id == ModelRow.id)
        .outerjoin(per_windows, per_windows.c.model_id == ModelRow.id)
        .order_by(ModelRow.name)
    )
    frame = _frame(conn, stmt, MODEL_OVERVIEW_COLUMNS)
    # SQLite hands back the aggregate of a UTCDateTime column as a naive string, read as UTC.
    return frame.astype({c: "int64" for c in MODEL_OVERVIEW_COLUMNS[2:7]})


def windows(
    conn: Connection, model_id: int, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """A model's closed windows in time order (``has_sample``: a bounded sample is stored for it)."""
    has_sample = select(WindowSample.window_id).where(WindowSample.window_id == WindowResult.id).exists()
    stmt = (
        select(
            WindowResult.id, WindowResult.window_key, WindowResult.window_start, WindowResult.window_end,
            WindowResult.n_events, WindowResult.reference_version, WindowResult.preset, WindowResult.dataset_drift,
            WindowResult.drift_share, WindowResult.multivariate_statistic, has_sample,
        )
        .where(WindowResult.model_id == model_id, *_between(WindowResult.window_end, start, end))
        .order_by(WindowResult.window_end, WindowResult.id)
    )
    return _frame(conn, stmt, WINDOW_COLUMNS)


def window_reports(conn: Connection, window_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The stored ``report`` JSON of the given windows, keyed by window id."""
    if not window_ids:
        return {}
    stmt = select(WindowResult.id, WindowResult.report).where(WindowResult.id.in_(list(window_ids)))
    return {int(wid): dict(report or {}) for wid, report in conn.execute(stmt).all()}


def feature_results(
    conn: Connection,
    model_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    features: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-feature test outcomes of a model's windows (one row per window and feature), in time order."""
    stmt = (
        select(
            FeatureResult.window_id, WindowResult.window_end, FeatureResult.feature, FeatureResult.kind,
            FeatureResult.test, FeatureResult.statistic, FeatureResult.p_value, FeatureResult.threshold,
            FeatureResult.drifted, FeatureResult.missing_rate_reference, FeatureResult.missing_rate_current,
            FeatureResult.effect_size, FeatureResult.p_value_adjusted, FeatureResult.alpha,
        )
        .join(WindowResult, WindowResult.id == FeatureResult.window_id)
        .where(WindowResult.model_id == model_id, *_between(WindowResult.window_end, start, end))
        .order_by(WindowResult.window_end, FeatureResult.feature)
    )
    if features is not None:
        stmt = stmt.where(FeatureResult.feature.in_(list(features)))
    return _frame(conn, stmt, FEATURE_COLUMNS)


def metric_names(conn: Connection, model_id: int | None = None) -> list[str]:
    """Distinct business/performance metric names (of one model, or of all)."""
    stmt = select(MetricValue.name).distinct().order_by(MetricValue.name)
    if model_id is not None:
        stmt = stmt.where(MetricValue.model_id == model_id)
    return [str(name) for name in conn.execute(stmt).scalars()]


def metric_series(
    conn: Connection,
    model_id: int | None = None,
    names: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Metric values per window (``ts`` is the window's time), of one model or all, in time order."""
    stmt = (
        select(
            MetricValue.model_id, ModelRow.name, MetricValue.window_id, MetricValue.ts, MetricValue.name,
            MetricValue.value, MetricValue.numerator, MetricValue.denominator,
        )
        .join(ModelRow, ModelRow.id == MetricValue.model_id)
        .where(*_between(MetricValue.ts, start, end))
        .order_by(MetricValue.model_id, MetricValue.name, MetricValue.ts)
    )
    if model_id is not None:
        stmt = stmt.where(MetricValue.model_id == model_id)
    if names is not None:
        stmt = stmt.where(MetricValue.name.in_(list(names)))
    return _frame(conn, stmt, METRIC_COLUMNS)


def _alert_select() -> AnySelect:
    return select(
        Alert.id, Alert.model_id, ModelRow.name, Alert.signal, Alert.feature, Alert.segment, Alert.severity,
        Alert.status,
        Alert.message, Alert.first_seen, Alert.last_seen, Alert.windows_count, Alert.first_window_id,
        Alert.last_window_id, Alert.acknowledged_by, Alert.acknowledged_at, Alert.ack_note, Alert.resolved_by,
        Alert.resolved_at, Alert.resolve_note, Alert.detected_at, Alert.early, Alert.detected_events,
        Alert.assignee, Alert.snoozed_until,
    ).join(ModelRow, ModelRow.id == Alert.model_id)


def alerts(
    conn: Connection,
    model_ids: Sequence[int] | None = None,
    severities: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Alerts, newest first. ``start``/``end`` keep alerts whose open span ``[first_seen, last_seen]`` overlaps."""
    stmt = _alert_select().order_by(Alert.first_seen.desc(), Alert.id.desc())
    if model_ids is not None:
        stmt = stmt.where(Alert.model_id.in_(list(model_ids)))
    if severities is not None:
        stmt = stmt.where(Alert.severity.in_(list(severities)))
    if statuses is not None:
        stmt = stmt.where(Alert.status.in_(list(statuses)))
    if start is not None:
        stmt = stmt.where(Alert.last_seen >= start)
    if end is not None:
        stmt = stmt.where(Alert.first_seen <= end)
    return _frame(conn, stmt, ALERT_COLUMNS)


def alert_detail(conn: Connection, alert_id: int) -> AlertDetail | None:
    """One alert and its audit trail, or ``None`` if there is no alert ``alert_id``."""
    found = _frame(conn, _alert_select().where(Alert.id == alert_id), ALERT_COLUMNS)
    if found.empty:
        return None
    events = _frame(
        conn,
        select(AlertEvent.ts, AlertEvent.action, AlertEvent.actor, AlertEvent.note)
        .where(AlertEvent.alert_id == alert_id)
        .order_by(AlertEvent.ts, AlertEvent.id),
        ("ts", "action", "actor", "note"),
    )
    return AlertDetail(alert=found.iloc[0].to_dict(), events=events)


def window_sample(conn: Connection, window_id: int) -> SampleBlob | None:
    """The bounded sample stored for ``window_id``, or ``None`` (sampling off, or not kept for it)."""
    row = conn.execute(
        select(WindowSample.window_id, WindowSample.format, WindowSample.n_rows, WindowSample.data).where(
            WindowSample.window_id == window_id
        )
    ).first()
    if row is None:
        return None
    return SampleBlob(window_id=int(row[0]), format=str(row[1]), n_rows=int(row[2]), data=bytes(row[3]))


def reference_profile(conn: Connection, model_id: int, version: int | None = None) -> ReferenceBlob | None:
    """A model's reference profile of ``version`` (default: the newest), or ``None`` if none is stored."""
    stmt = select(
        ReferenceRow.model_id, ReferenceRow.version, ReferenceRow.content_hash,
        ReferenceRow.n_rows, ReferenceRow.columns, ReferenceRow.profile,
    ).where(ReferenceRow.model_id == model_id)
    stmt = (
        stmt.where(ReferenceRow.version == version)
        if version is not None
        else stmt.order_by(ReferenceRow.version.desc()).limit(1)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    return ReferenceBlob(
        model_id=int(row[0]), version=int(row[1]), content_hash=str(row[2]), n_rows=int(row[3]),
        columns=list(row[4] or []), profile=bytes(row[5]),
    )


def dead_letters(
    conn: Connection,
    model: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50_000,
) -> pd.DataFrame:
    """Dead-lettered input (newest first, at most ``limit`` rows; raw bytes left out)."""
    stmt = (
        select(DeadLetter.created_at, DeadLetter.model, DeadLetter.source, DeadLetter.error_class, DeadLetter.reason)
        .where(*_between(DeadLetter.created_at, start, end))
        .order_by(DeadLetter.created_at.desc())
        .limit(limit)
    )
    if model is not None:
        stmt = stmt.where(DeadLetter.model == model)
    return _frame(conn, stmt, DEAD_LETTER_COLUMNS)
