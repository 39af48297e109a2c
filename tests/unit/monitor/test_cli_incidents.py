"""``driftwarden incidents list|show|ack|resolve`` on an embedded SQLite database holding one incident."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from monitor.alerts.incidents import group_alerts
from monitor.alerts.service import AlertService
from monitor.cli import app
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import WindowResult
from monitor.pipeline.alert_signals import Signal
from monitor.store.models_repo import get_or_create_model

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'dw.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        m = get_or_create_model(s, "rec")
        row = WindowResult(model_id=m.id, window_key="count:0", window_start=T0, window_end=T0 + timedelta(hours=1),
                           n_events=100, reference_version=1, preset="default", dataset_drift=False,
                           drift_share=0.0, report={})
        s.add(row)
        s.flush()
        changes = AlertService().process_window(s, "rec", row, [
            Signal("prediction_drift", "critical", "prediction column 'score' drifted", "score", 0.4),
            Signal("feature_drift", "warning", "feature 'tenure' drifted", "tenure", 1.0),
            Signal("data_quality", "critical", "missing rate of 'tenure' jumped", "tenure:missing_rate", 1.0)])
        group_alerts(s, changes)
    engine.dispose()
    return url


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"DRIFTWARDEN_METRICS_PORT": "0"})
    assert result.exit_code == 0, result.output
    return result.output


def test_list_show_ack_resolve(tmp_path: Path) -> None:
    url = _db(tmp_path)
    [listed] = [json.loads(line) for line in invoke("incidents", "list", "--json", "--db", url).splitlines()]
    assert (listed["alerts"], listed["status"], listed["title"]) == (3, "open", "tenure arrives null")
    shown = json.loads(invoke("incidents", "show", str(listed["id"]), "--json", "--db", url))
    ranked = [(a["rank"], a["signal"]) for a in shown["alert_list"]]
    assert ranked == [(1, "data_quality"), (2, "feature_drift"), (3, "prediction_drift")]
    assert shown["alert_list"][1]["explained_by"] == shown["alert_list"][0]["id"]
    assert "explained by #" in invoke("incidents", "show", str(listed["id"]), "--db", url)
    acked = json.loads(invoke("incidents", "ack", str(listed["id"]), "--by", "ana", "--json", "--db", url))
    assert acked["status"] == "acknowledged"
    assert {json.loads(line)["status"] for line in invoke("alerts", "list", "--json", "--db", url).splitlines()} == {
        "acknowledged"}
    assert "resolved by ana" in invoke("incidents", "resolve", str(listed["id"]), "--by", "ana", "--db", url)
    assert invoke("incidents", "list", "--db", url).strip() == "no incidents"


def test_resolving_the_last_alert_resolves_its_incident(tmp_path: Path) -> None:
    url = _db(tmp_path)
    for alert_id in (1, 2, 3):
        invoke("alerts", "resolve", str(alert_id), "--by", "ana", "--db", url)
    [row] = [json.loads(line) for line in invoke("incidents", "list", "--status", "all", "--json", "--db", url)
             .splitlines()]
    assert row["status"] == "resolved" and row["resolved_at"] is not None


def test_unknown_incident_is_a_one_line_error(tmp_path: Path) -> None:
    url = _db(tmp_path)
    result = CliRunner().invoke(app, ["incidents", "show", "99", "--db", url])
    assert result.exit_code != 0 and "incident 99 does not exist" in result.output
