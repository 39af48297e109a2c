"""Segment and fairness rows through the writer into SQLite and PostgreSQL, read back by
``segment_series`` / ``fairness_series``, the ``segments`` / ``fairness`` commands (exact ``--json`` field
sets, a table without), and the alerts' ``segment`` in ``driftwarden alerts list --json``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.alerts.service import AlertService
from monitor.pipeline import Pipeline
from monitor.store.segments_store import FAIRNESS_FIELDS, SEGMENT_FIELDS, fairness_series, segment_series
from tests.unit.monitor.test_segments_pipeline import PROFILE, config, events

ALERT_FIELDS = {"id", "model", "signal", "feature", "segment", "severity", "status", "windows", "first_seen",
                "last_seen", "detected_at", "early", "detected_events", "message", "acknowledged_by", "ack_note",
                "resolved_by", "resolve_note", "assignee", "snoozed_until"}


def _persisted(url: str) -> Any:
    from monitor.db import make_engine, session_factory, upgrade
    from monitor.store.writer import persist

    upgrade(url)
    pipe = Pipeline(config(), {"rec": PROFILE})
    pool = ["FR", *(f"k{i}" for i in range(9))]
    for e in events(4000, seed=1, broken="FR", countries=pool, shift_by=1.5, bias=0.8):
        pipe.on_prediction(e)
    [window] = pipe.flush()
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        persist(s, [window], "k", pipe.snapshot(), {}, AlertService())
    with session_factory(engine)() as s:
        segs, fair = segment_series(s, "rec"), fairness_series(s, "rec")
    engine.dispose()
    return window, segs, fair


def _check(url: str) -> None:
    from monitor.cli import app

    window, segs, fair = _persisted(url)
    assert [(r.segment, r.n_events, r.drift_share, r.drifted_columns, r.metrics, r.alerted) for r in segs] == [
        (r.segment, r.n_events, r.drift_share, r.drifted_columns, r.metrics, r.alerted) for r in window.segments]
    def rows(records: Any) -> list[tuple[Any, ...]]:  # (the series reads them ordered by attribute, metric)
        return sorted((r.attribute, r.metric, r.value, r.lower, r.upper, r.threshold, r.violated, r.groups)
                      for r in records)

    assert rows(fair) == rows(window.fairness)
    assert any(r.alerted for r in segs) and any(r.violated for r in fair)

    runner = CliRunner()
    out = runner.invoke(app, ["segments", "rec", "--db", url, "--json"])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.output.splitlines()]
    assert len(lines) == len(window.segments) and all(tuple(line) == SEGMENT_FIELDS for line in lines)
    fr = next(line for line in lines if line["segment"] == "country=FR")
    assert fr["alerted"] and "tenure" in fr["drifted_columns"] and fr["model"] == "rec"
    out = runner.invoke(app, ["fairness", "rec", "--db", url, "--json"])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.output.splitlines()]
    assert len(lines) == len(window.fairness) and all(tuple(line) == FAIRNESS_FIELDS for line in lines)
    gap = next(x for x in lines if x["attribute"] == "gender" and x["metric"] == "demographic_parity_difference")
    assert gap["violated"] and set(gap["groups"]) == {"f", "m"} and gap["lower"] <= gap["value"] <= gap["upper"]

    table = runner.invoke(app, ["segments", "rec", "--db", url])
    assert table.exit_code == 0 and "country=FR" in table.output and "segment" in table.output.splitlines()[0]
    table = runner.invoke(app, ["fairness", "rec", "--db", url])
    assert table.exit_code == 0 and "demographic_parity_difference" in table.output and "yes" in table.output
    empty = runner.invoke(app, ["segments", "nobody", "--db", url])
    assert empty.exit_code == 0 and "no segment rows for nobody" in empty.output

    out = runner.invoke(app, ["alerts", "list", "--db", url, "--json"])
    assert out.exit_code == 0, out.output
    alerts = [json.loads(line) for line in out.output.splitlines()]
    assert alerts and all(set(a) == ALERT_FIELDS for a in alerts)
    assert {a["segment"] for a in alerts if a["signal"] == "feature_drift"} == {"country=FR"}
    assert any(a["segment"] is None and a["signal"] == "fairness_gap" for a in alerts)


def test_sqlite_round_trip_and_cli(tmp_path: Any) -> None:
    _check(f"sqlite:///{tmp_path}/db.sqlite")


@pytest.mark.integration
def test_postgres_round_trip_and_cli(pg_url: str) -> None:
    _check(pg_url)
