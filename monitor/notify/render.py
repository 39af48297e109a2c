"""The body each destination type receives for one notification (:func:`monitor.notify.grouping.group_changes`).

- ``json``: the notification itself (``key``, ``model``, ``cause``, ``severity``, ``title``, ``alerts``);
- ``slack``: Slack-compatible ``text`` and one attachment per alert, plus the ``key``;
- ``apprise``: a title and a plain-text body ending with the key (Apprise formats it for each service).

>>> n = {"key": "k1", "model": "m", "cause": "window:3", "severity": "warning", "title": "[WARNING] m: x",
...      "alerts": [{"alert_id": 3, "action": "opened", "signal": "feature_drift", "feature": "x",
...                  "severity": "warning", "status": "open", "message": "x drifted", "url": None,
...                  "runbook": None}]}
>>> render_slack(n)["text"]
'[WARNING] m: x'
>>> render_text(n)[1].splitlines()[0]
'#3 opened feature_drift x: x drifted'
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_slack", "render_text"]

COLORS = {"critical": "#d32f2f", "warning": "#f9a825", "info": "#1976d2"}


def _line(alert: dict[str, Any]) -> str:
    feature = f" {alert['feature']}" if alert.get("feature") else ""
    return f"#{alert['alert_id']} {alert['action']} {alert['signal']}{feature}: {alert['message']}"


def render_slack(notification: dict[str, Any]) -> dict[str, Any]:
    attachments = []
    for alert in notification["alerts"]:
        fields = [{"title": key, "value": str(alert[key]), "short": True}
                  for key in ("signal", "feature", "severity", "status", "runbook") if alert.get(key)]
        attachments.append({"color": COLORS.get(str(alert["severity"]), "#9e9e9e"), "title": _line(alert),
                            "title_link": alert.get("url"), "fields": fields})
    return {"text": notification["title"], "attachments": attachments, "key": notification["key"]}


def render_text(notification: dict[str, Any]) -> tuple[str, str]:
    """``(title, body)`` for Apprise."""
    lines = []
    for alert in notification["alerts"]:
        lines.append(_line(alert))
        lines.extend(f"  {label}: {alert[k]}" for k, label in (("url", "link"), ("runbook", "runbook"))
                     if alert.get(k))
    lines.append(f"key: {notification['key']}")
    return str(notification["title"]), "\n".join(lines)
