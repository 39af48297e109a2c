from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scenario import truth as gt
from scenario.errors import ScenarioError
from scenario.timeline import build_ground_truth
from scenario.truth import GroundTruth

START = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.mark.parametrize("days", [1, 2, 7, 14, 16, 21, 30])
def test_phases_cover_the_horizon_in_order_without_gaps(days: int) -> None:
    truth = build_ground_truth(START, days=days)
    assert truth.phases[0].start == START
    assert truth.phases[-1].end == START + timedelta(days=days)
    for before, after in zip(truth.phases, truth.phases[1:], strict=False):
        assert before.end == after.start
    assert all(p.start < p.end for p in truth.phases)
    assert all(p.start.minute == 0 and p.start.second == 0 for p in truth.phases)


def test_the_twenty_one_day_schedule() -> None:
    truth = build_ground_truth(START, days=21, seed=3)
    got = [(p.name, p.kind, (p.start - START) / timedelta(hours=1), (p.end - START) / timedelta(hours=1))
           for p in truth.phases]
    assert got == [
        ("quiet_0", "quiet", 0, 34),
        ("new_device_category", "incident", 34, 72),
        ("quiet_1", "quiet", 72, 96),
        ("covariate_shift_quality", "incident", 96, 120),
        ("quiet_2", "quiet", 120, 158),
        ("feature_pipeline_break", "incident", 158, 192),
        ("quiet_3", "quiet", 192, 222),
        ("model_degenerates", "incident", 222, 264),
        ("quiet_4", "quiet", 264, 288),
        ("quality_decay_no_drift", "incident", 288, 312),
        ("quiet_5", "quiet", 312, 336),
        ("concept_drift", "incident", 336, 360),
        ("quiet_6", "quiet", 360, 408),
        ("playback_outage_one_country", "incident", 408, 432),
        ("quiet_7", "quiet", 432, 456),
        ("fairness_drift_age", "incident", 456, 480),
        ("recovery", "quiet", 480, 504),
    ]
    # every quiet phase holds at least one whole day-long window
    for phase in truth.quiet:
        assert phase.end - phase.start >= timedelta(hours=24)
    assert truth == build_ground_truth(START, seed=3)  # 21 days is the default


def test_each_incident_expects_the_right_signal_on_the_right_column() -> None:
    truth = build_ground_truth(START)
    expected = {p.name: [set(e.any_of) for e in p.expected] for p in truth.incidents}
    assert expected == {
        "new_device_category": [{("feature_drift", "device")}, {("data_quality", "device:unseen_categories")}],
        "covariate_shift_quality": [{("feature_drift", "item_popularity")},
                                    {("estimated_performance_drop", "roc_auc")}],
        "feature_pipeline_break": [
            {("data_quality", "tenure_days:missing_rate")},
            {("data_quality", "item_popularity:constant"), ("feature_drift", "item_popularity")},
        ],
        "model_degenerates": [{("prediction_near_constant", "prediction")}],
        "quality_decay_no_drift": [{("performance_drop", "roc_auc")}],
        "concept_drift": [{("business_metric_drop", "take_rate")}],
        "playback_outage_one_country": [{("business_metric_drop", "take_rate")}],
        "fairness_drift_age": [{("fairness_gap", "age_band:demographic_parity_difference")}],
    }
    # the outage is BR's alone: met by BR's segment alert, never by the population's
    [outage] = truth.incident("playback_outage_one_country").expected
    assert outage.segment == "country=BR"
    assert outage.matches("business_metric_drop", "take_rate", "country=BR")
    assert not outage.matches("business_metric_drop", "take_rate")
    assert not outage.matches("business_metric_drop", "take_rate", "country=US")
    assert {s for e in truth.incident("playback_outage_one_country").allowed for s, _ in e.any_of} == {
        "performance_estimate_unreliable"}
    # the fairness gap is the population's (one per attribute); the age bands' own score drift is allowed
    [gap] = truth.incident("fairness_drift_age").expected
    assert gap.segment is None
    assert truth.incident("fairness_drift_age").explains("prediction_drift", "prediction", "age_band=18-24")
    # only the realized quality can see the decay (labels), and it may come after the window closes
    decay = truth.incident("quality_decay_no_drift")
    assert [e.after_labels for e in decay.expected] == [True]
    assert {s for e in decay.allowed for s, _ in e.any_of} == {"performance_estimate_unreliable"}
    # the covariate shift is seen at window close, from the scores (not after the labels)
    assert [e.after_labels for e in truth.incident("covariate_shift_quality").expected] == [False, False]
    # concept drift: nothing on features, predictions or quality is even allowed (only the guard)
    assert {s for e in truth.incident("concept_drift").allowed for s, _ in e.any_of} == {
        "performance_estimate_unreliable"}
    assert all(not p.expected and not p.allowed for p in truth.quiet)
    # the estimate is trusted until incidents that change how scores relate to labels come
    names = [p.name for p in truth.incidents]
    assert names.index("covariate_shift_quality") < names.index("feature_pipeline_break")


def test_signal_names_are_the_alert_services() -> None:
    from monitor.pipeline.alert_signals import SIGNALS

    truth = build_ground_truth(START)
    used = {s for p in truth.incidents for e in (*p.expected, *p.allowed) for s, _ in e.any_of}
    assert used <= set(SIGNALS)
    assert {gt.SIGNAL_FEATURE_DRIFT, gt.SIGNAL_DATASET_DRIFT, gt.SIGNAL_DATA_QUALITY, gt.SIGNAL_NEAR_CONSTANT,
            gt.SIGNAL_PREDICTION_DRIFT, gt.SIGNAL_BUSINESS_METRIC, gt.SIGNAL_MULTIVARIATE,
            gt.SIGNAL_FAIRNESS_GAP} <= set(SIGNALS)


def test_ground_truth_round_trips_through_json(tmp_path) -> None:
    truth = build_ground_truth(START, days=5, seed=11, parameters={"events_per_hour": 10})
    path = tmp_path / "ground_truth.json"
    truth.save(path)
    assert GroundTruth.load(path) == truth
    assert '"start": "2026-11-02T00:00:00Z"' in path.read_text()
    full = build_ground_truth(START)
    full.save(path)
    assert GroundTruth.load(path) == full
    assert '"segment": "country=BR"' in path.read_text()


def test_lookups() -> None:
    truth = build_ground_truth(START)
    assert truth.phase_at(START + timedelta(hours=60)).name == "new_device_category"
    assert truth.phase_at(START + timedelta(hours=100)).name == "covariate_shift_quality"
    assert truth.phase_at(START - timedelta(hours=1)) is None
    with pytest.raises(ScenarioError, match="no incident named 'nope'"):
        truth.incident("nope")


def test_bad_arguments_name_the_value(tmp_path) -> None:
    with pytest.raises(ScenarioError, match="days: must be >= 1, got 0"):
        build_ground_truth(START, days=0)
    with pytest.raises(ScenarioError, match="start: must be timezone-aware"):
        build_ground_truth(datetime(2026, 11, 2), days=1)
    bad = tmp_path / "gt.json"
    bad.write_text("{}")
    with pytest.raises(ScenarioError, match=r"gt\.json: not a readable ground-truth file"):
        GroundTruth.load(bad)
