"""The dashboard's only writes: acknowledge / resolve an alert through the monitor's ``AlertService``.

One short transaction per action; its notification is written to the outbox in the same transaction (and
delivered by the watcher's sender or ``driftwarden notify``). Errors come back as :class:`ActionError` with a
message fit for the page.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st
from sqlalchemy.orm import Session

from dashboard import data
from monitor.alerts.errors import AlertError
from monitor.alerts.service import AlertService
from monitor.config.settings import Settings
from monitor.notify.outbox import Outbox

__all__ = ["Action", "ActionError", "change_alert"]

Action = Literal["acknowledge", "resolve"]


class ActionError(Exception):
    """An acknowledge/resolve that was refused; the message says which alert and why."""


@st.cache_resource(show_spinner=False)
def _service() -> AlertService:
    return AlertService(Outbox())


def change_alert(settings: Settings, action: Action, alert_id: int, by: str, note: str | None) -> None:
    """``acknowledge`` or ``resolve`` alert ``alert_id`` as ``by`` with ``note``, then drop the cached reads."""
    by = by.strip()
    if not by:
        raise ActionError(f"alert #{alert_id}: say who you are (a name) to {action} it")
    service = _service()
    try:
        with Session(data.engine(settings.database_url)) as session, session.begin():
            method = service.acknowledge if action == "acknowledge" else service.resolve
            method(session, alert_id, by, (note or "").strip() or None)
    except AlertError as exc:
        raise ActionError(str(exc)) from exc
    finally:
        data.clear_alert_caches()
