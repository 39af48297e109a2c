"""AppTest of every page against the database of a real scenario run (see conftest.py).

Expectations come from the scenario's ground truth (a recommender, day-long windows, incidents on device,
tenure_days, the prediction and take-rate) and from the database itself, never from the page's own code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from monitor.alerts.incidents import group_alerts
from monitor.alerts.service import AlertService
from monitor.db import make_engine
from monitor.db.models import Alert, AlertEvent, WindowResult, WindowSample
from monitor.pipeline.alert_signals import Signal

APP = str(Path(__file__).resolve().parents[3] / "dashboard" / "app.py")
TIMEOUT = 180


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
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    kinds = ("title", "subheader", "markdown", "caption", "info", "success", "error", "warning")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def _open_alert(url: str, signal: str = "traffic_volume", severity: str = "warning") -> int:
    """Open an alert on the last window the way the watcher does (through the AlertService)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            window = session.scalars(select(WindowResult).order_by(WindowResult.window_end.desc())).first()
            assert window is not None
            changes = AlertService().process_window(
                session, "recommender", window, [Signal(signal, severity, "events per hour at 30% of the median")]
            )
            group_alerts(session, changes)
        return changes.opened[0]
    finally:
        engine.dispose()


def _alert(url: str, alert_id: int) -> tuple[Alert, list[str]]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None
            session.expunge(alert)
            actions = list(session.scalars(
                select(AlertEvent.action).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)))
        return alert, actions
    finally:
        engine.dispose()


def _figures(at: AppTest) -> list[dict[str, object]]:
    """The Plotly figures of the page, as their JSON specs."""
    import json

    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _quality_figure(at: AppTest) -> dict[str, object]:
    found = [f for f in _figures(at) if any(t.get("name") == "labelled" for t in f["data"])]
    assert len(found) == 1, "one Model quality figure"
    return found[0]


