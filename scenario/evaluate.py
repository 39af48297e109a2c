"""Score the alerts a run raised against the scenario's ground truth.

Rules (``w`` = window size, windows aligned on the Unix epoch):

* an alert is *explained* by an incident when its (signal, feature) is expected or allowed there and its
  ``first_seen`` lies in ``[floor_w(start), end + w]``: from the window holding the incident's first event
  to one window after its last;
* an incident is *caught* when each of its expectations is met by an explained alert, and *in time* when
  every such alert has ``first_seen <= ceil_w(start) + w`` (the window holding the start, or the next);
* every alert that no incident explains is a *false alarm* (quiet phases, or the wrong signal).

Examples
--------
>>> from datetime import datetime, UTC
>>> from scenario.timeline import build_ground_truth
>>> truth = build_ground_truth(datetime(2026, 11, 2, tzinfo=UTC), days=14)
>>> alerts = [RaisedAlert("business_metric_drop", "take_rate", datetime(2026, 11, 14, tzinfo=UTC)),
...           RaisedAlert("feature_drift", "country", datetime(2026, 11, 3, tzinfo=UTC))]
>>> ev = evaluate_alerts(truth, alerts, window_seconds=86400)
>>> ev.incident("concept_drift").caught, ev.incident("concept_drift").delay_hours
(True, 24.0)
>>> ev.incident("new_device_category").caught
False
>>> [a.feature for a in ev.false_alarms], ev.ok
(['country'], False)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from scenario.timeline import Expectation, GroundTruth, Phase

__all__ = ["Evaluation", "IncidentResult", "RaisedAlert", "evaluate_alerts", "format_evaluation"]


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    """The part of an alert the ground truth speaks about."""

    signal: str
    feature: str | None
    first_seen: datetime


@dataclass(frozen=True)
class IncidentResult:
    phase: Phase
    met: dict[str, RaisedAlert] = field(default_factory=dict)  # Expectation.what -> the alert meeting it
    missing: tuple[Expectation, ...] = ()
    deadline: datetime | None = None

    @property
    def name(self) -> str:
        return self.phase.name

    @property
    def caught(self) -> bool:
        return not self.missing

    @property
    def first_seen(self) -> datetime | None:
        return min((a.first_seen for a in self.met.values()), default=None)

    @property
    def in_time(self) -> bool:
        deadline = self.deadline
        return self.caught and deadline is not None and all(a.first_seen <= deadline for a in self.met.values())

    @property
    def delay_hours(self) -> float | None:
        first = self.first_seen
        return None if first is None else (first - self.phase.start).total_seconds() / 3600


@dataclass(frozen=True)
class Evaluation:
    incidents: tuple[IncidentResult, ...]
    false_alarms: tuple[RaisedAlert, ...]
    explained: tuple[tuple[str, RaisedAlert], ...]  # (incident name, alert)

    @property
    def ok(self) -> bool:
        return all(r.caught and r.in_time for r in self.incidents) and not self.false_alarms

    def incident(self, name: str) -> IncidentResult:
        return next(r for r in self.incidents if r.name == name)


def _floor(ts: datetime, w: float) -> datetime:
    return datetime.fromtimestamp(math.floor(ts.timestamp() / w) * w, UTC)


def _ceil(ts: datetime, w: float) -> datetime:
    return datetime.fromtimestamp(math.ceil(ts.timestamp() / w) * w, UTC)


def evaluate_alerts(truth: GroundTruth, alerts: Iterable[RaisedAlert], *, window_seconds: float) -> Evaluation:
    """Match ``alerts`` to the incidents of ``truth`` (see the module docstring for the rules)."""
    w = float(window_seconds)
    pending = sorted(alerts, key=lambda a: a.first_seen)
    explained: list[tuple[str, RaisedAlert]] = []
    results: list[IncidentResult] = []
    used: set[int] = set()
    for phase in truth.incidents:
        lo, hi = _floor(phase.start, w), phase.end + timedelta(seconds=w)
        inside = [(i, a) for i, a in enumerate(pending) if lo <= a.first_seen <= hi]
        met: dict[str, RaisedAlert] = {}
        missing: list[Expectation] = []
        for exp in phase.expected:
            hit = next((a for _, a in inside if exp.matches(a.signal, a.feature)), None)
            if hit is None:
                missing.append(exp)
            else:
                met[exp.what] = hit
        for i, a in inside:
            if phase.explains(a.signal, a.feature):
                used.add(i)
                explained.append((phase.name, a))
        deadline = _ceil(phase.start, w) + timedelta(seconds=w)
        results.append(IncidentResult(phase, met, tuple(missing), deadline))
    false = tuple(a for i, a in enumerate(pending) if i not in used)
    return Evaluation(tuple(results), false, tuple(explained))


def format_evaluation(ev: Evaluation) -> list[str]:
    """Human-readable lines: one per incident, then the false alarms."""
    lines = []
    for r in ev.incidents:
        if r.caught:
            signals = ", ".join(sorted({f"{a.signal}({a.feature})" for a in r.met.values()}))
            timing = "in time" if r.in_time else "LATE"
            lines.append(f"  {r.name:<24} caught {timing}, {r.delay_hours:+.0f} h after it began: {signals}")
        else:
            wanted = "; ".join(e.what for e in r.missing)
            lines.append(f"  {r.name:<24} MISSED: {wanted}")
    for a in ev.false_alarms:
        lines.append(f"  false alarm: {a.signal}({a.feature}) first seen {a.first_seen.isoformat()}")
    if not ev.false_alarms:
        lines.append("  no false alarms in the quiet periods")
    return lines
