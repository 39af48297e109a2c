"""Outcome join of one model: predictions and outcomes meet on ``event_id`` within a TTL (pure).

Both sides wait: a prediction waits for its outcomes until the outcome stream has passed ``ts + ttl``
(event time), and an outcome that arrives before its prediction waits until the prediction stream has
passed ``ts + ttl`` (see :class:`OutcomeJoiner` for the fallback when a side stops). A pair matches when
``|outcome.ts - prediction.ts| <= ttl``.

Several outcome events of one prediction (shown, then played) are merged field by field with
:func:`merge_outcome`, which is idempotent: a redelivered outcome changes nothing.

Examples
--------
>>> j = OutcomeJoiner(ttl=60)
>>> j.add_prediction("e1", 100.0, ["count:0"])
[]
>>> j.add_outcome("e1", 130.0, {"shown": True})
['count:0']
>>> j.add_outcome("e2", 140.0, {"shown": True})   # prediction not seen yet: the outcome waits
[]
>>> j.add_prediction("e2", 120.0, ["count:0"])
[{'shown': True}]
>>> j.add_outcome("e1", 500.0, {"played": True})  # outcome clock 500 > 100 + 60: e1 was dropped
[]
>>> j.pending, j.stats
((0, 1), {'matched': 2, 'late_or_unmatched': 0, 'expired_labels': 0, 'outcomes_spilled': 0})

Outcomes waiting for their prediction are bounded by count too (``max_waiting``): a new one that would
exceed it drops the one that waited longest, counted in ``stats["outcomes_spilled"]`` (and, if it carried
a label, in ``stats["expired_labels"]``: that label can no longer join):

>>> j = OutcomeJoiner(ttl=60, max_waiting=2)
>>> for i in range(3):
...     _ = j.add_outcome(f"o{i}", 100.0 + i, {LABEL_FIELD: True})
>>> j.pending, j.is_waiting("o0"), j.stats["outcomes_spilled"], j.stats["expired_labels"]
((0, 2), False, 1, 1)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["LABEL_FIELD", "OutcomeJoiner", "merge_outcome"]

OutcomeFields = dict[str, Any]
LABEL_FIELD = "\x00label"
"""Where a checked label travels among an outcome's joined fields (no business field can be named so);
waiting outcomes that carry one and are dropped count in ``stats["expired_labels"]``."""


def merge_outcome(into: OutcomeFields, new: Mapping[str, Any]) -> OutcomeFields:
    """Merge ``new`` into ``into`` in place: booleans OR, numbers max, anything else: first value kept.

    >>> merge_outcome({"shown": True, "play_seconds": 12}, {"played": True, "play_seconds": 40, "shown": False})
    {'shown': True, 'play_seconds': 40, 'played': True}
    """
    for key, value in new.items():
        if value is None:
            continue
        old = into.get(key)
        if old is None:
            into[key] = value
        elif isinstance(old, bool) and isinstance(value, bool):
            into[key] = old or value
        elif _is_number(old) and _is_number(value):
            into[key] = max(old, value)
    return into


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


class OutcomeJoiner:
    """Join state of one model (see the module docstring). ``stats`` counts matched and unmatched outcomes.

    Each side has its own clock (largest event time seen on that side). A waiting prediction is dropped
    once the *outcome* clock passed ``ts + ttl`` (no outcome of it can still come), a waiting outcome once
    the *prediction* clock passed ``ts + ttl``; so an outcome stream read later than the prediction stream
    (a backlog being replayed) loses nothing. If one side stops altogether, the other side's clock drops
    the waiting entries after ``ttl + lag_allowance`` (default ``2 * ttl``). Waiting outcomes are also
    bounded by count: at most ``max_waiting`` (``None``: no count bound); the one that waited longest is
    dropped (counted in ``stats["outcomes_spilled"]``) to make room for a new one. Waiting predictions
    need no count bound here: they are those of live windows (:meth:`forget_window`), bounded by the
    model's ``max_awaiting_labels``.
    """

    def __init__(self, ttl: float, lag_allowance: float | None = None, max_waiting: int | None = None) -> None:
        self.ttl = float(ttl)
        self.lag_allowance = 2 * self.ttl if lag_allowance is None else float(lag_allowance)
        self.max_waiting = max_waiting
        self._predictions: dict[str, tuple[float, list[str]]] = {}
        self._outcomes: dict[str, tuple[float, OutcomeFields]] = {}
        self._pclock = -math.inf
        self._oclock = -math.inf
        self.stats = {"matched": 0, "late_or_unmatched": 0, "expired_labels": 0, "outcomes_spilled": 0}

    @property
    def clock(self) -> float:
        """Largest event time seen on either side (``-inf`` before any)."""
        return max(self._pclock, self._oclock)

    @property
    def prediction_clock(self) -> float:
        return self._pclock

    @property
    def outcome_clock(self) -> float:
        return self._oclock

    def horizon_passed(self, ts: float, extra: float = 0.0) -> bool:
        """Whether every outcome of a prediction at ``ts`` has had its chance (``extra``: idle seconds)."""
        need = ts + self.ttl
        return self._oclock + extra >= need or self._pclock + extra >= need + self.lag_allowance

    @property
    def pending(self) -> tuple[int, int]:
        """(predictions waiting, outcomes waiting)."""
        return len(self._predictions), len(self._outcomes)

    def add_prediction(self, event_id: str, ts: float, window_keys: list[str]) -> list[OutcomeFields]:
        """Remember a prediction; return the outcomes that were already waiting for it (merged: 0 or 1).

        A prediction in no window (``window_keys`` empty: a late event, its windows already closed) is not
        kept, since its outcomes can join nothing: an outcome already waiting for it is counted unmatched,
        one that comes later waits like any outcome whose prediction is unknown (bounded, then counted).
        So the join keeps only predictions of live windows, which ``max_awaiting_labels`` bounds."""
        if ts > self._pclock:
            self._pclock = ts
            self._expire(self._outcomes, ts - self.ttl, count=True)
            self._expire(self._predictions, ts - self.ttl - self.lag_allowance, count=False)
        if window_keys:
            self._predictions[event_id] = (ts, list(window_keys))
        waiting = self._outcomes.pop(event_id, None)
        if waiting is None:
            return []
        if not window_keys or abs(waiting[0] - ts) > self.ttl:
            self.stats["late_or_unmatched"] += 1
            self.stats["expired_labels"] += LABEL_FIELD in waiting[1]
            return []
        self.stats["matched"] += 1
        return [waiting[1]]

    def add_outcome(self, event_id: str, ts: float, fields: Mapping[str, Any]) -> list[str]:
        """Match an outcome: the window keys of its prediction, or ``[]`` (then it waits, or is too late)."""
        if ts > self._oclock:
            self._oclock = ts
            self._expire(self._predictions, ts - self.ttl, count=False)
            self._expire(self._outcomes, ts - self.ttl - self.lag_allowance, count=True)
        known = self._predictions.get(event_id)
        if known is not None:
            if abs(ts - known[0]) <= self.ttl:
                self.stats["matched"] += 1
                return list(known[1])
            self.stats["late_or_unmatched"] += 1
            return []
        if ts < self._pclock - self.ttl:  # its prediction would have been read already
            self.stats["late_or_unmatched"] += 1
            return []
        prior = self._outcomes.get(event_id)
        if prior is None:
            self._make_room()
        merged = merge_outcome(dict(prior[1]) if prior else {}, fields)
        self._outcomes[event_id] = (min(ts, prior[0]) if prior else ts, merged)
        return []

    def _make_room(self) -> None:
        """Drop the outcomes that waited longest until one more fits under ``max_waiting`` (counted)."""
        bound = self.max_waiting
        if bound is None:
            return
        while self._outcomes and len(self._outcomes) >= bound:
            event_id = next(iter(self._outcomes))
            fields = self._outcomes.pop(event_id)[1]
            self.stats["outcomes_spilled"] += 1
            self.stats["expired_labels"] += LABEL_FIELD in fields

    def is_waiting(self, event_id: str) -> bool:
        """Whether an outcome of ``event_id`` waits for its prediction."""
        return event_id in self._outcomes

    def forget_window(self, key: str) -> None:
        """Drop ``key`` from waiting predictions (the window is final; later outcomes cannot count).

        A prediction left with no window is forgotten at once, not at its TTL: so the predictions the join
        keeps are those of live windows, and a spill at ``max_awaiting_labels`` frees them. An outcome that
        comes later for a forgotten prediction is treated as one whose prediction is unknown.
        """
        emptied = []
        for event_id, (_, keys) in self._predictions.items():
            if key in keys:
                keys.remove(key)
                if not keys:
                    emptied.append(event_id)
        for event_id in emptied:
            del self._predictions[event_id]

    def _expire(self, store: dict[str, Any], cutoff: float, count: bool) -> None:
        stale = []
        for event_id, entry in store.items():  # insertion order ~ time order: stop at the first fresh one
            if entry[0] >= cutoff:
                break
            stale.append(event_id)
        if count:
            self.stats["late_or_unmatched"] += len(stale)
            self.stats["expired_labels"] += sum(LABEL_FIELD in store[e][1] for e in stale)
        for event_id in stale:
            del store[event_id]

    # -- serialisation -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "ttl": self.ttl,
            "lag_allowance": self.lag_allowance,
            "prediction_clock": None if self._pclock == -math.inf else self._pclock,
            "outcome_clock": None if self._oclock == -math.inf else self._oclock,
            "predictions": [[k, ts, keys] for k, (ts, keys) in self._predictions.items()],
            "outcomes": [[k, ts, fields] for k, (ts, fields) in self._outcomes.items()],
            "stats": dict(self.stats),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], ttl: float | None = None,
                   max_waiting: int | None = None) -> OutcomeJoiner:
        """The joiner of :meth:`state`; ``ttl`` and ``max_waiting`` (the configuration's) replace the stored
        ones (waiting outcomes above a lower bound are dropped, counted, as the next one arrives)."""
        joiner = cls(float(state["ttl"]) if ttl is None else ttl, max_waiting=max_waiting)
        if ttl is None and state.get("lag_allowance") is not None:
            joiner.lag_allowance = float(state["lag_allowance"])
        pclock, oclock = state.get("prediction_clock"), state.get("outcome_clock")
        joiner._pclock = -math.inf if pclock is None else float(pclock)
        joiner._oclock = -math.inf if oclock is None else float(oclock)
        joiner._predictions = {str(k): (float(ts), list(keys)) for k, ts, keys in state.get("predictions", [])}
        joiner._outcomes = {str(k): (float(ts), dict(fields)) for k, ts, fields in state.get("outcomes", [])}
        joiner.stats.update({k: int(v) for k, v in state.get("stats", {}).items()})
        return joiner
