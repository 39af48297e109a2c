"""The dashboard's only writes: acknowledge / resolve / snooze / assign an alert through the monitor's
``AlertService``, refused unless the visitor's role allows it (:mod:`dashboard.roles`: assigning to oneself is
``take``, to anyone else or to nobody ``assign``).

One short transaction per action; its notification is written to the outbox in the same transaction (and
delivered by the watcher's sender or ``driftwarden notify``). Errors come back as :class:`ActionError` with a
message fit for the page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import streamlit as st
from sqlalchemy.orm import Session

from dashboard import data
from dashboard.roles import may
from monitor.alerts.errors import AlertError
from monitor.alerts.incidents import refresh_incident_of
from monitor.alerts.service import AlertService
from monitor.config.settings import Settings
from monitor.notify.outbox import Outbox

__all__ = ["Action", "ActionError", "change_alert"]

Action = Literal["acknowledge", "resolve", "snooze", "assign"]


class ActionError(Exception):
    """An acknowledge/resolve that was refused; the message says which alert and why."""


@st.cache_resource(show_spinner=False)
def _service() -> AlertService:
    return AlertService(Outbox())


def change_alert(settings: Settings, action: Action, alert_id: int, by: str, note: str | None, *,
                 role: str = "responder", until: datetime | None = None, assignee: str | None = None) -> None:
    """``acknowledge``, ``resolve``, ``snooze`` (until ``until``) or ``assign`` (to ``assignee``; empty: nobody)
    alert ``alert_id`` as ``by`` with ``note`` when ``role`` allows it, then drop the cached reads."""
    by, assignee = by.strip(), (assignee or "").strip()
    needed = ("take" if assignee.lower() == by.lower() else "assign") if action == "assign" else action
    if not may(role, needed):
        raise ActionError(f"alert #{alert_id}: your role ({role}) may not {action} alerts"
                          + (" to someone else" if needed == "assign" and may(role, "take") else ""))
    if not by:
        raise ActionError(f"alert #{alert_id}: say who you are (a name) to {action} it")
    service = _service()
    clean_note = (note or "").strip() or None
    try:
        with Session(data.engine(settings.database_url)) as session, session.begin():
            if action == "snooze":
                if until is None:
                    raise ActionError(f"alert #{alert_id}: snooze until when?")
                service.snooze(session, alert_id, until, by, clean_note)
            elif action == "assign":
                service.assign(session, alert_id, assignee or None, by)
            elif action == "acknowledge":
                service.acknowledge(session, alert_id, by, clean_note)
            else:  # resolving its last unresolved alert resolves the incident
                refresh_incident_of(session, service.resolve(session, alert_id, by, clean_note), service.notifier)
    except AlertError as exc:
        raise ActionError(str(exc)) from exc
    finally:
        data.clear_alert_caches()
