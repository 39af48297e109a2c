"""An outcome joined to its prediction: its fields into the prediction's windows, its label into their books."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.pipeline.model_state import ModelState
from monitor.pipeline.outcome_join import LABEL_FIELD, merge_outcome
from monitor.pipeline.updates import Stamp, label_step, stamp_early

__all__ = ["attach"]


def attach(state: ModelState, event_id: str, keys: list[str], fields: Mapping[str, Any], ts: float,
       stamp: Stamp) -> None:
    """Merge an outcome's fields into the prediction's windows (open or awaiting) and its label into their
    label books. A label that reaches no book (its prediction unknown, spilled, unscored, or its windows
    already final) counts in ``labels_unmatched``; one still waiting in the joiner for its prediction
    does not (yet). The record of the first window before and after the merge goes to the early
    business-metric tests (``ts``: the event time of the later of the prediction and the outcome)."""
    label = fields.get(LABEL_FIELD)
    if label is not None:
        fields = {k: v for k, v in fields.items() if k != LABEL_FIELD}
    business = bool(state.config.business_metrics)
    early = state.early if business and keys and state.early is not None and state.early.business else None
    before = dict(state.joined_record(keys[0], event_id) or {}) if early is not None else None
    booked = False
    for key in keys:
        window = state.windows.get(key)
        if window is not None:
            if business:
                merge_outcome(window.joined.setdefault(event_id, {}), fields)
            if label is not None and window.book is not None and event_id in window.book.index:
                booked = True
                if window.book.set_label(event_id, label):
                    state.counters["labels_joined"] += 1
            continue
        waiting = state.awaiting.get(key)
        if waiting is None:
            state.counters["late_outcomes"] += 1
            continue
        if business and fields and not waiting.business_final:
            merge_outcome(waiting.joined.setdefault(event_id, {}), fields)
            state.dirty.add(key)
        if label is not None and waiting.book is not None and event_id in waiting.book.index:
            booked = True
            if waiting.book.set_label(event_id, label):
                state.counters["labels_joined"] += 1
                state.dirty.add(key)
                label_step(state, waiting, stamp)
    if label is not None and not booked and (keys or not state.joiner.is_waiting(event_id)):
        state.counters["labels_unmatched"] += 1
    if early is not None and before is not None:
        after = state.joined_record(keys[0], event_id)
        if after is not None:
            early.merged(before, after, ts)
            if early.pending:
                stamp_early(early.pending, stamp)
