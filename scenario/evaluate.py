"""Score the alerts a run raised against the scenario's ground truth.

Rules (``w`` = window size, windows aligned on the Unix epoch):

* an alert is *explained* by an incident when its (signal, feature, segment) is expected or allowed there and its
  ``first_seen`` lies in ``[floor_w(start), end + w]``: from the window holding the incident's first event
  to one window after its last;
* an incident is *caught* when each of its expectations is met by an explained alert, and *in time* when
  every such alert has ``first_seen <= ceil_w(start) + w`` (the window holding the start, or the next);
* every alert that no incident explains is a *false alarm* (quiet phases, or the wrong signal);
* an explained alert is *owned* by the incident explaining it that expects it (else only allows it), the
  latest to start among equals; the watcher's incidents of a scripted incident
  (:attr:`IncidentResult.incidents`) are those holding an alert it owns. It is *one incident* when there is
  exactly one and that one holds no alert another scripted incident owns, and its *top cause is right* when
  that incident's top-ranked alert matches the phase's ``cause``.

An expectation ``after_labels`` (an alert computed from labels, which arrive after the predictions) gets
``label_horizon`` more at both ends that are after the incident: explained up to ``end + w +
label_horizon``, in time up to ``ceil_w(start) + w + label_horizon``. ``label_horizon`` defaults to the
ground truth's ``label_horizon_seconds`` parameter (0 when absent).

Examples
--------
>>> from datetime import datetime, UTC
>>> from scenario.timeline import build_ground_truth
>>> truth = build_ground_truth(datetime(2026, 11, 2, tzinfo=UTC), days=21)
>>> alerts = [RaisedAlert("business_metric_drop", "take_rate", datetime(2026, 11, 17, tzinfo=UTC)),
...           RaisedAlert("performance_drop", "roc_auc", datetime(2026, 11, 16, 6, tzinfo=UTC)),
...           RaisedAlert("feature_drift", "country", datetime(2026, 11, 2, 12, tzinfo=UTC))]
>>> ev = evaluate_alerts(truth, alerts, window_seconds=86400, label_horizon_seconds=2 * 86400)
>>> ev.incident("concept_drift").caught, ev.incident("concept_drift").delay_hours
(True, 24.0)
>>> ev.incident("quality_decay_no_drift").in_time, ev.incident("quality_decay_no_drift").delay_hours
(True, 54.0)
>>> ev.incident("new_device_category").caught
False
>>> [a.feature for a in ev.false_alarms], ev.ok
(['country'], False)

A segment's alert meets only an expectation naming that segment (or any segment):

>>> br = RaisedAlert("business_metric_drop", "take_rate", datetime(2026, 11, 20, tzinfo=UTC), segment="country=BR")
>>> pop = RaisedAlert("business_metric_drop", "take_rate", datetime(2026, 11, 20, tzinfo=UTC))
>>> evaluate_alerts(truth, [br], window_seconds=86400).incident("playback_outage_one_country").caught
True
>>> ev = evaluate_alerts(truth, [pop], window_seconds=86400)
>>> ev.incident("playback_outage_one_country").caught, len(ev.false_alarms)
(False, 1)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from scenario.truth import Expectation, GroundTruth, Phase

__all__ = ["Evaluation", "IncidentResult", "RaisedAlert", "RaisedIncident", "evaluate_alerts",
           "format_evaluation"]


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    """The part of an alert the ground truth speaks about (``incident``: the id of the watcher's incident;
    ``segment``: ``key=value`` of a segment's alert, ``None`` for the population's)."""

    signal: str
    feature: str | None
    first_seen: datetime
    incident: int | None = None
    segment: str | None = None


@dataclass(frozen=True, slots=True)
class RaisedIncident:
    """A watcher's incident: its id, top-ranked alert and how many alerts it grouped."""

    id: int
    top_signal: str
    top_feature: str | None
    alerts: int


@dataclass(frozen=True)
class IncidentResult:
    phase: Phase
    met: dict[str, RaisedAlert] = field(default_factory=dict)  # Expectation.what -> the alert meeting it
    missing: tuple[Expectation, ...] = ()
    deadline: datetime | None = None  # of the signals computed at window close
    deadlines: dict[str, datetime] = field(default_factory=dict)  # Expectation.what -> its own deadline
    incidents: tuple[RaisedIncident, ...] = ()  # the watcher's incidents holding its explained alerts
    merged: bool = False  # one of those incidents also holds an alert of another scripted incident

    @property
    def one_incident(self) -> bool:
        return len(self.incidents) == 1 and not self.merged

    @property
    def cause_first(self) -> bool:
        """One incident, whose top-ranked alert is the phase's ``cause``."""
        cause = self.phase.cause
        return (self.one_incident and cause is not None
                and cause.matches(self.incidents[0].top_signal, self.incidents[0].top_feature))

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
        if not self.caught:
            return False
        for what, alert in self.met.items():
            deadline = self.deadlines.get(what, self.deadline)
            if deadline is None or alert.first_seen > deadline:
                return False
        return True

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


