"""The pure pipeline of one source partition: events in, :class:`ClosedWindow` objects out (no I/O).

Usage (by the consumer loop)::

    pipeline = Pipeline(config, profiles)                 # or Pipeline.restore(snapshot, config, profiles)
    pipeline.on_prediction(event, position)               # for each decoded event, in partition order
    pipeline.on_outcome(event, position)
    closed = pipeline.advance(now)                        # after a batch; windows that are finished
    persist(session, closed, key, pipeline.snapshot(), pipeline.positions(), alert_service)

Exactly-once: the state returned by :meth:`snapshot` covers exactly the events up to :meth:`positions`,
and windows returned by :meth:`advance`/:meth:`flush` are no longer in it; so the closed windows, the
snapshot and the offsets must be written in one transaction. If that transaction fails, throw the
pipeline away and restore from the last stored snapshot (events after its offsets are re-read).

A window is emitted when it is closed (count reached, or watermark past its end), with its drift and
data-quality results; nothing waits for outcomes. For a model with business metrics or a ``performance``
block, the window's join state then waits (:mod:`monitor.pipeline.awaiting`): labels and outcomes that
arrive later update it, and :meth:`Pipeline.take_updates` hands the changes to each persist point (call it
right before :meth:`snapshot`, and write both in the one transaction) until ``label_ttl`` /
``outcome_join_ttl`` (event time) have passed. Events of models absent from the configuration are counted
(``stats()["unknown_model"]``) and skipped.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import msgspec

from detectors.profile import ReferenceProfile
from monitor.config import MonitorConfig
from monitor.errors import MonitorError
from monitor.events import FastPrediction, OutcomeEvent, PredictionEvent
from monitor.pipeline.awaiting import AwaitingWindow, WindowUpdate
from monitor.pipeline.closed import ClosedWindow
from monitor.pipeline.early import EarlyAlert
from monitor.pipeline.finish import business_final, finish_window
from monitor.pipeline.labels import check_label, score_values
from monitor.pipeline.model_state import ModelState
from monitor.pipeline.outcome_join import LABEL_FIELD, merge_outcome
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.pipeline.rows import binary_labels, event_outcome_fields, event_row, prediction_values
from monitor.pipeline.windower import to_epoch

__all__ = ["SNAPSHOT_FORMAT", "Pipeline", "SnapshotError"]

log = logging.getLogger(__name__)
SNAPSHOT_FORMAT = "driftwarden-pipeline"
SNAPSHOT_VERSION = 1

_NO_SEGMENTS: dict[str, str] = {}  # (read only)
astuple: Callable[[Any], tuple[Any, ...]] = msgspec.structs.astuple

class Position(Protocol):
    """Where an event was read: a :class:`monitor.sources.RawMessage` is one."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


ProfileLoader = Callable[[str, str], ReferenceProfile | None]
"""``(model, content_hash) -> profile``: finds an older reference an open window was started with."""


