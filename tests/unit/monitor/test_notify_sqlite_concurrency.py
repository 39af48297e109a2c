"""The embedded SQLite default with the watcher and two notification senders writing one file at once
(issue #17): no ``database is locked``, every notification delivered once, none left pending.

Each writer has its own engine (its own connections), as the watcher, its sender thread and
``driftwarden notify`` do. The watcher-style writer reads before it writes in every transaction (the model
row, then the window and its alerts), as the persist does; so do the senders' claim and record. With a
deferred ``BEGIN`` such a transaction cannot upgrade its read lock once another connection has written, and
fails at once; ``sessions.begin()`` begins with ``BEGIN IMMEDIATE`` (:mod:`monitor.db.engine`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from monitor.alerts.service import AlertService
from monitor.config.notifications import NotificationsConfig
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import NotificationRow, WindowResult
from monitor.notify.outbox import UNROUTED, Outbox
from monitor.notify.routes import resolve_routes
from monitor.notify.sender import NotificationSender
from monitor.pipeline.alert_signals import Signal
from monitor.store.models_repo import get_or_create_model

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WINDOWS = 40
DESTINATIONS = ("a", "b")


class DedupReceiver:
    """A webhook receiver that keeps every (path, Idempotency-Key) it is posted, duplicates included."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert body["key"] == self.headers["Idempotency-Key"]
                posts.append((self.path, self.headers["Idempotency-Key"]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{path}"

    def delivered(self) -> set[tuple[str, str]]:
        """What a receiver that drops a key it has seen (per destination) keeps."""
        return set(self.posts)


@pytest.fixture
def url(tmp_path: Any) -> str:
    url = f"sqlite:///{tmp_path}/dw.db"
    upgrade(url)
    return url


@pytest.fixture
def engines(url: str) -> Iterator[Callable[[], Engine]]:
    made: list[Engine] = []

    def new() -> Engine:
        made.append(make_engine(url))
        return made[-1]

    yield new
    for engine in made:
        engine.dispose()


def _sender(engine: Engine, receiver: DedupReceiver) -> NotificationSender:
    config = NotificationsConfig.model_validate({"routes": [
        {"name": "all", "destinations": [{"type": "json", "url": receiver.url(p)} for p in DESTINATIONS]}]})
    return NotificationSender(engine, resolve_routes(config, {}), poll_interval=0.0)


def _persist_windows(engine: Engine, count: int) -> None:
    """The watcher's persist, one window a transaction: read the model, then write the window and its alert
    (each window opens an alert on a column of its own, so each writes a notification to the outbox)."""
    sessions = session_factory(engine)
    for i in range(count):
        signals = [Signal("feature_drift", "warning", f"f{i} drifted", f"f{i}", 0.3)]
        with sessions.begin() as s:
            model = get_or_create_model(s, "rec")
            row = WindowResult(model_id=model.id, window_key=f"count:{i}", window_start=T0 + timedelta(hours=i),
                               window_end=T0 + timedelta(hours=i + 1), n_events=100, reference_version=1,
                               preset="default", dataset_drift=False, drift_share=0.0, report={})
            s.add(row)
            s.flush()
            AlertService(Outbox()).process_window(s, "rec", row, signals)


def _run(name: str, work: Callable[[], None], errors: list[str]) -> threading.Thread:
    def guarded() -> None:
        try:
            work()
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=guarded, name=name)
    thread.start()
    return thread


def test_watcher_and_two_senders_on_one_file_deliver_each_notification_once(
        engines: Callable[[], Engine]) -> None:
    receiver = DedupReceiver()
    senders = [_sender(engines(), receiver) for _ in range(2)]  # the watcher's thread and `driftwarden notify`
    errors: list[str] = []
    watcher_done = threading.Event()

    def watcher() -> None:
        try:
            _persist_windows(engines(), WINDOWS)
        finally:
            watcher_done.set()

    def passes(sender: NotificationSender) -> Callable[[], None]:
        def loop() -> None:
            while not watcher_done.is_set():
                sender.deliver_due()  # a pass that fails is an error here (the loop of run() would log it)
            sender.deliver_due()  # what the last windows wrote

        return loop

    threads = [_run("watcher", watcher, errors)]
    threads += [_run(f"sender{i}", passes(s), errors) for i, s in enumerate(senders)]
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    with session_factory(engines())() as s:
        notifications = s.scalar(select(func.count()).where(NotificationRow.destination == UNROUTED)) or 0
        statuses = Counter({status: n for status, n in s.execute(
            select(NotificationRow.status, func.count()).group_by(NotificationRow.status))})
    assert notifications == WINDOWS  # one a window
    assert statuses == {"routed": notifications, "sent": notifications * len(DESTINATIONS)}  # none pending
    assert len(receiver.delivered()) == notifications * len(DESTINATIONS)  # every one arrived at each destination
    assert len(receiver.posts) == len(receiver.delivered())  # and only once: nothing for the receiver to drop


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement))
    return seen


def test_an_idle_pass_opens_no_write_transaction(url: str, engines: Callable[[], Engine]) -> None:
    receiver = DedupReceiver()
    _persist_windows(engines(), 2)
    engine = engines()
    sender = _sender(engine, receiver)
    assert sender.deliver_due() == 2 * len(DESTINATIONS)
    seen = _statements(engine)
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock: an idle pass does not wait for it
    started = time.monotonic()
    try:
        assert sender.deliver_due() == 0
    finally:
        other.rollback()
        other.close()
    assert time.monotonic() - started < 5
    assert seen and [s for s in seen if not s.startswith(("BEGIN", "SELECT"))] == []
    assert "BEGIN IMMEDIATE" not in seen


def test_sessions_begin_is_immediate_and_sessions_are_deferred(engines: Callable[[], Engine]) -> None:
    engine = engines()
    sessions = session_factory(engine)
    seen = _statements(engine)
    with sessions() as s:
        s.execute(text("SELECT 1"))
    with sessions.begin() as s:
        s.execute(text("SELECT 2"))
    assert seen == ["BEGIN", "SELECT 1", "BEGIN IMMEDIATE", "SELECT 2"]
