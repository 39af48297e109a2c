"""Read-only queries of incidents for the dashboard: incidents as a frame, and one incident's alerts in cause
order (:func:`monitor.alerts.incidents.rank_alerts`) with what explains each.

Like :mod:`monitor.store.queries`, every function takes a :class:`~sqlalchemy.engine.Connection` and returns
a :class:`pandas.DataFrame` with UTC timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, case, func, select

from monitor.alerts.incidents import explained_by, rank_alerts
from monitor.db.models import Alert, Incident, ModelRow
from monitor.store.queries import ALERT_COLUMNS, _alert_select, _frame

__all__ = ["INCIDENT_COLUMNS", "incident_alerts", "incidents", "open_incident_counts"]

INCIDENT_COLUMNS = (
    "incident_id", "model_id", "model", "status", "severity", "title", "top_signal", "top_feature", "alerts",
    "first_seen", "last_seen", "acknowledged_by", "acknowledged_at", "resolved_at",
)


def incidents(
    conn: Connection,
    model_ids: Sequence[int] | None = None,
    severities: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Incidents, newest first; ``start``/``end`` keep those whose span ``[first_seen, last_seen]`` overlaps."""
    stmt = select(
        Incident.id, Incident.model_id, ModelRow.name, Incident.status, Incident.severity, Incident.title,
        Incident.top_signal, Incident.top_feature, Incident.alerts_count, Incident.first_seen, Incident.last_seen,
        Incident.acknowledged_by, Incident.acknowledged_at, Incident.resolved_at,
    ).join(ModelRow, ModelRow.id == Incident.model_id).order_by(Incident.first_seen.desc(), Incident.id.desc())
    if model_ids is not None:
        stmt = stmt.where(Incident.model_id.in_(list(model_ids)))
    if severities is not None:
        stmt = stmt.where(Incident.severity.in_(list(severities)))
    if statuses is not None:
        stmt = stmt.where(Incident.status.in_(list(statuses)))
    if start is not None:
        stmt = stmt.where(Incident.last_seen >= start)
    if end is not None:
        stmt = stmt.where(Incident.first_seen <= end)
    return _frame(conn, stmt, INCIDENT_COLUMNS)


def incident_alerts(conn: Connection, incident_id: int) -> pd.DataFrame:
    """The alerts of one incident in cause order: the columns of ``queries.alerts`` plus ``rank`` (1 = the
    likely cause) and ``explained_by`` (the id of the quality alert explaining a feature drift, else NA)."""
    found = conn.execute(_alert_select().add_columns(Alert.incident_id).where(Alert.incident_id == incident_id)).all()
    ranked = rank_alerts(found)  # (rows name their columns as the alert's attributes)
    frame = pd.DataFrame([tuple(r)[: len(ALERT_COLUMNS)] for r in ranked], columns=list(ALERT_COLUMNS))
    for col in ("first_seen", "last_seen", "acknowledged_at", "resolved_at", "detected_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    explains = [explained_by(r, ranked) for r in ranked]
    frame["explained_by"] = pd.array([None if e is None else int(e.id) for e in explains], dtype="Int64")
    return frame


def open_incident_counts(conn: Connection) -> pd.DataFrame:
    """Per model: unresolved incidents (``incidents_open``, ``incidents_critical`` among them,
    ``incidents_acknowledged``)."""
    stmt = select(
        Incident.model_id,
        func.count(Incident.id),
        func.sum(case((Incident.severity == "critical", 1), else_=0)),
        func.sum(case((Incident.status == "acknowledged", 1), else_=0)),
    ).where(Incident.status != "resolved").group_by(Incident.model_id)
    return _frame(conn, stmt, ("model_id", "incidents_open", "incidents_critical", "incidents_acknowledged"))
