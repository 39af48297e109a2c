"""The outbox's sender on embedded SQLite against real local HTTP receivers: routing by model, severity and
signal; Slack, JSON and Apprise (``json://``) bodies carrying the key; retries with backoff on 5xx, no retry on
a 4xx; the Prometheus counters; nothing written when the transaction rolls back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.service import AlertService
from monitor.config.notifications import NotificationsConfig
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import NotificationRow, WindowResult
from monitor.notify.outbox import Outbox
from monitor.notify.routes import resolve_routes
from monitor.notify.sender import NotificationSender, SenderMetrics
from monitor.pipeline.alert_signals import Signal
from monitor.store.models_repo import get_or_create_model

T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Receiver:
    """Answers each POST with the next status of ``statuses`` (then 200) and keeps the bodies and headers."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                receiver.headers.append(dict(self.headers))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def sessions(tmp_path: Any) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path}/dw.db"
    upgrade(url)
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


def close_window(sessions: sessionmaker[Session], i: int, signals: list[Signal], model: str = "rec") -> None:
    with sessions.begin() as s:
        m = get_or_create_model(s, model)
        row = WindowResult(model_id=m.id, window_key=f"count:{i}", window_start=T0 + timedelta(hours=i),
                           window_end=T0 + timedelta(hours=i + 1), n_events=100, reference_version=1,
                           preset="default", dataset_drift=False, drift_share=0.0, report={})
        s.add(row)
        s.flush()
        AlertService(Outbox()).process_window(s, model, row, signals)


def sender(sessions: sessionmaker[Session], routes: list[dict[str, Any]], **kw: Any) -> NotificationSender:
    config = NotificationsConfig.model_validate({"routes": routes, "dashboard_url": "http://dash",
                                                 "runbooks": {"feature_drift": "http://wiki/drift"}})
    return NotificationSender(sessions.kw["bind"], resolve_routes(config, {}), **kw)


def drift(feature: str, severity: str = "warning") -> Signal:
    return Signal("feature_drift", severity, f"{feature} drifted", feature, 0.3)


def test_one_notification_per_window_routed_by_severity_to_slack_json_and_apprise(
        sessions: sessionmaker[Session]) -> None:
    everything, critical, via_apprise = Receiver(), Receiver(), Receiver()
    s = sender(sessions, [
        {"name": "all", "destinations": [{"type": "json", "url": f"http://{everything.address}/"}]},
        {"name": "crit", "severities": ["critical"], "destinations": [
            {"type": "slack", "url": f"http://{critical.address}/"}]},
        {"name": "other-model", "models": ["other"], "destinations": [
            {"type": "apprise", "url": f"json://{via_apprise.address}/"}]},
    ])
    close_window(sessions, 0, [drift("a"), drift("b"), drift("c")])  # three columns, one notification
    close_window(sessions, 1, [drift("a", "critical"), drift("b"), drift("c")])  # one escalation
    close_window(sessions, 0, [Signal("traffic_volume", "warning", "volume low", None, 0.2)], model="other")
    assert s.deliver_due() == 5  # three to "all", one to "crit", one to "other-model"
    assert [[(a["action"], a["feature"]) for a in b["alerts"]] for b in everything.bodies] == [
        [("opened", "a"), ("opened", "b"), ("opened", "c")], [("escalated", "a")], [("opened", None)]]
    first = everything.bodies[0]["alerts"][0]
    assert (first["url"], first["runbook"]) == (f"http://dash/alerts?alert={first['alert_id']}", "http://wiki/drift")
    assert len(critical.bodies) == 1 and critical.bodies[0]["text"].startswith("[CRITICAL] rec: a drifted")
    assert critical.bodies[0]["key"] == everything.bodies[1]["key"] == critical.headers[0]["Idempotency-Key"]
    assert len(via_apprise.bodies) == 1 and everything.bodies[2]["key"] in via_apprise.bodies[0]["message"]
    assert s.deliver_due() == 0  # all sent: nothing twice


def test_retries_with_backoff_then_gives_up_and_counts(sessions: sessionmaker[Session]) -> None:
    flaky, refusing = Receiver([503, 500]), Receiver([404])
    now = [T0]
    registry = CollectorRegistry()
    s = sender(sessions, [{"name": "flaky", "destinations": [{"type": "json", "url": f"http://{flaky.address}/"}]},
                          {"name": "gone", "destinations": [{"type": "json", "url": f"http://{refusing.address}/"}]}],
               metrics=SenderMetrics(registry), clock=lambda: now[0], initial_backoff=10, max_backoff=15)
    close_window(sessions, 0, [drift("a")])
    value = registry.get_sample_value
    assert s.deliver_due() == 0  # 503 and 404
    assert value("driftwarden_notifications_failed_total", {"destination": "gone#0"}) == 1
    assert value("driftwarden_notifications_retried_total", {"destination": "flaky#0"}) == 1
    assert value("driftwarden_notifications_pending") == 1
    now[0] += timedelta(seconds=9)
    assert s.deliver_due() == 0 and len(flaky.bodies) == 1  # not due before 10 s
    now[0] += timedelta(seconds=1)
    assert s.deliver_due() == 0 and len(flaky.bodies) == 2  # 500: the next wait is 20 s, capped at 15 s
    now[0] += timedelta(seconds=15)
    assert s.deliver_due() == 1 and len(flaky.bodies) == 3
    assert value("driftwarden_notifications_sent_total", {"destination": "flaky#0"}) == 1
    assert value("driftwarden_notifications_pending") == 0
    assert len(refusing.bodies) == 1  # a 404 is never retried
    with sessions() as sess:
        rows = {r.destination: (r.status, r.attempts) for r in sess.scalars(select(NotificationRow))}
    assert rows == {"*": ("routed", 0), "flaky#0": ("sent", 3), "gone#0": ("failed", 1)}


def test_nothing_is_written_when_the_transaction_rolls_back(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), sessions.begin() as s:
        m = get_or_create_model(s, "rec")
        row = WindowResult(model_id=m.id, window_key="count:0", window_start=T0, window_end=T0 + timedelta(hours=1),
                           n_events=1, reference_version=1, preset="default", dataset_drift=False, drift_share=0.0,
                           report={})
        s.add(row)
        s.flush()
        AlertService(Outbox()).process_window(s, "rec", row, [drift("a")])
        raise RuntimeError("the persist failed later")
    close_window(sessions, 0, [drift("b")])
    with sessions() as sess:
        rows = list(sess.scalars(select(NotificationRow)))
    assert [[a["feature"] for a in r.payload["alerts"]] for r in rows] == [["b"]]
