"""Group fairness of one window (pure): per-group counts as events arrive, metrics and signals at close.

A prediction is positive when its score >= ``fairness.threshold``. Its group for an attribute is the event's
segment value (a segment key) or its feature value (a categorical/binary feature); a missing value puts it
in no group of that attribute, a value that is not a string is made one with ``str`` (counted in
``non_string``), and past ``max_groups`` distinct groups the rest are pooled as ``other`` (counted in
``capped``). Label metrics (true/false positive rate, accuracy, precision) and performance gaps
(:mod:`detectors.fairness_performance`: ROC AUC, average precision, log loss, Brier, from the scores) count
the predictions labelled when the window closes (the window's label book, which holds every prediction's
score and its label once joined); for them each prediction's decision and groups are kept per event
(``of_event``: one tuple of the decision and one group per attribute, for every scored prediction of the
open window; dropped when it closes) when the model has a ``performance`` block and one of these metrics
is configured. The performance gaps need no more state than that: their scores are the label book's. When
the window closes, ``of_event`` becomes the closed window's :class:`~monitor.pipeline.fairness_late.LateGroups`
(one 2-byte group code per attribute and prediction), from which the label metrics and performance gaps are
recomputed as late labels arrive (:mod:`monitor.pipeline.fairness_late`).

``violated`` (signal ``fairness_gap``, warning), with ``t`` the metric's threshold
(:meth:`~monitor.config.fairness.FairnessConfig.threshold_of`): for a ``*_difference`` metric ``lower > t``;
for a ``*_ratio`` metric ``upper < t``; or, with ``reference_values[metric] = r``, ``lower > r + max_change``
or ``upper < r - max_change``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from detectors.fairness import FairnessValue, GroupCounts, fairness_metric
from detectors.fairness_performance import performance_gap
from monitor.config.fairness import FairnessConfig
from monitor.pipeline.alert_signals import Signal
from monitor.pipeline.labels import LabelBook

__all__ = ["LABEL_FREE", "FairnessBook", "FairnessRecord", "fairness_records", "fairness_signals", "label_based"]

OTHER = "other"
LABEL_FREE = ("demographic_parity", "selection_rate")
"""Prefixes of the fairness metrics that count every prediction, labelled or not (final at close)."""


def label_based(metric: str) -> bool:
    """Whether fairness metric ``metric`` counts labelled predictions only (the label rates and the performance
    gaps; recomputed as labels arrive).

    >>> label_based("equal_opportunity_difference"), label_based("roc_auc_difference")
    (True, True)
    >>> label_based("demographic_parity_ratio")
    False
    """
    return not metric.startswith(LABEL_FREE)


@dataclass(frozen=True)
class FairnessRecord:
    """One metric of one attribute in one window (a row of ``fairness_results``)."""

    attribute: str
    metric: str
    value: float | None
    lower: float | None
    upper: float | None
    threshold: float | None
    violated: bool
    groups: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FairnessBook:
    """Per attribute and group, the confusion counts of one window (see the module docstring)."""

    def __init__(self, config: FairnessConfig, where: dict[str, int | None], keep_events: bool) -> None:
        self.config = config
        self.where = where
        """Attribute -> its position in a row (a feature), or None (a segment key)."""
        self.counts: dict[str, dict[str, GroupCounts]] = {a: {} for a in config.attributes}
        self.capped = 0
        self.non_string = 0
        self.gaps = frozenset(config.performance_metrics)
        """The configured performance gaps (:mod:`detectors.fairness_performance`)."""
        self.keep_events = keep_events and any(label_based(m) for m in config.metrics)
        self.of_event: dict[str, tuple[bool, tuple[str | None, ...]]] = {}

    def _group(self, attribute: str, value: Any) -> str | None:
        if value is None:
            return None
        if type(value) is not str:
            self.non_string += 1
            value = str(value)
        groups = self.counts[attribute]
        if value not in groups and len(groups) >= self.config.max_groups:
            self.capped += 1
            value = OTHER
        return value

    def add(self, row: tuple[Any, ...], segments: dict[str, Any], score: float | None, event_id: str) -> None:
        if score is None:
            return
        positive = score >= self.config.threshold
        found: list[str | None] = []
        for attribute, index in self.where.items():
            group = self._group(attribute, segments.get(attribute) if index is None else row[index])
            found.append(group)
            if group is not None:
                self.counts[attribute].setdefault(group, GroupCounts()).add(positive)
        if self.keep_events:
            self.of_event[event_id] = (positive, tuple(found))

    def results(self, book: LabelBook | None) -> list[FairnessRecord]:
        """Every configured metric of every attribute, label metrics and performance gaps counting what
        ``book`` holds now."""
        cfg = self.config
        labelled = self._labelled(book) if self.gaps else {}
        return fairness_records(cfg, cfg.attributes, cfg.metrics, self._label_counts(book), labelled)

    def _label_counts(self, book: LabelBook | None) -> dict[str, dict[str, GroupCounts]]:
        """The window's counts with the confusion counts of the predictions ``book`` holds labelled."""
        counts = {a: {g: GroupCounts(c.n, c.positive) for g, c in groups.items()} for a, groups in self.counts.items()}
        for _row, label, (positive, groups) in self._labelled_rows(book):
            for attribute, group in zip(self.where, groups, strict=True):
                if group is not None:
                    c = counts[attribute].setdefault(group, GroupCounts())
                    c.add(positive, bool(label))
                    c.n -= 1  # (counted once already, at add)
                    c.positive -= positive
        return counts

    def _labelled(self, book: LabelBook | None) -> dict[str, tuple[list[str], list[bool], list[float]]]:
        """Per attribute, ``(groups, labels, scores)`` of the labelled predictions ``book`` holds that have a
        group of it (a binary model's book: one score per prediction)."""
        out: dict[str, tuple[list[str], list[bool], list[float]]] = {a: ([], [], []) for a in self.where}
        if book is None:
            return out
        for row, label, (_positive, seen_groups) in self._labelled_rows(book):
            score = book.scores[row * book.width]
            for attribute, group in zip(self.where, seen_groups, strict=True):
                if group is not None:
                    groups, labels, scores = out[attribute]
                    groups.append(group)
                    labels.append(bool(label))
                    scores.append(score)
        return out

    def _labelled_rows(self, book: LabelBook | None) -> Iterator[tuple[int, Any, tuple[bool, tuple[str | None, ...]]]]:
        """``(row, label, (decision, groups))`` of each prediction ``book`` holds labelled and ``of_event`` saw."""
        if book is None or not self.of_event:
            return
        for event_id, row in book.index.items():
            label = book.labels.get(row)
            seen = self.of_event.get(event_id)
            if label is not None and seen is not None:
                yield row, label, seen

    def to_state(self) -> dict[str, Any]:
        return {"counts": {a: {g: c.to_list() for g, c in groups.items()} for a, groups in self.counts.items()},
                "capped": self.capped, "non_string": self.non_string,
                "of_event": {k: [p, list(g)] for k, (p, g) in self.of_event.items()}}

    def restore(self, data: dict[str, Any]) -> None:
        self.counts = {a: {} for a in self.config.attributes}
        for attribute, groups in data.get("counts", {}).items():
            if attribute in self.counts:
                self.counts[attribute] = {str(g): GroupCounts.from_list(v) for g, v in groups.items()}
        self.capped, self.non_string = int(data.get("capped", 0)), int(data.get("non_string", 0))
        self.of_event = {str(k): (bool(v[0]), tuple(v[1])) for k, v in data.get("of_event", {}).items()}


