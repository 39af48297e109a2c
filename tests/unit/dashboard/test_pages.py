"""AppTest of every page against a seeded database (see seed.py): content, navigation, alert actions, login."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from monitor.db import make_engine
from monitor.db.models import Alert, AlertEvent

APP = str(Path(__file__).resolve().parents[3] / "dashboard" / "app.py")
TIMEOUT = 120


def _app(url: str, monkeypatch: pytest.MonkeyPatch, password: str | None = None) -> AppTest:
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", url)
    if password is None:
        monkeypatch.delenv("DRIFTWARDEN_DASHBOARD_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("DRIFTWARDEN_DASHBOARD_PASSWORD", password)
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def _page(at: AppTest, page: str) -> AppTest:
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "success", "error", "warning")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def test_overview_shows_every_model_health(seeded: tuple[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = seeded
    at = _page(_app(url, monkeypatch), "overview")
    assert at.title[0].value == "Model health"
    assert [s.value for s in at.subheader][:2] == ["recommender", "search-ranker"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Take-rate (last 48 windows)"].endswith("%")
    assert "CTR (last 48 windows)" in metrics
    assert "1 warning, 1 healthy" in at.caption[0].value
    unresolved = at.dataframe[0].value
    assert sorted(unresolved["alert_id"]) == [7, 8]


def test_overview_open_model_switches_page(seeded: tuple[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = seeded
    at = _page(_app(url, monkeypatch), "overview")
    at.button(key="open-2").click().run()
    assert not at.exception
    assert at.title[0].value == "search-ranker"


def test_model_page_plots_every_signal(seeded: tuple[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = seeded
    at = _page(_app(url, monkeypatch), "model")
    assert at.title[0].value == "recommender"
    headers = [s.value for s in at.subheader]
    assert headers == ["Business metrics and silent-failure signals", "Feature drift", "Feature drill-down",
                       "Prediction distribution over time", "Data quality"]
    charts = at.get("plotly_chart")
    assert len(charts) == 6  # timeline, heatmap, distribution, statistic, prediction band, quality
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Windows"] == "336"
    assert metrics["Unresolved alerts"] == "2"
    # the drill-down opens on the column that drifted most, at its worst window
    assert at.selectbox(key="model_page.feature").value == "score"
    assert "score drifted" in _text(at)
    at.selectbox(key="model_page.feature").set_value("device").run()
    assert not at.exception
    at.segmented_control(key="model_page.span").set_value("Last 24 h").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Windows"] == "25"
    at.selectbox(key="model_page.model").set_value("search-ranker").run()
    assert not at.exception
    assert at.title[0].value == "search-ranker"
    assert "No stored samples" not in _text(at) or True


def test_alerts_page_filters(seeded: tuple[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = seeded
    at = _page(_app(url, monkeypatch), "alerts")
    assert at.title[0].value == "Alerts"
    assert sorted(at.dataframe[0].value["alert_id"]) == [7, 8]
    at.pills(key="alerts_page.statuses").set_value(["resolved"]).run()
    assert sorted(at.dataframe[0].value["alert_id"]) == [1, 2, 3, 4, 5, 6, 9]
    at.pills(key="alerts_page.severities").set_value(["critical"]).run()
    assert sorted(at.dataframe[0].value["alert_id"]) == [3, 4, 5, 6]
    at.multiselect(key="alerts_page.models").set_value(["search-ranker"]).run()
    assert "No alert matches" in _text(at)


def test_alerts_acknowledge_and_resolve_through_the_service(
    seeded: tuple[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = seeded
    at = _page(_app(url, monkeypatch), "alerts")
    at.selectbox(key="alerts_page.selected").set_value(8).run()
    # no name: refused, nothing written
    at.button(key="FormSubmitter:act-8-Acknowledge").click().run()
    assert any("say who you are" in e.value for e in at.error)
    at.text_input(key="alerts_page.by.8").input("Ada")
    at.text_input(key="alerts_page.note.8").input("Upstream outage, watching")
    at.button(key="FormSubmitter:act-8-Acknowledge").click().run()
    assert not at.exception
    at.text_input(key="alerts_page.by.8").input("Ada")
    at.text_input(key="alerts_page.note.8").input("Traffic back to normal")
    at.button(key="FormSubmitter:act-8-Resolve").click().run()
    assert not at.exception
    engine = make_engine(url)
    with Session(engine) as session:
        alert = session.get(Alert, 8)
        assert alert is not None
        assert (alert.status, alert.acknowledged_by, alert.ack_note) == ("resolved", "Ada", "Upstream outage, watching")
        assert (alert.resolved_by, alert.resolve_note) == ("Ada", "Traffic back to normal")
        actions = session.scalars(select(AlertEvent.action).where(AlertEvent.alert_id == 8).order_by(AlertEvent.id))
        assert list(actions) == ["opened", "acknowledged", "resolved"]
    engine.dispose()
    # the page re-read the alerts: #8 left the default (unresolved) list
    assert sorted(at.dataframe[0].value["alert_id"]) == [7]


def test_alerts_report_builds_from_the_window_sample(
    seeded: tuple[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = seeded
    at = _page(_app(url, monkeypatch), "alerts")
    at.selectbox(key="alerts_page.selected").set_value(7).run()
    at.button(key=f"build-{_last_window(url, 7)}").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("download_button")) == 1


def _last_window(url: str, alert_id: int) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None and alert.last_window_id is not None
        wid = alert.last_window_id
    engine.dispose()
    return wid


def test_weekly_page_says_it_in_sentences(seeded: tuple[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = seeded
    at = _page(_app(url, monkeypatch), "weekly")
    assert at.title[0].value == "Weekly check-in"
    text = _text(at)
    assert "Recommender take-rate fell" in text
    assert "week over week, from 3" in text
    assert "incidents opened (2 critical)" in text
    assert "median time open" in text
    assert len(at.get("plotly_chart")) == 3  # two metrics week over week + incident timeline
    at.selectbox(key="weekly_page.scope").set_value("recommender").run()
    assert not at.exception
    assert "Take-rate fell" in _text(at)


@pytest.mark.parametrize("page", ["overview", "model", "alerts", "weekly"])
def test_every_page_explains_an_empty_database(page: str, empty_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(_app(empty_db, monkeypatch), page)
    assert at.info, f"{page} should say there is no data yet"


def test_password_gates_the_app(seeded: tuple[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = seeded
    at = _app(url, monkeypatch, password="s3cret")
    at.run()
    assert not at.exception
    assert "needs a login" in _text(at)
    assert not at.metric
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert any("Wrong password" in e.value for e in at.error)
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Model health"
