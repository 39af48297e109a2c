"""The embedded SQLite default with the watcher and two notification senders writing one file at once
(issue #17): no ``database is locked``, every notification delivered once, none left pending.

Each writer has its own engine (its own connections), as the watcher, its sender thread and
``driftwarden notify`` do. The watcher-style writer reads before it writes in every transaction (the model
row, then the window and its alerts), as the persist does; so do the senders' claim and record. With a
deferred ``BEGIN`` such a transaction cannot upgrade its read lock once another connection has written, and
fails at once; ``sessions.begin()`` begins with ``BEGIN IMMEDIATE`` (:mod:`monitor.db.engine`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from monitor.config.notifications import NotificationsConfig
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import NotificationRow
from monitor.notify.outbox import UNROUTED
from monitor.notify.routes import resolve_routes
from monitor.notify.sender import NotificationSender
from tests.unit.monitor.test_notify_sender import Receiver, close_window, drift

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WINDOWS = 40
DESTINATIONS = 2
"""Receivers, one destination each: every notification is posted to each."""


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


def _sender(engine: Engine, receivers: list[Receiver]) -> NotificationSender:
    config = NotificationsConfig.model_validate({"routes": [
        {"name": "all", "destinations": [{"type": "json", "url": f"http://{r.address}/"} for r in receivers]}]})
    return NotificationSender(engine, resolve_routes(config, {}), poll_interval=0.0)


def _persist_windows(engine: Engine, count: int) -> None:
    """The watcher's persist, one window a transaction that reads the model, then writes the window and its
    alert (a column of its own each time: each window writes one notification to the outbox)."""
    sessions = session_factory(engine)
    for i in range(count):
        close_window(sessions, i, [drift(f"f{i}")])


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
    receivers = [Receiver() for _ in range(DESTINATIONS)]
    senders = [_sender(engines(), receivers) for _ in range(2)]  # the watcher's thread and `driftwarden notify`
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
    assert statuses == {"routed": notifications, "sent": notifications * DESTINATIONS}  # none pending
    for receiver in receivers:  # each arrived at each destination, once: nothing to drop by its key
        keys = [body["key"] for body in receiver.bodies]
        assert len(set(keys)) == len(keys) == notifications


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement))
    return seen


def test_an_idle_pass_opens_no_write_transaction(url: str, engines: Callable[[], Engine]) -> None:
    _persist_windows(engines(), 2)
    engine = engines()
    sender = _sender(engine, [Receiver() for _ in range(DESTINATIONS)])
    assert sender.deliver_due() == 2 * DESTINATIONS
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
