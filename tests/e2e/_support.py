"""What the end-to-end tests share: Chromium (Debian's, via Playwright's ``executable_path``), a database
filled by ``driftwarden demo``, ``streamlit run`` on a free port, and waits on the page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
EVENTS_PER_HOUR = 250


def require_or_skip(what: str) -> None:
    message = f"{what}: run `scripts/install-browser` (or `make test`, which installs it)"
    if os.environ.get("DRIFTWARDEN_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_database(workdir: Path) -> str:
    """A SQLite database filled by ``driftwarden demo --no-serve`` (the scenario through the real watcher)."""
    url = f"sqlite:///{workdir / 'demo.db'}"
    cli = Path(sys.executable).with_name("driftwarden")
    done = subprocess.run(
        [str(cli), "demo", "--no-serve", "--db", url, "--workdir", str(workdir / "scenario"),
         "--events-per-hour", str(EVENTS_PER_HOUR)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return url


@contextmanager
def streamlit_app(port: int, env: dict[str, str], log_name: str, cwd: Path = ROOT) -> Iterator[str]:
    """``streamlit run dashboard/app.py`` on ``port`` until its health endpoint answers; yields the base URL."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / log_name
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.headless",
             "true", "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats",
             "false", "--client.toolbarMode", "minimal"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
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


def settle(page: Any, plots: int = 0) -> None:
    """Wait until the script run finished (no running indicator) and ``plots`` Plotly charts are drawn."""
    page.wait_for_timeout(300)  # let a click's rerun start
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
    if plots:
        page.wait_for_function(f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {plots}",
                               timeout=120_000)
    page.wait_for_timeout(1500)
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def shot(page: Any, name: str) -> Path:
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


def visible(page: Any, text: str) -> None:
    locator = page.get_by_text(text, exact=False).first
    locator.wait_for(state="visible", timeout=30_000)
