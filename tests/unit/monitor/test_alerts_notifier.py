"""The webhook notifier against a real HTTP server on 127.0.0.1: delivery, retries after 500s, no blocking."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monitor.alerts.notifier import WebhookNotifier, render_slack

PAYLOAD = {"action": "opened", "alert_id": 7, "model": "rec", "signal": "feature_drift", "feature": "tenure",
           "severity": "critical", "status": "open", "message": "tenure drifted", "windows_count": 1}


class Hook:
    """A webhook endpoint whose answers are scripted: a list of status codes, then 200 forever."""

    def __init__(self, statuses: list[int] | None = None, hold: threading.Event | None = None) -> None:
        self.statuses = list(statuses or [])
        self.hold = hold
        self.waiting = 0
        self.bodies: list[dict[str, Any]] = []
        self.hits = 0
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if hook.hold is not None:
                    with hook.lock:
                        hook.waiting += 1
                    hook.hold.wait(30)
                with hook.lock:
                    hook.hits += 1
                    status = hook.statuses.pop(0) if hook.statuses else 200
                    if status == 200:
                        hook.bodies.append(json.loads(body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


def test_delivers_slack_compatible_json(hook: Hook) -> None:
    notifier = WebhookNotifier(hook.url, backoff=0.01)
    notifier.notify(PAYLOAD)
    assert notifier.flush(60)
    notifier.close()
    assert hook.bodies == [render_slack(PAYLOAD)]
    body = hook.bodies[0]
    assert body["text"].startswith("[CRITICAL] rec: tenure drifted")
    assert body["attachments"][0]["color"] == "#d32f2f"
    assert notifier.stats["sent"] == 1


def test_retries_after_500s_then_succeeds() -> None:
    h = Hook(statuses=[500, 503, 502])
    try:
        notifier = WebhookNotifier(h.url, backoff=0.01, max_retries=5)
        notifier.notify(PAYLOAD)
        assert notifier.flush(60)
        notifier.close()
        assert h.hits == 4 and len(h.bodies) == 1
        assert notifier.stats["retries"] == 3 and notifier.stats["sent"] == 1 and notifier.stats["failed"] == 0
    finally:
        h.close()


def test_gives_up_after_max_retries_and_on_4xx() -> None:
    h = Hook(statuses=[500] * 10 + [400])
    try:
        notifier = WebhookNotifier(h.url, backoff=0.01, max_retries=2)
        notifier.notify(PAYLOAD)
        assert notifier.flush(60)
        assert h.hits == 3 and notifier.stats["failed"] == 1
        h.statuses = [404]
        notifier.notify(PAYLOAD)
        assert notifier.flush(60)
        assert h.hits == 4 and notifier.stats["failed"] == 2  # a 4xx is not retried
        notifier.close()
    finally:
        h.close()


def test_hanging_or_dead_webhook_never_blocks_notify() -> None:
    release = threading.Event()
    hanging = Hook(hold=release)
    try:
        notifier = WebhookNotifier(hanging.url, timeout=30, backoff=0.01, max_retries=1, queue_size=5)
        notifier.notify(PAYLOAD)
        while hanging.waiting == 0:  # the worker's first request is now stuck in the server
            time.sleep(0.01)
        for _ in range(49):
            notifier.notify(PAYLOAD)
        # we got here while the webhook still holds the first request: notify() did not wait for it
        assert not release.is_set() and hanging.hits == 0
        assert notifier.stats["queued"] == 6 and notifier.stats["dropped"] == 44  # bounded queue of 5
        release.set()
        assert notifier.flush(60)
        assert len(hanging.bodies) == 6
        notifier.close()
    finally:
        release.set()
        hanging.close()
    dead = WebhookNotifier("http://127.0.0.1:9/nothing", timeout=0.2, backoff=0.01, max_retries=2)
    dead.notify(PAYLOAD)
    assert dead.flush(60) and dead.stats["failed"] == 1
    dead.close()


def test_rejects_non_http_urls() -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookNotifier("ftp://example.com")
