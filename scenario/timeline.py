"""The scripted scenario: when each incident happens and which alerts it should raise (the ground truth).

The schedule is written for 21 days (in day units, below) and scaled to other lengths, rounded to the hour::

    day  0 .. 1.4 ==== 3 .. 4 ==== 5 .. 6.6 ==== 8 .. 9.25 ==== 11 .. 12 ==== 13 .. 14 ==== 15
         quiet   new device  covariate  pipeline break  model degenerates  quality decay   concept
                             shift                                         (no drift)      drift

         15 .. 17 ==== 18 .. 19 ==== 20 .. 21
         quiet   playback   fairness  recovery
                 outage in  drift (age
                 BR only    bands)

The covariate shift comes before the incidents that break the estimator's assumption (a broken feature
pipeline and a degenerate model change how scores relate to labels): once the labels show an estimate
outside its band in most recent windows, the watcher marks the estimate unreliable and stops alerting on
it.

Quiet phases are drawn from exactly the generative process of the training reference; each incident changes
one thing. ``expected`` lists what an incident must raise (each an :class:`Expectation`: any of its
(signal, feature) pairs counts), ``allowed`` the knock-on alerts it may raise as well (a broken feature
changes the scores; a degenerate model recommends worse items, so take-rate sinks too). An expectation
``after_labels`` is met by an alert computed from labels, which arrive hours to days after the predictions
(see :mod:`scenario.world`): the evaluation gives it ``label_horizon_seconds`` more (a ground-truth
parameter). ``cause`` says which alert names what went wrong: the watcher should group an incident's alerts
into one incident with that alert first.

Two incidents are confined to part of the traffic (the events carry ``segments: {country, age_band}``): the
playback outage hits one country only, so the population's take-rate stays inside its threshold and only
that country's segment alert (``segment`` ``country=BR``) fires; the fairness drift moves the model's scores
apart between age bands (``fairness_gap`` on ``age_band``). An :class:`Expectation` names the segment an
alert must carry (``None``: the population's; :data:`ANY_SEGMENT`: any, or the population).

>>> from datetime import datetime, UTC
>>> truth = build_ground_truth(datetime(2026, 11, 2, tzinfo=UTC), days=21, seed=7)
>>> [p.name for p in truth.incidents]  # doctest: +NORMALIZE_WHITESPACE
['new_device_category', 'covariate_shift_quality', 'feature_pipeline_break', 'model_degenerates',
 'quality_decay_no_drift', 'concept_drift', 'playback_outage_one_country', 'fairness_drift_age']
>>> truth.incidents[0].start.isoformat(), truth.incidents[0].end.isoformat()
('2026-11-03T10:00:00+00:00', '2026-11-05T00:00:00+00:00')
>>> GroundTruth.from_dict(truth.to_dict()) == truth
True
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scenario.errors import ScenarioError
from scenario.truth import (
    ANY_SEGMENT,
    SIGNAL_BUSINESS_METRIC,
    SIGNAL_DATA_QUALITY,
    SIGNAL_DATASET_DRIFT,
    SIGNAL_ESTIMATE_UNRELIABLE,
    SIGNAL_ESTIMATED_DROP,
    SIGNAL_FAIRNESS_GAP,
    SIGNAL_FEATURE_DRIFT,
    SIGNAL_MULTIVARIATE,
    SIGNAL_NEAR_CONSTANT,
    SIGNAL_PERFORMANCE_DROP,
    SIGNAL_PREDICTION_DRIFT,
    Expectation,
    GroundTruth,
    Phase,
)

__all__ = ["DEFAULT_DAYS", "MODEL_NAME", "SCENARIO_NAME", "build_ground_truth"]

MODEL_NAME = "recommender"
SCENARIO_NAME = "recommender-21-days"


_DQ = SIGNAL_DATA_QUALITY
_AUC = "roc_auc"
_REALIZED_DROP = Expectation("realized ROC AUC drops (once labels arrive)", ((SIGNAL_PERFORMANCE_DROP, _AUC),),
                             after_labels=True)
_ESTIMATED_DROP = Expectation("estimated ROC AUC drops (CBPE, at window close)", ((SIGNAL_ESTIMATED_DROP, _AUC),))
_UNRELIABLE = Expectation("the estimate disagrees with the labels", ((SIGNAL_ESTIMATE_UNRELIABLE, _AUC),),
                          after_labels=True)
_BR = "country=BR"
_AGE_GAP = "age_band:demographic_parity_difference"
# name, start day, end day (of 21), description, expected, allowed
_SCHEDULE: tuple[tuple[str, float, float, str, tuple[Expectation, ...], tuple[Expectation, ...]], ...] = (
    (
        "new_device_category",
        1 + 10 / 24,
        3,
        "App release 5.0 ships a car-dashboard client: a new device category ('car') takes 15% of the "
        "traffic (covariate drift on device); the client is pulled two days later.",
        (
            Expectation("device's distribution drifts (covariate drift)", ((SIGNAL_FEATURE_DRIFT, "device"),)),
            Expectation("unseen category 'car' on device", ((_DQ, "device:unseen_categories"),)),
        ),
        (Expectation("the joint distribution of the features moves", ((SIGNAL_MULTIVARIATE, None),)),),
    ),
    (
        "covariate_shift_quality",
        4,
        5,
        "A new-releases campaign: 65% of the recommendations are brand-new items (item_popularity below "
        "0.03) that have no play history, so the model falls back to its popularity prior and scores them "
        "all alike. The inputs move into a region where the model cannot rank: its quality falls, and the "
        "estimate (CBPE) sees it from the scores when the window closes, before any label arrives.",
        (
            Expectation("item_popularity drifts (covariate shift)", ((SIGNAL_FEATURE_DRIFT, "item_popularity"),)),
            _ESTIMATED_DROP,
        ),
        (
            Expectation("scores shift (prior for new items)", ((SIGNAL_PREDICTION_DRIFT, "prediction"),)),
            Expectation("several columns drift at once", ((SIGNAL_DATASET_DRIFT, None),)),
            Expectation("the joint distribution of the features moves", ((SIGNAL_MULTIVARIATE, None),)),
            Expectation("take-rate sinks (new items play less)", ((SIGNAL_BUSINESS_METRIC, "take_rate"),)),
            Expectation("popularity below the reference's range", ((_DQ, "item_popularity:out_of_range"),)),
            _REALIZED_DROP, _UNRELIABLE,
        ),
    ),
    (
        "feature_pipeline_break",
        6 + 14 / 24,
        8,
        "The user-profile job fails: tenure_days arrives as null on every event, and the popularity service "
        "falls back to a constant item_popularity of 0.5; the model imputes, so its scores shift and it "
        "recommends slightly worse items.",
        (
            Expectation("tenure_days turns null", ((_DQ, "tenure_days:missing_rate"),)),
            Expectation("item_popularity turns constant",
                        ((_DQ, "item_popularity:constant"), (SIGNAL_FEATURE_DRIFT, "item_popularity"))),
        ),
        (
            Expectation("tenure_days drift", ((SIGNAL_FEATURE_DRIFT, "tenure_days"),)),
            Expectation("scores shift (imputation)", ((SIGNAL_PREDICTION_DRIFT, "prediction"),)),
            Expectation("several columns drift at once", ((SIGNAL_DATASET_DRIFT, None),)),
            Expectation("the joint distribution of the features moves", ((SIGNAL_MULTIVARIATE, None),)),
            Expectation("take-rate sinks (worse recommendations)", ((SIGNAL_BUSINESS_METRIC, "take_rate"),)),
            _ESTIMATED_DROP, _REALIZED_DROP, _UNRELIABLE,
        ),
    ),
    (
        "model_degenerates",
        9 + 6 / 24,
        11,
        "Model 1.5.0 (a bad training run) is deployed: its scores are nearly constant, so the ranking is "
        "close to random and take-rate sinks; rolled back to 1.4.0 after the incident.",
        (Expectation("near-constant scores", ((SIGNAL_NEAR_CONSTANT, "prediction"),)),),
        (
            Expectation("score distribution moves", ((SIGNAL_PREDICTION_DRIFT, "prediction"),)),
            Expectation("constant score column", ((_DQ, "prediction:constant"),)),
            Expectation("take-rate sinks (random ranking)", ((SIGNAL_BUSINESS_METRIC, "take_rate"),)),
            _ESTIMATED_DROP, _REALIZED_DROP, _UNRELIABLE,
        ),
    ),
    (
        "quality_decay_no_drift",
        12,
        13,
        "Tastes change: what users played before no longer tells what they play now. Features, scores and "
        "take-rate keep the reference distribution, but the model's ranking is close to random; only the "
        "realized quality, once the labels arrive, shows it.",
        (_REALIZED_DROP,),
        (_UNRELIABLE,),
    ),
    (
        "concept_drift",
        14,
        15,
        "Fewer recommendations become quality plays (take-rate falls by about a third) while features and "
        "scores keep the reference distribution.",
        (Expectation("take-rate drops", ((SIGNAL_BUSINESS_METRIC, "take_rate"),)),),
        (_UNRELIABLE,),
    ),
    (
        "playback_outage_one_country",
        17,
        18,
        "A CDN outage in Brazil: playback stalls for users in BR, so fewer of their recommendations become "
        "quality plays (BR's take-rate falls from about 0.27 to about 0.13). BR is 14% of the traffic: the "
        "population's take-rate stays inside its threshold and no input or score moves; only BR's segment "
        "alert says it.",
        (Expectation("BR's take-rate drops (segment alert)", ((SIGNAL_BUSINESS_METRIC, "take_rate"),),
                     segment=_BR),),
        (_UNRELIABLE,),
    ),
    (
        "fairness_drift_age",
        19,
        20,
        "A re-trained user-embedding table is hot-swapped under model 1.4.0; it encodes age, so the model "
        "scores users aged 18-24 higher and users aged 50+ lower (a logit shift of +-0.5) while what they "
        "play is unchanged: the share of positive predictions (score >= 0.5) differs by about 0.2 between "
        "the age bands. The table is rolled back the next day.",
        (Expectation("positive-prediction share diverges between age bands",
                     ((SIGNAL_FAIRNESS_GAP, _AGE_GAP),)),),
        (
            Expectation("scores of the age bands move", ((SIGNAL_PREDICTION_DRIFT, "prediction"),),
                        segment=ANY_SEGMENT),
            Expectation("several columns of an age band drift", ((SIGNAL_DATASET_DRIFT, None),), segment=ANY_SEGMENT),
            _ESTIMATED_DROP, _REALIZED_DROP, _UNRELIABLE,
        ),
    ),
)
# what each incident's top cause must be (monitor.alerts.incidents ranks an incident's alerts cause first)
_CAUSES: dict[str, Expectation] = {
    "new_device_category": Expectation("unseen category 'car' on device", ((_DQ, "device:unseen_categories"),)),
    "covariate_shift_quality": Expectation("item_popularity moves", (
        (_DQ, "item_popularity:out_of_range"), (SIGNAL_FEATURE_DRIFT, "item_popularity"))),
    "feature_pipeline_break": Expectation("tenure_days arrives null", ((_DQ, "tenure_days:missing_rate"),)),
    "model_degenerates": Expectation("the scores are (near) constant", (
        (_DQ, "prediction:constant"), (SIGNAL_NEAR_CONSTANT, "prediction"))),
    "quality_decay_no_drift": _REALIZED_DROP,
    "concept_drift": Expectation("take-rate drops", ((SIGNAL_BUSINESS_METRIC, "take_rate"),)),
    "playback_outage_one_country": Expectation("BR's take-rate drops", ((SIGNAL_BUSINESS_METRIC, "take_rate"),),
                                               segment=ANY_SEGMENT),
    "fairness_drift_age": Expectation("the scores of the age bands move apart", (
        (SIGNAL_PREDICTION_DRIFT, "prediction"), (SIGNAL_FAIRNESS_GAP, _AGE_GAP)), segment=ANY_SEGMENT),
}
_RECOVERY_NAME = "recovery"
_SCHEDULE_DAYS = 21.0
DEFAULT_DAYS = 21
"""Length of the scenario's schedule in days (other lengths scale it)."""


