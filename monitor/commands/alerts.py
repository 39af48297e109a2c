"""``driftwarden alerts list|show|ack|resolve|assign|snooze``: look at incidents, their history and evidence,
and move them through their lifecycle."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

from monitor.commands.support import DB_OPTION, database_url, fail, in_session, migrate_option

__all__ = ["register"]

STATUSES = ("open", "acknowledged", "resolved", "unresolved", "all")


def _with_session(url: str, work: Callable[[Any], Any], *, write: bool, migrate: bool) -> Any:
    """``work(session)`` by :func:`~monitor.commands.support.in_session`; an ``AlertError`` (unknown alert,
    a change its status does not allow) exits 2 with its own message."""
    from monitor.alerts.errors import AlertError

    return in_session(url, work, failing="database", migrate=migrate, write=write, plain=(AlertError,))


def _row(alert: Any, model: str) -> dict[str, Any]:
    return {
        "id": alert.id, "model": model, "signal": alert.signal, "feature": alert.feature, "segment": alert.segment,
        "severity": alert.severity, "status": alert.status, "windows": alert.windows_count,
        "first_seen": alert.first_seen.isoformat(), "last_seen": alert.last_seen.isoformat(),
        "detected_at": alert.detected_at.isoformat(), "early": bool(alert.early),
        "detected_events": alert.detected_events,
        "message": alert.message, "acknowledged_by": alert.acknowledged_by, "ack_note": alert.ack_note,
        "resolved_by": alert.resolved_by, "resolve_note": alert.resolve_note, "assignee": alert.assignee,
        "snoozed_until": alert.snoozed_until.isoformat() if alert.snoozed_until else None,
    }


STATUS_OPTION: Any = typer.Option("unresolved", "--status", help=f"One of {', '.join(STATUSES)}.")
MODEL_OPTION: Any = typer.Option(None, "--model", help="Only this model.")
JSON_LINES_OPTION: Any = typer.Option(False, "--json", help="One JSON object per line.")
"""The filters and output of ``alerts list`` and ``incidents list`` (see :func:`listed`)."""


def listed(ctx: typer.Context, db: str | None, migrate: bool, status: str, what: str,
           query: Callable[[Any, str | None], list[dict[str, Any]]], *, as_json: bool) -> list[dict[str, Any]]:
    """The rows of ``query(session, status)`` (``status`` None for ``all``, an unknown one exits 2); with
    ``as_json`` printed as JSON lines, and none returned to print; with no rows, ``no {what}`` printed."""
    if status not in STATUSES:
        fail(f"--status {status!r} is not one of {', '.join(STATUSES)}")
    rows = _with_session(database_url(ctx, db), lambda s: query(s, None if status == "all" else status),
                         write=False, migrate=migrate)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return []
    if not rows:
        typer.echo(f"no {what}")
    return rows


def _list_command(
    ctx: typer.Context,
    status: str = STATUS_OPTION,
    model: str | None = MODEL_OPTION,
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many alerts."),
    as_json: bool = JSON_LINES_OPTION,
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """List alerts, most recently seen first."""
    from monitor.alerts.service import list_alerts

    rows = listed(ctx, db, migrate, status, "alerts", lambda s, st: [
        _row(a, m) for a, m in list_alerts(s, status=st, model=model, limit=limit)], as_json=as_json)
    for r in rows:
        feature = f" [{r['feature']}]" if r["feature"] else ""
        typer.echo(f"#{r['id']:<5} {r['severity']:<8} {r['status']:<12} {r['model']} {r['signal']}{feature} "
                   f"x{r['windows']} last {r['last_seen']}: {r['message']}")


def _ack_command(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., help="Alert id (see `alerts list`)."),
    by: str = typer.Option(..., "--by", help="Who acknowledges."),
    note: str | None = typer.Option(None, "--note", help="Why / what is being done."),
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """Acknowledge an open alert (a notification is queued in the outbox, delivered by the watcher or
    `driftwarden notify`)."""
    from monitor.alerts.service import AlertService
    from monitor.notify.outbox import Outbox

    url = database_url(ctx, db)
    status = _with_session(url, lambda s: AlertService(Outbox()).acknowledge(s, alert_id, by, note).status,
                           write=True, migrate=migrate)
    typer.echo(f"alert {alert_id} {status} by {by}")


def _resolve_command(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., help="Alert id (see `alerts list`)."),
    by: str = typer.Option(..., "--by", help="Who resolves."),
    note: str | None = typer.Option(None, "--note", help="Resolution note."),
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """Resolve an open or acknowledged alert (a notification is queued in the outbox, delivered by the
    watcher or `driftwarden notify`)."""
    from monitor.alerts.incidents import refresh_incident_of
    from monitor.alerts.service import AlertService
    from monitor.notify.outbox import Outbox

    url = database_url(ctx, db)
    service = AlertService(Outbox())
    status = _with_session(url, lambda s: refresh_incident_of(
        s, service.resolve(s, alert_id, by, note), service.notifier).status, write=True, migrate=migrate)
    typer.echo(f"alert {alert_id} {status} by {by}")


def _print_evidence(found: dict[str, Any]) -> None:
    a = found["alert"]
    feature = f" [{a['feature']}]" if a["feature"] else ""
    typer.echo(f"alert #{a['id']} {a['severity']} {a['status']} {a['model']} {a['signal']}{feature}: {a['message']}")
    typer.echo(f"  first seen {a['first_seen']}, last seen {a['last_seen']}, {a['windows_count']} windows; "
               f"assignee {a['assignee'] or '-'}; snoozed until {a['snoozed_until'] or '-'}")
    if found["runbook"]:
        typer.echo(f"  runbook: {found['runbook']}")
    typer.echo("history:")
    for e in found["history"]:
        typer.echo(f"  {e['ts']} {e['action']}" + (f" by {e['actor']}" if e["actor"] else "")
                   + (f": {e['note']}" if e["note"] else ""))
    for name, window in found["evidence"].items():
        if window is None:
            continue
        typer.echo(f"{name.replace('_', ' ')} #{window['window_id']} {window['window_start']} .. "
                   f"{window['window_end']} ({window['n_events']} events, drift share {window['drift_share']})")
        if window.get("feature"):
            typer.echo("  " + ", ".join(f"{k} {v}" for k, v in window["feature"].items() if v is not None))
        for row in window["examples"]:
            typer.echo(f"  example: {json.dumps(row, default=str)}")


def _show_command(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., help="Alert id (see `alerts list`)."),
    examples: int = typer.Option(5, "--examples", min=0, help="Rows of each window's stored sample."),
    config: str | None = typer.Option(None, "--config", "-c", help="Configuration whose notifications.runbooks "
                                      "gives the signal's runbook."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """One alert with its history and evidence (the statistics and sample rows of its windows)."""
    from pathlib import Path

    from monitor.alerts.evidence import alert_evidence

    runbooks: dict[str, str] = {}
    if config is not None:
        from monitor.commands.run import load_run_config

        runbooks = dict(load_run_config(Path(config)).notifications.runbooks)
    url = database_url(ctx, db)
    found = _with_session(url, lambda s: alert_evidence(s, alert_id, examples=examples, runbooks=runbooks),
                          write=False, migrate=migrate)
    if as_json:
        typer.echo(json.dumps(found, default=str))
        return
    _print_evidence(found)


def _assign_command(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., help="Alert id (see `alerts list`)."),
    to: str = typer.Option(..., "--to", help="Who takes it ('' : nobody)."),
    by: str = typer.Option(..., "--by", help="Who assigns."),
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """Assign an alert to someone (recorded in its history and notified)."""
    from monitor.alerts.service import AlertService
    from monitor.notify.outbox import Outbox

    url = database_url(ctx, db)
    _with_session(url, lambda s: AlertService(Outbox()).assign(s, alert_id, to.strip() or None, by),
                  write=True, migrate=migrate)
    typer.echo(f"alert {alert_id} assigned to {to.strip() or 'nobody'} by {by}")


def _snooze_command(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., help="Alert id (see `alerts list`)."),
    until: str = typer.Option(..., "--until", help="ISO 8601 time (UTC when no offset is given), or a "
                              "duration from now such as 2h or 30m."),
    by: str = typer.Option(..., "--by", help="Who snoozes."),
    note: str | None = typer.Option(None, "--note", help="Why."),
    db: str | None = DB_OPTION,
    migrate: bool = migrate_option(),
) -> None:
    """Snooze an alert until a time: what windows do to it is recorded but not notified until then."""
    from monitor.alerts.service import AlertService
    from monitor.notify.outbox import Outbox

    when = _parse_until(until)
    url = database_url(ctx, db)
    _with_session(url, lambda s: AlertService(Outbox()).snooze(s, alert_id, when, by, note), write=True,
                  migrate=migrate)
    typer.echo(f"alert {alert_id} snoozed until {when.isoformat()} by {by}")


def register(app: typer.Typer) -> None:
    alerts_app = typer.Typer(help="Alerts: list, show, acknowledge, resolve, assign, snooze.", no_args_is_help=True)
    alerts_app.command("list")(_list_command)
    alerts_app.command("ack")(_ack_command)
    alerts_app.command("resolve")(_resolve_command)
    alerts_app.command("show")(_show_command)
    alerts_app.command("assign")(_assign_command)
    alerts_app.command("snooze")(_snooze_command)
    app.add_typer(alerts_app, name="alerts")


def _parse_until(text: str) -> Any:
    from datetime import UTC, datetime, timedelta

    from monitor.config.durations import parse_duration

    try:
        return datetime.now(UTC) + timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--until {text!r} is neither an ISO 8601 time nor a duration (2h, 30m)")
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
