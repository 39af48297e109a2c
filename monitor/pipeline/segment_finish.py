"""Per-segment results of a closing window: drift tests with one BH over columns x segments, business
metrics per segment, worst slices, and the segment signals (pure).

Rules:

- A segment (``key=value``, or ``key=other``) is drift-tested when its own state holds at least
  ``segments.min_events`` rows (a value kept late, see :mod:`monitor.pipeline.segments`, counts only the
  rows since it was kept). Its drift report is ``detectors.evaluate`` on its own state over every profile
  column but the segment's key (a key that is also a feature: within ``country=FR`` the column ``country``
  is constant by definition, neither drift nor a data-quality finding); with the
  ``default`` preset the raw p-values of all tested segments' columns are adjusted together by one
  Benjamini–Hochberg (:func:`detectors.multiple_testing.adjust_reports`; the family is every column of
  every tested segment of the window), so adding segments does not add false alarms. The population's
  own report keeps its own BH family.
- Signals of a segment are those of :func:`~monitor.pipeline.alert_signals.drift_signals` on its report
  (``multivariate_drift`` excepted), each carrying ``segment``; a segment signal whose ``(signal,
  feature)`` the population raised in the same window is dropped (one population alert, not one per
  segment), and so is a segment's ``dataset_drift`` when every column that drifted in the segment drifted
  in the population too: in the population's report (``population_drifted``; a column that arrives all null
  is reported as the population's missing-rate alert, not as its ``feature_drift``) or as its
  ``feature_drift`` / ``prediction_drift``.
- Business metrics per segment are computed over the outcomes joined when the window closes, each event
  under the label its value has at close (a value pooled by then counts in ``key=other``).
  ``business_metric_drop`` for a segment: the segment is a significant worst slice with a lower rate than
  the rest, and the metric's threshold rule (``reference_value x (1 - max_relative_drop)``) fires on it.
- Worst slices, business metrics: per metric, the kept values of each key, ``key=other``, and the pairs
  ``a&b`` of kept values (never ``other``) of two different keys, each against the rest of the window
  (:func:`detectors.slices.worst_slices`: pooled two-proportion z-test, BH across the slices of the metric).
  At most ``max_segments**2`` pairs per pair of keys: the pairs are bounded by the kept values.
- Worst slices, drift (``metric: "drift"``): each drift-tested segment, ``rate`` its drift share,
  ``rest_rate`` the population's, ``difference`` their difference, ``p_value`` / ``q_value`` the smallest
  raw / jointly adjusted p-value of its columns, ``significant`` when a column of the segment drifted
  (``q < alpha and effect >= min_effect``) and its drift share exceeds the population's (a segment that
  drifts like the population is not a worst slice); ranked by ``difference``, largest first. Pairs are
  not drift-tested (no state is kept for them).
- The slices of all metrics are ranked together by ``(not significant, -|difference|, rank within its
  metric)``; the first ``segments.top_slices`` are kept in the window result.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
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
        if state.n_rows < cfg.segments.min_events:
            continue
        key = label.split("=", 1)[0]
        columns = [name for name in book.profile.names if name != key]
        mine = overrides
        if key in overrides.get("per_column", {}):
            mine = {**overrides, "per_column": {c: v for c, v in overrides["per_column"].items() if c != key}}
        try:
            out[label] = detectors.evaluate(book.profile, state, preset=cfg.preset, overrides=mine, columns=columns)
        except Exception as exc:  # a bad segment must never stop the watcher
            log.warning("segment %s of %s: drift test failed: %s: %s", label, cfg.name, type(exc).__name__, exc)
    if cfg.preset == "default" and out:
        params = DefaultParams()
        adjusted = adjust_reports(list(out.values()), alpha=float(overrides.get("alpha", params.alpha)),
                                  min_effect=float(overrides.get("min_effect", params.min_effect)),
                                  skip=list(overrides.get("per_column", {})))
        out = dict(zip(out, adjusted, strict=True))
    return out


def _drift_slices(reports: dict[str, Any], population_share: float | None) -> list[dict[str, Any]]:
    """One drift slice per tested segment (module rule), in worst-slice order."""
    out = []
    for label, report in reports.items():
        raw = [c.p_value for c in report.columns if c.p_value is not None]
        adjusted = [c.p_value_adjusted for c in report.columns if c.p_value_adjusted is not None]
        share = float(report.drift_share)
        diff = None if population_share is None else share - population_share
        out.append({"metric": "drift", "name": label, "n": int(report.n_current), "rate": share,
                    "rest_rate": population_share, "difference": diff,
                    "p_value": min(raw) if raw else None, "q_value": min(adjusted) if adjusted else None,
                    "significant": bool(report.drifted_columns) and (diff is None or diff > 0)})
    out.sort(key=lambda d: (not d["significant"], -float(d["difference"] or 0.0), str(d["name"])))
    return out


def _slices(cfg: ModelConfig, book: SegmentBook, joined: dict[str, dict[str, Any]]) -> tuple[
        dict[str, dict[str, float | None]], list[list[dict[str, Any]]], dict[tuple[str, str], int]]:
    """Per-segment metrics, the worst slices of each metric, and the ``(segment, metric)`` pairs that
    deviate down."""
    if not cfg.business_metrics or not book.of_event:
        return {}, [], {}
    rows: dict[str, list[dict[str, Any]]] = {}
    others = set(book.other.values())
    for event_id, labels in book.of_event.items():
        fields = joined.get(event_id, {})
        present = [x for x in (book.kept(lab, k) for k, lab in enumerate(labels)) if x is not None]
        for x in present:
            rows.setdefault(x, []).append(fields)
        for a, b in combinations([x for x in present if x not in others], 2):
            rows.setdefault(f"{a}&{b}", []).append(fields)
    metrics: dict[str, dict[str, float | None]] = {}
    found_all = []
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
        found_all.append([{"metric": metric.name, **s.to_dict()} for s in found])
        for s in found:
            if s.significant and (s.difference or 0.0) < 0:
                low[(s.name, metric.name)] = per[s.name].denominator
    return metrics, found_all, low


def _rank(groups: list[list[dict[str, Any]]], top: int) -> list[dict[str, Any]]:
    """The first ``top`` slices of all metrics (module rule)."""
    ranked = [(rank, item) for group in groups for rank, item in enumerate(group)]
    ranked.sort(key=lambda x: (not x[1]["significant"], -abs(x[1]["difference"] or 0.0), x[0]))
    return [item for _, item in ranked[:top]]


def segment_results(cfg: ModelConfig, book: SegmentBook | None, joined: dict[str, dict[str, Any]],
                    overrides: dict[str, Any], population: list[Signal], population_share: float | None = None,
                    population_drifted: Collection[str] = ()
                    ) -> tuple[list[SegmentResult], list[Signal], list[dict[str, Any]]]:
    """The window's segment rows, segment signals and worst slices (module docstring);
    ``population_share``: the population report's drift share (the drift slices' ``rest_rate``);
    ``population_drifted``: the columns that drifted in the population's report."""
    if book is None:
        return [], [], []
    reports = _reports(cfg, book, overrides)
    metrics, groups, low = _slices(cfg, book, joined)
    slices = _rank([*groups, _drift_slices(reports, population_share)], cfg.segments.top_slices)
    taken = {(s.signal, s.feature) for s in population}
    drifted = {s.feature for s in population if s.signal in ("feature_drift", "prediction_drift")}
    drifted.update(population_drifted)
    signals: list[Signal] = []
    results = []
    for label, n in sorted(book.counts.items()):
        if n < cfg.segments.min_events:
            continue
        report = reports.get(label)
        own = report is not None and not set(report.drifted_columns) <= drifted
        mine = [replace(s, segment=label) for s in drift_signals(cfg, report, n)
                if s.signal != "multivariate_drift" and (s.signal, s.feature) not in taken
                and (s.signal != "dataset_drift" or own)]
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