class SnapshotError(MonitorError, ValueError):
    """A pipeline snapshot that cannot be restored (corrupt, foreign format, missing reference profile)."""


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
        self._positions: dict[tuple[str, int], int] = {}
        self.counters: Counter[str] = Counter()

    # -- input -------------------------------------------------------------------------------------
    def _seen(self, position: Position | None) -> None:
        if position is None:
            return
        key = (position.topic, position.partition)
        nxt = position.offset + 1
        if nxt > self._positions.get(key, -1):
            self._positions[key] = nxt

    def on_prediction(self, event: PredictionEvent | FastPrediction, position: Position | None = None,
                      ts: float | None = None) -> None:
        """Add one decoded prediction event. ``position``: where it was read (its topic, partition and offset;
        :meth:`positions` then covers it); ``ts``: ``event.ts`` in epoch seconds, if the caller knows it."""
        if position is not None:
            key = (position.topic, position.partition)
            nxt = position.offset + 1
            if nxt > self._positions.get(key, -1):
                self._positions[key] = nxt
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
        row = self._row(state, event)
        score_index = state.score_index
        score = row[score_index] if score_index is not None else None
        segments = getattr(event, "segments", None)
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
        for span in assignment.spans:
            window = windows.get(span.key)
            if window is None:
                window = state.open_window(span)
            window.add(row, columns, ts, event_id, version, score, segments)
            if values is not None and window.book is not None:
                if state.n_awaiting >= state.config.max_awaiting_labels:
                    self._spill(state)
                if state.n_awaiting < state.config.max_awaiting_labels:
                    if window.book.add(event_id, values):
                        state.n_awaiting += 1
                else:
                    state.counters["labels_spilled"] += 1
        early = state.early
        if early is not None:
            early.add(row, ts, assignment.spans[-1].key)
        if state.joins:
            keys = [span.key for span in assignment.spans]
            for fields in state.joiner.add_prediction(event_id, ts, keys):
                self._attach(state, event_id, keys, fields, ts)

    @staticmethod
    def _row(state: ModelState, event: PredictionEvent | FastPrediction) -> tuple[Any, ...]:
        """The event's row: values in ``state.columns`` order, as :func:`event_row` makes them."""
        if isinstance(event, FastPrediction):
            kind = type(event)
            if kind is not state.fast_type and state.plain_rows and kind.feature_names == tuple(
                    name for name, _ in state.feature_spec) and event.feature_kinds == tuple(
                    k for _, k in state.feature_spec):
                state.fast_type = kind
            if kind is state.fast_type:  # decoded with this configuration's features: typed, nothing to coerce
                values = astuple(event.features)
                if state.binary_index:
                    values = binary_labels(values, state.binary_index)
                prediction = event.prediction
                if type(prediction) is float and state.score_prediction:  # (finite: a FiniteFloat)
                    return (*values, prediction)
                return values + prediction_values(state.config, prediction)
            features = event.feature_dict
        else:
            features = event.features or {}
        return tuple(event_row(state.config, features, event.prediction, state.coerced).values())

    def on_outcome(self, event: OutcomeEvent, position: Position | None = None) -> None:
        """Add one decoded ``OutcomeEvent``; it joins its prediction by ``event_id`` within the TTL."""
        self._seen(position)
        try:
            ts = to_epoch(event.ts)
        except ValueError:
            self.counters["bad_timestamp"] += 1
            return
        fields = event_outcome_fields(event)
        model = getattr(event, "model", None)
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
            self._attach(state, event.event_id, keys, kept, ts)

    @staticmethod
    def _attach(state: ModelState, event_id: str, keys: list[str], fields: Mapping[str, Any], ts: float) -> None:
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
        if label is not None and not booked and (keys or not state.joiner.is_waiting(event_id)):
            state.counters["labels_unmatched"] += 1
        if early is not None and before is not None:
            after = state.joined_record(keys[0], event_id)
            if after is not None:
                early.merged(before, after, ts)

    # -- output ------------------------------------------------------------------------------------
    def advance(self, now: float | datetime | None = None) -> list[ClosedWindow]:
        """Windows that are finished now, oldest first per model. ``now`` (processing time) drives the idle
        timeout of time windows; ``None`` uses event time only."""
        now_s = to_epoch(now) if now is not None else None
        out: list[ClosedWindow] = []
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
        return out

    def flush(self) -> list[ClosedWindow]:
        """Close and emit every open window (end of a finite source, or shutdown of a replay)."""
        out: list[ClosedWindow] = []
        for state in self.models.values():
            out.extend(self._close(state, idle=math.inf, flush=True))
        return out

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
            out.append(finish_window(state, window))
            state.counters["windows_closed"] += 1
            if state.joins:
                state.awaiting[window.span.key] = AwaitingWindow(
                    window.span.key, window.last_ts, window.n_events, window.joined, window.book,
                    dict(window.estimates), business_final=not state.config.business_metrics)
        self._finalize(state, idle, flush)
        return out

    def _finalize(self, state: ModelState, idle: float, flush: bool) -> None:
        """Judge and forget the awaiting windows whose TTLs have passed (all of them on ``flush``)."""
        cfg = state.config
        for waiting in list(state.awaiting.values()):
            business_done = waiting.business_final or flush or state.ttl_passed(
                waiting.last_ts, float(cfg.outcome_join_ttl), idle)
            labels_done = flush or state.quality is None or state.ttl_passed(
                waiting.last_ts, float(cfg.label_ttl), idle)
            if labels_done and business_done:
                state.updates.append(self._final_update(state, waiting, None))
            elif business_done and not waiting.business_final:
                metrics, signals, judged = business_final(state, waiting.joined)
                waiting.business_final = True
                waiting.joined = {}
                state.updates.append(WindowUpdate(cfg.name, waiting.key, metrics=metrics, signals=signals,
                                                  judged=judged, auto_resolve_after=cfg.alerts.auto_resolve_after))

    def _final_update(self, state: ModelState, waiting: AwaitingWindow, reason: str | None) -> WindowUpdate:
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
        del state.awaiting[waiting.key]
        state.dirty.discard(waiting.key)
        if waiting.book is not None:
            state.n_awaiting -= len(waiting.book)
        state.joiner.forget_window(waiting.key)
        return WindowUpdate(cfg.name, waiting.key, performance, metrics, signals, judged, final=True,
                            auto_resolve_after=cfg.alerts.auto_resolve_after)

    def _spill(self, state: ModelState) -> None:
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
            state.updates.append(self._final_update(
                state, oldest, f"spilled before label_ttl passed (max_awaiting_labels "
                               f"{state.config.max_awaiting_labels})"))

    def take_early(self) -> list[EarlyAlert]:
        """The early alerts raised inside open windows since the last persist point
        (:mod:`monitor.pipeline.early`). Call it right before :meth:`snapshot`, like :meth:`take_updates`: the
        alerts and the snapshot belong in the same transaction (a snapshot holds the alerts not yet taken)."""
        return [alert for state in self.models.values() if state.early is not None for alert in state.early.take()]

    def take_updates(self) -> list[WindowUpdate]:
        """The updates of windows that closed earlier, for the next persist point: final ones (TTLs passed),
        then one provisional update per awaiting window whose labels or outcomes changed. Call it right
        before :meth:`snapshot`; the updates and the snapshot belong in the same transaction."""
        out: list[WindowUpdate] = []
        for state in self.models.values():
            out.extend(state.updates)
            state.updates = []
            if not state.dirty:
                continue
            for key, waiting in state.awaiting.items():
                if key in state.dirty:
                    out.append(self._provisional_update(state, waiting))
            state.dirty.clear()
        return out

    @staticmethod
    def _provisional_update(state: ModelState, waiting: AwaitingWindow) -> WindowUpdate:
        from monitor.pipeline.business_metrics import compute_metrics

        cfg = state.config
        metrics = None if waiting.business_final else compute_metrics(cfg.business_metrics, waiting.joined.values())
        performance = []
        signals: list[Any] = []
        quality = state.quality
        if quality is not None:
            realized, why = quality.realized(waiting.book)
            signals, _ = quality.label_signals(realized, waiting.estimates, final=False)
            performance = quality.records(waiting.n_events, waiting.book, waiting.estimates, realized, why,
                                          provisional=True)
        return WindowUpdate(cfg.name, waiting.key, performance, metrics, signals, [],
                            auto_resolve_after=cfg.alerts.auto_resolve_after)

    def positions(self) -> dict[tuple[str, int], int]:
        """Next offset to read per ``(topic, partition)`` consumed so far."""
        return dict(self._positions)

    def stats(self) -> dict[str, Any]:
        """Counters for ``/metrics``: per model and pipeline-wide."""
        return {
            **dict(self.counters),
            "models": {
                name: {**dict(s.counters), "open_windows": len(s.windows), "coerced": dict(s.coerced),
                       "awaiting_windows": len(s.awaiting), "awaiting_labels": s.n_awaiting,
                       "join_pending": s.joiner.pending, **{f"join_{k}": v for k, v in s.joiner.stats.items()},
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
        """The whole state as JSON bytes (msgspec; window states as detectors' npz bytes in base64)."""
        payload = {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "positions": [[t, p, o] for (t, p), o in sorted(self._positions.items())],
            "counters": dict(self.counters),
            "models": {name: s.to_state() for name, s in self.models.items()},
        }
        return msgspec.json.encode(payload)

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
        try:
            payload = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise SnapshotError(f"pipeline snapshot is not valid JSON: {exc}") from None
        if not isinstance(payload, dict) or payload.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError("not a driftwarden pipeline snapshot")
        if payload.get("version") != SNAPSHOT_VERSION:
            raise SnapshotError(f"unsupported pipeline snapshot version {payload.get('version')!r}")
        pipeline = cls(config, profiles, performance)
        pipeline._positions = {(str(t), int(p)): int(o) for t, p, o in payload.get("positions", [])}
        pipeline.counters = Counter({k: int(v) for k, v in payload.get("counters", {}).items()})
        by_hash = {p.content_hash: p for p in pipeline.profiles.values()}
        for name, data_model in payload.get("models", {}).items():
            cfg = config.models.get(name)
            if cfg is None:
                log.warning("snapshot holds model %r which is no longer configured: its open windows are dropped",
                            name)
                pipeline.counters["dropped_unconfigured_windows"] += len(data_model.get("windows", []))
                continue
            for item in data_model.get("windows", []):
                ref_hash = item.get("profile_hash")
                if ref_hash and ref_hash not in by_hash and profile_loader is not None:
                    found = profile_loader(name, str(ref_hash))
                    if found is not None:
                        by_hash[found.content_hash] = found
            try:
                pipeline.models[name] = ModelState.from_state(cfg, pipeline.profiles.get(name), data_model, by_hash,
                                                              pipeline.performance.get(name))
            except (KeyError, TypeError, ValueError) as exc:
                raise SnapshotError(f"pipeline snapshot, model {name!r}: {exc}") from exc
        return pipeline
