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

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from scenario.errors import ScenarioError

__all__ = [
    "ANY_SEGMENT",
    "DEFAULT_DAYS",
    "MODEL_NAME",
    "SIGNAL_BUSINESS_METRIC",
    "SIGNAL_DATASET_DRIFT",
    "SIGNAL_DATA_QUALITY",
    "SIGNAL_ESTIMATED_DROP",
    "SIGNAL_ESTIMATE_UNRELIABLE",
    "SIGNAL_FAIRNESS_GAP",
    "SIGNAL_FEATURE_DRIFT",
    "SIGNAL_NEAR_CONSTANT",
    "SIGNAL_PERFORMANCE_DROP",
    "SIGNAL_PREDICTION_DRIFT",
    "Expectation",
    "GroundTruth",
    "Phase",
    "build_ground_truth",
]

MODEL_NAME = "recommender"
SCENARIO_NAME = "recommender-21-days"

# Alert signal names of monitor.pipeline.alert_signals (tests/unit/scenario/test_timeline.py checks they exist there).
SIGNAL_FEATURE_DRIFT = "feature_drift"
SIGNAL_DATASET_DRIFT = "dataset_drift"
SIGNAL_DATA_QUALITY = "data_quality"  # feature = "<column>:<check>"
SIGNAL_NEAR_CONSTANT = "prediction_near_constant"
SIGNAL_PREDICTION_DRIFT = "prediction_drift"
SIGNAL_BUSINESS_METRIC = "business_metric_drop"
SIGNAL_MULTIVARIATE = "multivariate_drift"
SIGNAL_PERFORMANCE_DROP = "performance_drop"  # feature = metric name; realized, from joined labels
SIGNAL_ESTIMATED_DROP = "estimated_performance_drop"  # feature = metric name; CBPE, at window close
SIGNAL_ESTIMATE_UNRELIABLE = "performance_estimate_unreliable"  # feature = metric name
SIGNAL_FAIRNESS_GAP = "fairness_gap"  # feature = "<attribute>:<metric>"

ANY_SEGMENT = "*"
"""The ``segment`` of an :class:`Expectation` met by an alert of any segment or of the population."""

PhaseKind = Literal["quiet", "incident"]


AlertKey = tuple[str, str | None]
"""(signal, feature) of an alert, as :class:`monitor.pipeline.alert_signals.Signal` names them."""


@dataclass(frozen=True, slots=True)
class Expectation:
    """What should be seen: ``what`` in words, met by an alert whose (signal, feature) is any of ``any_of``
    and whose segment is ``segment``.

    ``segment``: ``None``, the population's alert (no segment); ``"key=value"``, that segment's alert;
    :data:`ANY_SEGMENT`, any alert (a segment's or the population's). ``after_labels``: the alert comes from
    labels, so it may come up to the ground truth's label horizon later than a signal computed at window
    close (see :func:`scenario.evaluate_alerts`).

    >>> e = Expectation("new device", (("feature_drift", "device"), ("data_quality", "device:unseen_categories")))
    >>> e.matches("data_quality", "device:unseen_categories"), e.matches("feature_drift", "country")
    (True, False)
    >>> br = Expectation("BR's take-rate", (("business_metric_drop", "take_rate"),), segment="country=BR")
    >>> br.matches("business_metric_drop", "take_rate"), br.matches("business_metric_drop", "take_rate", "country=BR")
    (False, True)
    """

    what: str
    any_of: tuple[AlertKey, ...]
    after_labels: bool = False
    segment: str | None = None

    def matches(self, signal: str, feature: str | None, segment: str | None = None) -> bool:
        if self.segment != ANY_SEGMENT and segment != self.segment:
            return False
        return (signal, feature) in self.any_of

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"what": self.what, "any_of": [{"signal": s, "feature": f} for s, f in self.any_of]}
        if self.after_labels:
            out["after_labels"] = True
        if self.segment is not None:
            out["segment"] = self.segment
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Expectation:
        return cls(what=data["what"], any_of=tuple((a["signal"], a["feature"]) for a in data["any_of"]),
                   after_labels=bool(data.get("after_labels", False)), segment=data.get("segment"))


@dataclass(frozen=True, slots=True)
class Phase:
    """One stretch of the scenario, ``[start, end)``: quiet, or an incident with the alerts it should raise."""

    name: str
    kind: PhaseKind
    start: datetime
    end: datetime
    description: str
    expected: tuple[Expectation, ...] = ()
    allowed: tuple[Expectation, ...] = ()
    cause: Expectation | None = None
    """The alert that names what went wrong: the top cause of the watcher's incident for this phase."""

    def contains(self, ts: datetime) -> bool:
        return self.start <= ts < self.end

    def explains(self, signal: str, feature: str | None, segment: str | None = None) -> bool:
        """Whether an alert (signal, feature, segment) is one this phase expects or allows."""
        return any(e.matches(signal, feature, segment) for e in (*self.expected, *self.allowed))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "description": self.description,
            "expected": [e.to_dict() for e in self.expected],
            "allowed": [e.to_dict() for e in self.allowed],
            **({} if self.cause is None else {"cause": self.cause.to_dict()}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Phase:
        return cls(
            name=data["name"],
            kind=data["kind"],
            start=_parse(data["start"]),
            end=_parse(data["end"]),
            description=data["description"],
            expected=tuple(Expectation.from_dict(e) for e in data.get("expected", [])),
            allowed=tuple(Expectation.from_dict(e) for e in data.get("allowed", [])),
            cause=Expectation.from_dict(data["cause"]) if data.get("cause") else None,
        )


@dataclass(frozen=True)
class GroundTruth:
    """What happened when: every phase of the scenario, in order, covering ``[start, end)`` without gaps."""

    scenario: str
    model: str
    seed: int
    start: datetime
    end: datetime
    phases: tuple[Phase, ...]
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def incidents(self) -> list[Phase]:
        return [p for p in self.phases if p.kind == "incident"]

    @property
    def quiet(self) -> list[Phase]:
        return [p for p in self.phases if p.kind == "quiet"]

    def incident(self, name: str) -> Phase:
        for phase in self.incidents:
            if phase.name == name:
                return phase
        raise ScenarioError("incident", f"no incident named {name!r}; known: {[p.name for p in self.incidents]}")

    def phase_at(self, ts: datetime) -> Phase | None:
        return next((p for p in self.phases if p.contains(ts)), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "model": self.model,
            "seed": self.seed,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "parameters": self.parameters,
            "phases": [p.to_dict() for p in self.phases],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroundTruth:
        return cls(
            scenario=data["scenario"],
            model=data["model"],
            seed=int(data["seed"]),
            start=_parse(data["start"]),
            end=_parse(data["end"]),
            phases=tuple(Phase.from_dict(p) for p in data["phases"]),
            parameters=dict(data.get("parameters", {})),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> GroundTruth:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ScenarioError(str(path), f"not a readable ground-truth file ({type(exc).__name__}: {exc})") from None


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


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ScenarioError("ground truth", f"timestamp {text!r} has no timezone")
    return value
