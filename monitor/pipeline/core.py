"""The pure pipeline of one source partition: events in, :class:`ClosedWindow` objects out (no I/O).

Usage (by the consumer loop)::

    pipeline = Pipeline(config, profiles)                 # or Pipeline.restore(snapshot, config, profiles)
    pipeline.on_prediction(event)                         # for each decoded event, in partition order
    pipeline.on_outcome(event)
    closed = pipeline.advance(now)                        # after a batch; windows that are finished
    persist(session, closed, key, pipeline.snapshot(), next_offsets, alert_service)

Exactly-once: the state returned by :meth:`snapshot` covers exactly the events fed so far, and windows
returned by :meth:`advance`/:meth:`flush` are no longer in it; so the closed windows, the snapshot and the
offsets past the last message fed (the caller tracks them: the consumer's
:class:`~monitor.consumer.partitions.Partition`) must be written in one transaction. If that transaction
fails, throw the pipeline away and restore from the last stored snapshot (events after its offsets are
re-read).

A window is emitted when it is closed (count reached, or watermark past its end), with its drift and
data-quality results; nothing waits for outcomes. For a model with business metrics or a ``performance``
block, the window's join state then waits (:mod:`monitor.pipeline.awaiting`): labels and outcomes that
arrive later update it, and :meth:`Pipeline.take_updates` hands the changes to each persist point (call it
right before :meth:`snapshot`, and write both in the one transaction) until ``label_ttl`` /
``outcome_join_ttl`` (event time) have passed. Events of models absent from the configuration are counted
(``stats()["unknown_model"]``) and skipped.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from detectors.profile import ReferenceProfile
from monitor.config import MonitorConfig
from monitor.errors import MonitorError
from monitor.events import OutcomeEvent, PredictionEvent
from monitor.pipeline.attach import attach
from monitor.pipeline.awaiting import AwaitingWindow, WindowUpdate
from monitor.pipeline.closed import ClosedWindow
from monitor.pipeline.early import EarlyAlert
from monitor.pipeline.fairness_late import LateGroups
from monitor.pipeline.finish import finish_window
from monitor.pipeline.labels import check_label, score_values
from monitor.pipeline.model_state import ModelState
from monitor.pipeline.outcome_join import LABEL_FIELD
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.pipeline.rows import event_outcome_fields, state_row
from monitor.pipeline.snapshot import ProfileLoader, decode_snapshot, encode_snapshot, restore_models
from monitor.pipeline.updates import finalize, output_order, spill, stamp_early, take_updates
from monitor.pipeline.windower import to_epoch

__all__ = ["Pipeline"]

log = logging.getLogger(__name__)
_NO_SEGMENTS: dict[str, str] = {}  # (read only)


class Pipeline:
    """Windows, joins, metrics and drift tests of the models of one source partition."""

    def __init__(self, config: MonitorConfig, profiles: Mapping[str, ReferenceProfile] | None = None,
                 performance: Mapping[str, PerformanceReference] | None = None) -> None:
        self.config = config
        self.profiles: dict[str, ReferenceProfile] = dict(profiles or {})
        self.performance: dict[str, PerformanceReference] = dict(performance or {})
        self.models: dict[str, ModelState] = {
            name: ModelState(cfg, self.profiles.get(name), self.performance.get(name))
            for name, cfg in config.models.items()
        }
        self.counters: Counter[str] = Counter()
        self.seq = 0
        """Outputs made so far (:mod:`monitor.pipeline.updates`, "Order of outputs")."""
        self.stored_windows: set[tuple[str, str]] = set()
        """``(model, window key)`` of windows stored already that this pipeline has not closed yet (restored
        from a snapshot older than them): closed again, they are dropped (:meth:`take_closed`)."""
        self._redone: set[tuple[str, str]] = set()  # stored windows closed again since the last snapshot
        self._replayable = True
        self._closed: list[ClosedWindow] = []

    # -- input -------------------------------------------------------------------------------------
    def on_prediction(self, event: PredictionEvent, *, ts: float | None = None) -> None:
        """Add one decoded prediction event; ``ts``: ``event.ts`` in epoch seconds, if the caller knows it."""
        state = self.models.get(event.model)
        if state is None:
            self.counters["unknown_model"] += 1
            return
        if ts is None:
            when = event.ts
            if type(when) is datetime and when.tzinfo is not None:
                ts = when.timestamp()  # (what to_epoch does with it)
            else:
                try:
                    ts = to_epoch(when)
                except ValueError:
                    state.counters["bad_timestamp"] += 1
                    return
        state.counters["predictions"] += 1
        state.arrived_since_advance = True
        assignment = state.windower.assign(ts)
        if assignment.late:
            state.counters["late_events"] += 1
            if state.joins:
                state.joiner.add_prediction(event.event_id, ts, [])
            return
        self._add(state, event, ts, assignment.spans)
        self._event_points(state)

    def _add(self, state: ModelState, event: PredictionEvent, ts: float, spans: list[Any]) -> None:
        """Add a prediction that is not late to its windows, its label books, the early tests and the joiner."""
        row = state_row(state, event)
        score_index = state.score_index
        score = row[score_index] if score_index is not None else None
        segments = event.segments
        if segments:
            names = state.segment_names
            segments = {k: v for k, v in segments.items() if k in names}  # (a non-string value: segments.py)
        else:
            segments = _NO_SEGMENTS
        columns = state.columns
        version = str(event.model_version)
        event_id = event.event_id
        windows = state.windows
        quality = state.quality
        values = None
        if quality is not None:
            values = score_values(quality.settings.task, event.prediction, score, quality.settings.classes)
            if values is None:
                state.counters["unscored_predictions"] += 1
        for span in spans:
            window = windows.get(span.key)
            if window is None:
                window = state.open_window(span)
                if span.end < state.due_at:
                    state.due_at = span.end
            window.add(row, columns, ts, event_id, version, score, segments)
            if values is not None and window.book is not None:
                self._book(state, window.book, event_id, values)
        early = state.early
        if early is not None:
            early.add(row, ts, spans[-1].key)
            if early.pending:
                stamp_early(early.pending, self._stamp)
        if state.joins:
            keys = [span.key for span in spans]
            for fields in state.joiner.add_prediction(event_id, ts, keys):
                attach(state, event_id, keys, fields, ts, self._stamp)

    def _book(self, state: ModelState, book: Any, event_id: str, values: tuple[float, ...]) -> None:
        if state.n_awaiting >= state.config.max_awaiting_labels:
            spill(state, self._stamp, log)
        if state.n_awaiting < state.config.max_awaiting_labels:
            if book.add(event_id, values):
                state.n_awaiting += 1
        else:
            state.counters["labels_spilled"] += 1

    def _stamp(self) -> int:
        """The next output sequence number (:mod:`monitor.pipeline.updates`, "Order of outputs")."""
        self.seq += 1
        return self.seq

    def _event_points(self, state: ModelState) -> None:
        """What the event just processed made due: windows to close, then TTLs passed."""
        if state.windower.clock >= state.due_at:
            self._closed.extend(self._close(state, idle=0.0, flush=False))
        elif state.awaiting:
            joiner = state.joiner
            outcome_at, prediction_at = state.final_at
            if joiner.outcome_clock >= outcome_at or joiner.prediction_clock >= prediction_at:
                finalize(state, 0.0, False, self._stamp)

    def on_outcome(self, event: OutcomeEvent) -> None:
        """Add one decoded ``OutcomeEvent``; it joins its prediction by ``event_id`` within the TTL."""
        try:
            ts = to_epoch(event.ts)
        except ValueError:
            self.counters["bad_timestamp"] += 1
            return
        fields = event_outcome_fields(event)
        model = event.model
        if model is not None:
            targets = [self.models[model]] if model in self.models else []
        else:
            targets = [s for s in self.models.values() if s.joins]
        if not targets:
            self.counters["unrouted_outcomes"] += 1
            return
        labels: dict[str, Any] = {}
        if event.label is not None:
            for state in targets:  # checked for every target first: a bad label changes nothing
                perf = state.config.performance
                if perf is not None:
                    labels[state.config.name] = check_label(
                        perf.task, event.label, model=state.config.name, positive_class=perf.positive_class,
                        classes=perf.classes)
        self.counters["outcomes"] += 1
        for state in targets:
            if not state.joins:
                continue
            used = state.metric_fields
            kept = {k: v for k, v in fields.items() if k in used}
            if state.config.name in labels:
                kept[LABEL_FIELD] = labels[state.config.name]
                state.counters["labels_received"] += 1
            keys = state.joiner.add_outcome(event.event_id, ts, kept)
            attach(state, event.event_id, keys, kept, ts, self._stamp)
            self._event_points(state)

    # -- output ------------------------------------------------------------------------------------
    def advance(self, now: float | datetime | None = None) -> list[ClosedWindow]:
        """Windows finished since the last call, in ``seq`` order: those the events closed, then those the
        idle timeout closes now (``now``: processing time; ``None`` uses event time only)."""
        now_s = to_epoch(now) if now is not None else None
        out = self.take_closed()
        before = self.seq
        for state in self.models.values():
            idle = 0.0
            if now_s is not None:
                if state.arrived_since_advance or state.last_arrival is None:
                    state.last_arrival = now_s
                timeout = state.config.window.idle_timeout
                if timeout is not None and now_s - state.last_arrival >= timeout:
                    idle = now_s - state.last_arrival
            state.arrived_since_advance = False
            out.extend(self._close(state, idle=idle, flush=False))
        self._replayable = self._replayable and self.seq == before
        return self._unstored(out)

    def flush(self) -> list[ClosedWindow]:
        """Close and emit every open window (end of a finite source, or shutdown of a replay)."""
        out = self.take_closed()
        for state in self.models.values():
            out.extend(self._close(state, idle=math.inf, flush=True))
        self._replayable = False
        return self._unstored(out)

    def take_closed(self) -> list[ClosedWindow]:
        """The windows the events closed since the last call (:meth:`advance` and :meth:`flush` include them)."""
        out, self._closed = self._closed, []
        return self._unstored(out)

    def _unstored(self, windows: list[ClosedWindow]) -> list[ClosedWindow]:
        """``windows`` without those in :attr:`stored_windows` (each dropped once)."""
        stored = self.stored_windows
        if not stored:
            return windows
        out = []
        for window in windows:
            key = (window.model, window.window_key)
            if key in stored:
                stored.discard(key)
                self._redone.add(key)
            else:
                out.append(window)
        return out

    def stored_since_snapshot(self) -> set[tuple[str, str]]:
        """The stored windows the last :meth:`snapshot` does not cover: those still to close again
        (:attr:`stored_windows`) and those closed again (and dropped) since."""
        return self.stored_windows | self._redone

    @property
    def replayable(self) -> bool:
        """True while every output made since the last :meth:`snapshot` was made by an event (not by the idle
        timeout, :meth:`flush` or :meth:`reload`): the pipeline restored from that snapshot and fed the same
        events again closes the same windows."""
        return self._replayable

    def has_closed(self) -> bool:
        """Whether the events closed windows not taken yet."""
        return bool(self._closed)

    def has_other_outputs(self) -> bool:
        """Whether the events made updates or early alerts not taken yet (:meth:`take_outputs`)."""
        return any(state.updates or (state.early is not None and state.early.pending)
                   for state in self.models.values())

    def _close(self, state: ModelState, idle: float, flush: bool) -> list[ClosedWindow]:
        open_spans = [w.span for w in state.windows.values() if not w.closed]
        for span in state.windower.due(open_spans, idle_seconds=idle, flush=flush):
            state.windows[span.key].closed = True
        if not flush and idle > 0:
            for span in state.windower.idle_spans(idle):
                if span.key not in state.windows:
                    state.open_window(span).closed = True
                    state.counters["empty_windows"] += 1
        ready = [w for w in state.windows.values() if w.closed]
        ready.sort(key=lambda w: (w.span.end, w.span.start))
        out = []
        for window in ready:
            del state.windows[window.span.key]
            out.append(dataclasses.replace(finish_window(state, window), seq=self._stamp()))
            state.counters["windows_closed"] += 1
            if state.joins:
                waiting = AwaitingWindow(window.span.key, window.last_ts, window.n_events, window.joined, window.book,
                                         dict(window.estimates), business_final=not state.config.business_metrics)
                waiting.fair = LateGroups.at_close(window.fair, window.book)
                state.awaiting[window.span.key] = waiting
        state.due_at = min((w.span.end for w in state.windows.values()), default=math.inf)
        finalize(state, idle, flush, self._stamp)
        return out

    def take_early(self) -> list[EarlyAlert]:
        """The early alerts raised inside open windows since the last persist point
        (:mod:`monitor.pipeline.early`). Call it right before :meth:`snapshot`, like :meth:`take_updates`: the
        alerts and the snapshot belong in the same transaction (a snapshot holds the alerts not yet taken)."""
        return [alert for state in self.models.values() if state.early is not None for alert in state.early.take()]

    def take_updates(self) -> list[WindowUpdate]:
        """The updates of windows that closed earlier, for the next persist point (final ones, label steps,
        then one provisional update per awaiting window whose labels or outcomes changed; see
        :mod:`monitor.pipeline.updates`). Call it right before :meth:`snapshot`; the updates and the snapshot
        belong in the same transaction."""
        return [u for state in self.models.values() for u in take_updates(state, self.seq)]

    def take_outputs(self) -> list[ClosedWindow | WindowUpdate | EarlyAlert]:
        """Everything a persist point writes besides the snapshot, in ``seq`` order (the windows closed by
        the events, the updates and the early alerts; windows :meth:`advance` returned are the caller's)."""
        items: list[ClosedWindow | WindowUpdate | EarlyAlert] = [*self.take_closed(), *self.take_updates(),
                                                                 *self.take_early()]
        return sorted(items, key=output_order)

    def stats(self) -> dict[str, Any]:
        """Counters for ``/metrics``: per model and pipeline-wide."""
        return {
            **dict(self.counters),
            "models": {
                name: {**dict(s.counters), "open_windows": len(s.windows), "coerced": dict(s.coerced),
                       "awaiting_windows": len(s.awaiting), "awaiting_labels": s.n_awaiting,
                       "join_pending": s.joiner.pending, **{f"join_{k}": v for k, v in s.joiner.stats.items()},
                       "waiting_outcomes": s.joiner.pending[1],
                       "outcomes_spilled": s.joiner.stats.get("outcomes_spilled", 0),
                       "labels_unmatched": s.counters["labels_unmatched"] + s.joiner.stats.get("expired_labels", 0)}
                for name, s in self.models.items()
            },
        }

    # -- configuration reload ----------------------------------------------------------------------
    def reload(self, config: MonitorConfig, profiles: Mapping[str, ReferenceProfile] | None = None,
               performance: Mapping[str, PerformanceReference] | None = None) -> list[ClosedWindow]:
        """Swap in a new configuration (and profiles) keeping window state.

        Models still configured keep their open windows (which keep their spans and their reference);
        new windows follow the new settings. Models removed from the configuration are flushed: their
        windows are returned, to be persisted like any others.
        """
        if profiles is not None:
            self.profiles = dict(profiles)
        if performance is not None:
            self.performance = dict(performance)
        out: list[ClosedWindow] = []
        self._replayable = False
        for name in [n for n in self.models if n not in config.models]:
            out.extend(self._close(self.models[name], idle=math.inf, flush=True))
            del self.models[name]
        for name, cfg in config.models.items():
            if name in self.models:
                self.models[name].reconfigure(cfg, self.profiles.get(name))
                self.models[name].set_reference(self.performance.get(name))
            else:
                self.models[name] = ModelState(cfg, self.profiles.get(name), self.performance.get(name))
        self.config = config
        return out

    # -- checkpoints -------------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The whole state as JSON bytes (msgspec; window states as detectors' npz bytes in base64).

        Raises :class:`MonitorError` while windows the events closed are not taken (:meth:`advance`,
        :meth:`take_closed`): the snapshot no longer holds them."""
        if self._closed:
            raise MonitorError(f"pipeline snapshot with {len(self._closed)} closed windows not taken "
                               "(call advance() or take_closed() first, and persist them with the snapshot)")
        self._replayable = True
        self._redone = set()
        return encode_snapshot(self)

    @classmethod
    def restore(cls, data: bytes, config: MonitorConfig, profiles: Mapping[str, ReferenceProfile] | None = None,
                profile_loader: ProfileLoader | None = None,
                performance: Mapping[str, PerformanceReference] | None = None) -> Pipeline:
        """A pipeline in the state of :meth:`snapshot`, under (possibly newer) ``config`` and ``profiles``.

        Raises
        ------
        SnapshotError
            If ``data`` is not a pipeline snapshot, or an open window's reference profile cannot be found
            (neither in ``profiles`` nor through ``profile_loader``).
        """
        payload = decode_snapshot(data)
        pipeline = cls(config, profiles, performance)
        restore_models(pipeline, payload, profile_loader)
        return pipeline
