"""AppTest of the Alerts page's detection time: ``detected_at`` and ``early`` of every alert (issue #15),
against the database of a real scenario run (see conftest.py) with one early alert added the way the watcher
adds it (:meth:`AlertService.process_early`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from monitor.alerts.service import AlertService
from monitor.db import make_engine
from monitor.db.models import Alert, WindowResult
from monitor.pipeline.alert_signals import Signal
from monitor.pipeline.early import EarlyAlert

APP = str(Path(__file__).resolve().parents[3] / "dashboard" / "app.py")


def _alerts_page(url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", url)
    monkeypatch.delenv("DRIFTWARDEN_DASHBOARD_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("views/alerts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _utc(value: object) -> pd.Timestamp:
    """A timestamp in UTC (SQLite gives naive UTC datetimes, the page's frame aware ones)."""
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _open_early_alert(url: str) -> tuple[int, pd.Timestamp]:
    """An early alert 5 h 10 min into the last window, on 150 events; returns its id and detection time."""
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            window = session.scalars(select(WindowResult).order_by(WindowResult.window_end.desc())).first()
            assert window is not None
            at = _utc(window.window_start) + timedelta(hours=5, minutes=10)
            signal = Signal("prediction_near_constant", "critical", "scores near-constant", "score", 0.001)
            changes = AlertService().process_early(session, "recommender",
                                                   EarlyAlert("recommender", signal, at.timestamp(), 150))
        return changes.opened[0], at
    finally:
        engine.dispose()


def test_alerts_page_shows_detection_time_and_early_flag(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    alert_id, detected = _open_early_alert(scenario_url)
    at = _alerts_page(scenario_url, monkeypatch)
    at.pills(key="alerts_page.statuses").set_value(["open", "acknowledged", "resolved"]).run()
    table = at.dataframe[0].value.set_index("alert_id")
    assert {"detected_at", "early"} <= set(table.columns)
    assert bool(table.loc[alert_id, "early"]) is True
    assert _utc(table.loc[alert_id, "detected_at"]) == detected
    engine = make_engine(scenario_url)
    try:
        with Session(engine) as session:  # every alert's row, read apart from the page's query
            stored = {a.id: (_utc(a.detected_at), bool(a.early)) for a in session.scalars(select(Alert))}
    finally:
        engine.dispose()
    assert len(stored) > 1 and set(table.index) == set(stored)
    assert {i: (_utc(r.detected_at), bool(r.early)) for i, r in table.iterrows()} == stored
    at.selectbox(key="alerts_page.selected").set_value(alert_id).run()
    metric = next(m for m in at.metric if m.label == "Detected (UTC)")
    assert metric.value == f"{detected:%m-%d %H:%M}" and "early, on 150 events" in str(metric.proto.delta)