def _set_performance(url: str, sql: str) -> None:
    """Change the stored performance rows (e.g. a window whose labels have not arrived yet)."""
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def test_overview_shows_model_health(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(_app(scenario_url, monkeypatch), "overview")
    assert at.title[0].value == "Model health"
    assert at.subheader[0].value == "recommender"
    metrics = {m.label: m.value for m in at.metric}
    take_rate = next(v for k, v in metrics.items() if k.startswith("Take-rate"))
    assert take_rate.endswith("%") and 15 < float(take_rate.rstrip("%")) < 40
    assert (metrics["Incidents open"], metrics["Critical"]) == ("0", "0")  # every incident resolved itself
    assert "1 healthy" in at.caption[0].value
    assert "No unresolved incidents" in _text(at)
    # the headline model-quality metric: the last window's realized ROC AUC, against the validation data
    auc = next(m for m in at.metric if m.label.startswith("ROC AUC"))
    assert auc.label == "ROC AUC, last window"
    assert 0.6 < float(auc.value) < 0.9
    assert "vs reference 0.7" in auc.proto.delta  # about 0.75 on the validation data


def test_overview_headline_falls_back_to_the_estimate(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A last window without any label yet shows its CBPE estimate, and says so."""
    _set_performance(scenario_url, "UPDATE performance_values SET realized = NULL, realized_lower = NULL, "
                                   "realized_upper = NULL, n_labelled = 0, provisional = 1 WHERE window_end = "
                                   "(SELECT MAX(window_end) FROM performance_values)")
    at = _page(_app(scenario_url, monkeypatch), "overview")
    auc = next(m for m in at.metric if m.label.startswith("ROC AUC"))
    assert auc.label == "ROC AUC, last window (estimated)"
    assert 0.7 < float(auc.value) < 0.8  # the scores of the recovery day look like the reference's


def test_overview_counts_open_incidents(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two alerts opened by one window make one incident: the overview counts one."""
    first = _open_alert(scenario_url)
    second = _open_alert(scenario_url, signal="dataset_drift", severity="critical")
    incident_id = _alert(scenario_url, first)[0].incident_id
    assert incident_id is not None and _alert(scenario_url, second)[0].incident_id == incident_id
    at = _page(_app(scenario_url, monkeypatch), "overview")
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Incidents open"], metrics["Critical"], metrics["Acknowledged"]) == ("1", "1", "0")
    assert "1 critical" in at.caption[0].value
    table = at.dataframe[0].value
    assert table["incident_id"].tolist() == [incident_id] and table["alerts"].tolist() == [2]


def test_overview_open_model_switches_page(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(_app(scenario_url, monkeypatch), "overview")
    at.button(key="open-1").click().run()
    assert not at.exception
    assert at.title[0].value == "recommender"
    assert at.subheader[0].value == "Business metrics and silent-failure signals"


def test_model_page_plots_every_signal(scenario_url: str, monkeypatch: pytest.MonkeyPatch,
                                       scenario_db_file: object) -> None:
    at = _page(_app(scenario_url, monkeypatch), "model")
    assert at.title[0].value == "recommender"
    assert [s.value for s in at.subheader] == [
        "Business metrics and silent-failure signals", "Model quality", "Feature drift", "Segments", "Fairness",
        "Feature drill-down", "Prediction distribution over time", "Data quality"]
    # the scenario tests each window per country and age band, and the age bands' fairness
    assert "No per-segment results for this model" not in _text(at) and "No fairness results" not in _text(at)
    figures = _figures(at)
    segments = next(f for f in figures if "Segments by" in str(f["layout"]))
    assert {"country=BR", "age_band=18-24", "age_band=50+"} <= set(segments["data"][0]["y"])  # type: ignore[index]
    assert "age_band" in str(next(f for f in figures if "demographic_parity_difference" in str(f)))
    # timeline, model quality, heatmap, joint (multivariate) drift, segment heatmap, fairness, reference-vs-window
    # distribution, drift score, prediction band, data quality
    assert len(at.get("plotly_chart")) == 10
    assert " windows outside the band the reference's own chunks span" in _text(at)
    assert re.search(r"In the latest window outside the band \(ending [-0-9: ]+ UTC\), most of the reconstruction "
                     r"error is in \w+ \(\d+%\), \w+ \(\d+%\), \w+ \(\d+%\)\.", _text(at)), _text(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Windows"] == str(scenario_db_file.windows)  # type: ignore[attr-defined]
    assert at.multiselect(key="model_page.metrics.1").value == ["take_rate"]
    # the drill-down opens on a column the scenario's incidents moved, at its most drifted window
    assert at.selectbox(key="model_page.feature").value in {"item_popularity", "prediction", "tenure_days", "device"}
    assert " drifted: " in _text(at)
    assert at.selectbox(key="model_page.prediction").value == "prediction"
    # the findings of the watcher's data-quality checks, from the stored window reports
    assert "Data-quality findings" in _text(at)
    checks = set(at.dataframe[-1].value["check"])
    assert {"unseen_categories", "missing_rate"} <= checks  # the new device; the broken tenure_days pipeline
    at.selectbox(key="model_page.feature").set_value("device").run()
    assert not at.exception
    at.segmented_control(key="model_page.span").set_value("Last 3 days").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Windows"] == "4"  # day-long windows ending in the last 3 days


def test_model_quality_panel(scenario_url: str, monkeypatch: pytest.MonkeyPatch, scenario_db_file: object) -> None:
    """Realized (solid) and estimated (dashed) per metric with their bands, label coverage beneath, the
    quality alerts as markers, on the time axis of the drift and take-rate timeline."""
    at = _page(_app(scenario_url, monkeypatch), "model")
    fig = _quality_figure(at)
    titles = [a["text"] for a in fig["layout"]["annotations"] if "text" in a]
    assert titles[:2] == ["ROC AUC", "Labelled so far (share of each window's predictions)"]
    traces = {t.get("name"): t for t in fig["data"] if t.get("showlegend") is not False}
    assert traces["realized (labels)"]["line"].get("dash") in (None, "solid")
    assert traces["estimated (CBPE)"]["line"]["dash"] == "dash"
    assert {"confidence interval", "estimate band"} <= set(traces)
    bands = [t for t in fig["data"] if t.get("fill") == "tonexty"]
    assert len(bands) == 2  # realized and estimated
    coverage = next(t for t in fig["data"] if t.get("name") == "labelled")
    windows = scenario_db_file.windows  # type: ignore[attr-defined]
    assert len(coverage["y"]) == windows and all(0 < y < 0.8 for y in coverage["y"])  # shown and not lost
    # the covariate shift, the degenerate model and the quality decay raised model-quality alerts
    markers = [t for t in fig["data"] if t.get("marker", {}).get("symbol") == "triangle-down"]
    hover = " ".join(" ".join(t["text"]) for t in markers)
    assert "estimated drop" in hover and "realized drop" in hover
    # the same time axis as the timeline above it
    timeline = next(f for f in _figures(at) if "Share of drifted columns" in str(f["layout"]))
    assert fig["layout"]["xaxis"]["range"] == timeline["layout"]["xaxis"]["range"]
    caption = _text(at)
    assert "Realized (solid, 95% interval shaded)" in caption and "ROC AUC 0." in caption


def test_model_quality_panel_explains_a_model_without_labels(
    scenario_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_performance(scenario_url, "DELETE FROM performance_values")
    at = _page(_app(scenario_url, monkeypatch), "model")
    assert "No model-quality results for this model" in _text(at)
    assert len(at.get("plotly_chart")) == 9


def test_model_page_without_samples_still_shows_drift(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(scenario_url)
    with Session(engine) as session, session.begin():  # sampling switched off for privacy
        session.query(WindowSample).delete()
    engine.dispose()
    at = _page(_app(scenario_url, monkeypatch), "model")
    assert "sampling is off" in _text(at)
    assert len(at.get("plotly_chart")) >= 4


def test_alerts_page_filters(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(_app(scenario_url, monkeypatch), "alerts")
    assert at.title[0].value == "Alerts"
    assert "No alert matches" in _text(at)  # default filter: unresolved only, and the scenario ended clean
    at.pills(key="alerts_page.statuses").set_value(["resolved"]).run()
    signals = set(at.dataframe[0].value["signal"])
    assert {"feature_drift", "data_quality", "prediction_near_constant", "business_metric_drop"} <= signals
    at.pills(key="alerts_page.severities").set_value(["critical"]).run()
    assert set(at.dataframe[0].value["severity"]) == {"critical"}


def _db_incidents(url: str) -> list[tuple[int, str, list[tuple[int, str, str | None, str]]]]:
    """Every incident (newest first) with its alerts, read with plain SQL: (id, title, [(alert id, signal,
    feature, severity)])."""
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            incidents = conn.execute(text("SELECT id, title FROM incidents ORDER BY first_seen DESC, id DESC")).all()
            alerts = conn.execute(text("SELECT incident_id, id, signal, feature, severity, first_seen FROM alerts "
                                       "WHERE incident_id IS NOT NULL")).all()
    finally:
        engine.dispose()
    return [(int(i), str(t), [(int(a[1]), str(a[2]), a[3], str(a[4])) for a in alerts if a[0] == i])
            for i, t in incidents]


def test_alerts_page_lists_incidents_first_with_their_alerts_in_cause_order(
    scenario_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _page(_app(scenario_url, monkeypatch), "alerts")
    at.pills(key="alerts_page.statuses").set_value(["resolved"]).run()
    assert [h.value for h in at.subheader][:2] == ["Incidents", "Alerts"]
    stored = _db_incidents(scenario_url)
    assert 8 <= len(stored) <= 25  # the scenario's eight incidents (labels judged late may add a few)
    labels = [e.label for e in at.expander]
    assert [int(re.match(r"#(\d+) ", lab).group(1)) for lab in labels] == [i for i, _, _ in stored]  # type: ignore[union-attr]
    tiers = {"data_quality": 0, "traffic_volume": 1, "feature_drift": 1, "dataset_drift": 2,
             "multivariate_drift": 2, "prediction_drift": 3, "prediction_near_constant": 3}
    pipeline = next(k for k, (_, title, _) in enumerate(stored) if title.startswith("tenure_days arrives null"))
    _, _, alerts = stored[pipeline]
    lines = [m.value for m in at.expander[pipeline].markdown]
    assert len(lines) == len(alerts) and f"({len(alerts)} alerts)" in labels[pipeline]
    assert lines[0].startswith("1. `data_quality` `tenure_days:missing_rate`")
    shown = [int(re.search(r" · #(\d+) ", line).group(1)) for line in lines]  # type: ignore[union-attr]
    by_id = {a[0]: a for a in alerts}
    ranks = [tiers.get(by_id[i][1], 4) for i in shown]
    assert ranks == sorted(ranks), lines  # causes (quality) before consequences (drift, then the prediction)
    constant = next(a for a in alerts if a[2] == "item_popularity:constant")
    drift = next((a for a in alerts if (a[1], a[2]) == ("feature_drift", "item_popularity")), None)
    if drift is not None:  # its drift is explained by its constant values
        assert any(line.endswith(f"(explained by #{constant[0]})") and f"#{drift[0]} " in line for line in lines)


def test_alerts_acknowledge_and_resolve_through_the_service(
    scenario_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert_id = _open_alert(scenario_url)
    at = _page(_app(scenario_url, monkeypatch), "alerts")
    assert at.dataframe[0].value["alert_id"].tolist() == [alert_id]
    at.button(key=f"FormSubmitter:act-{alert_id}-Acknowledge").click().run()
    assert any("say who you are" in e.value for e in at.error)  # no name: refused
    assert _alert(scenario_url, alert_id)[0].status == "open"
    at.text_input(key=f"alerts_page.by.{alert_id}").input("Ada")
    at.text_input(key=f"alerts_page.note.{alert_id}").input("Upstream outage, watching")
    at.button(key=f"FormSubmitter:act-{alert_id}-Acknowledge").click().run()
    assert not at.exception
    assert _alert(scenario_url, alert_id)[0].status == "acknowledged"
    at.text_input(key=f"alerts_page.by.{alert_id}").input("Ada")
    at.text_input(key=f"alerts_page.note.{alert_id}").input("Traffic back to normal")
    at.button(key=f"FormSubmitter:act-{alert_id}-Resolve").click().run()
    assert not at.exception
    alert, actions = _alert(scenario_url, alert_id)
    assert (alert.status, alert.acknowledged_by, alert.ack_note) == ("resolved", "Ada", "Upstream outage, watching")
    assert (alert.resolved_by, alert.resolve_note) == ("Ada", "Traffic back to normal")
    assert actions == ["opened", "acknowledged", "resolved"]
    assert "No alert matches" in _text(at)  # the page re-read the alerts: none left unresolved


def test_alerts_report_builds_from_the_window_sample(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    alert_id = _open_alert(scenario_url)
    alert, _ = _alert(scenario_url, alert_id)
    at = _page(_app(scenario_url, monkeypatch), "alerts")
    at.button(key=f"build-{alert.last_window_id}").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("download_button")) == 1


def test_weekly_page_says_it_in_sentences(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(_app(scenario_url, monkeypatch), "weekly")
    assert at.title[0].value == "Weekly check-in"
    text = _text(at)
    # the last week holds the concept drift: take-rate sank against the week before
    assert "Take-rate fell" in text and "week over week, from " in text
    assert "incidents opened" in text and "resolved, median time open" in text
    assert len(at.get("plotly_chart")) == 2  # take-rate week over week + incident timeline
    metrics = {m.label: m.value for m in at.metric}
    # incidents, not alerts: those first seen in the 7 days up to the last window's end
    from sqlalchemy import text

    engine = make_engine(scenario_url)
    try:
        with engine.connect() as conn:
            end = conn.execute(text("SELECT MAX(window_end) FROM window_results")).scalar_one()
            seconds = "CAST(strftime('%s', {}) AS INTEGER)"
            week = {kind: conn.execute(text(
                f"SELECT COUNT(*) FROM {kind} WHERE {seconds.format('first_seen')} > {seconds.format(':end')} - "
                f"7 * 86400 AND {seconds.format('first_seen')} <= {seconds.format(':end')}"),
                {"end": end}).scalar_one() for kind in ("incidents", "alerts")}
    finally:
        engine.dispose()
    assert int(metrics["Incidents opened"]) == week["incidents"] >= 1
    assert week["alerts"] > week["incidents"]
    # model quality in one line: the last week's incidents (concept drift, an outage in one country, a
    # fairness drift) leave the ranking quality as it was
    line = next(m.value for m in at.markdown if "ROC AUC" in m.value)
    assert re.search(r"- ROC AUC 0\.\d\d, level with the reference, on \d+% of the week's predictions "
                     r"labelled so far\.", line), line
    # and the segment whose take-rate fell most week over week
    assert re.search(r"Take-rate fell most on (country|age_band)=\S+ \(", _text(at)), _text(at)


def test_weekly_quality_line_without_labels_reports_the_estimate(
    scenario_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_performance(scenario_url, "UPDATE performance_values SET realized = NULL, n_labelled = 0")
    at = _page(_app(scenario_url, monkeypatch), "weekly")
    line = next(m.value for m in at.markdown if "ROC AUC" in m.value)
    assert line.startswith("- No labels yet this week; the estimated ROC AUC is 0.")


@pytest.mark.parametrize("page", ["overview", "model", "alerts", "weekly"])
def test_every_page_explains_an_empty_database(page: str, empty_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(_app(empty_db, monkeypatch), page)
    assert at.info, f"{page} should say there is no data yet"


def test_password_gates_the_app(scenario_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(scenario_url, monkeypatch, password="s3cret")
    at.run()
    assert not at.exception
    assert "needs a login" in _text(at)
    assert not at.metric
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert any("Wrong password" in e.value for e in at.error)
    assert not at.metric
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Model health"


def test_multivariate_series_marks_the_incident_windows(scenario_url: str) -> None:
    """The joint test's per-window results come from the stored reports; the new device category (day 1.4-3
    of the scenario) moves the features' joint distribution, the first quiet day does not."""
    from dashboard import data

    series = data.multivariate_series(scenario_url, 1)
    assert len(series) >= 13 and series["statistic"].notna().all()
    assert (series["lower"] <= series["upper"]).all()
    assert series["drifted"].any()
    shares = series.loc[series["drifted"], "contributions"]  # each column's share of the squared error
    assert shares.map(lambda c: isinstance(c, dict) and abs(sum(c.values()) - 1) < 1e-9).all(), shares
    start = series["window_end"].min()
    quiet = series[series["window_end"] == start]
    assert not quiet["drifted"].any(), quiet


def test_dead_letters_page_counts_reasons_and_shows_the_latest(
    empty_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dead letters stored the way the watcher stores them: counted by kind of reason, examples listed."""
    from monitor.consumer.deadletter import DeadLetterRecord
    from monitor.sources import RawMessage

    engine = make_engine(empty_db)
    with Session(engine) as session, session.begin():
        for offset, model in enumerate(["churn-a", "churn-b", "churn-c"]):
            msg = RawMessage("preds", 0, offset, model.encode(), b'{"model": "%s"}' % model.encode(), "prediction")
            session.add(DeadLetterRecord.of(msg, f"unknown model {model!r}", category="unknown_model",
                                            error_class="EventDecodeError").to_row())
        msg = RawMessage("preds", 0, 3, None, b"\xff\xfe", "prediction")
        session.add(DeadLetterRecord.of(msg, "message is not UTF-8", category="malformed",
                                        error_class="EventDecodeError").to_row())
    engine.dispose()
    at = _page(_app(empty_db, monkeypatch), "deadletters")
    assert "**4 dead letters** in the last 7 days, 2 kinds of reason." in _text(at)
    kinds = at.dataframe[0].value.set_index("reason_kind")["count"].to_dict()
    assert kinds == {"unknown model '…'": 3, "message is not UTF-8": 1}
    examples = at.dataframe[1].value
    assert list(examples["id"]) == [4, 3, 2, 1]  # newest first
    assert set(examples["reason"]) == {"unknown model 'churn-a'", "unknown model 'churn-b'",
                                       "unknown model 'churn-c'", "message is not UTF-8"}


def test_dead_letters_page_on_an_empty_database(empty_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(_app(empty_db, monkeypatch), "deadletters")
    assert any("No dead letters" in s.value for s in at.success)


def test_model_page_reads_a_bounded_time_range_by_default(scenario_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(_app(scenario_url, monkeypatch), "model")
    assert at.segmented_control(key="model_page.span").value == "Last 30 days"


AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-long-random-cookie-secret-for-tests", "client_id": "driftwarden-dashboard",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration"}


def _oidc_alerts_page(url: str, monkeypatch: pytest.MonkeyPatch, user: dict[str, object]) -> AppTest:
    monkeypatch.setenv("DRIFTWARDEN_DASHBOARD_USERS", "ada@example.org=responder")
    monkeypatch.setenv("DRIFTWARDEN_DASHBOARD_ROLE_CLAIM", "groups")
    monkeypatch.setenv("DRIFTWARDEN_DASHBOARD_CLAIM_ROLES", "oncall=responder")
    at = _app(url, monkeypatch)
    at.secrets["auth"] = dict(AUTH)
    at.user = {"is_logged_in": True, **user}
    return _page(at, "alerts")


def test_oidc_roles_viewer_reads_responder_acts_as_the_logged_in_user(
    scenario_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert_id = _open_alert(scenario_url)
    viewer = _oidc_alerts_page(scenario_url, monkeypatch, {"email": "cy@example.org", "groups": ["staff"]})
    assert "can read alerts, not act on them" in _text(viewer)
    assert not [b for b in viewer.button if "FormSubmitter" in str(b.key)]
    at = _oidc_alerts_page(scenario_url, monkeypatch, {"email": "bo@example.org", "groups": ["oncall"]})
    assert not [t for t in at.text_input if t.label == "Your name"]  # no free-text identity under a login
    at.text_input(key=f"alerts_page.note.{alert_id}").input("on it")
    at.button(key=f"FormSubmitter:act-{alert_id}-Acknowledge").click().run()
    assert not at.exception
    at.button(key=f"FormSubmitter:act-{alert_id}-Snooze").click().run()
    assert not at.exception
    alert, actions = _alert(scenario_url, alert_id)
    assert (alert.status, alert.acknowledged_by, alert.ack_note) == ("acknowledged", "bo@example.org", "on it")
    assert alert.snoozed_until is not None and actions == ["opened", "acknowledged", "snoozed"]
