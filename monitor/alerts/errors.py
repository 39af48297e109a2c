"""Errors of alert state changes::

    AlertError (MonitorError, ValueError)
    ├── AlertNotFoundError    no alert with that id
    ├── AlertStateError       a transition the lifecycle does not allow (e.g. acknowledging a resolved alert)
    ├── IncidentNotFoundError no incident with that id
    └── IncidentStateError    a transition an incident's lifecycle does not allow
"""

from __future__ import annotations

from monitor.errors import MonitorError

__all__ = ["AlertError", "AlertNotFoundError", "AlertStateError", "IncidentNotFoundError", "IncidentStateError"]


class AlertError(MonitorError, ValueError):
    """Root of the alert errors."""


class AlertNotFoundError(AlertError):
    def __init__(self, alert_id: int) -> None:
        self.alert_id = alert_id
        super().__init__(f"alert {alert_id} does not exist")


class AlertStateError(AlertError):
    def __init__(self, alert_id: int, status: str, action: str) -> None:
        self.alert_id = alert_id
        self.status = status
        self.action = action
        super().__init__(f"alert {alert_id} is {status}: it cannot be {action}")


class IncidentNotFoundError(AlertError):
    def __init__(self, incident_id: int) -> None:
        self.incident_id = incident_id
        super().__init__(f"incident {incident_id} does not exist")


class IncidentStateError(AlertError):
    def __init__(self, incident_id: int, status: str, action: str) -> None:
        self.incident_id = incident_id
        self.status = status
        self.action = action
        super().__init__(f"incident {incident_id} is {status}: it cannot be {action}")
