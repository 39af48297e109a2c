"""The delivering half of the transactional outbox: :class:`NotificationSender`.

It runs in a thread of the watcher (``driftwarden run``) or on its own (``driftwarden notify``), never on
the consuming thread. Every ``poll_interval`` seconds it first routes the new notifications (destination
``*``, written by :mod:`monitor.notify.outbox`): in one transaction, each becomes one row per destination of
the routes matching one of its alerts (its alerts given their dashboard link and runbook), and is marked
``routed`` (``unrouted`` when no route matches). Then it claims up to ``batch`` due rows (``pending``,
``next_attempt_at`` reached) by moving their ``next_attempt_at`` a lease ahead and committing (PostgreSQL:
``FOR UPDATE SKIP LOCKED``, so two senders do not claim the same row; SQLite: ``BEGIN IMMEDIATE``, one claim
at a time), then delivers each one outside any transaction and records the outcome, in a transaction of its
own. A pass first looks for work in a read-only session: an idle pass (nothing to route, nothing due) opens no
write transaction, so on SQLite it neither waits for the write lock nor holds it (the rule of
:mod:`monitor.db.engine`). The outcomes:

- delivered (a 2xx answer; Apprise reports success): ``sent``;
- a 408, 429, 5xx answer, no answer, or Apprise reporting failure: attempt ``n`` failed, retried
  ``min(max_backoff, initial_backoff * 2**(n-1))`` seconds later; after ``max_attempts`` attempts ``failed``;
- any other 4xx answer, or a destination no longer configured: ``failed`` at once.

A crash after the commit and before the send leaves the row ``pending``: it is delivered after the restart
(once its lease ran out). A crash after the send and before the row is marked sends it again: at least
once, with the same ``key`` in the body (and the ``Idempotency-Key`` header) for the receiver to drop the copy.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, exists, func, select

from monitor.db.base import utcnow
from monitor.db.engine import session_factory
from monitor.db.models import NotificationRow
from monitor.errors import MonitorError
from monitor.notify.outbox import UNROUTED
from monitor.notify.render import render_slack, render_text
from monitor.notify.routes import Destination, Routing, quiet_apprise

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from sqlalchemy import Engine

__all__ = ["DeliveryRefused", "NotificationSender", "SenderMetrics"]

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 429}


class SenderMetrics:
    """``driftwarden_notifications_sent`` / ``_failed`` (given up) / ``_retried`` by destination, and the
    ``driftwarden_notifications_pending`` gauge (rows not yet sent nor given up)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Gauge

        self.sent = Counter("driftwarden_notifications_sent", "Notifications delivered, by destination.",
                            ["destination"], registry=registry)
        self.failed = Counter("driftwarden_notifications_failed", "Notifications given up, by destination.",
                              ["destination"], registry=registry)
        self.retried = Counter("driftwarden_notifications_retried", "Failed delivery attempts to be retried, "
                               "by destination.", ["destination"], registry=registry)
        self.pending = Gauge("driftwarden_notifications_pending", "Notifications waiting to be delivered.",
                             registry=registry)


class DeliveryRefused(MonitorError):
    """The destination refused the notification for good (a 4xx other than 408/429, or no longer configured)."""


