"""Incidents: the alerts of one model that one cause raised, grouped, with the likely cause first.

Grouping (:func:`group_alerts`, run on every alert change the watcher writes, in the persist transaction)::

    an alert opens ──► the model has an incident whose alerts opened before and after this one's
                       ``first_seen`` (event time: ``incident.first_seen <= first_seen <= last_opened``,
                       e.g. the same window), resolved or not; or an unresolved incident whose latest
                       alert opened within ``gap`` of it?
                          yes ─► it joins that incident (the most recently opened one; a resolved one reopens)
                          no  ─► a new incident opens with it

(An alert judged from labels opens when the labels arrive, days after its window; it dates from its window,
so it joins the incident of that window even when that incident's other alerts have resolved since.)

Lifecycle: ``open`` ──acknowledge──► ``acknowledged``; ``resolved`` once every alert of the incident is
resolved (automatically or by a person). Acknowledging or resolving an incident does so for each of its
unresolved alerts through :class:`~monitor.alerts.service.AlertService` (one history entry per alert).
Everything but ``acknowledged_at`` and ``resolved_at`` derives from the alerts' event times and the order
the watcher writes them in, so a crashed and restarted watcher stores the same incidents.

Cause before consequence (:func:`rank_alerts`): an incident's alerts sort by

1. the tier of their signal (:data:`CAUSE_TIERS`): data quality (nulls, constants, unseen categories, type
   and range violations) < traffic volume and feature drift < dataset and multivariate drift < prediction
   drift and a near-constant prediction < business-metric and performance drops < anything else;
2. then severity (critical first), ``first_seen``, feature name and id.

A ``feature_drift`` of column ``c`` is *explained by* a ``data_quality`` alert of ``c`` in the same incident
(:func:`explained_by`). The incident's title lists the causes of the top tier (at most three; see
:func:`cause_phrase`).

Notifications go out per incident, not per alert: given the notifier (the outbox), each change records one
incident change (:func:`incident_payload`, the alerts it concerns inside) with the cause of the change:

- ``opened``: a new incident, with the alerts it opened with;
- ``signal_added``: alerts joined an unresolved incident;
- ``escalated``: an alert's escalation raised the incident's severity (else it is silent);
- ``resolved``: its last unresolved alert was resolved (automatically or by a person);
- ``acknowledged``: a person acknowledged the incident.

What the watcher does to an alert that belongs to an incident is not notified on its own
(:func:`monitor.notify.grouping.group_changes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from monitor.alerts.errors import IncidentNotFoundError, IncidentStateError
from monitor.alerts.service import Notifier, alert_payload, change_cause
from monitor.db.base import utcnow
from monitor.db.models import Alert, Incident, ModelRow
from monitor.pipeline.alert_signals import SEVERITY_RANK

__all__ = ["CAUSE_TIERS", "DEFAULT_INCIDENT_GAP", "Rankable", "acknowledge_incident", "cause_phrase", "explained_by",
           "group_alerts", "incident_alerts", "incident_payload", "list_incidents", "rank_alerts", "refresh_incident",
           "refresh_incident_of", "resolve_incident"]

DEFAULT_INCIDENT_GAP = timedelta(days=1)
"""An alert that opens within this long of an unresolved incident's latest alert joins it."""

CAUSE_TIERS: dict[str, int] = {
    "data_quality": 0,
    "traffic_volume": 1, "feature_drift": 1,
    "dataset_drift": 2, "multivariate_drift": 2,
    "prediction_drift": 3, "prediction_near_constant": 3,
    "business_metric_drop": 4, "performance_drop": 4, "estimated_performance_drop": 4,
    "performance_estimate_unreliable": 4,
}
"""Rank of a signal as a likely cause (lower first); a signal not listed ranks after all of them."""

_LAST_TIER = max(CAUSE_TIERS.values()) + 1
_TITLE_CAUSES = 3


