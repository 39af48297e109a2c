"""Windows that closed but still wait for labels / business outcomes, and what their updates carry (pure).

Lifecycle of a window of a model with ``performance`` or ``business_metrics``:

1. it closes: its drift and data-quality results, its CBPE estimates and what is joined so far are
   emitted at once (a :class:`~monitor.pipeline.closed.ClosedWindow`); its join state moves to an
   :class:`AwaitingWindow` (the drift state is dropped);
2. labels and outcomes that arrive later update it; each persist point writes a :class:`WindowUpdate` for
   every window whose labels or outcomes changed (``provisional`` performance, business values; no alert
   signals), and the label that makes its labelled share cross a quarter step judges its provisional
   label signals (:mod:`monitor.pipeline.updates`);
3. once the model's ``outcome_join_ttl`` (business) and ``label_ttl`` (labels) have passed in event time
   (or the source ended), a final update is written: business_metric_drop, the sequential detectors,
   the reliability guard and clean-window counting are judged then, and the window is forgotten.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from detectors.performance.result import MetricEstimate
from monitor.pipeline.alert_signals import Signal
from monitor.pipeline.business_metrics import MetricResult
from monitor.pipeline.fairness_late import LateGroups
from monitor.pipeline.fairness_state import FairnessRecord
from monitor.pipeline.labels import LabelBook

__all__ = ["AwaitingWindow", "PerformanceRecord", "WindowUpdate"]


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class PerformanceRecord:
    """One row of ``performance_values`` (see :class:`monitor.store.queries.PerformanceRow`)."""

    metric: str
    n_predictions: int
    n_labelled: int
    realized: float | None
    realized_lower: float | None
    realized_upper: float | None
    estimated: float | None
    estimated_lower: float | None
    estimated_upper: float | None
    reference: float | None
    error: float | None
    estimate_reliable: bool | None
    provisional: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WindowUpdate:
    """What a persist point writes for a window that closed earlier (see the module docstring).

    ``metrics``: the business metrics recomputed (``None``: unchanged); ``fairness``: the label-based fairness
    rows recomputed (label steps and final updates, :mod:`monitor.pipeline.fairness_late`; upserted by
    attribute and metric); ``signals``: alert signals of the label lifecycle (``performance_drop``,
    ``performance_estimate_unreliable``, ``business_metric_drop``, label-based ``fairness_gap``);
    ``judged``: the ``(signal, feature)`` pairs this update decided on, so an unresolved alert among them
    that did not fire counts one clean window (only final updates judge). ``judged_at``: for an update that
    carries signals, the event time (epoch seconds, the later of the join's two clocks) of the event that
    made it: the label that reached a coverage step, or the event that passed the TTL; an alert it opens
    is detected then, not at the window's end (``None``: not known).
    """

    model: str
    window_key: str
    performance: list[PerformanceRecord] = field(default_factory=list)
    metrics: list[MetricResult] | None = None
    signals: list[Signal] = field(default_factory=list)
    judged: list[tuple[str, str | None]] = field(default_factory=list)
    final: bool = False
    auto_resolve_after: int = 3
    seq: int = -1
    judged_at: float | None = None
    fairness: list[FairnessRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "window_key": self.window_key, "judged_at": self.judged_at,
                "performance": [r.to_dict() for r in self.performance],
                "metrics": None if self.metrics is None else [asdict(m) for m in self.metrics],
                "signals": [s.to_dict() for s in self.signals], "judged": [list(j) for j in self.judged],
                "final": self.final, "auto_resolve_after": self.auto_resolve_after, "seq": self.seq,
                "fairness": [r.to_dict() for r in self.fairness]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowUpdate:
        return cls(str(d["model"]), str(d["window_key"]), [PerformanceRecord(**r) for r in d["performance"]],
                   None if d["metrics"] is None else [MetricResult(**m) for m in d["metrics"]],
                   [Signal(**s) for s in d["signals"]], [(str(a), b) for a, b in d["judged"]], bool(d["final"]),
                   int(d["auto_resolve_after"]), int(d.get("seq", -1)),
                   None if d.get("judged_at") is None else float(d["judged_at"]),
                   [FairnessRecord(**r) for r in d.get("fairness", [])])


def _estimate_state(e: MetricEstimate) -> list[Any]:
    return [e.metric, _finite(e.value), _finite(e.sampling_error), _finite(e.lower), _finite(e.upper), e.n, e.reason]


def _estimate(v: list[Any]) -> MetricEstimate:
    nan = math.nan
    return MetricEstimate(str(v[0]), nan if v[1] is None else v[1], nan if v[2] is None else v[2],
                          nan if v[3] is None else v[3], nan if v[4] is None else v[4], int(v[5]), v[6])


class AwaitingWindow:
    """A closed window's join state: business outcomes (``joined``) and labels (``book``) still coming;
    ``fair``: the groups of its predictions for the label-based fairness metrics (or ``None``)."""

    __slots__ = ("book", "business_final", "estimates", "fair", "joined", "key", "last_ts", "n_events", "step")

    def __init__(self, key: str, last_ts: float, n_events: int, joined: dict[str, dict[str, Any]],
                 book: LabelBook | None, estimates: dict[str, MetricEstimate], business_final: bool) -> None:
        self.key = key
        self.last_ts = last_ts
        self.n_events = n_events
        self.joined = joined
        self.book = book
        self.estimates = estimates
        self.business_final = business_final
        self.fair: LateGroups | None = None
        self.step = 0
        """The last label-coverage step judged (:func:`monitor.pipeline.updates.label_step`)."""

    def to_state(self) -> dict[str, Any]:
        names = sorted({n for fields in self.joined.values() for n in fields})
        return {"key": self.key, "last_ts": self.last_ts if math.isfinite(self.last_ts) else None,
                "n_events": self.n_events, "joined_fields": names,
                "joined": {k: [f.get(n) for n in names] for k, f in self.joined.items()},
                "book": None if self.book is None else self.book.to_state(),
                "estimates": [_estimate_state(e) for e in self.estimates.values()],
                "business_final": self.business_final, "step": self.step,
                "fair": None if self.fair is None else self.fair.to_state()}

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> AwaitingWindow:
        names = d["joined_fields"]
        joined = {str(k): {n: x for n, x in zip(names, v, strict=True) if x is not None}
                  for k, v in d["joined"].items()}
        estimates = {str(v[0]): _estimate(v) for v in d["estimates"]}
        waiting = cls(str(d["key"]), -math.inf if d["last_ts"] is None else float(d["last_ts"]),
                      int(d["n_events"]), joined, None if d["book"] is None else LabelBook.from_state(d["book"]),
                      estimates, bool(d["business_final"]))
        waiting.step = int(d.get("step", 0))
        waiting.fair = None if d.get("fair") is None else LateGroups.from_state(d["fair"])
        return waiting
