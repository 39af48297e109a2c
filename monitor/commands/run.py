"""``driftwarden run --config FILE [--source kafka|PATH] [--db URL]``: the watcher.

With ``--source kafka`` (the default) it joins the consumer group ``DRIFTWARDEN_KAFKA_CONSUMER_GROUP`` on the
predictions and outcomes topics and runs until SIGTERM/SIGINT (persist, commit, exit 0). With a file
(``.jsonl`` or ``.parquet``) it runs the same pipeline to the end of the file, closes the last windows and
exits. ``/metrics`` and ``/healthz`` are served on ``DRIFTWARDEN_METRICS_PORT`` (0 = off).

The configuration and the reference files it names are validated first (one line on stderr, exit 2); only
then is the database's schema upgraded (``--no-migrate``: required at the newest revision) and the broker
contacted.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer
from prometheus_client import CollectorRegistry

from monitor.commands.support import DB_OPTION, AppState, database_url, fail, migrate_option, prepare_database

log = logging.getLogger("monitor.run")

EXIT_UNCLEAN = 1
MIGRATE_WAIT = 120.0
"""Seconds ``run`` waits for a database that refuses connections (a container starting next to it)."""


def load_run_config(config_path: Path) -> Any:
    """The validated configuration, its reference files checked (exits 2 with one line on a problem).

    Runs before anything opens the database or the broker: a bad configuration leaves no trace.
    """
    from monitor.config import ConfigError, load_config
    from monitor.config.loader import check_reference_files

    try:
        config = load_config(config_path)
        check_reference_files(config)
    except ConfigError as exc:
        fail(str(exc))
    return config


def _progress_bar(service: Any, path: Path) -> Any:
    """A tqdm bar over the file's events, advanced to each batch's last offset (a resumed run starts where
    the stored offsets are)."""
    from tqdm import tqdm

    from monitor.sources.progress import ProgressSource, file_event_count

    bar = tqdm(total=file_event_count(path), unit="event", unit_scale=True, desc=path.name, dynamic_ncols=True)

    def advance(batch: list[Any]) -> None:
        done = max(m.offset for m in batch) + 1
        if done > bar.n:
            bar.update(done - bar.n)

    service.source = ProgressSource(service.source, advance)
    return bar


# The options of `run`, by what they are about.
_CONFIG = typer.Option(..., "--config", "-c", help="Monitor configuration (YAML).")
_SOURCE = typer.Option("kafka", "--source", help="'kafka' (consumer group) or a JSONL/Parquet file of events.")
_MAX_MESSAGES = typer.Option(None, "--max-messages", min=1, help="Stop after N messages.")
_TIMEOUT = typer.Option(None, "--timeout", min=0, help="Stop after S seconds.")
_METRICS_PORT = typer.Option(
    None, "--metrics-port", min=0, max=65535, help="Port of /metrics and /healthz (default: setting)."
)
_CHECKPOINT_INTERVAL = typer.Option(
    5.0, "--checkpoint-interval", min=0.1, help="Seconds between checkpoints of open windows."
)
_WRITE_AT_CLOSE = typer.Option(
    False, "--write-at-close/--write-at-checkpoint", help="Write a window the events close, with its "
    "alerts, at once without the open windows' checkpoint (which then follows every "
    "--checkpoint-interval; after a crash the events since it are read again and the windows written "
    "already are dropped), or with the checkpoint (the default: each close also writes the checkpoint).",
)
_SESSION_TIMEOUT = typer.Option(
    10.0, "--session-timeout", min=1.0, help="Kafka group session timeout (s): how fast a dead member's "
    "partitions move to the others."
)
_INSTANCE_ID = typer.Option(
    None, "--instance-id", help="Kafka static group membership: a restarted process with the same id "
    "gets its partitions back at once, without a rebalance."
)
_FETCH_PROCESS = typer.Option(
    None, "--fetch-process/--no-fetch-process", help="Run the Kafka consumer in a child process: fetching "
    "and parsing records on one core, the watcher's work on another (default: setting "
    "DRIFTWARDEN_KAFKA_FETCH_PROCESS, false).", show_default=False,
)
_PROGRESS = typer.Option(
    None, "--progress/--no-progress", help="Progress bar over a file source (a backfill); default: on "
    "when stderr is a terminal.", show_default=False,
)


def _stop_on_signals() -> threading.Event:
    """An event SIGTERM and SIGINT set: a signal during the (slow) start-up must also end in a clean exit 0,
    so the handlers only flip a flag."""
    stop_event = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _s, _f: stop_event.set())
    return stop_event


def _checked_source(source: str) -> str:
    """``--source`` as given, once it is 'kafka' or an existing file (exits 2 otherwise)."""
    if source != "kafka" and not Path(source).is_file():
        fail(f"--source: {source!r} is neither 'kafka' nor an existing file")
    return source


def _consumer_config(session_timeout: float, instance_id: str | None) -> dict[str, Any]:
    """The Kafka consumer's group membership settings: session timeout, heartbeat and static membership."""
    consumer_config: dict[str, Any] = {
        "session_timeout_ms": int(session_timeout * 1000),
        "heartbeat_interval_ms": max(100, int(session_timeout * 1000 / 4)),
    }
    if instance_id:
        consumer_config["group_instance_id"] = instance_id
    return consumer_config


