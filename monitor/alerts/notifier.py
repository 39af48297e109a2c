"""Webhook notifier: Slack-compatible JSON posted from a background thread, with retries and backoff.

:meth:`WebhookNotifier.notify` never blocks and never raises: it puts the payload on a bounded queue
(dropping it, and counting the drop, when the queue is full). One worker thread posts each payload;
a 2xx answer is success; 408, 429, 5xx and network errors are retried after ``backoff * 2**attempt``
seconds (capped at ``max_backoff``), up to ``max_retries`` times; other 4xx answers are not retried.
:meth:`close` stops the worker, waiting at most ``timeout`` seconds for the queue to drain.

The body::

    {"text": "[CRITICAL] recommender: feature 'genre' drifted (psi = 0.31) - alert #12 opened",
     "attachments": [{"color": "#d32f2f", "fields": [{"title": "signal", "value": "feature_drift",
                                                      "short": true}, ...]}]}
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from typing import Any

from monitor.errors import MonitorError
from monitor.retry import retry_with_backoff

__all__ = ["WebhookNotifier", "render_slack"]

log = logging.getLogger(__name__)

COLORS = {"critical": "#d32f2f", "warning": "#f9a825", "info": "#1976d2"}
RETRY_STATUS = {408, 429}


class _Again(MonitorError):
    """An attempt that failed in a way worth another one (a 5xx, 408, 429 answer or no answer)."""


def render_slack(payload: dict[str, Any]) -> dict[str, Any]:
    """The Slack-compatible body of an alert change (see :func:`monitor.alerts.service.alert_payload`).

    >>> body = render_slack({"action": "opened", "alert_id": 3, "model": "m", "signal": "feature_drift",
    ...                      "feature": "x", "severity": "warning", "status": "open", "message": "x drifted"})
    >>> body["text"]
    '[WARNING] m: x drifted - alert #3 opened'
    """
    severity = str(payload.get("severity", "info"))
    text = (f"[{severity.upper()}] {payload.get('model')}: {payload.get('message')} - "
            f"alert #{payload.get('alert_id')} {payload.get('action')}")
    fields = [
        {"title": key, "value": str(payload[key]), "short": True}
        for key in ("signal", "feature", "status", "windows_count", "first_seen", "last_seen")
        if payload.get(key) is not None
    ]
    return {"text": text, "attachments": [{"color": COLORS.get(severity, "#9e9e9e"), "fields": fields}]}


class WebhookNotifier:
    """Posts alert changes to ``url`` without ever blocking the caller (see the module docstring)."""

    def __init__(self, url: str, *, max_retries: int = 5, backoff: float = 0.5, max_backoff: float = 30.0,
                 timeout: float = 5.0, queue_size: int = 1000) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL {url!r} must start with http:// or https://")
        self.url = url
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stats = {"queued": 0, "sent": 0, "failed": 0, "dropped": 0, "retries": 0}

    def notify(self, payload: dict[str, Any]) -> None:
        """Queue one alert change; returns at once (drops and counts it when the queue is full)."""
        if self._stop.is_set():
            self.stats["dropped"] += 1
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait(payload)
            self.stats["queued"] += 1
        except queue.Full:
            self.stats["dropped"] += 1
            log.warning("webhook queue full: alert notification dropped")

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="driftwarden-webhook", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(item)
            finally:
                self._queue.task_done()

    def _deliver(self, payload: dict[str, Any]) -> bool:
        body = json.dumps(render_slack(payload)).encode()
        attempts = 0

        def post() -> bool:  # True: sent, False: refused for good; _Again: worth another attempt
            nonlocal attempts
            attempts += 1
            request = urllib.request.Request(self.url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if 200 <= response.status < 300:
                        return True
            except urllib.error.HTTPError as exc:
                if exc.code < 500 and exc.code not in RETRY_STATUS:
                    log.warning("webhook refused the alert (HTTP %s): not retried", exc.code)
                    return False
                log.info("webhook answered HTTP %s (attempt %d)", exc.code, attempts)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                log.info("webhook unreachable (attempt %d): %s", attempts, exc)
            raise _Again

        def pause(seconds: float) -> None:
            self.stats["retries"] += 1
            if self._stop.wait(seconds):
                raise _Again  # closing: no further attempt

        try:
            sent = retry_with_backoff(post, retry_on=_Again, initial=self.backoff, maximum=self.max_backoff,
                                      give_up=lambda wait, n: n > self.max_retries, sleep=pause)
        except _Again:
            sent = False
        self.stats["sent" if sent else "failed"] += 1
        return sent

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued payload was delivered or given up; ``False`` on timeout."""
        done = threading.Event()

        def _waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=_waiter, daemon=True).start()
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Drain for at most ``timeout`` seconds, then stop the worker (pending retries are abandoned)."""
        if self._thread is None:
            self._stop.set()
            return
        self.flush(timeout)
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout=1.0)
