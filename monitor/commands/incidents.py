"""``driftwarden incidents list|show|ack|resolve``: alerts grouped by cause, and their lifecycle."""

from __future__ import annotations

import json
from typing import Any

import typer

from monitor.commands.alerts import JSON_LINES_OPTION, MODEL_OPTION, STATUS_OPTION, _row, _with_session, listed
from monitor.commands.support import DB_OPTION, database_url, migrate_option

__all__ = ["register"]


def _incident_row(incident: Any, model: str) -> dict[str, Any]:
    return {
        "id": incident.id, "model": model, "status": incident.status, "severity": incident.severity,
        "title": incident.title, "top_signal": incident.top_signal, "top_feature": incident.top_feature,
        "alerts": incident.alerts_count, "first_seen": incident.first_seen.isoformat(),
        "last_seen": incident.last_seen.isoformat(), "acknowledged_by": incident.acknowledged_by,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


def _show(session: Any, incident_id: int) -> dict[str, Any]:
    from monitor.alerts.errors import IncidentNotFoundError
    from monitor.alerts.incidents import explained_by, incident_alerts
    from monitor.db.models import Incident, ModelRow

    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFoundError(incident_id)
    model = str(session.get(ModelRow, incident.model_id).name)
    ranked = incident_alerts(session, incident_id)
    alerts = []
    for rank, alert in enumerate(ranked, start=1):
        cause = explained_by(alert, ranked)
        alerts.append({"rank": rank, **_row(alert, model), "explained_by": None if cause is None else cause.id})
    return {**_incident_row(incident, model), "alert_list": alerts}


def _echo_incident(r: dict[str, Any]) -> None:
    typer.echo(f"#{r['id']:<5} {r['severity']:<8} {r['status']:<12} {r['model']} {r['alerts']} alert(s) "
               f"last {r['last_seen']}: {r['title']}")


_JSON = typer.Option(False, "--json", help="JSON instead of text.")


def _list_command(
    ctx: typer.Context,
    status: str = STATUS_OPTION,
    model: str | None = MODEL_OPTION,
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many incidents."),
    as_json: bool = JSON_LINES_OPTION,
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """List incidents, most recently seen first."""
    from monitor.alerts.incidents import list_incidents

    rows = listed(ctx, db, migrate, status, "incidents", lambda s, st: [
        _incident_row(i, m) for i, m in list_incidents(s, status=st, model=model, limit=limit)], as_json=as_json)
    for r in rows:
        _echo_incident(r)

def _show_command(
    ctx: typer.Context,
    incident_id: int = typer.Argument(..., help="Incident id (see `incidents list`)."),
    as_json: bool = _JSON,
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """An incident and its alerts, likely cause first."""
    url = database_url(ctx, db)
    data = _with_session(url, lambda s: _show(s, incident_id), write=False, migrate=migrate)
    if as_json:
        typer.echo(json.dumps(data))
        return
    _echo_incident(data)
    for a in data["alert_list"]:
        feature = f" [{a['feature']}]" if a["feature"] else ""
        why = f" (explained by #{a['explained_by']})" if a["explained_by"] else ""
        typer.echo(f"  {a['rank']}. #{a['id']} {a['severity']} {a['status']} {a['signal']}{feature}: "
                   f"{a['message']}{why}")

def _ack_command(
    ctx: typer.Context,
    incident_id: int = typer.Argument(..., help="Incident id (see `incidents list`)."),
    by: str = typer.Option(..., "--by", help="Who acknowledges."),
    note: str | None = typer.Option(None, "--note", help="Why / what is being done."),
    as_json: bool = _JSON,
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """Acknowledge an incident and each of its unresolved alerts."""
    from monitor.alerts.incidents import acknowledge_incident
    from monitor.alerts.service import AlertService
    from monitor.db.base import utcnow
    from monitor.notify.outbox import Outbox

    url = database_url(ctx, db)
    status = _with_session(url, lambda s: acknowledge_incident(
        s, AlertService(Outbox()), incident_id, by, note, now=utcnow()).status, write=True, migrate=migrate)
    typer.echo(json.dumps({"id": incident_id, "status": status, "by": by}) if as_json
               else f"incident {incident_id} {status} by {by}")

def _resolve_command(
    ctx: typer.Context,
    incident_id: int = typer.Argument(..., help="Incident id (see `incidents list`)."),
    by: str = typer.Option(..., "--by", help="Who resolves."),
    note: str | None = typer.Option(None, "--note", help="Resolution note."),
    as_json: bool = _JSON,
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """Resolve an incident and each of its unresolved alerts."""
    from monitor.alerts.incidents import resolve_incident
    from monitor.alerts.service import AlertService
    from monitor.notify.outbox import Outbox

    url = database_url(ctx, db)
    status = _with_session(url, lambda s: resolve_incident(
        s, AlertService(Outbox()), incident_id, by, note).status, write=True, migrate=migrate)
    typer.echo(json.dumps({"id": incident_id, "status": status, "by": by}) if as_json
               else f"incident {incident_id} {status} by {by}")


def register(app: typer.Typer) -> None:
    incidents_app = typer.Typer(help="Incidents (alerts grouped by cause): list, show, acknowledge, resolve.",
                                no_args_is_help=True)
    incidents_app.command("list")(_list_command)
    incidents_app.command("show")(_show_command)
    incidents_app.command("ack")(_ack_command)
    incidents_app.command("resolve")(_resolve_command)
    app.add_typer(incidents_app, name="incidents")
