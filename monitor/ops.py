"""Operations: Prometheus metrics on an injected registry, a health state, and the ``/metrics`` +
``/healthz`` HTTP server.

Tests build :class:`Metrics` on their own ``CollectorRegistry`` and read values with ``get_sample_value``:

>>> from prometheus_client import CollectorRegistry
>>> registry = CollectorRegistry()
>>> metrics = Metrics(registry)
>>> metrics.dead_letters.labels(reason="malformed").inc()
>>> registry.get_sample_value("driftwarden_dead_letters_total", {"reason": "malformed"})
1.0
>>> health = Health(stall_after=60.0, clock=lambda: 100.0)
>>> health.beat(); health.set("database", True, "up"); health.status()[0]
True
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["LATENCY_BUCKETS", "Health", "Metrics", "OpsServer"]

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Every metric of the watcher, registered on ``registry`` (never on the global default in tests)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events_consumed = Counter(
            "driftwarden_events_consumed", "Messages consumed, by kind (prediction, outcome, any).",
            ["kind"], registry=registry,
        )
        self.consumer_lag = Gauge(
            "driftwarden_consumer_lag", "Messages behind the end of the partition.",
            ["topic", "partition"], registry=registry,
        )
        self.dead_letters = Counter(
            "driftwarden_dead_letters", "Messages sent to the dead-letter table, by reason category.",
            ["reason"], registry=registry,
        )
        self.windows_evaluated = Counter(
            "driftwarden_windows_evaluated", "Windows closed, evaluated and persisted.", ["model"],
            registry=registry,
        )
        self.alerts_opened = Counter(
            "driftwarden_alerts_opened", "Alerts opened (new incidents).", ["model"], registry=registry,
        )
        self.processing_latency = Histogram(
            "driftwarden_processing_latency_seconds",
            "Time from a batch being polled to its events being processed (and persisted when due).",
            buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.persist_seconds = Histogram(
            "driftwarden_persist_seconds", "Duration of one persist transaction.",
            buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.persist_failures = Counter(
            "driftwarden_persist_failures", "Failed persist transactions, by kind (transient, conflict).",
            ["kind"], registry=registry,
        )
        self.database_up = Gauge("driftwarden_database_up", "1 while the database accepts writes.",
                                 registry=registry)
        self.config_reloads = Counter(
            "driftwarden_config_reloads", "Configuration reloads, by result (ok, error).", ["result"],
            registry=registry,
        )
        self.assigned_partitions = Gauge("driftwarden_assigned_partitions", "Partition numbers owned.",
                                         registry=registry)
        self._declare_join_metrics(registry)
        self.segment_values_pooled = Counter(
            "driftwarden_segment_values_pooled",
            "Segment or fairness-group values pooled as 'other' at window close, by reason: capped (past "
            "max_segments / max_groups) or non_string (a value that is not a string).",
            ["model", "reason"], registry=registry,
        )
        self.retention_deleted = Counter(
            "driftwarden_retention_deleted", "Rows deleted by the retention policy, by table.", ["table"],
            registry=registry,
        )
        self._pipeline_seen: dict[tuple[int, str, str], int] = {}

    def _declare_join_metrics(self, registry: CollectorRegistry) -> None:
        """The metrics of the label and outcome joins (kept up to date by :meth:`observe_pipelines`)."""
        self.labels_joined = Counter(
            "driftwarden_labels_joined", "Labels attached to a waiting prediction (a new or changed label).",
            ["model"], registry=registry,
        )
        self.labels_unmatched = Counter(
            "driftwarden_labels_unmatched",
            "Labels for an unknown or expired prediction (never seen, spilled, unscored, past label_ttl): "
            "counted, not an error.", ["model"], registry=registry,
        )
        self.labels_spilled = Counter(
            "driftwarden_labels_spilled",
            "Predictions whose window was finalized before label_ttl because max_awaiting_labels was reached.",
            ["model"], registry=registry,
        )
        self.awaiting_labels = Gauge(
            "driftwarden_awaiting_labels", "Predictions kept waiting for their label (owned partitions).",
            ["model"], registry=registry,
        )
        self.outcomes_spilled = Counter(
            "driftwarden_outcomes_spilled",
            "Outcomes (labels included) that waited for their prediction and were dropped because "
            "max_waiting_outcomes was reached; a label among them also counts in labels_unmatched.",
            ["model"], registry=registry,
        )
        self.waiting_outcomes = Gauge(
            "driftwarden_waiting_outcomes",
            "Outcomes (labels included) kept waiting for their prediction (owned partitions).",
            ["model"], registry=registry,
        )

    def observe_pipelines(self, stats: Mapping[int, Mapping[str, Any]]) -> None:
        """Bring the label and join metrics up to date from ``Pipeline.stats()`` of every owned partition.

        Counters grow by what each pipeline counted since the last call (a partition seen for the first
        time, or whose counters went down because it was restored from an older checkpoint, is taken as
        the new baseline); the gauge is the sum over the partitions given (those absent are forgotten).
        """
        awaiting: dict[str, int] = {}
        waiting: dict[str, int] = {}
        seen: dict[tuple[int, str, str], int] = {}
        counters = (("labels_joined", self.labels_joined), ("labels_unmatched", self.labels_unmatched),
                    ("labels_spilled", self.labels_spilled), ("outcomes_spilled", self.outcomes_spilled))
        for partition, pipeline_stats in stats.items():
            for model, model_stats in (pipeline_stats.get("models") or {}).items():
                awaiting[model] = awaiting.get(model, 0) + int(model_stats.get("awaiting_labels", 0))
                waiting[model] = waiting.get(model, 0) + int(model_stats.get("waiting_outcomes", 0))
                for name, counter in counters:
                    key = (partition, model, name)
                    now = seen[key] = int(model_stats.get(name, 0))
                    before = self._pipeline_seen.get(key)
                    child = counter.labels(model=model)  # (a model's counters show from its first sight, at 0)
                    if before is not None and now > before:
                        child.inc(now - before)
                for reason in ("capped", "non_string"):
                    key = (partition, model, f"segments_{reason}")
                    now = seen[key] = int(model_stats.get(f"segments_{reason}", 0))
                    before = self._pipeline_seen.get(key)
                    if before is not None and now > before:
                        self.segment_values_pooled.labels(model=model, reason=reason).inc(now - before)
        gone = {m for _, m, _ in self._pipeline_seen} - set(awaiting)
        for model in gone:
            self.awaiting_labels.labels(model=model).set(0)
            self.waiting_outcomes.labels(model=model).set(0)
        for model, n in awaiting.items():
            self.awaiting_labels.labels(model=model).set(n)
            self.waiting_outcomes.labels(model=model).set(waiting[model])
        self._pipeline_seen = seen


class Health:
    """Thread-safe health state: components (database, source) plus the loop's heartbeat.

    Healthy when every component is up and the loop beat within ``stall_after`` seconds.
    """

    def __init__(self, stall_after: float = 120.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._components: dict[str, tuple[bool, str]] = {}
        self._stall_after = stall_after
        self._clock = clock
        self._last_beat: float | None = None

    def beat(self) -> None:
        with self._lock:
            self._last_beat = self._clock()

    def set(self, component: str, ok: bool, detail: str = "") -> None:
        with self._lock:
            self._components[component] = (ok, detail)

    def status(self) -> tuple[bool, dict[str, Any]]:
        with self._lock:
            now = self._clock()
            age = None if self._last_beat is None else now - self._last_beat
            loop_ok = age is not None and age <= self._stall_after
            components = {name: {"ok": ok, "detail": d} for name, (ok, d) in self._components.items()}
        ok = loop_ok and all(c["ok"] for c in components.values())
        body = {
            "status": "ok" if ok else "unhealthy",
            "loop": {"ok": loop_ok, "seconds_since_beat": None if age is None else round(age, 3)},
            "components": components,
        }
        return ok, body


class OpsServer:
    """``GET /metrics`` (Prometheus text format of ``registry``) and ``GET /healthz`` (JSON; 200 or 503),
    served from a daemon thread. ``port=0`` picks a free port (see :attr:`port`)."""

    def __init__(self, registry: CollectorRegistry, health: Health, host: str = "0.0.0.0", port: int = 9108) -> None:
        self.registry = registry
        self.health = health
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(outer.registry))
                elif path == "/healthz":
                    ok, body = outer.health.status()
                    self._send(200 if ok else 503, "application/json", json.dumps(body).encode())
                else:
                    self._send(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("ops http " + format, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="driftwarden-ops", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> OpsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
