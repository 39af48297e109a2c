"""Early warnings inside open windows (pure): block CUSUMs on a model's events as they arrive.

Granularity: the events of a model (those not late) are gathered in blocks of ``early_warning.min_events``
events; when a block is full its columns are tested at once (numpy / C-level counting, no per-event Python
loop) and each test's CUSUM takes one step (:mod:`detectors.sequential.early`). A CUSUM above
``log(early_warning.ert)`` raises an :class:`EarlyAlert` with the dedup key of the window-close signal of
the same problem (one incident, not two); the same key is not raised again while the window it was
detected in (the latest window of the event) is the latest.

Tests (``p0``/``sigma0`` from the reference profile; ``policy`` = the model's alert policy):

``prediction_near_constant`` (feature = score column)
    Variance LLR of the block's scores, ``sigma1 = prediction.near_constant_std_ratio x sigma0`` (the
    window-close rule's boundary; ratio floored at 0.01) against the reference std ``sigma0``: a block of
    near-constant scores is a large positive step, an ordinary block a large negative one.
``data_quality`` (feature = ``<column>:missing_rate``)
    Bernoulli LLR of the block's missing values, ``p1 = 0.5`` (the window-close rule's critical level)
    against ``p0 = max(reference missing rate, 0.001)``; columns with ``p0 >= 0.25`` are not tested.
``data_quality`` (feature = ``<column>:unseen_categories``)
    Bernoulli LLR of the block's values absent from the reference (categorical columns), ``p1 = 5 x
    policy.out_of_range_share`` (the window-close rule's critical level) against ``p0 = max(Good–Turing
    upper bound of the unseen share, 0.001)``; not tested when ``p1 <= 2 x p0``.

``prediction_drift`` (feature = the class column; ``prediction.kind`` ``class`` or ``probabilities``)
    Bernoulli LLR of the block's predictions of each reference class with a share ``p0`` between 0.001 and
    0.9 (at most ``_MAX_CLASSES`` most frequent classes), ``p1 = p0 + (1 - p0) / 2`` (half-way to every
    prediction being that class): a class share jumping.
``traffic_volume`` (no feature): Poisson CUSUMs of event counts per block of event time, drop and spike,
    against the recent rate (:mod:`monitor.pipeline.early_traffic`); not tested when the ``traffic_volume``
    signal is disabled (``alerts.volume.enabled: false`` or in ``alerts.disabled_signals``).

``business_metric_drop`` (feature = metric name): a Bernoulli CUSUM of each ratio metric's numerator among
    the joined predictions meeting its denominator, against its ``reference_value``
    (:mod:`monitor.pipeline.early_business`).

Exactly-once: the block being filled, the CUSUM sums and the alerts not yet handed to a persist point
are part of :meth:`to_state` (the pipeline snapshot).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from detectors.columns import CategoricalProfile, label_hashes
from detectors.profile import ReferenceProfile
from detectors.quality.categories import expected_unseen_share
from detectors.sequential import CUSUM
from detectors.sequential.early import bernoulli_llr, llr_cusum, variance_llr
from monitor.config import ModelConfig
from monitor.pipeline.alert_signals import Signal
from monitor.pipeline.early_business import BusinessAlarm, BusinessTest
from monitor.pipeline.early_traffic import TrafficAlarm, TrafficTest

__all__ = ["EarlyAlert", "EarlyWarning"]

_MISSING_P1 = 0.5
_MAX_CLASSES = 20
_RATE_FLOOR = 0.001


@dataclass(frozen=True)
class EarlyAlert:
    """An alert raised inside an open window: ``detected_at`` (event time, epoch seconds) is the time of the
    last event of the block that crossed the threshold; ``detected_events`` the events the CUSUM's current
    run was built on."""

    model: str
    signal: Signal
    detected_at: float
    detected_events: int
    auto_resolve_after: int = 3
    seq: int = -1

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "signal": self.signal.to_dict(), "detected_at": self.detected_at,
                "detected_events": self.detected_events, "auto_resolve_after": self.auto_resolve_after, "seq": self.seq}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EarlyAlert:
        return cls(str(data["model"]), Signal(**data["signal"]), float(data["detected_at"]),
                   int(data["detected_events"]), int(data["auto_resolve_after"]), int(data.get("seq", -1)))


@dataclass
class _Test:
    """One CUSUM: its signal, the row index it reads, and its null / alternative parameters."""

    signal: str
    feature: str
    index: int
    kind: str  # "variance", "missing" or "unseen"
    p0: float
    p1: float
    cusum: CUSUM
    known: frozenset[str] | None = None
    hashes: np.ndarray | None = None
    numeric: bool = False
    run_events: int = 0


class EarlyWarning:
    """The early tests of one model (see the module docstring)."""

    def __init__(self, config: ModelConfig, profile: ReferenceProfile, columns: Sequence[str]) -> None:
        self.config = config
        self.block = config.early_warning.min_events
        self.rows: list[tuple[Any, ...]] = []
        self.last_ts = -math.inf
        self.span = ""
        self.quiet: dict[str, str] = {}
        self.pending: list[EarlyAlert] = []
        self.tests: list[_Test] = self._build(config, profile, list(columns))
        volume_on = config.alerts.volume.enabled and "traffic_volume" not in config.alerts.disabled_signals
        self.traffic: TrafficTest | None = TrafficTest(config) if volume_on else None
        business_on = "business_metric_drop" not in config.alerts.disabled_signals
        self.business: BusinessTest | None = BusinessTest(config) if business_on else None
        if self.business is not None and not self.business.metrics:
            self.business = None

    @staticmethod
    def _build(config: ModelConfig, profile: ReferenceProfile, columns: list[str]) -> list[_Test]:
        ert = config.early_warning.ert
        names = set(profile.names)
        tests: list[_Test] = []
        score = next((c for c, k in config.prediction_columns.items() if k == "numeric"), None)
        if score is not None and score in names and score in columns:
            sigma0 = float(getattr(profile[score], "std", 0.0) or 0.0)
            if sigma0 > 0:
                ratio = max(config.prediction.near_constant_std_ratio, 0.01)
                tests.append(_Test("prediction_near_constant", score, columns.index(score), "variance",
                                   sigma0, ratio * sigma0, llr_cusum(ert)))
        tests += _class_share_tests(config, profile, columns)
        for name in config.features:
            if name not in names or name not in columns:
                continue
            col = profile[name]
            index = columns.index(name)
            p0 = max(float(col.missing_rate), _RATE_FLOOR)
            if p0 < _MISSING_P1 / 2:
                tests.append(_Test("data_quality", f"{name}:missing_rate", index, "missing", p0, _MISSING_P1,
                                   llr_cusum(ert), numeric=col.kind == "numeric"))
            if isinstance(col, CategoricalProfile) and col.kind == "categorical":
                _, p_hi = expected_unseen_share(col.n_valid, col.n_singletons, col.n_doubletons, col.n_unhashed)
                q0 = max(p_hi, _RATE_FLOOR)
                q1 = min(0.99, 5 * config.alerts.out_of_range_share)
                if q1 > 2 * q0:
                    tests.append(_Test("data_quality", f"{name}:unseen_categories", index, "unseen", q0, q1,
                                       llr_cusum(ert), known=frozenset(col.categories),
                                       hashes=col.hashes if col.capped else None))
        return tests

    # -- the hot path ------------------------------------------------------------------------------
    def add(self, row: tuple[Any, ...], ts: float, span: str) -> None:
        """One event's row (in the model's column order), its event time and the key of its latest window."""
        self.rows.append(row)
        if ts > self.last_ts:
            self.last_ts = ts
        self.span = span
        if self.traffic is not None:
            for alarm in self.traffic.add(ts):
                self._emit(_traffic_signal(alarm, self.traffic.seconds), alarm.run_events)
        if len(self.rows) >= self.block:
            self._test_block()

    def merged(self, before: dict[str, Any], after: dict[str, Any], ts: float) -> None:
        """An outcome merged into a prediction's record (see :mod:`monitor.pipeline.early_business`)."""
        if self.business is None:
            return
        if ts > self.last_ts:
            self.last_ts = ts
        for alarm in self.business.merged(before, after):
            self._emit(_business_signal(alarm), alarm.run_events)

    def _test_block(self) -> None:
        rows, self.rows = self.rows, []
        columns = list(zip(*rows, strict=True))
        n = len(rows)
        for test in self.tests:
            values = columns[test.index]
            llr, shown = self._llr(test, values, n)
            if llr is None:
                continue
            fired = test.cusum.update(llr)
            test.run_events = 0 if test.cusum.sum_increase <= 0 and not fired else test.run_events + n
            if fired:
                self._raise(test, shown, max(test.run_events, n))
                test.run_events = 0

    @staticmethod
    def _llr(test: _Test, values: Sequence[Any], n: int) -> tuple[float | None, float]:
        if test.kind == "variance":
            scores = np.array(values, dtype=np.float64)
            scores = scores[np.isfinite(scores)]
            if scores.size < 2:
                return None, math.nan
            ss = float(np.sum((scores - scores.mean()) ** 2))
            return variance_llr(scores.size, ss, test.p0, test.p1), math.sqrt(ss / scores.size)
        if test.kind == "share":
            label = next(iter(test.known or ()))
            valid_values = [str(v) for v in values if v is not None]
            if not valid_values:
                return None, math.nan
            hits = valid_values.count(label)
            return bernoulli_llr(hits, len(valid_values), test.p0, test.p1), hits / len(valid_values)
        missing = _numeric_missing(values) if test.numeric else values.count(None)
        if test.kind == "missing":
            return bernoulli_llr(missing, n, test.p0, test.p1), missing / n
        counts = Counter(values)
        counts.pop(None, None)
        valid = n - missing
        if valid <= 0:
            return None, math.nan
        labels = [str(v) for v in counts]
        if test.hashes is not None:
            seen = np.isin(label_hashes(labels), test.hashes)
        else:
            known = test.known or frozenset()
            seen = np.array([label in known for label in labels], dtype=bool)
        unseen = int(sum(c for c, s in zip(counts.values(), seen, strict=True) if not s))
        return bernoulli_llr(unseen, valid, test.p0, test.p1), unseen / valid

    def _raise(self, test: _Test, shown: float, events: int) -> None:
        self._emit(_signal(test, shown, events), events)

    def _emit(self, signal: Signal, events: int) -> None:
        key = signal.dedup_key(self.config.name)
        if self.quiet.get(key) == self.span:
            return
        self.quiet[key] = self.span
        self.pending.append(EarlyAlert(self.config.name, signal, self.last_ts, events,
                                       self.config.alerts.auto_resolve_after))

    def take(self) -> list[EarlyAlert]:
        out, self.pending = self.pending, []
        return out

    # -- serialisation -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"rows": [list(r) for r in self.rows],
                "last_ts": self.last_ts if math.isfinite(self.last_ts) else None,
                "span": self.span, "quiet": self.quiet, "pending": [a.to_dict() for a in self.pending],
                "tests": {f"{t.signal}|{t.feature}": [t.cusum.to_dict(), t.run_events] for t in self.tests},
                "traffic": self.traffic.to_state() if self.traffic is not None else None,
                "business": self.business.to_state() if self.business is not None else None}

    def restore(self, data: dict[str, Any]) -> None:
        self.rows = [tuple(r) for r in data.get("rows", [])]
        self.last_ts = -math.inf if data.get("last_ts") is None else float(data["last_ts"])
        self.span = str(data.get("span", ""))
        self.quiet = {str(k): str(v) for k, v in data.get("quiet", {}).items()}
        self.pending = [EarlyAlert.from_dict(a) for a in data.get("pending", [])]
        if self.traffic is not None and data.get("traffic"):
            self.traffic.restore(data["traffic"])
        if self.business is not None and data.get("business"):
            self.business.restore(data["business"])
        saved = data.get("tests", {})
        for test in self.tests:
            item = saved.get(f"{test.signal}|{test.feature}")
            if item is not None:
                restored = CUSUM.from_dict(item[0])
                if restored.h == test.cusum.h:  # same ERT: keep the sums (else the new threshold starts afresh)
                    test.cusum = restored
                    test.run_events = int(item[1])


