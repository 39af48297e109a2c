"""``driftwarden alerts show|assign|snooze`` on embedded SQLite: the history holds every action with who did
it, the evidence holds the feature's statistics in the alert's windows and rows of their stored sample, a
snoozed alert's window changes are not notified (an assignment is), and a bad ``--until`` is one line, exit 2."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from monitor.alerts.service import AlertService
from monitor.cli import app
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import FeatureResult, NotificationRow, WindowResult, WindowSample
from monitor.notify.outbox import Outbox
from monitor.pipeline.alert_signals import Signal
from monitor.store.models_repo import get_or_create_model

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DRIFT = Signal("feature_drift", "warning", "tenure drifted", "tenure", 0.3)
WORSE = Signal("feature_drift", "critical", "tenure drifted a lot", "tenure", 0.9)


def close_window(session: Session, i: int, clock: datetime, signal: Signal = DRIFT) -> None:
    m = get_or_create_model(session, "rec")
    row = WindowResult(model_id=m.id, window_key=f"count:{i}", window_start=T0 + timedelta(hours=i),
                       window_end=T0 + timedelta(hours=i + 1), n_events=100, reference_version=1, preset="default",
                       dataset_drift=False, drift_share=0.5, report={})
    session.add(row)
    session.flush()
    session.add(FeatureResult(window_id=row.id, feature="tenure", kind="numeric", test="ks", statistic=0.25 + i,
                              p_value=0.001, threshold=0.05, drifted=True))
    buffer = io.BytesIO()
    pq.write_table(pa.table({"tenure": [1.5 + i, 2.5], "prediction": [0.1, 0.9]}), buffer)
    session.add(WindowSample(window_id=row.id, format="parquet", n_rows=2, data=buffer.getvalue()))
    AlertService(Outbox(), clock=lambda: clock).process_window(session, "rec", row, [signal])


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/dw.db"
    upgrade(url)
    return url


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["alerts", *args, "--db", db], env={"DRIFTWARDEN_DATABASE_URL": db})
    return result.exit_code, result.output


def test_show_has_history_evidence_and_examples(db: str, tmp_path: Path) -> None:
    sessions = session_factory(make_engine(db))
    with sessions.begin() as s:
        close_window(s, 0, T0)
    assert invoke(db, "assign", "1", "--to", "ana", "--by", "bob")[0] == 0
    assert invoke(db, "snooze", "1", "--until", "2h", "--by", "ana", "--note", "upstream fix deploying")[0] == 0
    with sessions.begin() as s:
        close_window(s, 1, datetime.now(UTC), WORSE)  # escalated while snoozed: recorded, not notified
    assert invoke(db, "ack", "1", "--by", "ana")[0] == 0
    config = tmp_path / "c.yaml"
    config.write_text("models: {rec: {features: {tenure: numeric}}}\n"
                      "notifications: {runbooks: {feature_drift: 'https://wiki/drift'}}\n")
    code, out = invoke(db, "show", "1", "--json", "--examples", "1", "--config", str(config))
    assert code == 0, out
    found = json.loads(out)
    assert (found["alert"]["assignee"], found["alert"]["status"], found["alert"]["windows_count"]) == (
        "ana", "acknowledged", 2)
    assert [(h["action"], h["actor"]) for h in found["history"]] == [
        ("opened", None), ("assigned", "bob"), ("snoozed", "ana"), ("escalated", None), ("acknowledged", "ana")]
    assert found["runbook"] == "https://wiki/drift"
    first, last = found["evidence"]["first_window"], found["evidence"]["last_window"]
    assert (first["feature"]["statistic"], last["feature"]["statistic"]) == (0.25, 1.25)
    assert first["feature"]["test"] == "ks" and first["examples"] == [{"tenure": 1.5, "prediction": 0.1}]
    assert last["examples"] == [{"tenure": 2.5, "prediction": 0.1}]
    with sessions() as s:
        notified = [a["action"] for r in s.scalars(select(NotificationRow).order_by(NotificationRow.id))
                    for a in r.payload["alerts"]]
    assert notified == ["opened", "assigned", "acknowledged"]  # nothing for the snoozed window
    code, out = invoke(db, "show", "1")
    assert code == 0 and "snoozed by ana: until" in out and "example:" in out


def test_bad_until_and_unknown_alert_are_one_line(db: str) -> None:
    code, out = invoke(db, "snooze", "1", "--until", "whenever", "--by", "ana")
    assert code == 2 and "--until 'whenever'" in out
    code, out = invoke(db, "show", "7")
    assert code == 2 and "alert 7 does not exist" in out
