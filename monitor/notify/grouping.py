"""One transaction's alert and incident changes -> notification payloads: the grouping unit, a pure function.

An alert change is :func:`monitor.alerts.service.alert_payload` plus ``cause``: what made it (``window:<id>``
for the close of window ``<id>``, ``labels:<id>`` for labels judged on it, ``early:<model>:<detected_at>``, or
``alert:<id>:<time>`` for a person's action). Changes of one model with the same cause make one
notification, so a window close that opens alerts on ten columns sends one message, not ten.

An incident change (``kind: incident``, :func:`monitor.alerts.incidents.incident_payload`) makes one
notification of its own, per incident and cause, holding the alerts it concerns. An alert change is then
left out when its incident says it: the alert is among an incident change's alerts, or the watcher made the
change (any cause but ``alert:``) to an alert that already belongs to an incident. What remains are a person's
actions on one alert (acknowledge, assign) and alerts outside any incident.

Each notification carries ``key``, its idempotency key: the SHA-256 of the cause and of every alert change
it holds (alert id, action, severity, status; an incident's id and action too), the same however often the
row is delivered.

>>> changes = [
...     {"cause": "window:7", "model": "m", "alert_id": 1, "action": "opened", "severity": "warning",
...      "status": "open", "signal": "feature_drift", "feature": "a", "message": "a drifted"},
...     {"cause": "window:7", "model": "m", "alert_id": 2, "action": "opened", "severity": "critical",
...      "status": "open", "signal": "feature_drift", "feature": "b", "message": "b drifted"}]
>>> [n["title"] for n in group_changes(changes)]
['[CRITICAL] m: 2 alerts opened (window:7)']
>>> incident = {"kind": "incident", "cause": "window:7", "model": "m", "incident_id": 3, "action": "opened",
...             "severity": "critical", "title": "b arrives null", "alerts_count": 2,
...             "alerts": [{**c, "cause": None} for c in changes]}
>>> [n["title"] for n in group_changes([*changes, incident])]
['[CRITICAL] m: incident #3 opened: b arrives null (2 alerts)']
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from monitor.pipeline.alert_signals import SEVERITY_RANK

__all__ = ["group_changes", "notification_key"]


def notification_key(cause: str, alerts: list[dict[str, Any]], incident: str = "") -> str:
    """The idempotency key of a notification (see the module docstring)."""
    material = [cause, *sorted(f"{a['alert_id']}|{a['action']}|{a['severity']}|{a['status']}" for a in alerts)]
    if incident:
        material.append(incident)
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def _title(model: str, cause: str, alerts: list[dict[str, Any]], severity: str) -> str:
    counts = Counter(str(a["action"]) for a in alerts)
    if len(alerts) == 1:
        only = alerts[0]
        what = f"{only['message']} - alert #{only['alert_id']} {only['action']}"
    else:
        what = ", ".join(f"{n} {'alerts ' if i == 0 else ''}{action}" for i, (action, n) in
                         enumerate(sorted(counts.items(), key=lambda kv: -kv[1]))) + f" ({cause})"
    return f"[{severity.upper()}] {model}: {what}"


def _signal_name(alert: dict[str, Any]) -> str:
    return str(alert["signal"]) + (f"({alert['feature']})" if alert.get("feature") else "")


def _incident_notification(change: dict[str, Any]) -> dict[str, Any]:
    items = [{k: v for k, v in a.items() if k != "cause"} for a in change["alerts"]]
    cause, action, incident_id = str(change["cause"]), str(change["action"]), change["incident_id"]
    verb = action
    if action == "signal_added":
        verb = f"new signal{'s' if len(items) > 1 else ''} {', '.join(_signal_name(a) for a in items)}"
    count = int(change.get("alerts_count") or len(items))
    title = (f"[{str(change['severity']).upper()}] {change['model']}: incident #{incident_id} {verb}: "
             f"{change['title']} ({count} alert{'s' if count != 1 else ''})")
    incident = {k: v for k, v in change.items() if k not in ("alerts", "cause", "kind")}
    return {"key": notification_key(cause, items, f"incident:{incident_id}|{action}"), "model": change["model"],
            "cause": cause, "severity": change["severity"], "title": title, "incident": incident, "alerts": items}


def _alerts_notification(model: str, cause: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    items = [{k: v for k, v in a.items() if k != "cause"} for a in alerts]
    severity = max((str(a["severity"]) for a in items), key=lambda s: SEVERITY_RANK.get(s, 0))
    return {"key": notification_key(cause, items), "model": model, "cause": cause, "severity": severity,
            "title": _title(model, cause, items, severity), "alerts": items}


def _said_by_incident(change: dict[str, Any], covered: set[Any]) -> bool:
    if change["alert_id"] in covered:
        return True
    return change.get("incident_id") is not None and not str(change["cause"]).startswith("alert:")


def group_changes(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Notification payloads, one per incident change and one per ``(model, cause)`` of the alert changes
    left, in first-seen order (see the module docstring)."""
    covered = {a["alert_id"] for c in changes if c.get("kind") == "incident" for a in c["alerts"]}
    order: list[dict[str, Any] | tuple[str, str]] = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for change in changes:
        if change.get("kind") == "incident":
            order.append(change)
        elif not _said_by_incident(change, covered):
            key = (str(change["model"]), str(change["cause"]))
            if key not in groups:
                order.append(key)
            groups.setdefault(key, []).append(change)
    return [_alerts_notification(*entry, groups[entry]) if isinstance(entry, tuple)
            else _incident_notification(entry) for entry in order]
