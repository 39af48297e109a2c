"""One transaction's alert changes -> notification payloads: the grouping unit, a pure function.

A change is :func:`monitor.alerts.service.alert_payload` plus ``cause``: what made it (``window:<id>`` for
the close of window ``<id>``, ``labels:<id>`` for labels judged on it, ``early:<model>:<detected_at>``, or
``alert:<id>:<time>`` for a person's action). Changes of one model with the same cause make one
notification, so a window close that opens alerts on ten columns sends one message, not ten.

Each notification carries ``key``, its idempotency key: the SHA-256 of the cause and of every alert change
it holds (alert id, action, severity, status), the same however often the row is delivered.

>>> changes = [
...     {"cause": "window:7", "model": "m", "alert_id": 1, "action": "opened", "severity": "warning",
...      "status": "open", "signal": "feature_drift", "feature": "a", "message": "a drifted"},
...     {"cause": "window:7", "model": "m", "alert_id": 2, "action": "opened", "severity": "critical",
...      "status": "open", "signal": "feature_drift", "feature": "b", "message": "b drifted"}]
>>> [n["title"] for n in group_changes(changes)]
['[CRITICAL] m: 2 alerts opened (window:7)']
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from monitor.pipeline.alert_signals import SEVERITY_RANK

__all__ = ["group_changes", "notification_key"]


def notification_key(cause: str, alerts: list[dict[str, Any]]) -> str:
    """The idempotency key of a notification (see the module docstring)."""
    material = [cause, *sorted(f"{a['alert_id']}|{a['action']}|{a['severity']}|{a['status']}" for a in alerts)]
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


def group_changes(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Notification payloads, one per ``(model, cause)`` in first-seen order (see the module docstring)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for change in changes:
        groups.setdefault((str(change["model"]), str(change["cause"])), []).append(change)
    notifications = []
    for (model, cause), alerts in groups.items():
        items = [{k: v for k, v in a.items() if k != "cause"} for a in alerts]
        severity = max((str(a["severity"]) for a in items), key=lambda s: SEVERITY_RANK.get(s, 0))
        notifications.append({
            "key": notification_key(cause, items), "model": model, "cause": cause, "severity": severity,
            "title": _title(model, cause, items, severity), "alerts": items,
        })
    return notifications
