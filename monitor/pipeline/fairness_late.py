"""Label-based fairness of a closed window, recomputed as its late labels arrive (pure).

Which metrics: every configured fairness metric that needs labels
(:func:`~monitor.pipeline.fairness_state.label_based`: the true/false positive rate, accuracy and precision
gaps, equal opportunity, and the performance gaps of :mod:`detectors.fairness_performance`). Demographic
parity (selection rate) counts every prediction, so it is final when the window closes and is never recomputed.

When: at the updates that judge the window's performance (:mod:`monitor.pipeline.updates`): the label that
brings its labelled share to a new quarter (provisional) and the final update (``label_ttl`` passed, the
source ended, or a ``max_awaiting_labels`` spill). Each recomputes the rows from every label joined so far,
exactly as at close (:meth:`~monitor.pipeline.fairness_state.FairnessBook.results`: same rows, same order),
and they replace the window's rows of those metrics (upsert by window, attribute and metric). Persist points
between steps do not recompute them (only the performance values), so a window's fairness costs at most
``LABEL_STEPS + 1`` recomputations after its close.

Signals: ``fairness_gap`` of these rows, by the close-time rule (:func:`~monitor.pipeline.fairness_state.
fairness_signals`, same feature ``<attribute>:<metric>`` and so the same dedup key as the close-time alert),
at each step; the final update judges ``(fairness_gap, <attribute>:<metric>)`` for every row with an
interval (an unresolved alert of it that did not fire counts one clean window). A closing window never
counts clean for these alerts (:func:`label_judged`), like ``performance_drop``.

Memory: the window's :class:`~monitor.pipeline.labels.LabelBook` already keeps each awaiting prediction's
event id (its row), score (the decision is ``score >= threshold``) and label; :class:`LateGroups` adds, per
prediction and attribute, its group as one ``array('h')`` entry (2 bytes: a code into the attribute's list
of group names, at most ``max_groups + 1`` of them; ``-1``: no group), in the book's row order. The open
window's ``of_event`` (event id -> decision and groups) is dropped when it closes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

from detectors.fairness import GroupCounts
from monitor.config.fairness import FairnessConfig
from monitor.pipeline.alert_signals import Signal
from monitor.pipeline.fairness_state import (
    FairnessBook,
    FairnessRecord,
    fairness_records,
    fairness_signals,
    label_based,
)
from monitor.pipeline.labels import LabelBook

__all__ = ["LateGroups", "label_judged", "late_fairness"]

def label_judged(signal: str, feature: str | None) -> bool:
    """Whether ``fairness_gap`` alert ``(signal, feature)`` is of a label-based metric (judged by the label
    updates, so a closing window never counts clean for it; ``feature`` is ``<attribute>:<metric>``)."""
    return signal == "fairness_gap" and feature is not None and label_based(feature.rpartition(":")[2])


class LateGroups:
    """Per attribute, the group of each prediction of a closed window, in its label book's row order."""

    __slots__ = ("codes", "names")

    def __init__(self, names: dict[str, list[str]], codes: dict[str, array[int]]) -> None:
        self.names = names
        """Attribute -> its group names (a code is a position in this list)."""
        self.codes = codes
        """Attribute -> one code per row of the label book (``-1``: no group)."""

    @classmethod
    def at_close(cls, fair: FairnessBook | None, book: LabelBook | None) -> LateGroups | None:
        """The groups of ``book``'s predictions from the closing window's fairness book (``None`` when the
        book keeps no per-prediction groups or the window has no label book)."""
        if fair is None or book is None or not fair.keep_events:
            return None
        attributes = list(fair.where)
        names: dict[str, list[str]] = {a: [] for a in attributes}
        index: dict[str, dict[str, int]] = {a: {} for a in attributes}
        codes: dict[str, array[int]] = {a: array("h") for a in attributes}
        none = (None,) * len(attributes)
        for event_id in book.index:
            seen = fair.of_event.get(event_id)
            for attribute, group in zip(attributes, seen[1] if seen is not None else none, strict=True):
                code = -1
                if group is not None:
                    code = index[attribute].setdefault(group, len(names[attribute]))
                    if code == len(names[attribute]):
                        names[attribute].append(group)
                codes[attribute].append(code)
        return cls(names, codes)

    def inputs(self, book: LabelBook, threshold: float
               ) -> tuple[dict[str, dict[str, GroupCounts]], dict[str, tuple[list[str], list[bool], list[float]]]]:
        """Per attribute, the confusion counts and the ``(groups, labels, scores)`` of the labelled rows of
        ``book`` (row order), as :class:`~monitor.pipeline.fairness_state.FairnessBook` builds them at close."""
        counts: dict[str, dict[str, GroupCounts]] = {a: {} for a in self.names}
        labelled: dict[str, tuple[list[str], list[bool], list[float]]] = {a: ([], [], []) for a in self.names}
        for row in sorted(book.labels):
            label = bool(book.labels[row])
            score = book.scores[row * book.width]
            positive = score >= threshold
            for attribute, codes in self.codes.items():
                code = codes[row] if row < len(codes) else -1
                if code < 0:
                    continue
                group = self.names[attribute][code]
                counts[attribute].setdefault(group, GroupCounts()).add(positive, label)
                groups, labels, scores = labelled[attribute]
                groups.append(group)
                labels.append(label)
                scores.append(score)
        return counts, labelled

    def to_state(self) -> dict[str, Any]:
        return {"names": {a: list(v) for a, v in self.names.items()},
                "codes": {a: v.tolist() for a, v in self.codes.items()}}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> LateGroups:
        return cls({str(a): [str(g) for g in v] for a, v in data["names"].items()},
                   {str(a): array("h", (int(c) for c in v)) for a, v in data["codes"].items()})


def late_fairness(config: FairnessConfig | None, groups: LateGroups | None, book: LabelBook | None, *,
                  final: bool, disabled: Iterable[str] = ()
                  ) -> tuple[list[FairnessRecord], list[Signal], list[tuple[str, str | None]]]:
    """The label-based fairness rows of a closed window from the labels ``book`` holds now, their
    ``fairness_gap`` signals (unless disabled), and, when ``final``, the ``(signal, feature)`` pairs judged
    (every row with an interval); see the module docstring."""
    if config is None or groups is None or book is None:
        return [], [], []
    metrics = [m for m in config.metrics if label_based(m)]
    attributes = [a for a in config.attributes if a in groups.names]
    if not metrics or not attributes:
        return [], [], []
    counts, labelled = groups.inputs(book, config.threshold)
    records = fairness_records(config, attributes, metrics, counts, labelled)
    signals = [] if "fairness_gap" in set(disabled) else fairness_signals(records)
    judged: list[tuple[str, str | None]] = sorted(
        {("fairness_gap", f"{r.attribute}:{r.metric}") for r in records
         if final and r.lower is not None and r.upper is not None}, key=lambda j: j[1] or "")
    return records, signals, judged
