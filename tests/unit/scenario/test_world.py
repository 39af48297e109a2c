"""The generative process: deterministic, stationary when quiet, and each incident doing what it says."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from scenario.errors import ScenarioError
from scenario.generate import reference_events, scenario_events
from scenario.timeline import build_ground_truth
from scenario.truth import GroundTruth, Phase
from scenario.world import Events, World, simulate

START = datetime(2026, 11, 2, tzinfo=UTC)
RATE = 400.0
WORLD = World()


@pytest.fixture(scope="module")
def truth() -> GroundTruth:
    return build_ground_truth(START, days=21, seed=5)


@pytest.fixture(scope="module")
def events(truth: GroundTruth) -> Events:
    return scenario_events(truth, RATE)


@pytest.fixture(scope="module")
def reference() -> Events:
    return reference_events(START, 5, 40_000)


def _in(ev: Events, phase: Phase) -> Events:
    ms = ev.ts_ms
    mask = (ms >= phase.start.timestamp() * 1000) & (ms < phase.end.timestamp() * 1000)
    return ev.take(np.flatnonzero(mask))


def _whole_days(ev: Events, phase: Phase) -> Events:
    """The events of the whole UTC days inside ``phase`` (a day-long window sees a full daily cycle)."""
    day = 86_400_000
    lo = -(-int(phase.start.timestamp() * 1000) // day) * day
    hi = int(phase.end.timestamp() * 1000) // day * day
    assert hi > lo, f"{phase.name} holds no whole day"
    return ev.take(np.flatnonzero((ev.ts_ms >= lo) & (ev.ts_ms < hi)))


def _take_rate(ev: Events) -> float:
    return float(ev.quality_play.sum() / ev.shown.sum())


def _shares(values: np.ndarray, categories: list[str]) -> np.ndarray:
    return np.array([np.mean(values == c) for c in categories])


def test_same_seed_same_events_other_seed_other_events(truth: GroundTruth) -> None:
    a, b = scenario_events(truth, 50), scenario_events(truth, 50)
    for f in fields(Events):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)
    other = build_ground_truth(START, days=21, seed=6)
    c = scenario_events(other, 50)
    assert len(a) != len(c) or not np.array_equal(a.prediction, c.prediction)


def test_events_are_sorted_and_outcomes_follow_their_prediction(events: Events) -> None:
    assert np.all(np.diff(events.ts_ms) >= 0)
    delay = events.outcome_ts_ms - events.ts_ms
    assert delay.min() >= 500
    assert delay.max() <= 3_600_000  # within the config's outcome_join_ttl of 1h


def test_traffic_volume_is_the_same_every_day(events: Events) -> None:
    per_day = np.bincount(((events.ts_ms - events.ts_ms[0]) // 86_400_000).astype(np.int64))
    assert per_day.size == 21
    np.testing.assert_allclose(per_day, RATE * 24, rtol=0.03)


def test_take_rate_of_the_reference_is_realistic(reference: Events) -> None:
    assert 0.25 < _take_rate(reference) < 0.35
    assert 0.78 < reference.shown.mean() < 0.86
    assert not np.isnan(reference.tenure_days).any()
    assert set(reference.device) == set(WORLD.devices)


def test_quiet_days_are_the_reference_process(truth: GroundTruth, events: Events, reference: Events) -> None:
    devices, countries = list(WORLD.devices), list(WORLD.countries)
    for phase in truth.quiet:
        day = _whole_days(events, phase)
        np.testing.assert_allclose(_shares(day.device, devices), _shares(reference.device, devices), atol=0.02)
        np.testing.assert_allclose(
            _shares(day.country, countries), _shares(reference.country, countries), atol=0.02
        )
        bands = list(WORLD.age_bands)
        np.testing.assert_allclose(_shares(day.age_band, bands), _shares(reference.age_band, bands), atol=0.02)
        assert _parity_gap(day) < 0.04, phase.name
        hours = np.bincount(day.hour_of_day, minlength=24) / len(day)
        # 0.012: four standard errors of the largest hourly share (~0.09) of one day at 400 events/h
        np.testing.assert_allclose(hours, np.bincount(reference.hour_of_day, minlength=24) / len(reference),
                                   atol=0.012)
        for column in ("prediction", "item_popularity", "tenure_days", "hour_of_day"):
            p = stats.ks_2samp(getattr(day, column), getattr(reference, column)).pvalue
            assert p > 1e-3, f"{phase.name}: {column} differs from the reference (KS p={p:.2g})"
        assert abs(_take_rate(day) - _take_rate(reference)) < 0.02, phase.name
        assert set(day.model_version) == {WORLD.model_version}


def test_new_device_category_only_during_the_release(truth: GroundTruth, events: Events) -> None:
    phase = truth.incident("new_device_category")
    inside = _in(events, phase)
    assert np.mean(inside.device == WORLD.new_device) == pytest.approx(WORLD.new_device_share, abs=0.01)
    outside = np.ones(len(events), bool)
    outside[np.flatnonzero((events.ts_ms >= phase.start.timestamp() * 1000)
                           & (events.ts_ms < phase.end.timestamp() * 1000))] = False
    assert not np.any(events.device[outside] == WORLD.new_device)
    # the rest of the world does not change: take-rate is the same
    assert abs(_take_rate(inside) - _take_rate(_whole_days(events, truth.quiet[0]))) < 0.02


def test_pipeline_break_nulls_one_feature_and_freezes_another(truth: GroundTruth, events: Events) -> None:
    phase = truth.incident("feature_pipeline_break")
    inside = _in(events, phase)
    assert np.isnan(inside.tenure_days).all()
    assert np.unique(inside.item_popularity).tolist() == [WORLD.constant_popularity]
    before = _in(events, truth.quiet[1])
    assert not np.isnan(before.tenure_days).any()
    assert np.unique(before.item_popularity).size > 1000
    # the model imputes the missing tenure, so its scores move (the allowed knock-on)
    assert inside.prediction.mean() < before.prediction.mean() - 0.05


def test_model_degenerates_to_near_constant_scores(truth: GroundTruth, events: Events, reference: Events) -> None:
    phase = truth.incident("model_degenerates")
    inside = _in(events, phase)
    assert inside.prediction.std() / reference.prediction.std() < 0.02
    assert set(inside.model_version) == {WORLD.degenerate_version}
    # a flat ranking recommends worse items: fewer quality plays
    assert _take_rate(inside) < 0.85 * _take_rate(reference)


def test_concept_drift_take_rate_falls_while_inputs_and_scores_stay(
    truth: GroundTruth, events: Events, reference: Events
) -> None:
    phase = truth.incident("concept_drift")
    days = _whole_days(events, phase)
    drop = 1 - _take_rate(days) / _take_rate(reference)
    assert 0.28 < drop < 0.45, f"take-rate drop {drop:.2f}: must be material (config alerts at 0.2)"
    devices = list(WORLD.devices)
    np.testing.assert_allclose(_shares(days.device, devices), _shares(reference.device, devices), atol=0.02)
    for column in ("prediction", "item_popularity", "tenure_days", "hour_of_day"):
        p = stats.ks_2samp(getattr(days, column), getattr(reference, column)).pvalue
        assert p > 1e-3, f"{column} moved during concept drift (KS p={p:.2g})"
    assert not np.isnan(days.tenure_days).any()
    assert set(days.model_version) == {WORLD.model_version}


def _auc(ev: Events) -> float:
    """Realized ROC AUC of the scores against the label (quality play) over the shown recommendations."""
    return float(roc_auc_score(ev.quality_play[ev.shown], ev.prediction[ev.shown]))


def test_cold_start_items_get_the_popularity_prior(reference: Events) -> None:
    cold = reference.item_popularity < WORLD.cold_popularity
    assert 0.01 < cold.mean() < 0.05  # a few brand-new items in the reference too
    prior = 1 / (1 + np.exp(-(WORLD.intercept + 1.2 * (reference.item_popularity[cold] - 0.29))))
    np.testing.assert_allclose(reference.prediction[cold], np.round(prior, 6), atol=1e-12)


def test_covariate_shift_moves_popularity_and_lowers_quality_with_the_scores_showing_it(
    truth: GroundTruth, events: Events, reference: Events
) -> None:
    phase = truth.incident("covariate_shift_quality")
    day = _whole_days(events, phase)
    new = day.item_popularity < WORLD.cold_popularity
    assert new.mean() == pytest.approx(WORLD.new_release_share + 0.02, abs=0.03)
    assert stats.ks_2samp(day.item_popularity, reference.item_popularity).pvalue < 1e-10
    for column in ("tenure_days", "hour_of_day"):  # only the item side moves
        assert stats.ks_2samp(getattr(day, column), getattr(reference, column)).pvalue > 1e-3
    assert _auc(day) < _auc(reference) - 0.1
    # what CBPE sees: the scores bunch up (most of them are the prior), so fewer pairs can be ranked
    assert np.std(day.prediction) < 0.8 * np.std(reference.prediction)
    assert set(day.model_version) == {WORLD.model_version}


def test_quality_decay_keeps_inputs_scores_and_take_rate_but_not_the_ranking(
    truth: GroundTruth, events: Events, reference: Events
) -> None:
    day = _whole_days(events, truth.incident("quality_decay_no_drift"))
    for column in ("prediction", "item_popularity", "tenure_days", "hour_of_day"):
        p = stats.ks_2samp(getattr(day, column), getattr(reference, column)).pvalue
        assert p > 1e-3, f"{column} moved during the quality decay (KS p={p:.2g})"
    assert abs(_take_rate(day) - _take_rate(reference)) < 0.02
    assert _auc(reference) > 0.7 and _auc(day) < 0.62
    before = _whole_days(events, truth.phases[truth.phases.index(truth.incident("quality_decay_no_drift")) - 1])
    assert abs(_auc(before) - _auc(reference)) < 0.03


def test_concept_drift_keeps_the_ranking(truth: GroundTruth, events: Events, reference: Events) -> None:
    day = _whole_days(events, truth.incident("concept_drift"))
    assert abs(_auc(day) - _auc(reference)) < 0.03


def _parity_gap(ev: Events, threshold: float = 0.5) -> float:
    """Largest minus smallest share of positive predictions (score >= threshold) between age bands."""
    shares = [np.mean(ev.prediction[ev.age_band == band] >= threshold) for band in WORLD.age_bands]
    return float(max(shares) - min(shares))


def test_playback_outage_sinks_one_countrys_take_rate_not_the_populations(
    truth: GroundTruth, events: Events, reference: Events
) -> None:
    day = _whole_days(events, truth.incident("playback_outage_one_country"))
    br = day.take(np.flatnonzero(day.country == WORLD.outage_country))
    rest = day.take(np.flatnonzero(day.country != WORLD.outage_country))
    assert 0.1 < _take_rate(br) < 0.16 < 0.25 < _take_rate(reference)
    assert abs(_take_rate(rest) - _take_rate(reference)) < 0.02
    # the population stays inside the config's rule (alert below 0.8 x the reference)
    assert _take_rate(day) > 0.85 * _take_rate(reference)
    for column in ("prediction", "item_popularity", "tenure_days", "hour_of_day"):
        p = stats.ks_2samp(getattr(day, column), getattr(reference, column)).pvalue
        assert p > 1e-3, f"{column} moved during the outage (KS p={p:.2g})"


def test_fairness_drift_moves_the_age_bands_scores_apart_and_nothing_else(
    truth: GroundTruth, events: Events, reference: Events
) -> None:
    day = _whole_days(events, truth.incident("fairness_drift_age"))
    assert _parity_gap(reference) < 0.02
    assert 0.17 < _parity_gap(day) < 0.27
    assert abs(_take_rate(day) - _take_rate(reference)) < 0.02  # what users play is unchanged
    for column in ("item_popularity", "tenure_days", "hour_of_day"):
        assert stats.ks_2samp(getattr(day, column), getattr(reference, column)).pvalue > 1e-3, column
    after = _whole_days(events, truth.phases[-1])
    assert _parity_gap(after) < 0.04


def test_labels_only_for_shown_some_lost_none_after_the_end(truth: GroundTruth, events: Events) -> None:
    has = events.label_ts_ms >= 0
    assert not np.any(has & ~events.shown)
    assert np.all(events.label_ts_ms[has] > events.outcome_ts_ms[has])
    assert np.all(events.label_ts_ms[has] < truth.end.timestamp() * 1000)
    # before the last days (whose labels may come after the end) only the lost ones are missing
    early = events.ts_ms < (truth.end.timestamp() - 6 * 86_400) * 1000
    lost = 1 - has[early & events.shown].mean()
    assert lost == pytest.approx(WORLD.label_lost_share, abs=0.02)
    delay_h = (events.label_ts_ms[has] - events.outcome_ts_ms[has]) / 3_600_000
    assert np.median(delay_h[early[has]]) == pytest.approx(WORLD.label_delay_median_hours, rel=0.05)


def test_recovery_restores_the_take_rate(truth: GroundTruth, events: Events, reference: Events) -> None:
    recovery = _whole_days(events, truth.phases[-1])
    assert truth.phases[-1].name == "recovery"
    assert abs(_take_rate(recovery) - _take_rate(reference)) < 0.02


def test_quality_play_means_at_least_the_threshold(events: Events) -> None:
    q = events.quality_play
    assert np.all(events.play_seconds[q] >= WORLD.quality_play_seconds)
    assert np.all(events.play_seconds[events.played & ~q] < WORLD.quality_play_seconds)
    assert not np.any(events.played & ~events.shown)
    assert np.all(events.play_seconds[~events.played] == 0.0)


def test_bad_arguments() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ScenarioError, match="events_per_hour: must be > 0, got 0"):
        simulate(START, 1, 0, rng)
    with pytest.raises(ScenarioError, match="start: must be on a whole hour"):
        simulate(datetime(2026, 11, 2, 0, 30, tzinfo=UTC), 1, 10, rng)
    unknown = Phase("alien_invasion", "incident", START, START, "?")
    with pytest.raises(ScenarioError, match="no effect for incident 'alien_invasion'"):
        simulate(START, 1, 10, rng, phases=(unknown,))
