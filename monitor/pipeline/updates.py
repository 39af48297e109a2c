"""Updates of windows that closed earlier, judged at points set by the events (pure).

Order of outputs
    Every output of a pipeline (a :class:`~monitor.pipeline.closed.ClosedWindow`, a :class:`WindowUpdate`,
    an :class:`~monitor.pipeline.early.EarlyAlert`) carries ``seq``: the pipeline's output counter when it
    was made (part of the snapshot). Outputs are made while an event is processed, in this order: the
    early alerts the event raised, label-step updates (below), the windows the event made due (a time
    window once the watermark reaches its end, a count window after its last event; oldest end first),
    then the updates whose TTLs the event passed. Only the idle timeout (processing time), ``flush`` and a
    configuration reload make outputs outside an event. A persist point writes its outputs sorted by
    ``seq``, so the alert service sees them in the same order whatever the batch sizes and persist points.

When label-judged signals are judged (``performance_drop``, ``performance_estimate_unreliable``,
``business_metric_drop`` of the label lifecycle)
    - **label steps**: the label event that brings an awaiting window's labelled share to a new quarter
      (``floor(4 x labelled / predictions)`` above the last step judged, which starts at 0 when the window
      closes) makes a provisional update carrying the provisional ``performance_drop`` signals of the labels
      up to and including that event (nothing is counted clean);
    - **final**: the event that passes the window's ``label_ttl`` / ``outcome_join_ttl``
      (:meth:`~monitor.pipeline.model_state.ModelState.ttl_passed` with no idle time; the idle timeout,
      ``flush`` and ``max_awaiting_labels`` spills also finalize) makes the final update: business metrics,
      the sequential detectors, the reliability guard and clean-window counting.
    Each persist point also writes a provisional update (performance and business values, no signals) of
    every window whose labels or outcomes changed since the last one: rows only, overwritten by the final.
    The label-based fairness rows and their ``fairness_gap`` signals are recomputed at label steps and final
    updates only (:mod:`monitor.pipeline.fairness_late`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from monitor.pipeline.awaiting import AwaitingWindow, WindowUpdate
from monitor.pipeline.fairness_late import late_fairness
from monitor.pipeline.finish import business_final
from monitor.pipeline.model_state import ModelState

__all__ = ["LABEL_STEPS", "final_points", "finalize", "label_step", "output_order", "spill", "stamp_early",
           "take_updates"]

LABEL_STEPS = 4
"""Label coverage steps judged per window (quarters)."""

Stamp = Callable[[], int]
"""Returns the next output sequence number of the pipeline."""


def final_points(state: ModelState) -> tuple[float, float]:
    """``(outcome clock, prediction clock)`` at which the next awaiting window's TTL passes (with no idle
    time): :func:`finalize` has nothing to do while both clocks are below them."""
    cfg = state.config
    outcome = prediction = math.inf
    for waiting in state.awaiting.values():
        # the TTL whose passing changes something: the business one first (its passing makes the business
        # values final, or the whole window if the labels' TTL passed already), then the labels' one
        ttl = float(cfg.label_ttl) if waiting.business_final else float(cfg.outcome_join_ttl)
        if not math.isfinite(waiting.last_ts):
            return -math.inf, -math.inf
        need = waiting.last_ts + ttl
        outcome = min(outcome, need)
        prediction = min(prediction, need + 2 * ttl)
    return outcome, prediction


def finalize(state: ModelState, idle: float, flush: bool, stamp: Stamp) -> None:
    """Judge and forget the awaiting windows whose TTLs have passed (all of them on ``flush``)."""
    cfg = state.config
    for waiting in list(state.awaiting.values()):
        business_done = waiting.business_final or flush or state.ttl_passed(
            waiting.last_ts, float(cfg.outcome_join_ttl), idle)
        labels_done = flush or state.quality is None or state.ttl_passed(
            waiting.last_ts, float(cfg.label_ttl), idle)
        if labels_done and business_done:
            state.updates.append(final_update(state, waiting, None, stamp()))
        elif business_done and not waiting.business_final:
            metrics, signals, judged = business_final(state, waiting.joined)
            waiting.business_final = True
            waiting.joined = {}
            state.updates.append(WindowUpdate(cfg.name, waiting.key, metrics=metrics, signals=signals,
                                              judged=judged, auto_resolve_after=cfg.alerts.auto_resolve_after,
                                              seq=stamp(), judged_at=judged_at(state)))
    state.final_at = final_points(state)


def judged_at(state: ModelState) -> float | None:
    """The event time an update made now is judged at: the later of the join's two clocks (the event
    being processed, or the last one before an idle timeout, a flush or a reload)."""
    clock = state.joiner.clock
    return clock if math.isfinite(clock) else None


def final_update(state: ModelState, waiting: AwaitingWindow, reason: str | None, seq: int) -> WindowUpdate:
    """The last update of an awaiting window (its TTLs passed, the source ended, or it was spilled);
    the window is forgotten."""
    cfg = state.config
    metrics = None
    signals: list[Any] = []
    judged: list[tuple[str, str | None]] = []
    if not waiting.business_final:
        metrics, signals, judged = business_final(state, waiting.joined)
    performance = []
    quality = state.quality
    if quality is not None:
        realized, why = quality.realized(waiting.book)
        more, more_judged = quality.label_signals(realized, waiting.estimates, final=True)
        signals.extend(more)
        judged.extend(more_judged)
        performance = quality.records(waiting.n_events, waiting.book, waiting.estimates, realized, why,
                                      provisional=False)
        if reason is not None:
            performance = [type(r)(**{**r.to_dict(), "reason": reason}) for r in performance]
    fairness, fair_signals, fair_judged = late_fairness(cfg.fairness, waiting.fair, waiting.book, final=True,
                                                        disabled=cfg.alerts.disabled_signals)
    signals.extend(fair_signals)
    judged.extend(fair_judged)
    del state.awaiting[waiting.key]
    state.dirty.discard(waiting.key)
    if waiting.book is not None:
        state.n_awaiting -= len(waiting.book)
    state.joiner.forget_window(waiting.key)
    return WindowUpdate(cfg.name, waiting.key, performance, metrics, signals, judged, final=True,
                        auto_resolve_after=cfg.alerts.auto_resolve_after, seq=seq, judged_at=judged_at(state),
                        fairness=fairness)


def spill(state: ModelState, stamp: Stamp, log: Any) -> None:
    """``max_awaiting_labels`` reached: finalize the oldest awaiting windows (labels of their predictions
    that come later are not counted) until there is room; counted in ``labels_spilled``."""
    while state.n_awaiting >= state.config.max_awaiting_labels:
        oldest = next((w for w in state.awaiting.values() if w.book is not None and len(w.book)), None)
        if oldest is None:
            return
        spilled = len(oldest.book) if oldest.book is not None else 0
        state.counters["labels_spilled"] += spilled
        log.warning("model %s: %d predictions await labels (max_awaiting_labels); window %s finalized early, "
                    "%d predictions spilled", state.config.name, state.n_awaiting, oldest.key, spilled)
        state.updates.append(final_update(
            state, oldest, f"spilled before label_ttl passed (max_awaiting_labels "
                           f"{state.config.max_awaiting_labels})", stamp()))
    state.final_at = final_points(state)


def label_step(state: ModelState, waiting: AwaitingWindow, stamp: Stamp) -> None:
    """After a label joined ``waiting``: a provisional update with signals if its coverage reached a new
    quarter (module docstring)."""
    book = waiting.book
    if book is None or not len(book) or state.quality is None:
        return
    step = book.n_labelled * LABEL_STEPS // len(book)
    if step > waiting.step:
        waiting.step = step
        state.updates.append(provisional_update(state, waiting, stamp(), judge=True))


def provisional_update(state: ModelState, waiting: AwaitingWindow, seq: int, *, judge: bool) -> WindowUpdate:
    """Provisional performance and business values of ``waiting``; its provisional label signals and its
    label-based fairness rows (with their signals) only when ``judge`` (a label step)."""
    from monitor.pipeline.business_metrics import compute_metrics

    cfg = state.config
    metrics = None if waiting.business_final else compute_metrics(cfg.business_metrics, waiting.joined.values())
    performance = []
    signals: list[Any] = []
    quality = state.quality
    if quality is not None:
        realized, why = quality.realized(waiting.book)
        if judge:
            signals, _ = quality.label_signals(realized, waiting.estimates, final=False)
        performance = quality.records(waiting.n_events, waiting.book, waiting.estimates, realized, why,
                                      provisional=True)
    fairness: list[Any] = []
    if judge:
        fairness, fair_signals, _ = late_fairness(cfg.fairness, waiting.fair, waiting.book, final=False,
                                                  disabled=cfg.alerts.disabled_signals)
        signals.extend(fair_signals)
    return WindowUpdate(cfg.name, waiting.key, performance, metrics, signals, [],
                        auto_resolve_after=cfg.alerts.auto_resolve_after, seq=seq,
                        judged_at=judged_at(state) if judge else None, fairness=fairness)


def take_updates(state: ModelState, seq: int) -> list[WindowUpdate]:
    """The updates made since the last call (final, business-final and label-step ones, in ``seq`` order),
    then one provisional update (no signals; ``seq``: the pipeline's current output count, so they do not
    move later outputs' numbers) per awaiting window whose labels or outcomes changed."""
    out = state.updates
    state.updates = []
    if state.dirty:
        out.extend(provisional_update(state, waiting, seq, judge=False)
                   for key, waiting in state.awaiting.items() if key in state.dirty)
        state.dirty.clear()
    return out


def output_order(item: Any) -> int:
    """The sort key of a pipeline output (its ``seq``)."""
    return int(item.seq)


def stamp_early(pending: list[Any], stamp: Stamp) -> None:
    """Number the early alerts at the end of ``pending`` not numbered yet (raised by the current event)."""
    i = len(pending)
    while i > 0 and pending[i - 1].seq < 0:
        i -= 1
    for j in range(i, len(pending)):
        pending[j] = dataclasses.replace(pending[j], seq=stamp())