def _signal(test: _Test, shown: float, events: int) -> Signal:
    where = f"early warning on {events} events"
    if test.kind == "variance":
        return Signal(test.signal, "critical", f"scores of {test.feature!r} near-constant: std {shown:.3g} vs "
                      f"reference {test.p0:.3g} ({where})", test.feature, shown)
    column = test.feature.split(":", 1)[0]
    if test.kind == "share":
        label = next(iter(test.known or ()))
        return Signal(test.signal, "critical", f"share of class {label!r} in {column!r} jumped to {shown:.1%} "
                      f"(reference {test.p0:.1%}; {where})", column, shown)
    if test.kind == "missing":
        return Signal(test.signal, "critical", f"missing rate of {column!r} surged to {shown:.1%} (reference "
                      f"{test.p0:.1%}; {where})", test.feature, shown)
    return Signal(test.signal, "critical", f"unseen categories of {column!r} burst to {shown:.1%} (expected "
                  f"{test.p0:.1%}; {where})", test.feature, shown)


def _traffic_signal(alarm: TrafficAlarm, seconds: float) -> Signal:
    """The window-close rule's ``traffic_volume`` signal (rates per second): a drop is critical (the
    alternative is the window-close rule's critical level), a spike a warning."""
    rate, recent = alarm.count / seconds, alarm.recent / seconds
    where = f"early warning on {alarm.run_events} events in blocks of {seconds:g} s"
    if alarm.direction == "drop":
        return Signal("traffic_volume", "critical", f"traffic dropped to {rate:.3g}/s (recent {recent:.3g}/s; "
                      f"{where})", None, rate)
    return Signal("traffic_volume", "warning", f"traffic spiked to {rate:.3g}/s (recent {recent:.3g}/s; {where})",
                  None, rate)


