"""AlertService against the real PostgreSQL server and embedded SQLite: lifecycle, dedup, auto-resolve,
notification rows written in the alert change's transaction (none after a rollback), and a hanging receiver
that never blocks ``process_window`` (the sender delivers from its own thread)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.errors import AlertNotFoundError, AlertStateError
from monitor.alerts.service import AlertService, list_alerts
from monitor.config.notifications import NotificationsConfig
from monitor.db import make_engine, session_factory
from monitor.db.models import Alert, AlertEvent, NotificationRow, WindowResult
from monitor.notify.outbox import Outbox
from monitor.notify.routes import resolve_routes
from monitor.notify.sender import NotificationSender
from monitor.pipeline.alert_signals import Signal
from monitor.store.models_repo import get_or_create_model

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DRIFT = Signal("feature_drift", "warning", "tenure drifted", "tenure", 0.3)
WORSE = Signal("feature_drift", "critical", "tenure drifted a lot", "tenure", 0.9)
# a window-close signal: label signals (business_metric_drop, performance_drop) are judged by
# AlertService.process_labels, and a closing window never counts as clean for them
VOLUME = Signal("traffic_volume", "warning", "volume 0.2 x reference", None, 0.2)


class Recorder(Outbox):
    """The outbox, and the alert changes its committed rows hold (in the order written)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__()
        self.sessions = sessions

    @property
    def items(self) -> list[dict[str, Any]]:
        with self.sessions() as s:
            rows = s.scalars(select(NotificationRow).order_by(NotificationRow.id))
            return [alert for row in rows for alert in row.payload["alerts"]]


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    from monitor.db import upgrade

    if request.param == "postgresql":
        url = str(request.getfixturevalue("migrated_pg_url"))
    else:
        url = str(request.getfixturevalue("sqlite_url"))
        upgrade(url)
    engine: Engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


def window(session: Session, model: str, i: int) -> WindowResult:
    m = get_or_create_model(session, model)
    row = WindowResult(model_id=m.id, window_key=f"count:{i}", window_start=T0 + timedelta(hours=i),
                       window_end=T0 + timedelta(hours=i + 1), n_events=100, reference_version=1, preset="default",
                       dataset_drift=False, drift_share=0.0, report={})
    session.add(row)
    session.flush()
    return row


def run(sessions: sessionmaker[Session], service: AlertService, i: int, signals: list[Signal],
        model: str = "rec", limit: int | None = None) -> Any:
    with sessions.begin() as s:
        return service.process_window(s, model, window(s, model, i), signals, auto_resolve_after=limit)


def test_lifecycle_dedup_escalation_and_auto_resolve(sessions: sessionmaker[Session]) -> None:
    rec = Recorder(sessions)
    service = AlertService(rec, auto_resolve_after=2)
    c = run(sessions, service, 0, [DRIFT, VOLUME])
    assert len(c.opened) == 2
    c = run(sessions, service, 1, [DRIFT])  # same incident again; VOLUME clean once
    assert c.opened == [] and len(c.updated) == 1
    c = run(sessions, service, 2, [WORSE])  # escalates; VOLUME clean twice -> auto-resolved
    assert len(c.escalated) == 1 and len(c.resolved) == 1
    with sessions() as s:
        alerts = {a.signal: a for a, _ in list_alerts(s, status="all")}
        drift = alerts["feature_drift"]
        assert (drift.status, drift.severity, drift.windows_count) == ("open", "critical", 3)
        assert drift.first_seen == T0 + timedelta(hours=1) and drift.last_seen == T0 + timedelta(hours=3)
        assert drift.dedup_key == "rec|feature_drift|tenure"
        volume = alerts["traffic_volume"]
        assert volume.status == "resolved" and volume.resolved_by == "auto"
        actions = [e.action for e in s.scalars(select(AlertEvent).order_by(AlertEvent.id))]
        assert actions == ["opened", "opened", "escalated", "auto_resolved"]
    assert [(n["action"], n["signal"]) for n in rec.items] == [
        ("opened", "feature_drift"), ("opened", "traffic_volume"), ("escalated", "feature_drift"),
        ("resolved", "traffic_volume")]
    # a resolved incident that fires again opens a NEW alert
    c = run(sessions, service, 3, [WORSE, VOLUME])
    assert len(c.opened) == 1
    with sessions() as s:
        assert len(list_alerts(s, status="all")) == 3
        assert len(list_alerts(s, status="unresolved")) == 2


