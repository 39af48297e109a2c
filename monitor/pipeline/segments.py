"""Per-segment drift state of one open window: :class:`SegmentBook` (bounded, checkpointable).

Admission rule (per window and key): the first ``max_segments`` distinct string values seen get their own
``WindowState`` (created lazily, on the first flush that holds their rows); the events of every later value,
and of a value that is not a string, are pooled into ``<key>=other`` (counted in ``capped`` /
``non_string``). An event without the key is in no segment of that key. Memory per window is therefore at
most ``keys x (max_segments + 1)`` states of ``max_values`` values per numeric column. (Admitting the
first values seen, rather than the largest, keeps the hot path to one dict lookup per key; the largest
values of a stream are almost always among its first ones, and the pooled rest is still tested.)
"""

from __future__ import annotations

import base64
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from detectors.profile import ReferenceProfile
from detectors.window_state import WindowState

__all__ = ["OTHER", "SegmentBook"]

log = logging.getLogger(__name__)
OTHER = "other"


class SegmentBook:
    """Segment labels of a window's buffered rows and one drift state per admitted segment."""

    def __init__(self, keys: tuple[str, ...], max_segments: int, max_values: int, seed: int,
                 profile: ReferenceProfile | None, keep_events: bool = False) -> None:
        self.keys = keys
        self.max_segments = max_segments
        self.max_values = max_values
        self.seed = seed
        self.profile = profile
        self.admitted: dict[str, dict[str, str]] = {k: {} for k in keys}
        """Per key: value -> its label ``key=value``."""
        self.other = {k: f"{k}={OTHER}" for k in keys}
        self.counts: Counter[str] = Counter()
        self.capped = 0
        self.non_string = 0
        self.pending: list[tuple[str | None, ...]] = []
        """Labels of the rows buffered in the window (aligned with ``OpenWindow.buffer``)."""
        self.states: dict[str, WindowState] = {}
        self.dropped_rows = 0
        self.keep_events = keep_events
        self.of_event: dict[str, tuple[str | None, ...]] = {}
        """Labels per event id (models with business metrics: the joined outcomes are split by segment)."""

    def labels(self, segments: Mapping[str, Any]) -> tuple[str | None, ...]:
        """The event's label per key (``None``: the event lacks the key), admitting new values (module rule)."""
        out: list[str | None] = []
        for key in self.keys:
            value = segments.get(key)
            if value is None:
                out.append(None)
                continue
            admitted = self.admitted[key]
            label = admitted.get(value) if type(value) is str else None
            if label is None:
                if type(value) is not str:
                    self.non_string += 1
                    label = self.other[key]
                elif len(admitted) < self.max_segments:
                    label = admitted[value] = f"{key}={value}"
                else:
                    self.capped += 1
                    label = self.other[key]
            self.counts[label] += 1
            out.append(label)
        return tuple(out)

    def add(self, event_id: str, segments: Mapping[str, Any], buffered: bool) -> None:
        """Label one event; ``buffered``: its row went to the window's buffer (then its labels wait here)."""
        labels = self.labels(segments)
        if buffered:
            self.pending.append(labels)
        if self.keep_events:
            self.of_event[event_id] = labels

    def update(self, batch: Mapping[str, np.ndarray], rows: int) -> None:
        """Feed the rows of one flushed batch (their labels are the first ``rows`` of ``pending``) to the
        states of their segments."""
        labels, self.pending = self.pending[:rows], self.pending[rows:]
        if self.profile is None or not labels:
            return
        for k in range(len(self.keys)):
            where: dict[str, list[int]] = {}
            for i, row in enumerate(labels):
                label = row[k]
                if label is not None:
                    where.setdefault(label, []).append(i)
            for label, idx in where.items():
                state = self.states.get(label)
                if state is None:
                    state = self.states[label] = WindowState.empty(
                        self.profile, seed=self.seed + len(self.states), max_values=self.max_values)
                take = np.asarray(idx, dtype=np.intp)
                try:
                    state.update({name: values[take] for name, values in batch.items()})
                except ValueError as exc:
                    self.dropped_rows += len(idx)
                    log.warning("segment %s: a batch of %d rows was rejected: %s", label, len(idx), exc)

    # -- serialisation -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "keys": list(self.keys), "max_segments": self.max_segments, "max_values": self.max_values,
            "seed": self.seed, "admitted": self.admitted, "counts": dict(self.counts),
            "capped": self.capped, "non_string": self.non_string, "pending": [list(p) for p in self.pending],
            "states": {label: base64.b64encode(s.to_bytes()).decode() for label, s in self.states.items()},
            "dropped_rows": self.dropped_rows, "keep_events": self.keep_events,
            "of_event": {k: list(v) for k, v in self.of_event.items()},
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any], profile: ReferenceProfile | None) -> SegmentBook:
        book = cls(tuple(str(k) for k in data["keys"]), int(data["max_segments"]), int(data["max_values"]),
                   int(data["seed"]), profile, bool(data.get("keep_events", False)))
        book.admitted = {str(k): {str(v): str(lab) for v, lab in m.items()} for k, m in data["admitted"].items()}
        book.counts = Counter({str(k): int(v) for k, v in data["counts"].items()})
        book.capped, book.non_string = int(data["capped"]), int(data["non_string"])
        book.pending = [tuple(p) for p in data["pending"]]
        if profile is not None:
            book.states = {str(label): WindowState.from_bytes(base64.b64decode(raw), profile,
                                                             source=f"segment {label}")
                           for label, raw in data["states"].items()}
        book.dropped_rows = int(data.get("dropped_rows", 0))
        book.of_event = {str(k): tuple(v) for k, v in data.get("of_event", {}).items()}
        return book
