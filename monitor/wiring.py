"""Wiring of the watcher: settings, configuration, source, database, metrics and alerts into one
:class:`~monitor.consumer.Service` (library code: the ``run`` command, the demo scenario and the benchmarks
call it; it never exits the process, it raises :class:`ServiceSetupError`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config.settings import Settings
from monitor.errors import MonitorError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from prometheus_client import CollectorRegistry
    from sqlalchemy import Engine

    from monitor.consumer import Service
    from monitor.consumer.deadletter import DeadLetterPublisher
    from monitor.notify.sender import NotificationSender

__all__ = ["ServiceSetupError", "build_sender", "build_service", "watcher_engine"]

log = logging.getLogger("monitor.run")


class ServiceSetupError(MonitorError):
    """The watcher cannot be built: a bad configuration, an unusable source. The message says which and why
    (one line; ``driftwarden run`` prints it and exits 2)."""


def watcher_engine(url: str) -> Engine:
    """The watcher's engine: a small pool, and a 5 s connect timeout on PostgreSQL (an outage is noticed soon)."""
    from monitor.db import make_engine

    if url.startswith("postgresql"):
        return make_engine(url, connect_args={"connect_timeout": 5}, pool_size=2, max_overflow=2)
    return make_engine(url)


def build_service(
    settings: Settings,
    config_path: Path,
    source_arg: str,
    db_url: str,
    *,
    registry: CollectorRegistry,
    checkpoint_interval: float = 5.0,
    max_batch: int = 2000,
    consumer_config: dict[str, Any] | None = None,
    stop_event: threading.Event | None = None,
    fetch_process: bool | None = None,
    config: Any = None,
    write_at_close: bool = False,
) -> Service:
    """A :class:`~monitor.consumer.Service` on ``source_arg`` (``"kafka"``: the settings' topics; else a
    JSONL/Parquet file), writing to ``db_url``.

    ``config`` is the already loaded configuration of ``config_path`` (default: loaded here). Raises
    :class:`ServiceSetupError` for a configuration that does not load or a source that cannot be opened.
    """
    from monitor.alerts.service import AlertService
    from monitor.config import ConfigError, ConfigWatcher, load_config
    from monitor.consumer import Service, ServiceOptions
    from monitor.ops import Health, Metrics
    from monitor.sources import SourceError, open_file_source
    from monitor.store.partition_store import SqlPartitionStore

    if config is None:
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            raise ServiceSetupError(str(exc)) from exc
    source: Any
    publisher = None
    if source_arg == "kafka":
        source, publisher = _kafka_source(settings, fetch_process, consumer_config)
    else:
        try:
            source = open_file_source(source_arg)
        except SourceError as exc:
            raise ServiceSetupError(f"--source: {exc}") from exc
    from monitor.notify.outbox import Outbox

    metrics = Metrics(registry)

    def count_pruned(deleted: dict[str, int]) -> None:
        for table, n in deleted.items():
            metrics.retention_deleted.labels(table=table).inc(n)

    store = SqlPartitionStore(watcher_engine(db_url), settings.kafka_consumer_group, AlertService(Outbox()),
                              retention=config.retention, on_pruned=count_pruned,
                              incident_gap=timedelta(seconds=settings.incident_gap_seconds))
    options = ServiceOptions(group_id=settings.kafka_consumer_group, checkpoint_interval=checkpoint_interval,
                             max_batch=max_batch, write_at_close=write_at_close)
    return Service(config, source, store, options, metrics=metrics, health=Health(),
                   config_source=ConfigWatcher(config_path, current=config), publisher=publisher,
                   stop_event=stop_event)


def _kafka_source(settings: Settings, fetch_process: bool | None,
                  consumer_config: dict[str, Any] | None) -> tuple[Any, DeadLetterPublisher | None]:
    """The Kafka source of the settings' topics (its fetches in a child process unless told otherwise) and
    the dead-letter topic's publisher, if one is configured and can connect."""
    from monitor.consumer.deadletter import DeadLetterPublisher
    from monitor.sources import SourceError
    from monitor.sources.kafka import KafkaSource  # kafka-python loaded only for a Kafka source
    from monitor.sources.kafka_clients import connection_options
    from monitor.sources.kafka_process import FetchProcessSource

    in_child = settings.kafka_fetch_process if fetch_process is None else fetch_process
    extra: dict[str, Any] = {"log_level": settings.log_level} if in_child else {}
    connection = connection_options(settings)  # servers, TLS and SASL, as every Kafka client gets them
    servers = connection.pop("bootstrap_servers")
    try:
        source = (FetchProcessSource if in_child else KafkaSource)(
            servers, settings.kafka_consumer_group, settings.kafka_predictions_topic,
            settings.kafka_outcomes_topic, client_id=f"driftwarden-{socket.gethostname()}-{os.getpid()}",
            **extra, **connection, **(consumer_config or {}))
    except SourceError as exc:
        raise ServiceSetupError(str(exc)) from exc
    publisher = None
    if settings.kafka_dead_letter_topic:
        try:
            publisher = DeadLetterPublisher.connect(settings, settings.kafka_dead_letter_topic)
        except Exception as exc:  # the table keeps every dead letter; the topic copy is optional
            log.warning("dead-letter topic disabled: no producer", extra={"error": str(exc)})
    return source, publisher


def build_sender(settings: Settings, config: Any, db_url: str, environ: Mapping[str, str], *,
                 registry: CollectorRegistry | None, poll_interval: float = 1.0) -> NotificationSender:
    """The notification sender of ``config``'s routes (plus ``DRIFTWARDEN_WEBHOOK_URL``), every URL resolved
    from ``environ`` and checked. Raises :class:`ServiceSetupError` naming the key of a bad route."""
    from monitor.config import ConfigError
    from monitor.notify.routes import resolve_routes
    from monitor.notify.sender import NotificationSender, SenderMetrics

    try:
        routing = resolve_routes(config.notifications, environ, source=config.source or "<config>",
                                 webhook_url=settings.webhook_url, dashboard_url=settings.dashboard_url)
    except ConfigError as exc:
        raise ServiceSetupError(str(exc)) from exc
    metrics = SenderMetrics(registry) if registry is not None else None
    return NotificationSender(watcher_engine(db_url), routing, metrics=metrics, poll_interval=poll_interval,
                              lease=settings.notify_lease)
