"""Notifications are delivered at least once across a crash, and a receiver deduplicating on the key sees each
once: ``driftwarden run`` (a process, real PostgreSQL) commits alert changes with their outbox rows and posts
them to a real local HTTP receiver; it is SIGKILLed while the receiver holds the first notification (committed,
sent, not yet answered); ``driftwarden notify`` (a process) then delivers every committed row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

from monitor.commands.reference import build_reference
from scenario import generate_scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DRIVER = [sys.executable, "-m", "monitor.cli"]


class Receiver:
    """A JSON webhook that keeps every body it was sent and the ones it accepted, deduplicated on ``key``;
    while ``hold`` is set it does not answer (a sender waiting on it can be killed mid-send)."""

    def __init__(self) -> None:
        self.arrived: list[dict[str, Any]] = []
        self.accepted: dict[str, dict[str, Any]] = {}
        self.duplicates = 0
        self.hold = threading.Event()
        self.first = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.arrived.append(body)
                receiver.first.set()
                deadline = time.monotonic() + 60
                while receiver.hold.is_set() and time.monotonic() < deadline:
                    time.sleep(0.05)
                if body["key"] in receiver.accepted:
                    receiver.duplicates += 1
                else:
                    receiver.accepted[body["key"]] = body
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def _rows(url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT key, destination, status FROM notifications ORDER BY id")).all()
    engine.dispose()
    return [(str(k), str(d), str(s)) for k, d, s in rows]


def test_sigkill_between_commit_and_answer_then_delivered_once(tmp_path: Path, migrated_pg_url: str) -> None:
    files = generate_scenario(tmp_path / "gen", seed=4, days=6, events_per_hour=60, reference_rows=1500)
    receiver = Receiver()
    raw = yaml.safe_load(files.config.read_text())
    model = raw["models"]["recommender"]
    model["reference"]["path"] = str(files.reference)
    model["performance"]["reference"]["path"] = str(files.validation)
    raw["notifications"] = {"dashboard_url": "http://dash.example", "routes": [
        {"name": "hook", "destinations": [{"type": "json", "url_env": "TEST_HOOK_URL"}]}]}
    config = tmp_path / "watch.yaml"
    config.write_text(yaml.safe_dump(raw))
    build_reference("recommender", files.reference, config, migrated_pg_url, progress=False)
    env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": migrated_pg_url, "DRIFTWARDEN_METRICS_PORT": "0",
           "DRIFTWARDEN_NOTIFY_LEASE": "1", "TEST_HOOK_URL": receiver.url}

    receiver.hold.set()
    watcher = subprocess.Popen([*DRIVER, "run", "--config", str(config), "--source", str(files.events),
                                "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert receiver.first.wait(300), "no notification arrived"
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    held = receiver.arrived[0]["key"]
    rows = _rows(migrated_pg_url)
    assert (held, "hook#0", "pending") in rows  # committed, sent, never marked: the crash's window
    receiver.hold.clear()
    time.sleep(1.5)  # the receiver answers the killed sender's request; the lease runs out

    notifier = subprocess.Popen([*DRIVER, "notify", "--config", str(config), "--poll-interval", "0.2"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(s == "pending" for _, _, s in _rows(migrated_pg_url)):
            time.sleep(0.3)
        notifier.send_signal(signal.SIGTERM)
        notifier.wait(30)
    finally:
        if notifier.poll() is None:
            notifier.kill()
    rows = _rows(migrated_pg_url)
    delivered = {k for k, d, s in rows if d == "hook#0"}
    assert rows and all(s in ("sent", "routed") for _, _, s in rows), rows
    assert set(receiver.accepted) == delivered  # every committed notification, each accepted once
    assert [b["key"] for b in receiver.arrived].count(held) == 2  # the held one was sent twice...
    assert receiver.duplicates == 1  # ...and deduplicated by the receiver
    body = receiver.accepted[held]
    assert body["alerts"] and all(a["url"] == f"http://dash.example/alerts?alert={a['alert_id']}"
                                  for a in body["alerts"])
