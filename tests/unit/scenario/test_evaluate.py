from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scenario import RaisedAlert, build_ground_truth, evaluate_alerts, format_evaluation
from scenario import truth as gt

START = datetime(2026, 11, 2, tzinfo=UTC)
DAY = 86_400
TRUTH = build_ground_truth(START, days=21)
BR = "country=BR"
AGE_GAP = "age_band:demographic_parity_difference"
HORIZON = 2 * DAY


def _at(day: float) -> datetime:
    return START + timedelta(days=day)


def _perfect() -> list[RaisedAlert]:
    return [
        RaisedAlert(gt.SIGNAL_FEATURE_DRIFT, "device", _at(2)),           # release began day 1.42
        RaisedAlert(gt.SIGNAL_DATA_QUALITY, "device:unseen_categories", _at(2)),
        RaisedAlert(gt.SIGNAL_FEATURE_DRIFT, "item_popularity", _at(5)),
        RaisedAlert(gt.SIGNAL_ESTIMATED_DROP, "roc_auc", _at(5)),         # at window close
        RaisedAlert(gt.SIGNAL_DATA_QUALITY, "tenure_days:missing_rate", _at(7)),
        RaisedAlert(gt.SIGNAL_DATA_QUALITY, "item_popularity:constant", _at(7)),
        RaisedAlert(gt.SIGNAL_PREDICTION_DRIFT, "prediction", _at(7)),    # allowed knock-on
        RaisedAlert(gt.SIGNAL_ESTIMATE_UNRELIABLE, "roc_auc", _at(8)),    # scores no longer mean what they did
        RaisedAlert(gt.SIGNAL_NEAR_CONSTANT, "prediction", _at(10)),
        RaisedAlert(gt.SIGNAL_BUSINESS_METRIC, "take_rate", _at(11)),     # knock-on, one window late
        RaisedAlert(gt.SIGNAL_PERFORMANCE_DROP, "roc_auc", _at(11.5)),    # knock-on, once labels arrived
        RaisedAlert(gt.SIGNAL_PERFORMANCE_DROP, "roc_auc", _at(13.8)),    # labels, the next day
        RaisedAlert(gt.SIGNAL_ESTIMATE_UNRELIABLE, "roc_auc", _at(15)),
        RaisedAlert(gt.SIGNAL_BUSINESS_METRIC, "take_rate", _at(15)),
        RaisedAlert(gt.SIGNAL_BUSINESS_METRIC, "take_rate", _at(18), segment=BR),  # BR's segment alert
        RaisedAlert(gt.SIGNAL_PREDICTION_DRIFT, "prediction", _at(20), segment="age_band=18-24"),  # allowed
        RaisedAlert(gt.SIGNAL_FAIRNESS_GAP, AGE_GAP, _at(20)),
    ]


def test_a_perfect_run_passes() -> None:
    ev = evaluate_alerts(TRUTH, _perfect(), window_seconds=DAY, label_horizon_seconds=HORIZON)
    assert ev.ok, format_evaluation(ev)
    assert [r.delay_hours for r in ev.incidents] == [14.0, 24.0, 10.0, 18.0, 43.2, 24.0, 24.0, 24.0]
    assert "no false alarms" in format_evaluation(ev)[-1]
    lines = format_evaluation(ev)
    assert "covariate_shift_quality" in lines[1] and "estimated_performance_drop(roc_auc) +24 h" in lines[1]
    assert "caught in time, +43 h after it began: performance_drop(roc_auc) +43 h" in lines[4]


def test_the_label_horizon_defaults_to_the_ground_truths() -> None:
    late = RaisedAlert(gt.SIGNAL_PERFORMANCE_DROP, "roc_auc", _at(13.8))
    assert evaluate_alerts(TRUTH, _perfect(), window_seconds=DAY).incident("quality_decay_no_drift").in_time is False
    with_param = type(TRUTH)(**{**TRUTH.__dict__, "parameters": {"label_horizon_seconds": HORIZON}})
    ev = evaluate_alerts(with_param, _perfect(), window_seconds=DAY)
    assert ev.incident("quality_decay_no_drift").in_time and ev.incident("quality_decay_no_drift").met
    assert late in ev.incident("quality_decay_no_drift").met.values()


