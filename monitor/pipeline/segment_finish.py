"""Per-segment results of a closing window: drift tests with one BH over columns x segments, business
metrics per segment, worst slices, and the segment signals (pure).

Rules:

- A segment (``key=value``, or ``key=other``) is tested when it holds at least ``segments.min_events``
  events. Its drift report is ``detectors.evaluate`` on its own state; with the ``default`` preset the
  raw p-values of all tested segments' columns are adjusted together (:func:`detectors.multiple_testing.
  adjust_reports`), so adding segments does not add false alarms.
- Signals of a segment are those of :func:`~monitor.pipeline.alert_signals.drift_signals` on its report
  (``multivariate_drift`` excepted), each carrying ``segment``; a segment signal whose ``(signal,
  feature)`` the population raised in the same window is dropped (one population alert, not one per
  segment).
- Business metrics per segment are computed over the outcomes joined when the window closes.
  ``business_metric_drop`` for a segment: the segment is a significant worst slice with a lower rate than
  the rest, and the metric's threshold rule (``reference_value x (1 - max_relative_drop)``) fires on it.
- Worst slices: per business metric, the values of each key and the pairs of values of two keys, against
  the rest of the window (:func:`detectors.slices.worst_slices`, BH across the slices of a metric); the
  first ``segments.top_slices`` of all metrics by rank are kept in the window result.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from itertools import combinations
from typing import Any

from detectors.multiple_testing import adjust_reports
from detectors.presets.default import DefaultParams
from detectors.slices import worst_slices
from monitor.config import ModelConfig
from monitor.pipeline.alert_signals import Signal, drift_signals, metric_signal
from monitor.pipeline.business_metrics import compute_metrics
from monitor.pipeline.segments import SegmentBook

__all__ = ["SegmentResult", "segment_results"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentResult:
    """One segment of one window (a row of ``segment_results``)."""

    segment: str
    n_events: int
    drift_share: float | None
    drifted_columns: list[str] = field(default_factory=list)
    metrics: dict[str, float | None] = field(default_factory=dict)
    alerted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _reports(cfg: ModelConfig, book: SegmentBook, overrides: dict[str, Any]) -> dict[str, Any]:
    import detectors

    out: dict[str, Any] = {}
    if book.profile is None:
        return out
    for label, state in sorted(book.states.items()):
        if book.counts[label] < cfg.segments.min_events or state.n_rows == 0:
            continue
        try:
            out[label] = detectors.evaluate(book.profile, state, preset=cfg.preset, overrides=overrides)
        except Exception as exc:  # a bad segment must never stop the watcher
            log.warning("segment %s of %s: drift test failed: %s: %s", label, cfg.name, type(exc).__name__, exc)
    if cfg.preset == "default" and out:
        params = DefaultParams()
        adjusted = adjust_reports(list(out.values()), alpha=float(overrides.get("alpha", params.alpha)),
                                  min_effect=float(overrides.get("min_effect", params.min_effect)),
                                  skip=list(overrides.get("per_column", {})))
        out = dict(zip(out, adjusted, strict=True))
    return out


def _slices(cfg: ModelConfig, book: SegmentBook, joined: dict[str, dict[str, Any]]) -> tuple[
        dict[str, dict[str, float | None]], list[dict[str, Any]], dict[tuple[str, str], int]]:
    """Per-segment metrics, the kept worst slices, and the ``(segment, metric)`` pairs that deviate down."""
    if not cfg.business_metrics or not book.of_event:
        return {}, [], {}
    rows: dict[str, list[dict[str, Any]]] = {}
    for event_id, labels in book.of_event.items():
        fields = joined.get(event_id, {})
        present = [x for x in labels if x is not None]
        for x in present:
            rows.setdefault(x, []).append(fields)
        for a, b in combinations(present, 2):
            rows.setdefault(f"{a}&{b}", []).append(fields)
    metrics: dict[str, dict[str, float | None]] = {}
    ranked = []
    low: dict[tuple[str, str], int] = {}
    everything = list(joined.values())
    for metric, total in zip(cfg.business_metrics, compute_metrics(cfg.business_metrics, everything), strict=True):
        per = {name: compute_metrics([metric], r)[0] for name, r in rows.items()}
        for name, res in per.items():
            if "&" not in name:
                metrics.setdefault(name, {})[metric.name] = res.value
        found = worst_slices({n: (r.numerator, r.denominator) for n, r in per.items()},
                             total=(total.numerator, total.denominator), top=max(cfg.segments.top_slices, 1),
                             min_n=metric.min_denominator)
        for rank, s in enumerate(found):
            ranked.append((rank, {"metric": metric.name, **s.to_dict()}))
            if s.significant and (s.difference or 0.0) < 0:
                low[(s.name, metric.name)] = per[s.name].denominator
    ranked.sort(key=lambda item: (item[0], not item[1]["significant"], -abs(item[1]["difference"] or 0.0)))
    return metrics, [item for _, item in ranked[:cfg.segments.top_slices]], low


def segment_results(cfg: ModelConfig, book: SegmentBook | None, joined: dict[str, dict[str, Any]],
                    overrides: dict[str, Any], population: list[Signal]
                    ) -> tuple[list[SegmentResult], list[Signal], list[dict[str, Any]]]:
    """The window's segment rows, segment signals and worst slices (module docstring)."""
    if book is None:
        return [], [], []
    reports = _reports(cfg, book, overrides)
    metrics, slices, low = _slices(cfg, book, joined)
    taken = {(s.signal, s.feature) for s in population}
    signals: list[Signal] = []
    results = []
    for label, n in sorted(book.counts.items()):
        if n < cfg.segments.min_events:
            continue
        report = reports.get(label)
        mine = [replace(s, segment=label) for s in drift_signals(cfg, report, n)
                if s.signal != "multivariate_drift" and (s.signal, s.feature) not in taken]
        for metric in cfg.business_metrics:
            value = metrics.get(label, {}).get(metric.name)
            if (label, metric.name) in low and value is not None:
                sig = metric_signal(cfg, metric.name, value, low[(label, metric.name)], False)
                if sig is not None:
                    mine.append(replace(sig, segment=label, message=f"{label}: {sig.message}"))
        mine = [replace(s, message=f"{label}: {s.message}") if not s.message.startswith(label) else s for s in mine]
        signals.extend(mine)
        results.append(SegmentResult(
            label, n, None if report is None else float(report.drift_share),
            [] if report is None else list(report.drifted_columns), metrics.get(label, {}), bool(mine)))
    return results, signals, slices
