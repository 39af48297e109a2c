"""``driftwarden notify --config FILE [--db URL] [--once]``: deliver the outbox's notifications.

The watcher (``driftwarden run``) delivers them from a thread of its own; this command does the same work
as a separate process (a deployment that keeps the watcher free of network calls to outside services, or
delivers the notifications of ``alerts ack|resolve`` and the dashboard when no watcher runs). The routes of
``notifications:`` in FILE are checked first (one line naming the key, exit 2). Runs until SIGTERM/SIGINT;
``--once``: one pass over what is due, then exit.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import typer

from monitor.commands.support import DB_OPTION, AppState, database_url, fail, migrate_option, prepare_database

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("notify")
    def notify(
        ctx: typer.Context,
        config: str = typer.Option(..., "--config", "-c", help="The configuration whose notifications: routes "
                                    "are used."),
        db: str | None = DB_OPTION,
        once: bool = typer.Option(False, "--once", help="One pass over the due notifications, then exit."),
        poll_interval: float = typer.Option(1.0, "--poll-interval", min=0.05, help="Seconds between passes."),
        migrate: bool = migrate_option(),
    ) -> None:
        """Deliver pending alert notifications (routes of --config), at least once, with retries."""
        from monitor.commands.run import load_run_config
        from monitor.json_logs import configure_logging
        from monitor.wiring import ServiceSetupError, build_sender

        settings = AppState.of(ctx).settings
        loaded = load_run_config(Path(config))
        configure_logging(settings.log_level)
        url = database_url(ctx, db)
        try:
            sender = build_sender(settings, loaded, url, os.environ, registry=None, poll_interval=poll_interval)
        except ServiceSetupError as exc:
            fail(str(exc))
        prepare_database(url, migrate)
        if once:
            delivered = sender.deliver_due()
            typer.echo(f"driftwarden notify: {delivered} delivered", err=True)
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _s, _f: stop.set())
        sender.run(stop)