def test_label_signals_get_the_horizon_and_window_close_signals_do_not() -> None:
    # realized quality: two days after the window closed is in time, three is late
    deadline = TRUTH.incident("quality_decay_no_drift").start + timedelta(days=1) + timedelta(seconds=HORIZON)
    alerts = [a for a in _perfect() if a.signal != gt.SIGNAL_PERFORMANCE_DROP or a.first_seen < _at(12)]
    on_time = [*alerts, RaisedAlert(gt.SIGNAL_PERFORMANCE_DROP, "roc_auc", deadline)]
    ev = evaluate_alerts(TRUTH, on_time, window_seconds=DAY, label_horizon_seconds=HORIZON)
    assert ev.incident("quality_decay_no_drift").in_time
    late = [*alerts, RaisedAlert(gt.SIGNAL_PERFORMANCE_DROP, "roc_auc", deadline + timedelta(hours=1))]
    ev = evaluate_alerts(TRUTH, late, window_seconds=DAY, label_horizon_seconds=HORIZON)
    assert ev.incident("quality_decay_no_drift").caught and not ev.incident("quality_decay_no_drift").in_time
    # the estimate is due at window close: the horizon does not extend it
    est = [a for a in _perfect() if a.signal != gt.SIGNAL_ESTIMATED_DROP]
    est.append(RaisedAlert(gt.SIGNAL_ESTIMATED_DROP, "roc_auc", _at(5.5)))
    ev = evaluate_alerts(TRUTH, est, window_seconds=DAY, label_horizon_seconds=HORIZON)
    assert ev.incident("covariate_shift_quality").caught and not ev.incident("covariate_shift_quality").in_time


def test_a_missed_expectation_fails_the_incident() -> None:
    alerts = [a for a in _perfect() if a.feature != "tenure_days:missing_rate"]
    ev = evaluate_alerts(TRUTH, alerts, window_seconds=DAY, label_horizon_seconds=HORIZON)
    r = ev.incident("feature_pipeline_break")
    assert not r.caught and [e.what for e in r.missing] == ["tenure_days turns null"]
    assert not ev.ok
    assert any("MISSED: tenure_days turns null" in line for line in format_evaluation(ev))


@pytest.mark.parametrize(
    ("alert", "why"),
    [
        (RaisedAlert(gt.SIGNAL_FEATURE_DRIFT, "country", _at(0.5)), "quiet day"),
        (RaisedAlert(gt.SIGNAL_FEATURE_DRIFT, "country", _at(2)), "wrong column during an incident"),
        (RaisedAlert(gt.SIGNAL_PREDICTION_DRIFT, "prediction", _at(15)), "concept drift allows no drift"),
        (RaisedAlert(gt.SIGNAL_PERFORMANCE_DROP, "roc_auc", _at(2.5)), "a new device does not hurt quality"),
        (RaisedAlert(gt.SIGNAL_ESTIMATED_DROP, "roc_auc", _at(13)), "no estimate can see tastes change"),
        (RaisedAlert(gt.SIGNAL_FEATURE_DRIFT, "item_popularity", _at(12.5)), "no drift in the quality decay"),
        (RaisedAlert(gt.SIGNAL_ESTIMATE_UNRELIABLE, "roc_auc", _at(2.5)), "a new device leaves the estimate"),
        (RaisedAlert(gt.SIGNAL_PERFORMANCE_DROP, "accuracy", _at(13)), "only roc_auc is expected"),
        (RaisedAlert("traffic_volume", None, _at(7.5)), "volume is never expected"),
        (RaisedAlert(gt.SIGNAL_FEATURE_DRIFT, "hour_of_day", _at(15.5)), "recovery"),
        (RaisedAlert(gt.SIGNAL_FEATURE_DRIFT, "device", _at(4.1)), "more than one window after the end"),
        (RaisedAlert(gt.SIGNAL_PERFORMANCE_DROP, "roc_auc", _at(16.01)), "beyond the label horizon"),
        (RaisedAlert(gt.SIGNAL_BUSINESS_METRIC, "take_rate", _at(18)), "the outage is BR's, not the population's"),
        (RaisedAlert(gt.SIGNAL_BUSINESS_METRIC, "take_rate", _at(18), segment="country=US"), "only BR is out"),
        (RaisedAlert(gt.SIGNAL_BUSINESS_METRIC, "take_rate", _at(16), segment=BR), "BR on a quiet day"),
        (RaisedAlert(gt.SIGNAL_FAIRNESS_GAP, AGE_GAP, _at(17.5)), "a fairness gap on a quiet day"),
        (RaisedAlert(gt.SIGNAL_FEATURE_DRIFT, "tenure_days", _at(20), segment="age_band=50+"), "only scores move"),
    ],
)
def test_unexplained_alerts_are_false_alarms(alert: RaisedAlert, why: str) -> None:
    ev = evaluate_alerts(TRUTH, [*_perfect(), alert], window_seconds=DAY, label_horizon_seconds=HORIZON)
    assert ev.false_alarms == (alert,), why
    assert not ev.ok


