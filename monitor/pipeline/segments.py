"""Per-segment drift state of one open window: :class:`SegmentBook` (bounded, checkpointable).

Admission rule (per window and key): at most ``max_segments`` string values are *kept* (own
``WindowState``, label ``key=value``); every other event with the key is pooled into ``key=other``.

- While fewer than ``max_segments`` values are kept, a new string value is kept on its first event.
- After that, events of values not kept are counted in a frequent-items sketch of the key
  (``datasketches.frequent_strings_sketch``, ``2**lg`` entries, ``lg = max(4, ceil(log2(8 x max_segments)))``;
  count error at most ``3.5 x pooled / 2**lg``), whose lower bound ``c_v`` of a value's count never
  exceeds its true count (a value seen once is never taken for a heavy one). A kept value's volume is
  ``c_v`` when it was admitted (``before``) plus its events since. A pooled value ``v`` replaces
  the kept value ``u`` of smallest volume ``n_u`` when ``c_v > n_u + max(10, n_u // 4)`` (the margin
  stops two values of equal rate from swapping back and forth). ``u``'s state is merged into
  ``key=other`` (its rows stay tested, with the pool), its events are counted as pooled from then on, and
  its volume goes back into the sketch.
- A value admitted after some of its events were pooled is *partial*: its ``before`` events are in
  ``key=other``; :attr:`SegmentBook.partial` lists them, and a segment is drift-tested only when its own
  state holds at least ``segments.min_events`` rows.
- A value that is not a string is pooled into ``key=other`` and counted in ``non_string``; a string value
  pooled because ``max_segments`` values are kept is counted in ``capped``. An event without the key is in
  no segment of that key.

Memory per window is therefore bounded by ``keys x (max_segments + 1)`` states of at most ``max_values``
values per numeric column, plus one sketch of ``2**lg`` entries per key, whatever the number of
distinct values.
"""

from __future__ import annotations

import base64
import logging
import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import datasketches
import numpy as np

from detectors.profile import ReferenceProfile
from detectors.window_state import WindowState

__all__ = ["OTHER", "SegmentBook", "sketch_size"]

log = logging.getLogger(__name__)
OTHER = "other"


def sketch_size(max_segments: int) -> int:
    """``lg`` of the frequent-items sketch of one key: ``max(4, ceil(log2(8 x max_segments)))``."""
    return max(4, math.ceil(math.log2(8 * max_segments)))