def evaluate_alerts(
    truth: GroundTruth,
    alerts: Iterable[RaisedAlert],
    *,
    window_seconds: float,
    label_horizon_seconds: float | None = None,
    incidents: Mapping[int, RaisedIncident] | None = None,
) -> Evaluation:
    """Match ``alerts`` to the incidents of ``truth`` (see the module docstring for the rules); ``incidents``:
    the watcher's incidents by id."""
    w = timedelta(seconds=float(window_seconds))
    horizon = timedelta(seconds=float(
        truth.parameters.get("label_horizon_seconds", 0.0) if label_horizon_seconds is None
        else label_horizon_seconds))
    pending = sorted(alerts, key=lambda a: a.first_seen)
    explained: list[tuple[str, RaisedAlert]] = []
    results: list[IncidentResult] = []
    used: set[int] = set()
    for phase in truth.incidents:
        base_deadline = _ceil(phase.start, w.total_seconds()) + w

        def extra(exp: Expectation) -> timedelta:
            return horizon if exp.after_labels else timedelta(0)

        def inside(exp: Expectation, a: RaisedAlert, phase: Phase = phase) -> bool:
            lo, hi = _floor(phase.start, w.total_seconds()), phase.end + w + extra(exp)
            return lo <= a.first_seen <= hi and exp.matches(a.signal, a.feature, a.segment)

        met: dict[str, RaisedAlert] = {}
        missing: list[Expectation] = []
        deadlines: dict[str, datetime] = {}
        for exp in phase.expected:
            deadlines[exp.what] = base_deadline + extra(exp)
            hit = next((a for a in pending if inside(exp, a)), None)
            if hit is None:
                missing.append(exp)
            else:
                met[exp.what] = hit
        for i, a in enumerate(pending):
            if any(inside(exp, a) for exp in (*phase.expected, *phase.allowed)):
                used.add(i)
                explained.append((phase.name, a))
        results.append(IncidentResult(phase, met, tuple(missing), base_deadline, deadlines))
    false = tuple(a for i, a in enumerate(pending) if i not in used)
    return Evaluation(tuple(_with_incidents(results, explained, incidents or {})), false, tuple(explained))


def _with_incidents(results: list[IncidentResult], explained: list[tuple[str, RaisedAlert]],
                    incidents: Mapping[int, RaisedIncident]) -> list[IncidentResult]:
    """Each result with the watcher's incidents of the alerts it owns (see the module docstring)."""
    phases = {r.name: r.phase for r in results}
    owner: dict[int, tuple[RaisedAlert, Phase]] = {}  # id() of an alert -> (alert, the phase owning it)
    for name, a in explained:
        phase = phases[name]
        rank = (any(e.matches(a.signal, a.feature, a.segment) for e in phase.expected), phase.start)
        held = owner.get(id(a))
        if held is None or rank > (any(e.matches(a.signal, a.feature, a.segment) for e in held[1].expected),
                                   held[1].start):
            owner[id(a)] = (a, phase)
    out = []
    for r in results:
        ids = list(dict.fromkeys(a.incident for a, p in owner.values() if p is r.phase and a.incident is not None))
        merged = any(a.incident in ids and p is not r.phase for a, p in owner.values())
        out.append(replace(r, incidents=tuple(incidents[i] for i in ids if i in incidents), merged=merged))
    return out


def _incidents_line(r: IncidentResult) -> str:
    """``-> incident #4: 6 alerts, top cause data_quality(tenure_days:missing_rate)`` (and what is wrong)."""
    parts = [f"#{i.id}: {i.alerts} alert{'s' if i.alerts != 1 else ''}, top cause {i.top_signal}({i.top_feature})"
             for i in r.incidents]
    noun = "incident" if len(r.incidents) == 1 else f"{len(r.incidents)} incidents"
    line = f"-> {noun} " + "; ".join(parts)
    if r.merged:
        line += " (SHARED with another scripted incident)"
    elif r.phase.cause is not None and not r.cause_first:
        line += f" (expected top cause: {r.phase.cause.what})"
    return line


def format_evaluation(ev: Evaluation) -> list[str]:
    """Human-readable lines: one per incident (when each expected signal first fired, in hours after the
    incident began; then the watcher's incident it became, how many alerts it grouped and its top cause),
    then the false alarms."""
    lines = []
    width = max([24, *(len(r.name) for r in ev.incidents)])  # the incident names in one column
    for r in ev.incidents:
        if r.caught:
            start = r.phase.start
            firsts: dict[str, datetime] = {}
            for a in r.met.values():
                key = f"{a.signal}({a.feature})" + (f"[{a.segment}]" if a.segment else "")
                firsts[key] = min(firsts.get(key, a.first_seen), a.first_seen)
            signals = ", ".join(f"{key} {(t - start).total_seconds() / 3600:+.0f} h"
                                for key, t in sorted(firsts.items(), key=lambda kv: (kv[1], kv[0])))
            timing = "in time" if r.in_time else "LATE"
            lines.append(f"  {r.name:<{width}} caught {timing}, {r.delay_hours:+.0f} h after it began: {signals}")
            if r.incidents:
                lines.append(" " * (width + 3) + _incidents_line(r))
        else:
            wanted = "; ".join(e.what for e in r.missing)
            lines.append(f"  {r.name:<{width}} MISSED: {wanted}")
    for a in ev.false_alarms:
        where = f"[{a.segment}]" if a.segment else ""
        lines.append(f"  false alarm: {a.signal}({a.feature}){where} first seen {a.first_seen.isoformat()}")
    if not ev.false_alarms:
        lines.append("  no false alarms in the quiet periods")
    return lines
