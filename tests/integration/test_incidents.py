"""Incidents against the real PostgreSQL server and embedded SQLite: grouping by window and gap, cause
order and title, resolution when every alert is resolved, and acknowledging / resolving an incident."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.errors import IncidentStateError
from monitor.alerts.incidents import (
    acknowledge_incident,
    explained_by,
    group_alerts,
    incident_alerts,
    list_incidents,
    resolve_incident,
)
from monitor.alerts.service import AlertChanges, AlertService
from monitor.db import make_engine, session_factory
from monitor.db.models import Alert, AlertEvent, Incident, WindowResult
from monitor.pipeline.alert_signals import Signal
from monitor.store.models_repo import get_or_create_model

T0 = datetime(2026, 11, 1, tzinfo=UTC)
NULLS = Signal("data_quality", "critical", "missing rate of 'tenure' jumped from 0.0% to 100.0%",
               "tenure:missing_rate", 1.0)
TENURE = Signal("feature_drift", "warning", "feature 'tenure' drifted", "tenure", 1.0)
CONSTANT = Signal("data_quality", "warning", "constant", "pop:constant", 0.5)
PRED = Signal("prediction_drift", "critical", "prediction column 'score' drifted", "score", 0.4)
BUSINESS = Signal("business_metric_drop", "critical", "ctr dropped", "ctr", 0.01)
VOLUME = Signal("traffic_volume", "warning", "traffic dropped", None, 0.2)
HOUR = timedelta(hours=1)


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    from monitor.db import upgrade

    if request.param == "postgresql":
        url = str(request.getfixturevalue("migrated_pg_url"))
    else:
        url = str(request.getfixturevalue("sqlite_url"))
        upgrade(url)
    engine: Engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


def run(sessions: sessionmaker[Session], i: int, signals: list[Signal], model: str = "rec",
        gap: timedelta = HOUR) -> AlertChanges:
    """One window (ending at T0 + (i + 1) h) through the alert service, then its incidents."""
    with sessions.begin() as s:
        m = get_or_create_model(s, model)
        row = WindowResult(model_id=m.id, window_key=f"count:{i}", window_start=T0 + i * HOUR,
                           window_end=T0 + (i + 1) * HOUR, n_events=100, reference_version=1, preset="default",
                           dataset_drift=False, drift_share=0.0, report={})
        s.add(row)
        s.flush()
        changes = AlertService(auto_resolve_after=2).process_window(s, model, row, signals)
        group_alerts(s, changes, gap)
        return changes


def incidents(sessions: sessionmaker[Session]) -> list[Incident]:
    with sessions() as s:
        return list(s.scalars(select(Incident).order_by(Incident.id)))


def test_one_window_one_incident_cause_first(sessions: sessionmaker[Session]) -> None:
    run(sessions, 0, [PRED, TENURE, BUSINESS, CONSTANT, NULLS, VOLUME])
    [incident] = incidents(sessions)
    assert incident.alerts_count == 6 and incident.status == "open" and incident.severity == "critical"
    assert incident.title == "tenure arrives null; pop constant"
    assert (incident.top_signal, incident.top_feature) == ("data_quality", "tenure:missing_rate")
    with sessions() as s:
        ranked = incident_alerts(s, incident.id)
        assert [(a.signal, a.feature) for a in ranked] == [
            ("data_quality", "tenure:missing_rate"), ("data_quality", "pop:constant"), ("traffic_volume", None),
            ("feature_drift", "tenure"), ("prediction_drift", "score"), ("business_metric_drop", "ctr")]
        cause = explained_by(ranked[3], ranked)  # (same tier and severity: by feature name)
        assert cause is not None and cause.feature == "tenure:missing_rate"
        assert explained_by(ranked[4], ranked) is None


def test_gap_joins_an_open_incident_and_a_later_alert_opens_another(sessions: sessionmaker[Session]) -> None:
    run(sessions, 0, [TENURE])
    run(sessions, 1, [TENURE, PRED])  # opens 1 h after the incident's alert: within the gap, joins it
    run(sessions, 2, [TENURE, PRED], model="other")  # another model: its own incident
    run(sessions, 4, [TENURE, PRED, VOLUME])  # 3 h after the latest opening: a new incident
    rows = incidents(sessions)
    assert [(i.alerts_count, i.top_signal) for i in rows] == [(2, "feature_drift"), (2, "feature_drift"),
                                                             (1, "traffic_volume")]
    assert rows[0].first_seen == T0 + HOUR and rows[0].last_opened == T0 + 2 * HOUR
    assert rows[0].last_seen == T0 + 5 * HOUR


def test_resolved_when_every_alert_is(sessions: sessionmaker[Session]) -> None:
    run(sessions, 0, [TENURE, VOLUME])
    run(sessions, 1, [TENURE])  # VOLUME clean once
    run(sessions, 2, [TENURE])  # VOLUME auto-resolved; TENURE still firing
    assert incidents(sessions)[0].status == "open"
    run(sessions, 3, [])
    run(sessions, 4, [])
    [incident] = incidents(sessions)
    assert incident.status == "resolved" and incident.resolved_at is not None
    run(sessions, 5, [TENURE])  # fires again after the incident resolved: a new incident
    assert [i.status for i in incidents(sessions)] == ["resolved", "open"]


def test_acknowledge_and_resolve_an_incident(sessions: sessionmaker[Session]) -> None:
    run(sessions, 0, [TENURE, VOLUME, PRED])
    service = AlertService()
    [incident] = incidents(sessions)
    with sessions.begin() as s:
        acknowledge_incident(s, service, incident.id, "ana", "looking", now=T0)
    with sessions.begin() as s:
        assert {a.status for a in s.scalars(select(Alert))} == {"acknowledged"}
        assert s.get(Incident, incident.id).status == "acknowledged"  # type: ignore[union-attr]
        resolve_incident(s, service, incident.id, "ana", "fixed the join")
    with sessions() as s:
        assert {a.status for a in s.scalars(select(Alert))} == {"resolved"}
        per_alert = dict(s.execute(select(AlertEvent.alert_id, func.count()).where(
            AlertEvent.action.in_(["acknowledged", "resolved"])).group_by(AlertEvent.alert_id)).all())
        assert sorted(per_alert.values()) == [2, 2, 2]  # one acknowledged + one resolved entry per alert
        [(row, model)] = list_incidents(s, status="resolved")
        assert model == "rec" and row.id == incident.id
    with sessions.begin() as s, pytest.raises(IncidentStateError, match="is resolved"):
        resolve_incident(s, service, incident.id, "ana")


def test_an_alert_dated_inside_a_resolved_incident_joins_and_reopens_it(sessions: sessionmaker[Session]) -> None:
    """A label-judged alert opens days later but dates from its window: inside the span of an incident
    whose alerts have resolved since, it joins that incident (reopened); after the span and the gap, not."""
    run(sessions, 0, [TENURE])
    run(sessions, 1, [TENURE, VOLUME])  # the incident spans T0 + 1 h .. T0 + 2 h
    run(sessions, 2, [])
    run(sessions, 3, [])
    [incident] = incidents(sessions)
    assert incident.status == "resolved"

    def late(key: str, end: datetime, signal: Signal) -> None:
        with sessions.begin() as s:
            m = get_or_create_model(s, "rec")
            row = WindowResult(model_id=m.id, window_key=key, window_start=end - HOUR, window_end=end,
                               n_events=100, reference_version=1, preset="default", dataset_drift=False,
                               drift_share=0.0, report={})
            s.add(row)
            s.flush()
            group_alerts(s, AlertService().process_labels(s, "rec", row, [signal], []), HOUR)

    late("labels:1", T0 + 2 * HOUR, BUSINESS)  # dated from window 1
    [incident] = incidents(sessions)
    assert (incident.status, incident.alerts_count, incident.resolved_at) == ("open", 3, None)
    late("labels:30", T0 + 30 * HOUR, PRED)  # after the span, beyond the gap of an unresolved incident
    rows = incidents(sessions)
    assert [(i.alerts_count, i.top_signal) for i in rows] == [(3, "feature_drift"), (1, "prediction_drift")]
