"""End to end: serve the dashboard on a database filled by ``driftwarden demo`` and drive it in Chromium.

Debian's ``chromium`` (``scripts/install-browser``; ``make test`` installs it) is driven by Playwright
through ``executable_path``; Playwright's own browser download is not used. Screenshots of every page go
to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from _support import ARTIFACTS, demo_database, free_port, settle, shot, streamlit_app, visible
from sqlalchemy import select
from sqlalchemy.orm import Session

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database filled by ``driftwarden demo --no-serve`` (the scenario through the real watcher)."""
    return demo_database(tmp_path_factory.mktemp("e2e-demo"))


@pytest.fixture(scope="module")
def open_alert(demo_db: str) -> int:
    """An unresolved alert on the last window, opened the way the watcher opens them (AlertService)."""
    from monitor.alerts.service import AlertService
    from monitor.db import make_engine
    from monitor.db.models import WindowResult
    from monitor.pipeline.alert_signals import Signal

    engine = make_engine(demo_db)
    with Session(engine) as session, session.begin():
        window = session.scalars(select(WindowResult).order_by(WindowResult.window_end.desc())).first()
        assert window is not None
        changes = AlertService().process_window(session, "recommender", window, [
            Signal("traffic_volume", "warning", "events per hour at 30% of the median of the last 12 windows")])
    engine.dispose()
    return changes.opened[0]


@pytest.fixture(scope="module")
def server(demo_db: str, open_alert: int) -> Iterator[str]:
    env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": demo_db}
    env.pop("DRIFTWARDEN_DASHBOARD_PASSWORD", None)
    with streamlit_app(free_port(), env, "streamlit-e2e.log") as base:
        yield base


def test_overview_in_the_browser(server: str, page: Any) -> None:
    page.goto(server)
    settle(page)
    visible(page, "Model health")
    visible(page, "recommender")
    visible(page, "Take-rate")
    visible(page, "ROC AUC, last window")  # the headline model-quality metric
    visible(page, "Unresolved incidents")
    assert shot(page, "overview").stat().st_size > 10_000


def test_model_page_in_the_browser(server: str, page: Any) -> None:
    page.goto(server)
    settle(page)
    page.get_by_role("link", name="Model").first.click()  # the sidebar navigation
    settle(page, plots=7)
    for text in ("Business metrics and silent-failure signals", "Model quality", "Feature drift",
                 "Feature drill-down", "Prediction distribution over time", "Data quality"):
        visible(page, text)
    assert page.locator(".js-plotly-plot").count() >= 7
    # the Model quality panel: its legend (realized solid, estimated dashed) and the label coverage beneath
    quality = page.locator(".js-plotly-plot", has_text="Labelled so far").first
    quality.wait_for(state="visible", timeout=30_000)
    legend = quality.locator(".legend").text_content() or ""  # SVG: no inner_text
    assert "realized (labels)" in legend and "estimated (CBPE)" in legend, legend
    quality.scroll_into_view_if_needed()
    assert quality.screenshot(path=str(ARTIFACTS / "dashboard-model-quality.png"))
    assert "/model" in page.url
    assert shot(page, "model").stat().st_size > 10_000


def test_alerts_page_acknowledge_and_report(server: str, page: Any, open_alert: int) -> None:
    page.goto(f"{server}/alerts")
    settle(page)
    visible(page, f"#{open_alert} recommender: traffic_volume")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Note").fill("Checking the ingest lag")
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    settle(page)
    visible(page, "warning · acknowledged")
    # the history table (a canvas grid: its cells are in the DOM for screen readers, not "visible")
    page.locator("[role='gridcell']", has_text="Checking the ingest lag").first.wait_for(state="attached")
    page.get_by_role("button", name="Build report", exact=True).click()
    frame = page.frame_locator("iframe[title='st.iframe'], iframe").first
    frame.locator("body").wait_for(timeout=120_000)
    settle(page)
    page.get_by_role("button", name="Download HTML").wait_for(timeout=60_000)
    assert shot(page, "alerts").stat().st_size > 10_000


def test_weekly_page_in_the_browser(server: str, page: Any) -> None:
    page.goto(f"{server}/weekly")
    settle(page, plots=2)
    visible(page, "This week in plain words")
    visible(page, "Take-rate fell")
    visible(page, "median time open")
    visible(page, "of the week's predictions labelled so far")
    assert shot(page, "weekly").stat().st_size > 10_000