def _start_ops_server(registry: CollectorRegistry, service: Any, port: int) -> Any:
    """The started /metrics and /healthz server on ``port``, or None when the port is 0 (exits 2 when it
    cannot listen)."""
    from monitor.ops import OpsServer

    if not port:
        return None
    try:
        server = OpsServer(registry, service.health, port=port).start()
    except OSError as exc:
        fail(f"--metrics-port {port}: cannot listen: {exc.strerror or exc}")
    log.info("serving /metrics and /healthz", extra={"port": server.port})
    return server


def _watch(service: Any, sender: Any, server: Any, bar: Any, max_messages: int | None,
           timeout: float | None) -> Any:
    """Run the service with the notification sender beside it; stop the sender, the server and the bar
    after it, however it ends."""
    sender.start()  # notifications are delivered from this thread, never from the consuming one
    try:
        return service.run(max_messages=max_messages, timeout=timeout)
    finally:
        sender.stop(drain=True)
        if server is not None:
            server.stop()
        if bar is not None:
            bar.close()


def _report(result: Any) -> None:
    """One summary line on stderr; exit 1 when the run did not end cleanly."""
    typer.echo(
        f"driftwarden run: {result.messages} messages, {result.windows} windows, "
        f"{result.dead_letters} dead letters, stopped by {result.stopped_by}", err=True,
    )
    if not result.clean:
        raise typer.Exit(EXIT_UNCLEAN)


def _run_command(
    ctx: typer.Context,
    config: str = _CONFIG,
    source: str = _SOURCE,
    db: str | None = DB_OPTION,
    max_messages: int | None = _MAX_MESSAGES,
    timeout: float | None = _TIMEOUT,
    metrics_port: int | None = _METRICS_PORT,
    checkpoint_interval: float = _CHECKPOINT_INTERVAL,
    write_at_close: bool = _WRITE_AT_CLOSE,
    migrate: bool = migrate_option(),
    session_timeout: float = _SESSION_TIMEOUT,
    instance_id: str | None = _INSTANCE_ID,
    fetch_process: bool | None = _FETCH_PROCESS,
    progress: bool | None = _PROGRESS,
) -> None:
    """Watch the models of --config: consume events, evaluate windows, write results and alerts."""
    stop_event = _stop_on_signals()
    from monitor.json_logs import configure_logging
    from monitor.wiring import ServiceSetupError, build_sender, build_service

    settings = AppState.of(ctx).settings
    # Everything that can be checked without the database or the broker is checked first.
    loaded = load_run_config(Path(config))
    _checked_source(source)
    configure_logging(settings.log_level)
    url = database_url(ctx, db)
    registry = CollectorRegistry()
    try:  # the routes and their URLs are checked before the database is touched
        sender = build_sender(settings, loaded, url, os.environ, registry=registry)
    except ServiceSetupError as exc:
        fail(str(exc))
    prepare_database(url, migrate, wait=MIGRATE_WAIT)
    try:
        service = build_service(settings, Path(config), source, url, registry=registry,
                                checkpoint_interval=checkpoint_interval,
                                consumer_config=_consumer_config(session_timeout, instance_id),
                                stop_event=stop_event, fetch_process=fetch_process, config=loaded,
                                write_at_close=write_at_close)
    except ServiceSetupError as exc:
        fail(str(exc))
    server = _start_ops_server(registry, service, settings.metrics_port if metrics_port is None else metrics_port)
    log.info("watching", extra={"source": source, "models": sorted(service.config.models),
                                "group": settings.kafka_consumer_group})
    bar = None
    if source != "kafka" and (progress if progress is not None else sys.stderr.isatty()):
        bar = _progress_bar(service, Path(source))
    _report(_watch(service, sender, server, bar, max_messages, timeout))


def register(app: typer.Typer) -> None:
    app.command("run")(_run_command)