def _business_signal(alarm: BusinessAlarm) -> Signal:
    return Signal("business_metric_drop", "critical", f"{alarm.name} collapsed to {alarm.rate:.3g} (reference "
                  f"{alarm.p0:.3g}; early warning on {alarm.run_events} joined predictions)", alarm.name, alarm.rate)


def _numeric_missing(values: Sequence[Any]) -> int:
    """Missing values (``None`` or NaN) of a numeric column's block; a value that is not a number (a bad
    record the drift state counts as a type violation) is not missing and must not stop the watcher."""
    try:
        return int(np.count_nonzero(np.isnan(np.array(values, dtype=np.float64))))
    except (TypeError, ValueError):
        return sum(1 for v in values if v is None or (isinstance(v, float) and math.isnan(v)))


def _class_share_tests(config: ModelConfig, profile: ReferenceProfile, columns: list[str]) -> list[_Test]:
    """The class-share tests of a ``class`` or ``probabilities`` prediction column (module docstring)."""
    column = config.prediction.column
    if config.prediction.kind == "score" or column not in set(profile.names) or column not in columns:
        return []
    col = profile[column]
    if not isinstance(col, CategoricalProfile):
        return []
    total = int(col.n_rows - col.n_null)
    if total <= 0:
        return []
    order = np.argsort(-np.asarray(col.counts), kind="stable")[:_MAX_CLASSES]
    tests = []
    for i in order:
        label, p0 = str(col.categories[int(i)]), float(col.counts[int(i)]) / total
        if 0.001 <= p0 <= 0.9:
            tests.append(_Test("prediction_drift", f"{column}:share={label}", columns.index(column), "share", p0,
                               p0 + (1.0 - p0) / 2, llr_cusum(config.early_warning.ert), known=frozenset([label])))
    return tests
