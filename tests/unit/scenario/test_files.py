"""The written files: JSONL that the event decoder accepts, the reference Parquet, config, ground truth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from monitor.config import load_config
from monitor.events import OutcomeEvent, PredictionEvent, decode_any
from scenario import FEATURES, GroundTruth, ScenarioFiles, generate_scenario
from scenario.errors import ScenarioError


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFiles:
    return generate_scenario(tmp_path_factory.mktemp("sc"), seed=4, days=3, events_per_hour=60,
                             reference_rows=3000, validation_rows=1500)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_line_is_a_valid_event_in_time_order(files: ScenarioFiles) -> None:
    lines = files.events.read_bytes().splitlines()
    assert len(lines) == files.n_events == files.n_predictions + files.n_outcomes + files.n_labels
    events = [decode_any(line) for line in lines]
    preds = [e for e in events if isinstance(e, PredictionEvent)]
    outs = [e for e in events if isinstance(e, OutcomeEvent)]
    assert len(preds) == files.n_predictions == len(outs) - files.n_labels
    times = [e.ts for e in events]
    assert times == sorted(times)
    position = {e.event_id: i for i, e in enumerate(events) if isinstance(e, PredictionEvent)}
    assert len(position) == len(preds)  # ids are unique
    for i, e in enumerate(events):
        if isinstance(e, OutcomeEvent):
            assert position[e.event_id] < i, "an outcome precedes its prediction"
    p = preds[0]
    assert p.model == "recommender" and set(p.feature_dict) == set(FEATURES)
    assert isinstance(p.prediction, float) and 0 <= p.prediction <= 1
    # every prediction names its segments: the country (also a feature) and the age band (not a feature)
    assert all(set(e.segments) == {"country", "age_band"} and e.segments["country"] == e.feature_dict["country"]
               for e in preds)
    assert {e.segments["age_band"] for e in preds} == {"18-24", "25-34", "35-49", "50+"}


def test_nulls_and_outcomes_are_written_as_the_contract_says(files: ScenarioFiles) -> None:
    events = [decode_any(line) for line in files.events.read_bytes().splitlines()]
    preds = [e for e in events if isinstance(e, PredictionEvent)]
    break_ = files.truth.incident("feature_pipeline_break")
    inside = [e for e in preds if break_.start <= e.ts < break_.end]
    assert inside and all(e.feature_dict["tenure_days"] is None for e in inside)
    outs = [e for e in events if isinstance(e, OutcomeEvent)]
    business = {o.event_id: o for o in outs if o.outcomes}
    labels = {o.event_id: o for o in outs if not o.outcomes}
    assert len(business) + len(labels) == len(outs)  # one business outcome and at most one label event each
    assert all(o.label is None for o in business.values())  # the label never comes with the outcome
    assert labels and all(o.label in (0.0, 1.0) for o in labels.values())
    for event_id, label in labels.items():
        outcome = business[event_id].outcomes
        assert outcome["shown"] is True, "only shown recommendations get a label"
        quality = outcome["played"] is True and outcome["play_seconds"] >= 30
        assert label.label == float(quality), event_id
        assert label.ts > business[event_id].ts
    shown = [o for o in business.values() if o.outcomes["shown"] is True]
    assert 0.5 < len(labels) / len(shown) < 0.9  # 10% lost, the rest arrives hours to days later
    assert any(label.label == 1.0 for label in labels.values())


def test_labels_arrive_hours_to_days_late_and_some_never(files: ScenarioFiles) -> None:
    from datetime import timedelta

    events = [decode_any(line) for line in files.events.read_bytes().splitlines()]
    predicted = {e.event_id: e.ts for e in events if isinstance(e, PredictionEvent)}
    delays = sorted(e.ts - predicted[e.event_id] for e in events if isinstance(e, OutcomeEvent) and not e.outcomes)
    assert delays[0] > timedelta(minutes=30) and delays[-1] < timedelta(days=3)  # the file spans 3 days
    assert timedelta(hours=8) < delays[len(delays) // 2] < timedelta(hours=24)
    label_times = [e.ts for e in events if isinstance(e, OutcomeEvent) and not e.outcomes]
    assert max(label_times) < files.truth.end, "no label arrives after the scenario's end"


def test_reference_parquet_has_features_prediction_and_outcomes(files: ScenarioFiles) -> None:
    frame = pd.read_parquet(files.reference)
    assert len(frame) == files.n_reference == 3000
    assert set(FEATURES) | {"age_band", "prediction", "shown", "played", "play_seconds", "label"} <= set(frame.columns)
    assert frame["ts"].max() < pd.Timestamp(files.truth.start)
    assert frame["device"].dtype == object and frame["premium"].dtype == bool
    assert frame[list(FEATURES)].notna().all().all()


def test_validation_parquet_is_labelled_shown_recommendations_of_the_quiet_week(files: ScenarioFiles) -> None:
    frame = pd.read_parquet(files.validation)
    reference = pd.read_parquet(files.reference)
    assert len(frame) == files.n_validation == 1500
    assert list(frame.columns) == ["event_id", "ts", "model_version", *FEATURES, "prediction", "label"]
    assert set(frame["label"]) == {0, 1}
    assert frame["ts"].max() < pd.Timestamp(files.truth.start)
    assert not set(frame["event_id"]) & set(reference["event_id"])  # held out: its own ids and draws
    assert not frame["prediction"].isin(reference["prediction"]).all()
    # label = quality play among shown: the validation rate is the reference's take-rate
    take = reference["quality_play"].sum() / reference["shown"].sum()
    assert abs(frame["label"].mean() - take) < 0.04


def test_config_loads_and_points_at_the_reference(files: ScenarioFiles) -> None:
    cfg = load_config(files.config)
    model = cfg.models["recommender"]
    assert dict(model.features) == FEATURES
    assert model.reference.path is not None and Path(model.reference.path).resolve() == files.reference.resolve()
    perf = model.performance
    assert perf is not None and perf.task == "binary_classification"
    assert perf.reference is not None
    path = perf.reference.path if perf.reference.path.is_absolute() else files.config.parent / perf.reference.path
    assert path.resolve() == files.validation.resolve()
    assert (perf.reference.prediction_column, perf.reference.label_column) == ("prediction", "label")
    assert perf.drops == {"roc_auc": 0.05} and model.label_ttl == 3 * 86_400
    assert model.window.type == "time" and model.window.size == 86_400
    (metric,) = model.business_metrics
    frame = pd.read_parquet(files.reference)
    assert metric.reference_value == pytest.approx(frame["quality_play"].sum() / frame["shown"].sum(), abs=1e-4)
    assert model.segments.keys == ["country", "age_band"]
    assert model.fairness is not None and model.fairness.attributes == ["age_band"]
    assert model.fairness.metrics == ["demographic_parity_difference"]


def test_ground_truth_file(files: ScenarioFiles) -> None:
    truth = GroundTruth.load(files.ground_truth)
    assert truth == files.truth
    raw = json.loads(files.ground_truth.read_text())
    assert raw["parameters"]["events_per_hour"] == 60
    assert raw["parameters"]["label_horizon_seconds"] == 2 * 86_400
    assert [p["name"] for p in raw["phases"] if p["kind"] == "incident"] == [
        "new_device_category", "covariate_shift_quality", "feature_pipeline_break", "model_degenerates",
        "quality_decay_no_drift", "concept_drift", "playback_outage_one_country", "fairness_drift_age"]


def test_generation_is_byte_for_byte_deterministic(files: ScenarioFiles, tmp_path: Path) -> None:
    again = generate_scenario(tmp_path, seed=4, days=3, events_per_hour=60, reference_rows=3000,
                              validation_rows=1500)
    for name in ("events", "ground_truth", "config"):
        assert _digest(getattr(again, name)) == _digest(getattr(files, name)), name
    pd.testing.assert_frame_equal(pd.read_parquet(again.reference), pd.read_parquet(files.reference))
    pd.testing.assert_frame_equal(pd.read_parquet(again.validation), pd.read_parquet(files.validation))
    other = generate_scenario(tmp_path / "other", seed=5, days=3, events_per_hour=60, reference_rows=3000)
    assert _digest(other.events) != _digest(files.events)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="reference_rows: must be >= 100, got 5"):
        generate_scenario(tmp_path, days=1, events_per_hour=10, reference_rows=5)
    with pytest.raises(ScenarioError, match="validation_rows: must be >= 100, got 50"):
        generate_scenario(tmp_path, days=1, events_per_hour=10, reference_rows=500, validation_rows=50)
    with pytest.raises(ScenarioError, match="days: must be >= 1, got 0"):
        generate_scenario(tmp_path, days=0)
