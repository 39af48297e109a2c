"""The dashboard on the real PostgreSQL: store queries and every page, on a database filled by the scenario."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from monitor.alerts.service import AlertService
from monitor.config.settings import Settings
from monitor.db import make_engine
from monitor.db.admin import temporary_database
from monitor.db.models import Alert, WindowResult
from monitor.pipeline.alert_signals import Signal
from monitor.store import queries as q

pytestmark = pytest.mark.integration

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
DAYS = 21  # the scenario's schedule (every incident resolved by its last day)


@pytest.fixture(scope="module")
def scenario_pg(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database on the real server, filled once by the scenario run (the last test adds an alert)."""
    from monitor.db import upgrade
    from scenario import generate_scenario
    from scenario.runner import build_scenario_reference, watch_scenario

    with temporary_database(pg_server_url, "dw_dash") as url:
        upgrade(url)
        files = generate_scenario(tmp_path_factory.mktemp("scenario"), seed=7, days=DAYS, events_per_hour=200.0)
        build_scenario_reference(files, url)
        result = watch_scenario(files, url, Settings(database_url=url))
        assert result.clean and result.windows == DAYS, result
        yield url


def test_queries_on_postgres(scenario_pg: str) -> None:
    engine = make_engine(scenario_pg)
    try:
        with engine.connect() as conn:
            overview = q.model_overview(conn)
            assert overview["model"].tolist() == ["recommender"]
            assert int(overview["windows"].iloc[0]) == DAYS
            assert str(overview["last_window_end"].dt.tz) == "UTC"
            windows = q.windows(conn, 1)
            assert windows["has_sample"].all() and windows["window_end"].is_monotonic_increasing
            assert not q.feature_results(conn, 1).empty
            assert "take_rate" in q.metric_names(conn, 1)
            every = q.alerts(conn)
            assert len(every) > 0 and set(every["status"]) == {"resolved"}
            assert q.alerts(conn, statuses=["open"]).empty
            assert q.window_sample(conn, int(windows["window_id"].iloc[-1])) is not None
            assert q.reference_profile(conn, 1) is not None
            assert q.dead_letters(conn).empty
    finally:
        engine.dispose()


@pytest.mark.parametrize("page", ["overview", "model", "alerts", "weekly"])
def test_every_page_renders_on_postgres(page: str, scenario_pg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", scenario_pg)
    monkeypatch.delenv("DRIFTWARDEN_DASHBOARD_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title


def test_acknowledge_and_resolve_on_postgres(scenario_pg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(scenario_pg)
    with Session(engine) as session, session.begin():
        window = session.scalars(select(WindowResult).order_by(WindowResult.window_end.desc())).first()
        assert window is not None
        alert_id = AlertService().process_window(
            session, "recommender", window, [Signal("traffic_volume", "critical", "no events")]).opened[0]
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", scenario_pg)
    monkeypatch.delenv("DRIFTWARDEN_DASHBOARD_PASSWORD", raising=False)
    st.cache_data.clear()  # the earlier tests of this module read the same database without the new alert
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("views/alerts.py").run()
    at.text_input(key=f"alerts_page.by.{alert_id}").input("Grace")
    at.button(key=f"FormSubmitter:act-{alert_id}-Acknowledge").click().run()
    at.text_input(key=f"alerts_page.by.{alert_id}").input("Grace")
    at.text_input(key=f"alerts_page.note.{alert_id}").input("Broker was down")
    at.button(key=f"FormSubmitter:act-{alert_id}-Resolve").click().run()
    assert not at.exception
    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert (alert.status, alert.acknowledged_by, alert.resolved_by, alert.resolve_note) == (
            "resolved", "Grace", "Grace", "Broker was down")
    engine.dispose()