def test_closing_windows_never_resolve_a_label_signal(sessions: sessionmaker[Session]) -> None:
    service = AlertService(Recorder(sessions), auto_resolve_after=1)
    take = Signal("business_metric_drop", "warning", "take_rate 0.2", "take_rate", 0.2)
    run(sessions, service, 0, [take])
    c = run(sessions, service, 1, [])  # labels not in yet: no verdict on the business metric
    assert c.resolved == []
    with sessions() as s:
        assert [(a.signal, a.clean_windows) for a, _ in list_alerts(s)] == [("business_metric_drop", 0)]


def test_closing_windows_resolve_a_segments_business_metric_drop(sessions: sessionmaker[Session]) -> None:
    """A segment's ``business_metric_drop`` is judged when its window closes (the population's when the
    outcomes are final): a closing window without it counts as clean, so it resolves; the population's does
    not."""
    service = AlertService(Recorder(sessions), auto_resolve_after=1)
    total = Signal("business_metric_drop", "warning", "take_rate 0.2", "take_rate", 0.2)
    fr = Signal("business_metric_drop", "critical", "country=FR: take_rate 0.03", "take_rate", 0.03,
                segment="country=FR")
    c = run(sessions, service, 0, [total, fr])
    assert len(c.opened) == 2
    c = run(sessions, service, 1, [fr])  # FR's take-rate still low: fired again, not clean
    assert c.resolved == []
    c = run(sessions, service, 2, [])
    assert len(c.resolved) == 1
    with sessions() as s:
        states = {(a.segment, a.status) for a, _ in list_alerts(s, status="all")}
    assert states == {(None, "open"), ("country=FR", "resolved")}


def test_acknowledge_and_resolve_by_people(sessions: sessionmaker[Session]) -> None:
    rec = Recorder(sessions)
    service = AlertService(rec)
    run(sessions, service, 0, [DRIFT])
    with sessions() as s:
        alert_id = list_alerts(s)[0][0].id
    with sessions.begin() as s:
        a = service.acknowledge(s, alert_id, "ana", "looking at the upstream job")
        assert a.status == "acknowledged"
    run(sessions, service, 1, [DRIFT])  # still firing: stays acknowledged, counted
    with sessions.begin() as s:
        a = service.resolve(s, alert_id, "ana", "fixed the feature pipeline")
    with sessions() as s:
        a = s.get(Alert, alert_id)
        assert a is not None
        assert (a.status, a.acknowledged_by, a.ack_note, a.resolved_by, a.windows_count) == (
            "resolved", "ana", "looking at the upstream job", "ana", 2)
    with pytest.raises(AlertStateError, match="resolved"), sessions.begin() as s:
        service.acknowledge(s, alert_id, "bob")
    with pytest.raises(AlertNotFoundError, match="999"), sessions.begin() as s:
        service.resolve(s, 999, "bob")
    assert [n["action"] for n in rec.items] == ["opened", "acknowledged", "resolved"]


def test_no_notification_when_the_transaction_rolls_back(sessions: sessionmaker[Session]) -> None:
    rec = Recorder(sessions)
    service = AlertService(rec)
    with pytest.raises(RuntimeError), sessions.begin() as s:
        service.process_window(s, "rec", window(s, "rec", 0), [DRIFT])
        raise RuntimeError("persist failed later in the transaction")
    assert rec.items == []
    with sessions() as s:
        assert list_alerts(s, status="all") == []
    run(sessions, service, 0, [DRIFT])
    assert len(rec.items) == 1


def test_hanging_receiver_never_blocks_process_window(sessions: sessionmaker[Session]) -> None:
    release = threading.Event()
    entered = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            entered.set()
            release.wait(30)
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    routes = NotificationsConfig.model_validate({"routes": [{"name": "all", "destinations": [
        {"type": "json", "url": f"http://127.0.0.1:{server.server_address[1]}/"}]}]})
    engine = sessions.kw["bind"]
    sender = NotificationSender(engine, resolve_routes(routes, {}), poll_interval=0.05, timeout=30).start()
    service = AlertService(Outbox())
    try:
        run(sessions, service, 0, [DRIFT])
        assert entered.wait(30)  # the receiver now holds the first notification
        for i in range(1, 6):  # ...and windows keep being processed and committed meanwhile
            run(sessions, service, i, [DRIFT, Signal("traffic_volume", "warning", f"volume {i}", None, 1.0)])
        assert not release.is_set()
        with sessions() as s:
            assert {a.signal: a.windows_count for a, _ in list_alerts(s)}["feature_drift"] == 6
    finally:
        release.set()
        sender.stop(timeout=5)
        server.shutdown()
        server.server_close()