class NotificationSender:
    """Delivers the outbox's rows (see the module docstring)."""

    def __init__(self, engine: Engine, routing: Routing, *, metrics: SenderMetrics | None = None,
                 poll_interval: float = 1.0, batch: int = 50, initial_backoff: float = 1.0,
                 max_backoff: float = 300.0, max_attempts: int = 10, lease: float = 60.0, timeout: float = 10.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = session_factory(engine)
        self.is_postgres = engine.dialect.name == "postgresql"
        self.routing = routing
        self.destinations = routing.destinations
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.batch = batch
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.lease = lease
        self.timeout = timeout
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ------------------------------------------------------------------------------------
    def _decorate(self, alert: dict[str, Any]) -> dict[str, Any]:
        base = self.routing.dashboard_url
        runbook = (self.routing.runbooks or {}).get(str(alert["signal"]))
        return {**alert, "url": f"{base}/alerts?alert={alert['alert_id']}" if base else None, "runbook": runbook}

    def _any(self, *where: ColumnElement[bool]) -> bool:
        """Whether a pending row matches ``where``: one read, no write transaction."""
        with self.sessions() as session:
            return bool(session.scalar(select(exists().where(NotificationRow.status == "pending", *where))))

    def route_new(self) -> int:
        """Fan the new notifications out to their destinations (see the module docstring); how many routed."""
        now = self.clock()
        new = NotificationRow.destination == UNROUTED
        if not self._any(new):
            return 0
        with self.sessions.begin() as session:
            query = (select(NotificationRow).where(NotificationRow.status == "pending", new)
                     .order_by(NotificationRow.id).limit(self.batch))
            if self.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            for row in rows:
                payload = {**row.payload, "alerts": [self._decorate(a) for a in row.payload["alerts"]]}
                targets = self.routing.destinations_for(payload["alerts"])
                session.add_all(NotificationRow(key=row.key, destination=d.name, payload=payload, status="pending",
                                                attempts=0, created_at=row.created_at, next_attempt_at=now)
                                for d in targets)
                row.status = "routed" if targets else "unrouted"
        return len(rows)

    def _claim(self) -> list[NotificationRow]:
        now = self.clock()
        due = (NotificationRow.destination != UNROUTED, NotificationRow.next_attempt_at <= now)
        if not self._any(*due):
            return []
        with self.sessions.begin() as session:
            query = (select(NotificationRow).where(NotificationRow.status == "pending", *due)
                     .order_by(NotificationRow.id).limit(self.batch))
            if self.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            for row in rows:
                row.next_attempt_at = now + timedelta(seconds=self.lease)
        return rows

    def deliver_due(self) -> int:
        """Claim and deliver the due rows once; the number delivered."""
        self.route_new()
        delivered = 0
        for row in self._claim():
            error: str | None = None
            permanent = False
            destination = self.destinations.get(row.destination)
            try:
                if destination is None:
                    raise DeliveryRefused(f"destination {row.destination!r} is no longer configured")
                self._send(destination, row)
            except DeliveryRefused as exc:
                error, permanent = str(exc), True
            except Exception as exc:  # any other failure is worth another attempt
                error = f"{type(exc).__name__}: {exc}"
            self._record(row.id, row.destination, error, permanent)
            delivered += error is None
        self._refresh_pending()
        return delivered

    def _send(self, destination: Destination, row: NotificationRow) -> None:
        if destination.type == "apprise":
            import apprise

            title, body = render_text(row.payload)
            notifier = apprise.Apprise()
            with quiet_apprise():
                notifier.add(destination.url)
                done = notifier.notify(title=title, body=body)
            if not done:
                raise RuntimeError("apprise reported a failed delivery")
            return
        content = render_slack(row.payload) if destination.type == "slack" else row.payload
        request = urllib.request.Request(destination.url, data=json.dumps(content).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "Idempotency-Key": row.key})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):
                return
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code not in RETRY_STATUS:
                raise DeliveryRefused(f"HTTP {exc.code}") from None
            raise RuntimeError(f"HTTP {exc.code}") from None

    def _record(self, row_id: int, destination: str, error: str | None, permanent: bool) -> None:
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(NotificationRow, row_id)
            if row is None:
                return
            row.attempts += 1
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
                self._count("sent", destination)
                return
            row.last_error = error[:1000]
            if permanent or row.attempts >= self.max_attempts:
                row.status = "failed"
                self._count("failed", destination)
                log.warning("notification given up", extra={"destination": destination, "error": error,
                                                            "attempts": row.attempts})
                return
            wait = min(self.max_backoff, self.initial_backoff * 2 ** (row.attempts - 1))
            row.next_attempt_at = now + timedelta(seconds=wait)
            self._count("retried", destination)
            log.info("notification will be retried", extra={"destination": destination, "error": error,
                                                            "wait": wait})

    def _count(self, what: str, destination: str) -> None:
        if self.metrics is not None:
            getattr(self.metrics, what).labels(destination=destination).inc()

    def _refresh_pending(self) -> None:
        if self.metrics is None:
            return
        with self.sessions() as session:
            count = session.scalar(select(func.count()).select_from(NotificationRow)
                                   .where(NotificationRow.status == "pending"))
        self.metrics.pending.set(count or 0)

    # -- a loop ----------------------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None) -> None:
        """Deliver every ``poll_interval`` seconds until ``stop`` (default: :meth:`stop`) is set; a database
        error is logged and the next pass tries again."""
        stop = stop or self._stop
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception as exc:
                log.warning("notification pass failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            stop.wait(self.poll_interval)

    def start(self) -> NotificationSender:
        """Run :meth:`run` in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="driftwarden-notify", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0, *, drain: bool = False) -> None:
        """Stop the thread; ``drain``: then one last pass over the due rows (what is still not delivered stays
        pending for the next start)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if drain:
            try:
                self.deliver_due()
            except Exception as exc:
                log.warning("notification pass failed", extra={"error": f"{type(exc).__name__}: {exc}"})
