"""Notifications per incident, through the real transactional outbox (PostgreSQL and SQLite): one when it opens,
one per new signal, one when it resolves (its alerts' own openings, escalations and auto-resolutions are silent),
one when a person acknowledges or resolves it; a person's action on one alert is still notified on its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.incidents import acknowledge_incident, group_alerts, refresh_incident_of, resolve_incident
from monitor.alerts.service import AlertService
from monitor.db import make_engine, session_factory
from monitor.db.models import Alert, Incident, NotificationRow, WindowResult
from monitor.notify.outbox import Outbox
from monitor.pipeline.alert_signals import Signal
from monitor.store.models_repo import get_or_create_model

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
NULLS = Signal("data_quality", "critical", "missing rate of 'tenure' jumped from 0.0% to 100.0%",
               "tenure:missing_rate", 1.0)
TENURE = Signal("feature_drift", "warning", "feature 'tenure' drifted", "tenure", 1.0)
TENURE_WORSE = Signal("feature_drift", "critical", "feature 'tenure' drifted", "tenure", 1.0)
PRED = Signal("prediction_drift", "warning", "prediction column 'score' drifted", "score", 0.4)
VOLUME = Signal("traffic_volume", "warning", "traffic dropped", None, 0.2)
SERVICE = AlertService(Outbox(), auto_resolve_after=2)


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


def window(sessions: sessionmaker[Session], i: int, signals: list[Signal]) -> None:
    """One window of model ``rec`` (ending at T0 + (i + 1) h) through the alert service and its incidents,
    as the watcher's persist point does."""
    with sessions.begin() as s:
        m = get_or_create_model(s, "rec")
        row = WindowResult(model_id=m.id, window_key=f"count:{i}", window_start=T0 + i * HOUR,
                           window_end=T0 + (i + 1) * HOUR, n_events=100, reference_version=1, preset="default",
                           dataset_drift=False, drift_share=0.0, report={})
        s.add(row)
        s.flush()
        group_alerts(s, SERVICE.process_window(s, "rec", row, signals), HOUR, SERVICE.notifier)


def sent(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """The notifications written since the last call (then removed)."""
    with sessions.begin() as s:
        rows = [dict(r.payload) for r in s.scalars(select(NotificationRow).order_by(NotificationRow.id))]
        s.execute(delete(NotificationRow))
    return rows


def summary(notifications: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(n["incident"]["action"] if "incident" in n else "alerts", [(a["signal"], a["action"])
                                                                      for a in n["alerts"]])
            for n in notifications]


def test_one_notification_per_incident_change(sessions: sessionmaker[Session]) -> None:
    window(sessions, 0, [PRED, TENURE, NULLS])
    [opened] = sent(sessions)
    assert opened["incident"]["action"] == "opened" and opened["incident"]["alerts_count"] == 3
    assert opened["title"].startswith("[CRITICAL] rec: incident #") and "tenure arrives null (3 alerts)" in \
        opened["title"]
    assert [a["signal"] for a in opened["alerts"]] == ["data_quality", "feature_drift", "prediction_drift"]

    window(sessions, 1, [PRED, TENURE, NULLS, VOLUME])
    assert summary(sent(sessions)) == [("signal_added", [("traffic_volume", "opened")])]
    window(sessions, 2, [NULLS, PRED, TENURE_WORSE])  # tenure escalates; the incident is critical already
    window(sessions, 3, [NULLS, PRED])  # volume auto-resolves (2 clean windows); the incident stays open
    window(sessions, 4, [NULLS])  # tenure auto-resolves
    window(sessions, 5, [])  # the prediction drift auto-resolves
    assert sent(sessions) == []
    window(sessions, 6, [])  # the last alert auto-resolves: the incident resolves
    [resolved] = sent(sessions)
    assert summary([resolved]) == [("resolved", [("data_quality", "resolved")])]
    assert resolved["incident"]["status"] == "resolved"


def test_escalation_raising_the_incident_severity_is_notified(sessions: sessionmaker[Session]) -> None:
    window(sessions, 0, [TENURE, PRED])
    sent(sessions)
    window(sessions, 1, [TENURE_WORSE, PRED])
    [escalated] = sent(sessions)
    assert summary([escalated]) == [("escalated", [("feature_drift", "escalated")])]
    assert escalated["severity"] == "critical"


def test_people_acting_on_an_incident_or_on_one_alert(sessions: sessionmaker[Session]) -> None:
    window(sessions, 0, [TENURE, VOLUME, PRED])
    sent(sessions)
    with sessions() as s:
        incident_id = s.scalars(select(Incident.id)).one()
        alert_ids = list(s.scalars(select(Alert.id).order_by(Alert.id)))
    with sessions.begin() as s:
        acknowledge_incident(s, SERVICE, incident_id, "ana", "looking", now=T0)
    [acked] = sent(sessions)  # one notification, not one per alert
    assert acked["incident"]["action"] == "acknowledged" and len(acked["alerts"]) == 3
    with sessions.begin() as s:
        SERVICE.assign(s, alert_ids[0], "bo", "ana")
    assert summary(sent(sessions)) == [("alerts", [("feature_drift", "assigned")])]
    with sessions.begin() as s:
        refresh_incident_of(s, SERVICE.resolve(s, alert_ids[0], "ana"), SERVICE.notifier)
    assert summary(sent(sessions)) == [("alerts", [("feature_drift", "resolved")])]  # the incident stays open
    with sessions.begin() as s:
        resolve_incident(s, SERVICE, incident_id, "ana", "fixed")
    assert summary(sent(sessions)) == [("resolved", [("traffic_volume", "resolved"),
                                                     ("prediction_drift", "resolved")])]


def test_resolving_the_last_alert_notifies_the_incident(sessions: sessionmaker[Session]) -> None:
    window(sessions, 0, [TENURE])
    sent(sessions)
    with sessions() as s:
        alert_id = s.scalars(select(Alert.id)).one()
    with sessions.begin() as s:
        refresh_incident_of(s, SERVICE.resolve(s, alert_id, "ana"), SERVICE.notifier)
    assert summary(sent(sessions)) == [("resolved", [("feature_drift", "resolved")])]