def _margin(volume: int) -> int:
    return max(10, volume // 4)


class SegmentBook:
    """Segment labels of a window's buffered rows and one drift state per kept segment (module rules)."""

    def __init__(self, keys: tuple[str, ...], max_segments: int, max_values: int, seed: int,
                 profile: ReferenceProfile | None, keep_events: bool = False) -> None:
        self.keys = keys
        self.max_segments = max_segments
        self.max_values = max_values
        self.seed = seed
        self.profile = profile
        self.admitted: dict[str, dict[str, str]] = {k: {} for k in keys}
        """Per key: kept value -> its label ``key=value``."""
        self.other = {k: f"{k}={OTHER}" for k in keys}
        self.counts: Counter[str] = Counter()
        """Events per label since the label's value was kept (``key=other``: every pooled event)."""
        self.before: dict[str, int] = {}
        """Per kept label: events of its value pooled before it was kept (sketch estimate)."""
        self.sketches = {k: datasketches.frequent_strings_sketch(sketch_size(max_segments)) for k in keys}
        self._floor: dict[str, tuple[int, str]] = {}
        self.capped = 0
        self.non_string = 0
        self.evicted = 0
        self.pending: list[tuple[str | None, ...]] = []
        """Labels of the rows buffered in the window (aligned with ``OpenWindow.buffer``)."""
        self.states: dict[str, WindowState] = {}
        self.dropped_rows = 0
        self.keep_events = keep_events
        self.of_event: dict[str, tuple[str | None, ...]] = {}
        """Labels per event id (models with business metrics: the joined outcomes are split by segment)."""

    # -- admission ---------------------------------------------------------------------------------
    def labels(self, segments: Mapping[str, Any]) -> tuple[str | None, ...]:
        """The event's label per key (``None``: the event lacks the key), admitting values (module rule)."""
        out: list[str | None] = []
        for key in self.keys:
            value = segments.get(key)
            if value is None:
                out.append(None)
                continue
            label = self.admitted[key].get(value) if type(value) is str else None
            if label is None:
                label = self._admit(key, value)
            self.counts[label] += 1
            out.append(label)
        return tuple(out)

    def volume(self, label: str) -> int:
        """Events of a kept label's value in this window: ``before + counts`` (module rule)."""
        return self.before.get(label, 0) + self.counts[label]

    def _admit(self, key: str, value: Any) -> str:
        if type(value) is not str:
            self.non_string += 1
            return self.other[key]
        admitted = self.admitted[key]
        if len(admitted) < self.max_segments:
            return self._enter(key, value, 0)
        sketch = self.sketches[key]
        sketch.update(value)
        estimate = int(sketch.get_lower_bound(value))
        floor = self._floor.get(key)
        if floor is None or estimate > floor[0] + _margin(floor[0]):
            # (volumes only grow, so a cached floor is a lower bound: recompute only when it is beaten)
            floor = self._floor[key] = min((self.volume(lab), lab) for lab in admitted.values())
            if estimate > floor[0] + _margin(floor[0]):
                self._evict(key, floor[1])
                return self._enter(key, value, estimate - 1)
        self.capped += 1
        return self.other[key]

    def _enter(self, key: str, value: str, before: int) -> str:
        label = self.admitted[key][value] = f"{key}={value}"
        if before > 0:
            self.before[label] = before
        self._floor.pop(key, None)
        return label

    def _evict(self, key: str, label: str) -> None:
        """Pool the kept ``label`` of ``key`` into ``key=other`` (module rule)."""
        value = label[len(key) + 1:]
        other = self.other[key]
        n = self.counts.pop(label, 0)
        self.counts[other] += n
        self.before.pop(label, None)
        del self.admitted[key][value]
        self._floor.pop(key, None)
        self.sketches[key].update(value, max(n, 1))
        self.evicted += 1
        k = self.keys.index(key)
        self.pending = [(*row[:k], other, *row[k + 1:]) if row[k] == label else row for row in self.pending]
        state = self.states.pop(label, None)
        if state is not None:
            mine = self.states.get(other)
            self.states[other] = state if mine is None else mine.merge(state)

    @property
    def partial(self) -> dict[str, int]:
        """Kept labels admitted after some of their events were pooled: label -> those events."""
        return dict(self.before)

    def kept(self, label: str | None, key_index: int) -> str | None:
        """``label`` if its value is kept now, else its key's ``other`` (``None`` stays ``None``)."""
        if label is None:
            return None
        key = self.keys[key_index]
        return label if label == self.other[key] or label[len(key) + 1:] in self.admitted[key] else self.other[key]

    # -- rows ----------------------------------------------------------------------------------------
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
        table = np.array(labels, dtype=object).reshape(len(labels), len(self.keys))
        for k in range(len(self.keys)):
            column = table[:, k]
            present = np.flatnonzero(column != None)  # noqa: E711 (elementwise over an object array)
            if present.size == 0:
                continue
            names, inverse = np.unique(column[present].astype(str), return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            bounds = np.searchsorted(inverse[order], np.arange(len(names) + 1))
            starts = bounds[:-1]
            for g in np.argsort(present[order[starts]], kind="stable").tolist():  # labels in order of first row
                label = str(names[g])
                take = present[order[bounds[g]:bounds[g + 1]]]
                state = self.states.get(label)
                if state is None:
                    state = self.states[label] = WindowState.empty(
                        self.profile, seed=self.seed + len(self.states), max_values=self.max_values,
                        multivariate=False)
                try:
                    state.update({name: values[take] for name, values in batch.items()})
                except ValueError as exc:
                    self.dropped_rows += int(take.size)
                    log.warning("segment %s: a batch of %d rows was rejected: %s", label, take.size, exc)

    # -- serialisation -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "keys": list(self.keys), "max_segments": self.max_segments, "max_values": self.max_values,
            "seed": self.seed, "admitted": self.admitted, "counts": dict(self.counts), "before": self.before,
            "sketches": {k: base64.b64encode(s.serialize()).decode() for k, s in self.sketches.items()},
            "capped": self.capped, "non_string": self.non_string, "evicted": self.evicted,
            "pending": [list(p) for p in self.pending],
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
        book.before = {str(k): int(v) for k, v in data.get("before", {}).items()}
        for key, raw in data.get("sketches", {}).items():
            if key in book.sketches:
                book.sketches[key] = datasketches.frequent_strings_sketch.deserialize(base64.b64decode(raw))
        book.capped, book.non_string = int(data["capped"]), int(data["non_string"])
        book.evicted = int(data.get("evicted", 0))
        book.pending = [tuple(p) for p in data["pending"]]
        if profile is not None:
            book.states = {str(label): WindowState.from_bytes(base64.b64decode(raw), profile,
                                                             source=f"segment {label}")
                           for label, raw in data["states"].items()}
        book.dropped_rows = int(data.get("dropped_rows", 0))
        book.of_event = {str(k): tuple(v) for k, v in data.get("of_event", {}).items()}
        return book
