"""The Alerts page's incident buttons: acknowledging or resolving an incident does so for each of its unresolved
alerts (one history entry each, under the acting user) and sends one notification of the incident, as
``driftwarden incidents ack|resolve`` does; a viewer sees no buttons. On the real scenario database."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db import make_engine
from monitor.db.models import Alert, AlertEvent, Incident, NotificationRow
from tests.unit.dashboard.test_alerts_oncall import _as
from tests.unit.dashboard.test_pages import _open_alert, _text


def _incident_state(url: str, incident_id: int) -> tuple[Incident, list[Alert], dict[int, list[tuple[str, str]]],
                                                          list[dict[str, object]]]:
    """The incident, its alerts, each alert's history ``(action, actor)`` and every notification's payload."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            incident = session.get(Incident, incident_id)
            assert incident is not None
            alerts = list(session.scalars(select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.id)))
            history = {a.id: [(e.action, str(e.actor)) for e in session.scalars(
                select(AlertEvent).where(AlertEvent.alert_id == a.id).order_by(AlertEvent.id))] for a in alerts}
            payloads = [dict(p) for p in session.scalars(select(NotificationRow.payload).order_by(NotificationRow.id))]
            session.expunge_all()
        return incident, alerts, history, payloads
    finally:
        engine.dispose()


def _new_incident(url: str) -> int:
    """An unresolved incident of two alerts, opened on the last window the way the watcher does."""
    first = _open_alert(url, "traffic_volume")
    second = _open_alert(url, "prediction_drift")
    incident_id = _incident_of(url, first)
    assert _incident_of(url, second) == incident_id
    return incident_id


def _incident_of(url: str, alert_id: int) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            found = session.scalar(select(Alert.incident_id).where(Alert.id == alert_id))
        assert found is not None
        return int(found)
    finally:
        engine.dispose()


def _incident_change(notification: dict[str, object]) -> tuple[object, object, list[object]]:
    """``(incident id, action, alert ids)`` of an incident's notification (``None``s for one of alerts)."""
    incident = notification.get("incident") or {}
    assert isinstance(incident, dict)
    alerts = notification["alerts"]
    assert isinstance(alerts, list)
    return incident.get("incident_id"), incident.get("action"), sorted(a["alert_id"] for a in alerts)


def _incident_buttons(at: object, incident_id: int) -> list[str]:
    return [str(b.key) for b in at.button if str(b.key).startswith(f"FormSubmitter:incident-{incident_id}-")]  # type: ignore[attr-defined]


def test_a_responder_acknowledges_an_incident_and_an_admin_resolves_it(
    scenario_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident_id = _new_incident(scenario_url)
    _, before, history_before, notified_before = _incident_state(scenario_url, incident_id)
    unresolved = [a.id for a in before if a.status != "resolved"]
    assert len(unresolved) >= 2

    at = _as(scenario_url, monkeypatch, "bo@example.org")  # a responder
    assert _incident_buttons(at, incident_id) == [f"FormSubmitter:incident-{incident_id}-Acknowledge",
                                                  f"FormSubmitter:incident-{incident_id}-Resolve"]
    at.text_input(key=f"alerts_page.incident_note.{incident_id}").input("feature pipeline, on it")
    at.button(key=f"FormSubmitter:incident-{incident_id}-Acknowledge").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    incident, alerts, history, notified = _incident_state(scenario_url, incident_id)
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", "bo@example.org")
    for alert in (a for a in alerts if a.id in unresolved):
        assert (alert.status, alert.acknowledged_by, alert.ack_note) == (
            "acknowledged", "bo@example.org", "feature pipeline, on it")
        assert history[alert.id] == [*history_before[alert.id], ("acknowledged", "bo@example.org")]
    sent = notified[len(notified_before):]
    assert [_incident_change(n) for n in sent] == [(incident_id, "acknowledged", unresolved)]

    at = _as(scenario_url, monkeypatch, "ada@example.org")  # an admin
    at.button(key=f"FormSubmitter:incident-{incident_id}-Resolve").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    incident, alerts, history, notified = _incident_state(scenario_url, incident_id)
    assert incident.status == "resolved" and all(a.status == "resolved" for a in alerts)
    for alert in (a for a in alerts if a.id in unresolved):
        assert alert.resolved_by == "ada@example.org" and history[alert.id][-1] == ("resolved", "ada@example.org")
    assert [_incident_change(n) for n in notified[len(sent) + len(notified_before):]] == [
        (incident_id, "resolved", unresolved)]


def test_a_viewer_sees_no_incident_buttons(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    incident_id = _new_incident(scenario_url)
    at = _as(scenario_url, monkeypatch, "cy@example.org")  # the default role: viewer
    assert f"#{incident_id} " in " ".join(e.label for e in at.expander)
    assert not _incident_buttons(at, incident_id)
    assert "can read incidents, not act on them" in _text(at)
    assert _incident_state(scenario_url, incident_id)[0].status == "open"
