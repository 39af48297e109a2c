from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scenario import RaisedAlert, build_ground_truth, evaluate_alerts, format_evaluation
from scenario import timeline as tl

START = datetime(2026, 11, 2, tzinfo=UTC)
DAY = 86_400
TRUTH = build_ground_truth(START, days=14)


def _at(day: float) -> datetime:
    return START + timedelta(days=day)


def _perfect() -> list[RaisedAlert]:
    return [
        RaisedAlert(tl.SIGNAL_FEATURE_DRIFT, "device", _at(3)),           # release began day 2.42
        RaisedAlert(tl.SIGNAL_DATA_QUALITY, "device:unseen_categories", _at(3)),
        RaisedAlert(tl.SIGNAL_DATA_QUALITY, "tenure_days:missing_rate", _at(6)),
        RaisedAlert(tl.SIGNAL_DATA_QUALITY, "item_popularity:constant", _at(6)),
        RaisedAlert(tl.SIGNAL_PREDICTION_DRIFT, "prediction", _at(6)),    # allowed knock-on
        RaisedAlert(tl.SIGNAL_NEAR_CONSTANT, "prediction", _at(9)),
        RaisedAlert(tl.SIGNAL_BUSINESS_METRIC, "take_rate", _at(10)),     # knock-on, one window late
        RaisedAlert(tl.SIGNAL_BUSINESS_METRIC, "take_rate", _at(12)),
    ]


def test_a_perfect_run_passes() -> None:
    ev = evaluate_alerts(TRUTH, _perfect(), window_seconds=DAY)
    assert ev.ok, format_evaluation(ev)
    assert [r.delay_hours for r in ev.incidents] == [14.0, 10.0, 18.0, 24.0]
    assert "no false alarms" in format_evaluation(ev)[-1]


def test_a_missed_expectation_fails_the_incident() -> None:
    alerts = [a for a in _perfect() if a.feature != "tenure_days:missing_rate"]
    ev = evaluate_alerts(TRUTH, alerts, window_seconds=DAY)
    r = ev.incident("feature_pipeline_break")
    assert not r.caught and [e.what for e in r.missing] == ["tenure_days turns null"]
    assert not ev.ok
    assert any("MISSED: tenure_days turns null" in line for line in format_evaluation(ev))


@pytest.mark.parametrize(
    ("alert", "why"),
    [
        (RaisedAlert(tl.SIGNAL_FEATURE_DRIFT, "country", _at(1)), "quiet day"),
        (RaisedAlert(tl.SIGNAL_FEATURE_DRIFT, "country", _at(3)), "wrong column during an incident"),
        (RaisedAlert(tl.SIGNAL_PREDICTION_DRIFT, "prediction", _at(12)), "concept drift allows nothing else"),
        (RaisedAlert("traffic_volume", None, _at(8.5)), "volume is never expected"),
        (RaisedAlert(tl.SIGNAL_FEATURE_DRIFT, "hour_of_day", _at(13.5)), "recovery"),
        (RaisedAlert(tl.SIGNAL_FEATURE_DRIFT, "device", _at(5.1)), "more than one window after the end"),
    ],
)
def test_unexplained_alerts_are_false_alarms(alert: RaisedAlert, why: str) -> None:
    ev = evaluate_alerts(TRUTH, [*_perfect(), alert], window_seconds=DAY)
    assert ev.false_alarms == (alert,), why
    assert not ev.ok


def test_late_detection_is_caught_but_not_in_time() -> None:
    alerts = [a for a in _perfect() if a.feature != "device:unseen_categories"]
    alerts.append(RaisedAlert(tl.SIGNAL_DATA_QUALITY, "device:unseen_categories", _at(4.5)))  # deadline: day 4
    ev = evaluate_alerts(TRUTH, alerts, window_seconds=DAY)
    r = ev.incident("new_device_category")
    assert r.caught and not r.in_time and not ev.ok
    assert any("LATE" in line for line in format_evaluation(ev))


def test_window_holding_the_start_counts() -> None:
    # first_seen stamped with the start of the window that holds the incident's start (day 2, 00:00)
    alerts = [a for a in _perfect() if a.feature != "device"]
    alerts.append(RaisedAlert(tl.SIGNAL_FEATURE_DRIFT, "device", _at(2)))
    ev = evaluate_alerts(TRUTH, alerts, window_seconds=DAY)
    assert ev.ok, format_evaluation(ev)