def fairness_records(cfg: FairnessConfig, attributes: Iterable[str], metrics: Iterable[str],
                     counts: dict[str, dict[str, GroupCounts]],
                     labelled: dict[str, tuple[list[str], list[bool], list[float]]]) -> list[FairnessRecord]:
    """One row per attribute and metric (attributes outer, in the given orders): a performance gap from
    ``labelled[attribute]`` (groups, labels, scores), a rate metric from ``counts[attribute]``."""
    gaps = frozenset(cfg.performance_metrics)
    out = []
    metrics = list(metrics)
    for attribute in attributes:
        for metric in metrics:
            reference = cfg.reference_group.get(attribute)
            res: FairnessValue
            if metric in gaps:
                groups, labels, scores = labelled.get(attribute, ([], [], []))
                res = performance_gap(metric, groups, labels, scores, confidence=cfg.confidence,
                                      reference_group=reference, min_group_n=cfg.min_group_events)
            else:
                res = fairness_metric(metric, counts.get(attribute, {}), confidence=cfg.confidence,
                                      reference_group=reference, min_group_n=cfg.min_group_events)
            threshold = cfg.threshold_of(metric)
            out.append(FairnessRecord(attribute, metric, res.value, res.lower, res.upper, threshold,
                                      _violated(cfg, metric, threshold, res.lower, res.upper), res.groups))
    return out


def _violated(cfg: FairnessConfig, metric: str, threshold: float, lower: float | None, upper: float | None
              ) -> bool:
    if lower is None or upper is None:
        return False
    if metric.endswith("_difference") and lower > threshold:
        return True
    if metric.endswith("_ratio") and upper < threshold:
        return True
    ref = cfg.reference_values.get(metric)
    if ref is not None and cfg.max_change is not None:
        return lower > ref + cfg.max_change or upper < ref - cfg.max_change
    return False


def fairness_signals(records: list[FairnessRecord]) -> list[Signal]:
    """One ``fairness_gap`` warning per violated record (feature ``<attribute>:<metric>``)."""
    return [Signal("fairness_gap", "warning",
                   f"fairness: {r.metric} over {r.attribute!r} = {r.value:.3f} "
                   f"[{r.lower:.3f}, {r.upper:.3f}] (threshold {r.threshold})",
                   f"{r.attribute}:{r.metric}", r.value)
            for r in records if r.violated and r.value is not None and r.lower is not None and r.upper is not None]
