"""``driftwarden alerts list|ack|resolve``: look at incidents and move them through their lifecycle."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

from monitor.commands.support import AppState, fail, migrate_option, prepare_database, safe_url

__all__ = ["register"]

STATUSES = ("open", "acknowledged", "resolved", "unresolved", "all")


def _with_session(url: str, work: Callable[[Any], Any], *, write: bool, migrate: bool) -> Any:
    from monitor.alerts.errors import AlertError
    from monitor.db import make_engine, session_factory

    prepare_database(url, migrate)
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        if write:
            with sessions.begin() as session:
                return work(session)
        with sessions() as session:
            return work(session)
    except AlertError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"database {safe_url(url)}: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


def _row(alert: Any, model: str) -> dict[str, Any]:
    return {
        "id": alert.id, "model": model, "signal": alert.signal, "feature": alert.feature, "segment": alert.segment,
        "severity": alert.severity, "status": alert.status, "windows": alert.windows_count,
        "first_seen": alert.first_seen.isoformat(), "last_seen": alert.last_seen.isoformat(),
        "detected_at": alert.detected_at.isoformat(), "early": bool(alert.early),
        "detected_events": alert.detected_events,
        "message": alert.message, "acknowledged_by": alert.acknowledged_by, "ack_note": alert.ack_note,
        "resolved_by": alert.resolved_by, "resolve_note": alert.resolve_note,
    }


def register(app: typer.Typer) -> None:
    alerts_app = typer.Typer(help="Alerts: list, acknowledge, resolve.", no_args_is_help=True)
    db_option = typer.Option(None, "--db", help="Database URL (default: DRIFTWARDEN_DATABASE_URL).")

    @alerts_app.command("list")
    def list_(
        ctx: typer.Context,
        status: str = typer.Option("unresolved", "--status", help=f"One of {', '.join(STATUSES)}."),
        model: str | None = typer.Option(None, "--model", help="Only this model."),
        limit: int = typer.Option(50, "--limit", min=1, help="At most this many alerts."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
        db: str | None = db_option,
        migrate: bool = migrate_option(),
    ) -> None:
        """List alerts, most recently seen first."""
        from monitor.alerts.service import list_alerts

        if status not in STATUSES:
            fail(f"--status {status!r} is not one of {', '.join(STATUSES)}")
        url = db or AppState.of(ctx).settings.database_url
        rows = _with_session(
            url, lambda s: [_row(a, m) for a, m in
                            list_alerts(s, status=None if status == "all" else status, model=model, limit=limit)],
            write=False, migrate=migrate,
        )
        if as_json:
            for row in rows:
                typer.echo(json.dumps(row))
            return
        if not rows:
            typer.echo("no alerts")
        for r in rows:
            feature = f" [{r['feature']}]" if r["feature"] else ""
            typer.echo(f"#{r['id']:<5} {r['severity']:<8} {r['status']:<12} {r['model']} {r['signal']}{feature} "
                       f"x{r['windows']} last {r['last_seen']}: {r['message']}")

    @alerts_app.command("ack")
    def ack(
        ctx: typer.Context,
        alert_id: int = typer.Argument(..., help="Alert id (see `alerts list`)."),
        by: str = typer.Option(..., "--by", help="Who acknowledges."),
        note: str | None = typer.Option(None, "--note", help="Why / what is being done."),
        db: str | None = db_option,
        migrate: bool = migrate_option(),
    ) -> None:
        """Acknowledge an open alert (a notification is queued in the outbox, delivered by the watcher or
        `driftwarden notify`)."""
        from monitor.alerts.service import AlertService
        from monitor.notify.outbox import Outbox

        url = db or AppState.of(ctx).settings.database_url
        status = _with_session(url, lambda s: AlertService(Outbox()).acknowledge(s, alert_id, by, note).status,
                               write=True, migrate=migrate)
        typer.echo(f"alert {alert_id} {status} by {by}")

    @alerts_app.command("resolve")
    def resolve(
        ctx: typer.Context,
        alert_id: int = typer.Argument(..., help="Alert id (see `alerts list`)."),
        by: str = typer.Option(..., "--by", help="Who resolves."),
        note: str | None = typer.Option(None, "--note", help="Resolution note."),
        db: str | None = db_option,
        migrate: bool = migrate_option(),
    ) -> None:
        """Resolve an open or acknowledged alert (a notification is queued in the outbox, delivered by the
        watcher or `driftwarden notify`)."""
        from monitor.alerts.service import AlertService
        from monitor.notify.outbox import Outbox

        url = db or AppState.of(ctx).settings.database_url
        status = _with_session(url, lambda s: AlertService(Outbox()).resolve(s, alert_id, by, note).status,
                               write=True, migrate=migrate)
        typer.echo(f"alert {alert_id} {status} by {by}")

    app.add_typer(alerts_app, name="alerts")
