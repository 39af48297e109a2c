"""End to end: serve the dashboard on a database filled by ``driftwarden demo`` and drive it in Chromium.

Debian's ``chromium`` (``scripts/install-browser``; ``make test`` installs it) is driven by Playwright
through ``executable_path``; Playwright's own browser download is not used. Screenshots of every page go
to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
EVENTS_PER_HOUR = 250


def _require_or_skip(what: str) -> None:
    message = f"{what}: run `scripts/install-browser` (or `make test`, which installs it)"
    if os.environ.get("DRIFTWARDEN_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database filled by ``driftwarden demo --no-serve`` (the scenario through the real watcher)."""
    workdir = tmp_path_factory.mktemp("e2e-demo")
    url = f"sqlite:///{workdir / 'demo.db'}"
    cli = Path(sys.executable).with_name("driftwarden")
    done = subprocess.run(
        [str(cli), "demo", "--no-serve", "--db", url, "--workdir", str(workdir / "scenario"),
         "--events-per-hour", str(EVENTS_PER_HOUR)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return url


@pytest.fixture(scope="module")
def open_alert(demo_db: str) -> int:
    """An unresolved alert on the last window, opened the way the watcher opens them (AlertService)."""
    from monitor.alerts.service import AlertService
    from monitor.alerts.signals import Signal
    from monitor.db import make_engine
    from monitor.db.models import WindowResult

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
    port = _free_port()
    env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": demo_db}
    env.pop("DRIFTWARDEN_DASHBOARD_PASSWORD", None)
    log = (ARTIFACTS / "streamlit-e2e.log")
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.headless",
             "true", "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats",
             "false", "--client.toolbarMode", "minimal"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not come up on {base}; see {log}")
                time.sleep(0.5)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _require_or_skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    try:
        yield tab
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
        context.close()


def _settle(page: Any, plots: int = 0) -> None:
    """Wait until the script run finished (no running indicator) and ``plots`` Plotly charts are drawn."""
    page.wait_for_timeout(300)  # let a click's rerun start
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
    if plots:
        page.wait_for_function(f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {plots}",
                               timeout=120_000)
    page.wait_for_timeout(1500)
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def _shot(page: Any, name: str) -> Path:
    """A screenshot of the whole page (Streamlit scrolls inside its main block, so grow the viewport)."""
    height = page.evaluate(
        "() => Math.max(...Array.from(document.querySelectorAll('[data-testid=\"stMain\"], "
        "[data-testid=\"stMainBlockContainer\"]')).map(e => e.scrollHeight), 900)")
    page.set_viewport_size({"width": 1440, "height": min(int(height) + 80, 8000)})
    page.wait_for_timeout(1200)
    path = ARTIFACTS / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})
    return path


def _visible(page: Any, text: str) -> None:
    locator = page.get_by_text(text, exact=False).first
    locator.wait_for(state="visible", timeout=30_000)


def test_overview_in_the_browser(server: str, page: Any) -> None:
    page.goto(server)
    _settle(page)
    _visible(page, "Model health")
    _visible(page, "recommender")
    _visible(page, "Take-rate")
    _visible(page, "Unresolved alerts")
    assert _shot(page, "overview").stat().st_size > 10_000


def test_model_page_in_the_browser(server: str, page: Any) -> None:
    page.goto(server)
    _settle(page)
    page.get_by_role("link", name="Model").first.click()  # the sidebar navigation
    _settle(page, plots=6)
    for text in ("Business metrics and silent-failure signals", "Feature drift", "Feature drill-down",
                 "Prediction distribution over time", "Data quality"):
        _visible(page, text)
    assert page.locator(".js-plotly-plot").count() >= 6
    assert "/model" in page.url
    assert _shot(page, "model").stat().st_size > 10_000


def test_alerts_page_acknowledge_and_report(server: str, page: Any, open_alert: int) -> None:
    page.goto(f"{server}/alerts")
    _settle(page)
    _visible(page, f"#{open_alert} recommender: traffic_volume")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Note").fill("Checking the ingest lag")
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    _settle(page)
    _visible(page, "warning · acknowledged")
    # the history table (a canvas grid: its cells are in the DOM for screen readers, not "visible")
    page.locator("[role='gridcell']", has_text="Checking the ingest lag").first.wait_for(state="attached")
    page.get_by_role("button", name="Build report", exact=True).click()
    frame = page.frame_locator("iframe[title='st.iframe'], iframe").first
    frame.locator("body").wait_for(timeout=120_000)
    _settle(page)
    page.get_by_role("button", name="Download HTML").wait_for(timeout=60_000)
    assert _shot(page, "alerts").stat().st_size > 10_000


def test_weekly_page_in_the_browser(server: str, page: Any) -> None:
    page.goto(f"{server}/weekly")
    _settle(page, plots=2)
    _visible(page, "This week in plain words")
    _visible(page, "Take-rate fell")
    _visible(page, "median time open")
    assert _shot(page, "weekly").stat().st_size > 10_000