def test_late_detection_is_caught_but_not_in_time() -> None:
    alerts = [a for a in _perfect() if a.feature != "device:unseen_categories"]
    alerts.append(RaisedAlert(gt.SIGNAL_DATA_QUALITY, "device:unseen_categories", _at(3.5)))  # deadline: day 3
    ev = evaluate_alerts(TRUTH, alerts, window_seconds=DAY, label_horizon_seconds=HORIZON)
    r = ev.incident("new_device_category")
    assert r.caught and not r.in_time and not ev.ok
    assert any("LATE" in line for line in format_evaluation(ev))


def test_window_holding_the_start_counts() -> None:
    # first_seen stamped with the start of the window that holds the incident's start (day 1, 00:00)
    alerts = [a for a in _perfect() if a.feature != "device"]
    alerts.append(RaisedAlert(gt.SIGNAL_FEATURE_DRIFT, "device", _at(1)))
    ev = evaluate_alerts(TRUTH, alerts, window_seconds=DAY, label_horizon_seconds=HORIZON)
    assert ev.ok, format_evaluation(ev)


def test_incidents_one_per_scripted_incident_with_its_cause_first() -> None:
    """Each scripted incident's alerts in one watcher incident (the perfect run's, grouped by day of the
    incident), whose top cause is the scripted one; the summary says how many alerts each grouped."""
    from dataclasses import replace

    from scenario import RaisedIncident

    groups = [(0, 2), (2, 4), (4, 8), (8, 11), (11, 12), (12, 14), (14, 15), (15, 17)]  # of _perfect(), per incident
    alerts = [replace(a, incident=k + 1) for k, (lo, hi) in enumerate(groups) for a in _perfect()[lo:hi]]
    tops = [(gt.SIGNAL_DATA_QUALITY, "device:unseen_categories"), (gt.SIGNAL_FEATURE_DRIFT, "item_popularity"),
            (gt.SIGNAL_DATA_QUALITY, "tenure_days:missing_rate"), (gt.SIGNAL_NEAR_CONSTANT, "prediction"),
            (gt.SIGNAL_PERFORMANCE_DROP, "roc_auc"), (gt.SIGNAL_BUSINESS_METRIC, "take_rate"),
            (gt.SIGNAL_BUSINESS_METRIC, "take_rate"), (gt.SIGNAL_PREDICTION_DRIFT, "prediction")]
    incidents = {k + 1: RaisedIncident(k + 1, s, f, hi - lo)
                 for k, ((s, f), (lo, hi)) in enumerate(zip(tops, groups, strict=True))}
    ev = evaluate_alerts(TRUTH, alerts, window_seconds=DAY, label_horizon_seconds=HORIZON, incidents=incidents)
    assert [(r.one_incident, r.cause_first) for r in ev.incidents] == [(True, True)] * 8
    lines = format_evaluation(ev)
    assert lines[5].strip() == "-> incident #3: 4 alerts, top cause data_quality(tenure_days:missing_rate)"

    # the wrong top cause, two incidents for one, one incident for two
    wrong = {**incidents, 3: RaisedIncident(3, gt.SIGNAL_PREDICTION_DRIFT, "prediction", 4)}
    ev = evaluate_alerts(TRUTH, alerts, window_seconds=DAY, label_horizon_seconds=HORIZON, incidents=wrong)
    assert not ev.incident("feature_pipeline_break").cause_first
    assert "(expected top cause: tenure_days arrives null)" in format_evaluation(ev)[5]
    split = [replace(a, incident=9) if a.feature == "item_popularity:constant" else a for a in alerts]
    ev = evaluate_alerts(TRUTH, split, window_seconds=DAY, label_horizon_seconds=HORIZON,
                         incidents={**incidents, 9: RaisedIncident(9, gt.SIGNAL_DATA_QUALITY, "x", 1)})
    assert not ev.incident("feature_pipeline_break").one_incident
    merged = [replace(a, incident=1) if a.incident == 2 else a for a in alerts]
    ev = evaluate_alerts(TRUTH, merged, window_seconds=DAY, label_horizon_seconds=HORIZON, incidents=incidents)
    assert ev.incident("new_device_category").merged and not ev.incident("covariate_shift_quality").one_incident
