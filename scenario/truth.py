"""The ground truth of a scenario: its phases, and the alerts each incident should raise.

A :class:`GroundTruth` is every phase of a scenario in order (quiet, or an incident with its
:class:`Expectation` list), saved beside the generated events as ``ground_truth.json``; :mod:`scenario.timeline`
builds the scripted one, :mod:`scenario.evaluate` compares a run's alerts with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from scenario.errors import ScenarioError

__all__ = [
    "ANY_SEGMENT",
    "SIGNAL_BUSINESS_METRIC",
    "SIGNAL_DATASET_DRIFT",
    "SIGNAL_DATA_QUALITY",
    "SIGNAL_ESTIMATED_DROP",
    "SIGNAL_ESTIMATE_UNRELIABLE",
    "SIGNAL_FAIRNESS_GAP",
    "SIGNAL_FEATURE_DRIFT",
    "SIGNAL_MULTIVARIATE",
    "SIGNAL_NEAR_CONSTANT",
    "SIGNAL_PERFORMANCE_DROP",
    "SIGNAL_PREDICTION_DRIFT",
    "AlertKey",
    "Expectation",
    "GroundTruth",
    "Phase",
    "PhaseKind",
]

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


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ScenarioError("ground truth", f"timestamp {text!r} has no timezone")
    return value