class Rankable(Protocol):
    """What ranking reads of an alert (an :class:`Alert`, or a row of its columns)."""

    @property
    def id(self) -> int: ...
    @property
    def signal(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def feature(self) -> str | None: ...
    @property
    def first_seen(self) -> datetime: ...


R = TypeVar("R", bound=Rankable)


class _Changes(Protocol):
    opened: list[int]
    updated: list[int]
    escalated: list[int]
    resolved: list[int]


class _AlertActions(Protocol):
    notifier: Notifier | None

    def acknowledge(self, session: Session, alert_id: int, by: str, note: str | None = None) -> Alert: ...
    def resolve(self, session: Session, alert_id: int, by: str, note: str | None = None) -> Alert: ...


def _column(alert: Rankable) -> str | None:
    """The data column an alert is about (``data_quality`` features are ``column:check``)."""
    if alert.feature is None:
        return None
    return alert.feature.split(":", 1)[0] if alert.signal == "data_quality" else alert.feature


def _rank_key(alert: Rankable) -> tuple[int, int, datetime, str, int]:
    return (CAUSE_TIERS.get(alert.signal, _LAST_TIER), -SEVERITY_RANK.get(alert.severity, 0), alert.first_seen,
            alert.feature or "", alert.id or 0)


def rank_alerts(alerts: Iterable[R]) -> list[R]:
    """The alerts in cause order (see the module docstring)."""
    return sorted(alerts, key=_rank_key)


def explained_by(alert: R, others: Sequence[R]) -> R | None:
    """The ``data_quality`` alert of the same column that explains a ``feature_drift`` alert, if any."""
    if alert.signal != "feature_drift":
        return None
    column = _column(alert)
    return next((o for o in rank_alerts(others) if o.signal == "data_quality" and _column(o) == column), None)


def cause_phrase(alert: Alert) -> str:
    """A short phrase naming what an alert says went wrong, for a title.

    ``data_quality`` ``c:missing_rate``: "c arrives null" (critical: half or more missing), else "c missing
    more often"; ``c:constant``: "c constant"; other checks: "c: <check>"; any other signal: its message."""
    if alert.signal != "data_quality" or alert.feature is None:
        return alert.message
    column, _, check = alert.feature.partition(":")
    if check == "missing_rate":
        return f"{column} arrives null" if alert.severity == "critical" else f"{column} missing more often"
    if check == "constant":
        return f"{column} constant"
    return f"{column}: {check.replace('_', ' ')}"


def incident_alerts(session: Session, incident_id: int) -> list[Alert]:
    """The incident's alerts in cause order."""
    return rank_alerts(session.scalars(select(Alert).where(Alert.incident_id == incident_id)))


def refresh_incident(session: Session, incident: Incident, alerts: Sequence[Alert] | None = None) -> None:
    """Recompute what an incident derives from its alerts (title, top cause, severity, span, status)."""
    ranked = rank_alerts(alerts) if alerts is not None else incident_alerts(session, incident.id)
    if not ranked:
        return
    top = ranked[0]
    tier = CAUSE_TIERS.get(top.signal, _LAST_TIER)
    causes = [a for a in ranked if CAUSE_TIERS.get(a.signal, _LAST_TIER) == tier][:_TITLE_CAUSES]
    incident.title = "; ".join(dict.fromkeys(cause_phrase(a) for a in causes))
    incident.top_signal, incident.top_feature = top.signal, top.feature
    incident.severity = max((a.severity for a in ranked), key=lambda s: SEVERITY_RANK.get(s, 0))
    incident.first_seen = min(a.first_seen for a in ranked)
    incident.last_seen = max(a.last_seen for a in ranked)
    incident.last_opened = max(a.first_seen for a in ranked)
    incident.alerts_count = len(ranked)
    if all(a.status == "resolved" for a in ranked):
        incident.status = "resolved"
        incident.resolved_at = max((a.resolved_at for a in ranked if a.resolved_at is not None), default=None)
    elif incident.status == "resolved":  # (an unresolved alert keeps its incident unresolved)
        incident.status, incident.resolved_at = "open", None


def incident_payload(session: Session, incident: Incident, action: str, alerts: Sequence[Alert],
                     alert_action: str, cause: str) -> dict[str, Any]:
    """The notification of one incident change, its ``alerts`` (in cause order) each as ``alert_action``."""
    model = str(session.scalar(select(ModelRow.name).where(ModelRow.id == incident.model_id)))
    return {
        "kind": "incident", "action": action, "cause": cause, "incident_id": incident.id, "model": model,
        "title": incident.title, "severity": incident.severity, "status": incident.status,
        "top_signal": incident.top_signal, "top_feature": incident.top_feature,
        "alerts_count": incident.alerts_count, "first_seen": incident.first_seen.isoformat(),
        "alerts": [alert_payload(a, model, alert_action) for a in rank_alerts(alerts)],
    }


def _announce(session: Session, notifier: Notifier | None, incident: Incident, action: str,
              alerts: Sequence[Alert], alert_action: str, cause: str | None = None) -> None:
    if notifier is not None and alerts:
        cause = cause or change_cause(session, f"incident:{incident.id}")
        notifier.record(session, incident_payload(session, incident, action, alerts, alert_action, cause))


def refresh_incident_of(session: Session, alert: Alert, notifier: Notifier | None = None) -> Alert:
    """Refresh the incident of an alert a person changed (e.g. resolved one alert); returns the alert. The
    incident's ``resolved`` goes to ``notifier`` when this alert was its last unresolved one."""
    incident = None if alert.incident_id is None else session.get(Incident, alert.incident_id)
    if incident is not None:
        session.flush()
        was = incident.status
        refresh_incident(session, incident)
        session.flush()
        if was != "resolved" and incident.status == "resolved":
            _announce(session, notifier, incident, "resolved", [alert], "resolved")
    return alert


def _join_or_open(session: Session, alert: Alert, gap: timedelta) -> tuple[Incident, bool]:
    """The incident ``alert`` joins, and whether it is new."""
    at = alert.first_seen
    within = and_(Incident.first_seen <= at, Incident.last_opened >= at)
    candidates = session.scalars(select(Incident).where(
        Incident.model_id == alert.model_id, or_(Incident.status != "resolved", within),
    ).order_by(Incident.last_opened.desc(), Incident.id.desc()).with_for_update()).all()
    for incident in candidates:
        if incident.first_seen <= at <= incident.last_opened or (
                incident.status != "resolved" and abs(at - incident.last_opened) <= gap):
            return incident, False
    incident = Incident(model_id=alert.model_id, status="open", title=alert.message, top_signal=alert.signal,
                        top_feature=alert.feature, severity=alert.severity, first_seen=alert.first_seen,
                        last_seen=alert.last_seen, last_opened=alert.first_seen, alerts_count=1)
    session.add(incident)
    session.flush()
    return incident, True


class _Touched:
    """The incidents one change touched: their state before it, and which alerts joined each."""

    def __init__(self) -> None:
        self.incidents: dict[int, Incident] = {}
        self.before: dict[int, tuple[str, str]] = {}
        self.new: set[int] = set()
        self.joined: dict[int, list[Alert]] = {}

    def add(self, incident: Incident) -> None:
        self.incidents.setdefault(incident.id, incident)
        self.before.setdefault(incident.id, (incident.status, incident.severity))


def _notify_touched(session: Session, touched: _Touched, changes: _Changes, notifier: Notifier) -> None:
    """One notification per incident the change touched (see the module docstring)."""
    by_id = {alert_id: session.get(Alert, alert_id) for alert_id in [*changes.escalated, *changes.resolved]}
    for incident_id, incident in touched.incidents.items():
        status, severity = touched.before[incident_id]
        mine = [a for a in by_id.values() if a is not None and a.incident_id == incident_id]
        if incident_id in touched.new or incident_id in touched.joined:
            _announce(session, notifier, incident, "opened" if incident_id in touched.new else "signal_added",
                      touched.joined[incident_id], "opened")
        elif status != "resolved" and incident.status == "resolved":
            _announce(session, notifier, incident, "resolved", [a for a in mine if a.status == "resolved"],
                      "resolved")
        elif SEVERITY_RANK.get(incident.severity, 0) > SEVERITY_RANK.get(severity, 0):
            _announce(session, notifier, incident, "escalated", [a for a in mine if a.id in changes.escalated],
                      "escalated")


def group_alerts(session: Session, changes: _Changes, gap: timedelta = DEFAULT_INCIDENT_GAP,
                 notifier: Notifier | None = None) -> list[int]:
    """Put each newly opened alert of ``changes`` into its incident and refresh every incident touched; the
    incidents' notifications go to ``notifier``. Returns the ids of the incidents touched (in the order first
    touched)."""
    touched = _Touched()
    for alert_id in changes.opened:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.incident_id is not None:
            continue
        incident, created = _join_or_open(session, alert, gap)
        touched.add(incident)
        if created:
            touched.new.add(incident.id)
        touched.joined.setdefault(incident.id, []).append(alert)
        alert.incident_id = incident.id
        session.flush()
        refresh_incident(session, incident)
    for alert_id in dict.fromkeys([*changes.updated, *changes.escalated, *changes.resolved]):
        alert = session.get(Alert, alert_id)
        if alert is None or alert.incident_id is None:
            continue
        found = touched.incidents.get(alert.incident_id) or session.get(Incident, alert.incident_id)
        if found is not None:
            touched.add(found)
            refresh_incident(session, found)
    session.flush()
    if notifier is not None:
        _notify_touched(session, touched, changes, notifier)
    return list(touched.incidents)


def _get(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise IncidentNotFoundError(incident_id)
    return incident


def acknowledge_incident(session: Session, service: _AlertActions, incident_id: int, by: str,
                         note: str | None = None, *, now: datetime) -> Incident:
    """open -> acknowledged, with each unresolved alert acknowledged (one history entry each; one notification,
    the incident's)."""
    incident = _get(session, incident_id)
    if incident.status == "resolved":
        raise IncidentStateError(incident_id, incident.status, "acknowledged")
    acknowledged = [service.acknowledge(session, alert.id, by, note)
                    for alert in incident_alerts(session, incident_id) if alert.status != "resolved"]
    incident.status, incident.acknowledged_by, incident.acknowledged_at = "acknowledged", by, now
    session.flush()
    _announce(session, service.notifier, incident, "acknowledged", acknowledged, "acknowledged",
              f"incident:{incident_id}:{now.isoformat()}")
    return incident


def resolve_incident(session: Session, service: _AlertActions, incident_id: int, by: str,
                     note: str | None = None, *, now: datetime | None = None) -> Incident:
    """open or acknowledged -> resolved, with each unresolved alert resolved (one history entry each; one
    notification, the incident's)."""
    incident = _get(session, incident_id)
    if incident.status == "resolved":
        raise IncidentStateError(incident_id, incident.status, "resolved again")
    resolved = [service.resolve(session, alert.id, by, note)
                for alert in incident_alerts(session, incident_id) if alert.status != "resolved"]
    session.flush()
    refresh_incident(session, incident)
    session.flush()
    _announce(session, service.notifier, incident, "resolved", resolved, "resolved",
              f"incident:{incident_id}:{(now or utcnow()).isoformat()}")
    return incident


def list_incidents(session: Session, *, status: str | None = None, model: str | None = None,
                   limit: int = 100) -> list[tuple[Incident, str]]:
    """``(incident, model name)`` newest ``last_seen`` first; ``status`` as in
    :func:`monitor.alerts.service.list_alerts` (``open``, ``acknowledged``, ``resolved``, ``unresolved``, ``all``)."""
    query = select(Incident, ModelRow.name).join(ModelRow, ModelRow.id == Incident.model_id)
    if status == "unresolved":
        query = query.where(Incident.status != "resolved")
    elif status is not None and status != "all":
        query = query.where(Incident.status == status)
    if model is not None:
        query = query.where(ModelRow.name == model)
    query = query.order_by(Incident.last_seen.desc(), Incident.id.desc()).limit(limit)
    return [(i, str(name)) for i, name in session.execute(query).all()]