def build_ground_truth(
    start: datetime, *, days: int = DEFAULT_DAYS, seed: int = 0, parameters: dict[str, Any] | None = None
) -> GroundTruth:
    """The phases of a ``days``-long scenario starting at ``start`` (the 21-day schedule, scaled).

    Every boundary is rounded to a whole hour; quiet phases fill the gaps, and the last quiet phase is
    named ``recovery``.
    """
    if days < 1:
        raise ScenarioError("days", f"must be >= 1, got {days}")
    if start.tzinfo is None:
        raise ScenarioError("start", f"must be timezone-aware, got {start.isoformat()}")
    scale = days / _SCHEDULE_DAYS
    end = start + timedelta(days=days)

    def at(day: float) -> datetime:
        return start + timedelta(hours=round(day * scale * 24))

    phases: list[Phase] = []
    cursor = start
    for i, (name, d0, d1, text, expected, allowed) in enumerate(_SCHEDULE):
        s, e = at(d0), at(d1)
        if s > cursor:
            phases.append(Phase(f"quiet_{i}", "quiet", cursor, s, "Same process as the training reference."))
        phases.append(Phase(name, "incident", s, e, text, expected, allowed, _CAUSES.get(name)))
        cursor = e
    if cursor < end:
        phases.append(
            Phase(_RECOVERY_NAME, "quiet", cursor, end, "Recovery: back to the training process; nothing new fires.")
        )
    return GroundTruth(SCENARIO_NAME, MODEL_NAME, seed, start, end, tuple(phases), dict(parameters or {}))
