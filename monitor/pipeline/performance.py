"""Model quality of a window (pure): realized metrics from its labels, CBPE estimates, and their signals.

Signals (``feature`` = metric name, deduplicated per model + metric):

``estimated_performance_drop`` (when the window closes)
    :func:`detectors.performance.performance_drop` applied to the CBPE estimate and its band:
    ``reference - upper > max_drop`` (losses: ``lower - reference > max_drop``) with ``n_predictions >=
    min_labels``; not raised for a metric whose estimate is marked unreliable. warning; critical when the
    degradation exceeds ``2 x max_drop``.
``performance_drop`` (each time the window's labels change, and when its ``label_ttl`` passes)
    The same rule on the realized value and its confidence interval with ``n_labelled >= min_labels``;
    or, at the final update, the sequential detector (``performance.sequential``) fed the final realized
    values of the metric (windows with ``n_labelled >= min_labels``) fires while the value is worse than
    the mean of the previous ones (its parameters: :func:`sequential_params`). warning;
    critical when the degradation exceeds ``2 x max_drop`` or both rules fire.
``performance_estimate_unreliable`` (final updates)
    :func:`detectors.performance.assess_reliability` over the last ``reliability_window`` windows whose
    estimate and final realized value were both defined: unreliable when the realized value fell outside
    the estimate's band ``reliability_max_outside`` times or more: warning.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from detectors.errors import DetectorError
from detectors.performance import EstimateCheck, assess_reliability, compare, performance_drop
from detectors.performance.config import LOWER_IS_BETTER
from detectors.performance.result import MetricEstimate, MetricValue
from detectors.sequential import DETECTORS, SequentialDetector
from monitor.config import ModelConfig, PerformanceSettings
from monitor.pipeline.alert_signals import Signal
from monitor.pipeline.awaiting import PerformanceRecord
from monitor.pipeline.labels import LabelBook
from monitor.pipeline.performance_reference import PerformanceReference, realized_metrics

__all__ = ["QualityState", "sequential_params"]

log = logging.getLogger(__name__)
HISTORY = 50


def _f(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def sequential_params(detector: str, params: dict[str, Any], metric: str, max_drop: float) -> dict[str, Any]:
    """The parameters of ``metric``'s sequential detector: those configured, then the defaults for a
    metric series. Page-Hinkley and CUSUM watch the bad direction only (``mode``); Page-Hinkley works on
    the metric's scale: ``threshold = 2 x max_drop``, ``delta = max_drop / 4``, ``min_instances = 5``
    (its own defaults, 50 and 0.005, are for N(0, 1) noise and never fire on a metric in [0, 1]).

    >>> sequential_params("page_hinkley", {}, "accuracy", 0.03)
    {'mode': 'down', 'threshold': 0.06, 'delta': 0.0075, 'min_instances': 5}
    """
    out = dict(params)
    if detector in ("page_hinkley", "cusum"):
        out.setdefault("mode", "up" if metric in LOWER_IS_BETTER else "down")
    if detector == "page_hinkley":
        out.setdefault("threshold", 2 * max_drop)
        out.setdefault("delta", max_drop / 4)
        out.setdefault("min_instances", 5)
    return out


def _severity(degradation: float, max_drop: float) -> str:
    return "critical" if degradation > 2 * max_drop else "warning"


class QualityState:
    """Per-model quality state: the labelled reference, the sequential detectors and history of each metric,
    and the reliability guard's recent checks."""

    def __init__(self, config: ModelConfig, reference: PerformanceReference | None) -> None:
        assert config.performance is not None
        self.config = config
        self.settings: PerformanceSettings = config.performance
        self.reference = reference
        self.checks: dict[str, list[EstimateCheck]] = {}
        self.history: dict[str, list[float]] = {}
        self.detectors: dict[str, SequentialDetector] = {}
        self.unreliable: set[str] = set()
        self._build_detectors()

    @property
    def width(self) -> int:
        return len(self.settings.classes or ()) if self.settings.task == "multiclass_classification" else 1

    def _build_detectors(self) -> None:
        seq = self.settings.sequential
        if seq is None:
            self.detectors = {}
            return
        for metric, max_drop in self.settings.drops.items():
            if metric not in self.detectors:
                params = sequential_params(seq.detector, seq.params, metric, max_drop)
                self.detectors[metric] = DETECTORS[seq.detector](**params)

    # -- per window ----------------------------------------------------------------------------------
    def estimate(self, book: LabelBook | None) -> dict[str, MetricEstimate]:
        """CBPE estimates of the window's predictions (``{}`` without a fitted reference or under 2 rows)."""
        cbpe = self.reference.cbpe if self.reference is not None else None
        if cbpe is None or book is None or len(book) < 2:
            return {}
        try:
            return cbpe.estimate(book.all_scores())
        except (DetectorError, ValueError) as exc:
            log.warning("CBPE estimate of model %s failed: %s", self.config.name, exc)
            return {}

    def realized(self, book: LabelBook | None) -> tuple[dict[str, MetricValue], str | None]:
        """Realized metrics of the labelled rows (``{}`` and a reason when there are none)."""
        if book is None or book.n_labelled == 0:
            return {}, "no labels yet"
        labels, scores = book.labelled()
        try:
            return realized_metrics(self.settings, labels, scores), None
        except (DetectorError, ValueError) as exc:
            return {}, f"{type(exc).__name__}: {exc}"

    def records(self, n_predictions: int, book: LabelBook | None, estimates: dict[str, MetricEstimate],
                realized: dict[str, MetricValue], why: str | None, provisional: bool) -> list[PerformanceRecord]:
        out = []
        for metric in self.settings.metrics or ():
            r = realized.get(metric)
            e = estimates.get(metric)
            ref = self.reference.value(metric) if self.reference is not None else None
            rv = _f(r.value) if r is not None else None
            ev = _f(e.value) if e is not None else None
            reason = (r.reason if r is not None else why) or (e.reason if e is not None else None)
            out.append(PerformanceRecord(
                metric=metric, n_predictions=n_predictions, n_labelled=book.n_labelled if book is not None else 0,
                realized=rv, realized_lower=_f(r.lower) if r is not None else None,
                realized_upper=_f(r.upper) if r is not None else None, estimated=ev,
                estimated_lower=_f(e.lower) if e is not None else None,
                estimated_upper=_f(e.upper) if e is not None else None, reference=_f(ref) if ref is not None else None,
                error=ev - rv if ev is not None and rv is not None else None,
                estimate_reliable=(metric not in self.unreliable) if e is not None else None,
                provisional=provisional, reason=reason))
        return out

    def estimated_signals(self, estimates: dict[str, MetricEstimate], n_predictions: int) -> list[Signal]:
        """``estimated_performance_drop`` of a window as it closes (rule in the module docstring)."""
        out: list[Signal] = []
        if self.reference is None or "estimated_performance_drop" in self.config.alerts.disabled_signals:
            return out
        for metric, max_drop in self.settings.drops.items():
            e, ref = estimates.get(metric), self.reference.value(metric)
            if e is None or ref is None or metric in self.unreliable or not math.isfinite(e.value):
                continue
            as_value = MetricValue(metric, e.value, e.lower, e.upper, n_predictions, self.settings.confidence, "cbpe")
            drop = performance_drop(as_value, ref, max_drop=max_drop, min_labels=self.settings.min_labels)
            if drop.dropped:
                out.append(Signal("estimated_performance_drop", _severity(drop.degradation, max_drop),
                                  f"estimated {metric} = {e.value:.4g} [{e.lower:.4g}, {e.upper:.4g}] over "
                                  f"{n_predictions} predictions (no labels yet); reference {ref:.4g}, max drop "
                                  f"{max_drop:g}", metric, e.value))
        return out

    def label_signals(self, realized: dict[str, MetricValue], estimates: dict[str, MetricEstimate], final: bool
                      ) -> tuple[list[Signal], list[tuple[str, str | None]]]:
        """Signals of a label update and the ``(signal, feature)`` pairs it judged (final updates only).

        A final update also feeds the sequential detectors and the reliability guard (state changes)."""
        disabled = self.config.alerts.disabled_signals
        signals: list[Signal] = []
        judged: list[tuple[str, str | None]] = []
        for metric, max_drop in self.settings.drops.items():
            r = realized.get(metric)
            ref = self.reference.value(metric) if self.reference is not None else None
            if r is None:
                continue
            level, parts = None, []
            if ref is not None:
                drop = performance_drop(r, ref, max_drop=max_drop, min_labels=self.settings.min_labels)
                if drop.dropped:
                    level = _severity(drop.degradation, max_drop)
                    parts.append(f"{metric} = {r.value:.4g} [{r.lower:.4g}, {r.upper:.4g}] over {r.n} labels; "
                                 f"reference {ref:.4g}, max drop {max_drop:g}")
                if final and drop.reason is None:
                    judged.append(("performance_drop", metric))
            if final and r.defined and r.n >= self.settings.min_labels:
                if self._sequential(metric, r.value):
                    level = "critical" if level is not None else "warning"
                    parts.append(f"{self.settings.sequential.detector if self.settings.sequential else ''} "
                                 f"detected a decay of {metric} ({r.value:.4g})")
                judged.append(("performance_drop", metric))
            if level is not None and "performance_drop" not in disabled:
                signals.append(Signal("performance_drop", level, "; ".join(parts), metric, r.value))
        if final:
            signals.extend(self._reliability(realized, estimates, judged))
        return signals, sorted(set(judged), key=lambda j: (j[0], j[1] or ""))

    def _sequential(self, metric: str, value: float) -> bool:
        history = self.history.setdefault(metric, [])
        detector = self.detectors.get(metric)
        fired = False
        if detector is not None and detector.update(value):
            past = sum(history) / len(history) if history else math.nan
            fired = (value > past) if metric in LOWER_IS_BETTER else (value < past)
        history.append(value)
        del history[:-HISTORY]
        return fired

    def _reliability(self, realized: dict[str, MetricValue], estimates: dict[str, MetricEstimate],
                     judged: list[tuple[str, str | None]]) -> list[Signal]:
        out = []
        s = self.settings
        for metric, e in estimates.items():
            r = realized.get(metric)
            check = compare(e, r) if r is not None and r.n >= s.min_labels else None
            if check is None:
                continue
            checks = self.checks.setdefault(metric, [])
            checks.append(check)
            del checks[:-s.reliability_window]
            verdict = assess_reliability(checks, window=s.reliability_window, max_outside=s.reliability_max_outside)
            judged.append(("performance_estimate_unreliable", metric))
            if verdict.reliable:
                self.unreliable.discard(metric)
                continue
            self.unreliable.add(metric)
            if "performance_estimate_unreliable" not in self.config.alerts.disabled_signals:
                out.append(Signal("performance_estimate_unreliable", "warning",
                                  f"estimated {metric} is unreliable: the realized value fell outside the estimate's "
                                  f"band in {verdict.n_outside} of the last {verdict.n_checked} labelled windows "
                                  f"(mean error {verdict.mean_error:+.3g}); concept drift?", metric,
                                  verdict.mean_error))
        return out

    # -- serialisation -------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"checks": {m: [[c.estimated, c.realized, c.lower, c.upper, c.error, c.outside] for c in cs]
                           for m, cs in sorted(self.checks.items())},
                "history": {m: list(v) for m, v in sorted(self.history.items())},
                "detectors": {m: d.to_dict() for m, d in sorted(self.detectors.items())},
                "unreliable": sorted(self.unreliable)}

    def restore(self, data: dict[str, Any]) -> None:
        self.checks = {m: [EstimateCheck(m, float(c[0]), float(c[1]), float(c[2]), float(c[3]), float(c[4]),
                                         bool(c[5])) for c in cs]
                       for m, cs in data.get("checks", {}).items()}
        self.history = {m: [float(x) for x in v] for m, v in data.get("history", {}).items()}
        for m, payload in data.get("detectors", {}).items():
            if m in self.detectors:
                self.detectors[m] = DETECTORS[payload["kind"]].from_dict(payload)
        self.unreliable = set(data.get("unreliable", []))
