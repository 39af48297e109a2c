"""The dashboard's only writes: acknowledge / resolve / snooze / assign an alert through the monitor's
``AlertService``, and acknowledge / resolve an incident (each of its unresolved alerts, one history entry each)
through :func:`~monitor.alerts.incidents.acknowledge_incident` / :func:`~monitor.alerts.incidents.resolve_incident`
as ``driftwarden incidents ack|resolve`` does; refused unless the visitor's role allows it
(:mod:`dashboard.roles`: assigning to oneself is ``take``, to anyone else or to nobody ``assign``).

One short write transaction per action (``BEGIN IMMEDIATE`` on SQLite: :mod:`monitor.db.engine`); its
notification is written to the outbox in the same transaction (and delivered by the watcher's sender or
``driftwarden notify``). Errors come back as :class:`ActionError` with a message fit for the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal

import streamlit as st
from sqlalchemy.orm import Session

from dashboard import data
from dashboard.roles import may
from monitor.alerts.errors import AlertError
from monitor.alerts.incidents import acknowledge_incident, refresh_incident_of, resolve_incident
from monitor.alerts.service import AlertService
from monitor.config.settings import Settings
from monitor.db.base import utcnow
from monitor.db.engine import session_factory
from monitor.notify.outbox import Outbox

__all__ = ["Action", "ActionError", "IncidentAction", "change_alert", "change_incident"]

Action = Literal["acknowledge", "resolve", "snooze", "assign"]
IncidentAction = Literal["acknowledge", "resolve"]


class ActionError(Exception):
    """An acknowledge/resolve that was refused; the message says which alert and why."""


@st.cache_resource(show_spinner=False)
def _service() -> AlertService:
    return AlertService(Outbox())


@contextmanager
def _write(settings: Settings) -> Iterator[Session]:
    """One transaction on the monitor's database; an :class:`AlertError` comes back as :class:`ActionError`, and
    the cached alert reads are dropped whatever happened."""
    try:
        with session_factory(data.engine(settings.database_url)).begin() as session:  # BEGIN IMMEDIATE on SQLite
            yield session
    except AlertError as exc:
        raise ActionError(str(exc)) from exc
    finally:
        data.clear_alert_caches()


def _allowed(what: str, role: str, needed: str, action: str, by: str) -> None:
    """Refuse ``action`` on ``what`` (``alert #7``) unless ``role`` may ``needed`` and ``by`` names someone."""
    if not may(role, needed):
        raise ActionError(f"{what}: your role ({role}) may not {action} {what.split(' ')[0]}s"
                          + (" to someone else" if needed == "assign" and may(role, "take") else ""))
    if not by:
        raise ActionError(f"{what}: say who you are (a name) to {action} it")


def change_alert(settings: Settings, action: Action, alert_id: int, by: str, note: str | None, *,
                 role: str = "responder", until: datetime | None = None, assignee: str | None = None) -> None:
    """``acknowledge``, ``resolve``, ``snooze`` (until ``until``) or ``assign`` (to ``assignee``; empty: nobody)
    alert ``alert_id`` as ``by`` with ``note`` when ``role`` allows it, then drop the cached reads."""
    by, assignee = by.strip(), (assignee or "").strip()
    needed = ("take" if assignee.lower() == by.lower() else "assign") if action == "assign" else action
    _allowed(f"alert #{alert_id}", role, needed, action, by)
    service = _service()
    clean_note = (note or "").strip() or None
    with _write(settings) as session:
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


def change_incident(settings: Settings, action: IncidentAction, incident_id: int, by: str, note: str | None, *,
                    role: str = "responder") -> None:
    """``acknowledge`` or ``resolve`` incident ``incident_id`` and each of its unresolved alerts as ``by`` with
    ``note`` (one history entry per alert, one notification of the incident in the outbox) when ``role`` allows
    it, then drop the cached reads."""
    by = by.strip()
    _allowed(f"incident #{incident_id}", role, action, action, by)
    service = _service()
    clean_note = (note or "").strip() or None
    with _write(settings) as session:
        if action == "acknowledge":
            acknowledge_incident(session, service, incident_id, by, clean_note, now=utcnow())
        else:
            resolve_incident(session, service, incident_id, by, clean_note)
