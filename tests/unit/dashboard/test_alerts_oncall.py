"""The Alerts page's on-call state: who an alert is assigned to and until when it is snoozed, and who may
assign it (a responder takes it; an admin assigns anyone, or nobody), on the real scenario database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from dashboard.actions import ActionError, change_alert
from monitor.alerts.service import AlertService
from monitor.config.settings import Settings
from monitor.db import make_engine
from tests.unit.dashboard.test_pages import AUTH, _alert, _app, _open_alert, _page, _text


def _as(url: str, monkeypatch: pytest.MonkeyPatch, email: str) -> AppTest:
    monkeypatch.setenv("DRIFTWARDEN_DASHBOARD_USERS", "ada@example.org=admin,bo@example.org=responder")
    at = _app(url, monkeypatch)
    at.secrets["auth"] = dict(AUTH)
    at.user = {"is_logged_in": True, "email": email}
    return _page(at, "alerts")


def test_detail_shows_the_assignee_and_a_running_snooze(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    alert_id = _open_alert(scenario_url)
    until = datetime.now(UTC) + timedelta(hours=3)
    engine = make_engine(scenario_url)
    with Session(engine) as session, session.begin():  # as `driftwarden alerts assign/snooze` does
        AlertService().assign(session, alert_id, "ada@example.org", "cli")
        AlertService().snooze(session, alert_id, until, "cli")
    engine.dispose()
    at = _page(_app(scenario_url, monkeypatch), "alerts")
    assert at.dataframe[0].value["assignee"].tolist() == ["ada@example.org"]
    assert "Assigned to **ada@example.org**" in _text(at)
    assert f"snoozed until {until:%Y-%m-%d %H:%M} UTC" in _text(at)


def test_a_responder_takes_an_alert_and_an_admin_assigns_it(scenario_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    alert_id = _open_alert(scenario_url)
    at = _as(scenario_url, monkeypatch, "bo@example.org")
    assert "Nobody is assigned" in _text(at)
    assert not [t for t in at.text_input if t.label == "Assign to"]  # a responder cannot name someone else
    at.button(key=f"FormSubmitter:act-{alert_id}-Take it").click().run()
    assert not at.exception and "Assigned to **bo@example.org**" in _text(at)
    assert _alert(scenario_url, alert_id)[0].assignee == "bo@example.org"

    at = _as(scenario_url, monkeypatch, "ada@example.org")
    at.text_input(key=f"alerts_page.assignee.{alert_id}").input("cy@example.org")
    at.button(key=f"FormSubmitter:act-{alert_id}-Assign").click().run()
    assert not at.exception
    alert, actions = _alert(scenario_url, alert_id)
    assert alert.assignee == "cy@example.org" and actions == ["opened", "assigned", "assigned"]


def test_only_an_admin_assigns_someone_else_or_nobody(scenario_url: str) -> None:
    alert_id = _open_alert(scenario_url)
    settings = Settings(database_url=scenario_url)
    for assignee in ("cy@example.org", ""):
        with pytest.raises(ActionError, match=r"your role \(responder\) may not assign alerts to someone else"):
            change_alert(settings, "assign", alert_id, "bo@example.org", None, role="responder", assignee=assignee)
    with pytest.raises(ActionError, match=r"your role \(viewer\) may not assign"):
        change_alert(settings, "assign", alert_id, "cy@example.org", None, role="viewer", assignee="cy@example.org")
    change_alert(settings, "assign", alert_id, "ada@example.org", None, role="admin", assignee="cy@example.org")
    change_alert(settings, "assign", alert_id, "ada@example.org", None, role="admin", assignee="")
    alert, actions = _alert(scenario_url, alert_id)
    assert alert.assignee is None and actions == ["opened", "assigned", "assigned"]
