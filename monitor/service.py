"""The consumer loop of ``driftwarden run``: decode → Pipeline → persist → commit.

One :class:`~monitor.pipeline.Pipeline` per partition number *p* owns the state of the models keyed to *p*
(partition *p* of the predictions topic and of the outcomes topic). The loop:

1. polls a batch from the :class:`~monitor.sources.Source`;
2. decodes each message (bad input → a dead letter; the loop never stops for it) and feeds the pipeline;
3. asks each pipeline for finished windows; at a persist point (a window closed, ``checkpoint_interval``
   passed, too many dead letters waiting, a revoke, the shutdown) writes **in one transaction** the closed
   windows with their alerts, the pipeline snapshot, the next offsets and the dead letters;
4. commits the offsets to Kafka (informational) and copies dead letters to the optional topic.

Failures: a database outage (a transient error) pauses every partition and retries the same unsaved
transaction with exponential backoff, so nothing is lost and offsets do not advance; a conflict (e.g. a
window already stored) throws the partition's state away and restores it from the database, like a new
assignment. Signals only flip flags: SIGTERM/SIGINT stop (persist, commit, exit 0), SIGHUP reloads the
configuration (also reloaded when its file changes), keeping open windows.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

from monitor.config import ConfigError, MonitorConfig
from monitor.deadletter import DeadLetterPublisher, DeadLetterRecord
from monitor.events import DEFAULT_MAX_BYTES, PredictionEvent
from monitor.intake import Taken, take
from monitor.ops import Health, Metrics
from monitor.ordering import PartitionMerger
from monitor.pipeline import ClosedWindow, Pipeline
from monitor.sources.base import RawMessage, Source, SourceUnavailable, TopicPartition

__all__ = [
    "ConfigSource",
    "PartitionStore",
    "RunResult",
    "SaveItem",
    "SaveResult",
    "Service",
    "ServiceOptions",
    "StoreConflict",
    "StoreUnavailable",
]

log = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The database did not answer (outage): retry the same transaction later."""


class StoreConflict(RuntimeError):
    """The database refused the transaction (e.g. a window already stored): reload the partition's state."""


@dataclass(frozen=True)
class SaveItem:
    """What one persist point writes for one partition (all items of a call share one transaction)."""

    key: str
    closed: list[ClosedWindow]
    snapshot: bytes
    offsets: dict[TopicPartition, int]
    dead_letters: list[DeadLetterRecord]


@dataclass(frozen=True)
class SaveResult:
    windows: Counter[str] = field(default_factory=Counter)
    alerts_opened: Counter[str] = field(default_factory=Counter)


class PartitionStore(Protocol):
    """The database side of the loop (see :mod:`monitor.service_store` for the SQL implementation)."""

    def load(self, key: str, tps: Sequence[TopicPartition]) -> tuple[bytes | None, dict[TopicPartition, int]]:
        """Stored snapshot of ``key`` and next offsets of ``tps`` (raises StoreUnavailable)."""

    def new_pipeline(self, config: MonitorConfig) -> Pipeline: ...

    def restore_pipeline(self, snapshot: bytes, config: MonitorConfig) -> Pipeline: ...

    def reload_pipeline(self, pipeline: Pipeline, config: MonitorConfig) -> list[ClosedWindow]: ...

    def save(self, items: Sequence[SaveItem]) -> SaveResult:
        """Write every item in ONE transaction (raises StoreUnavailable or StoreConflict)."""


class ConfigSource(Protocol):
    """Where a new configuration comes from (``monitor.config.ConfigWatcher``)."""

    def poll(self, force: bool = False) -> MonitorConfig | None: ...


@dataclass(frozen=True)
class ServiceOptions:
    group_id: str
    max_batch: int = 2000
    poll_timeout: float = 0.2
    checkpoint_interval: float = 5.0
    max_pending_dead_letters: int = 1000
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    shutdown_grace: float = 30.0
    config_check_interval: float = 2.0
    lag_interval: float = 1.0
    max_message_bytes: int = DEFAULT_MAX_BYTES
    merge_max_wait: float = 10.0
    merge_buffer: int = 5000


@dataclass
class RunResult:
    """What one :meth:`Service.run` did; ``clean`` is False if the final persist could not be written."""

    messages: int = 0
    dead_letters: int = 0
    windows: int = 0
    persists: int = 0
    stopped_by: str = ""
    clean: bool = True


@dataclass
class _Partition:
    pipeline: Pipeline
    offsets: dict[TopicPartition, int]
    closed: list[ClosedWindow] = field(default_factory=list)
    dead: list[DeadLetterRecord] = field(default_factory=list)
    dirty: bool = False
    last_persist: float = 0.0
    merger: PartitionMerger | None = None


class Service:
    """The always-on watcher loop (see the module docstring). Drive it with :meth:`run`."""

    def __init__(
        self,
        config: MonitorConfig,
        source: Source,
        store: PartitionStore,
        options: ServiceOptions,
        *,
        metrics: Metrics,
        health: Health | None = None,
        config_source: ConfigSource | None = None,
        publisher: DeadLetterPublisher | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.store = store
        self.options = options
        self.metrics = metrics
        self.health = health or Health()
        self.config_source = config_source
        self.publisher = publisher
        self._clock, self._monotonic, self._sleep = clock, monotonic, sleep
        self._parts: dict[int, _Partition] = {}
        self._assigned: set[TopicPartition] = set()
        self._pending: set[TopicPartition] = set()
        self._merge_paused: set[TopicPartition] = set()
        self._unsaved: list[tuple[int, SaveItem]] | None = None
        self._outage_active = False
        self._retry_at = 0.0
        self._backoff = options.backoff_initial
        self._stop = stop_event or threading.Event()
        self._reload = False
        self._last_config_check = 0.0
        self._last_lag = 0.0
        self._result = RunResult()
        self._consumed = metrics.events_consumed
        self._dead_counter = metrics.dead_letters

    # -- control (signal handlers only flip flags) --------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload = True

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(_signum: int, _frame: FrameType | None) -> None:
            self._stop.set()

        def reload(_signum: int, _frame: FrameType | None) -> None:
            self._reload = True

        previous = {sig: signal.signal(sig, handler)
                    for sig, handler in ((signal.SIGTERM, stop), (signal.SIGINT, stop), (signal.SIGHUP, reload))}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- assignment (called by the source from inside poll) ------------------------------------------
    def on_assigned(self, partitions: Sequence[TopicPartition]) -> None:
        self._assigned.update(partitions)
        self._pending.update(partitions)  # paused by the source; restored + sought + resumed by the loop

    def on_revoked(self, partitions: Sequence[TopicPartition]) -> None:
        revoked = set(partitions)
        numbers = sorted({p for _, p in revoked} & set(self._parts))
        if numbers and self._unsaved is None:
            try:
                self._save(numbers)
            except (StoreUnavailable, StoreConflict) as exc:
                log.warning("could not persist revoked partitions; the next owner re-reads from the stored "
                            "offsets", extra={"partitions": numbers, "error": str(exc)})
        if self._unsaved is not None:
            self._unsaved = [(p, item) for p, item in self._unsaved if p not in numbers] or None
        for p in numbers:
            del self._parts[p]
        self._assigned -= revoked
        self._pending -= revoked
        self._merge_paused -= revoked
        self.metrics.assigned_partitions.set(len(self._parts))
        log.info("partitions revoked", extra={"partitions": sorted(revoked)})

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, max_messages: int | None = None, timeout: float | None = None) -> RunResult:
        """Consume until stopped (signal / :meth:`request_stop`), the end of a file source, ``max_messages``
        messages, or ``timeout`` seconds; then persist everything and close the source."""
        self._result = result = RunResult()
        deadline = None if timeout is None else self._monotonic() + timeout
        with self._signals():
            try:
                if self._start_source(deadline):
                    result.stopped_by = self._loop(max_messages, deadline)
                else:
                    result.stopped_by = "stop" if self._stop.is_set() else "timeout"
            finally:
                result.clean = self._shutdown()
        return result

    def _start_source(self, deadline: float | None) -> bool:
        backoff = self.options.backoff_initial
        while True:
            try:
                self.source.start(self)
                self.health.set("source", True, "started")
                return True
            except SourceUnavailable as exc:
                self.health.set("source", False, str(exc))
                log.warning("source unavailable, retrying", extra={"error": str(exc), "retry_in_s": backoff})
            if self._stop.is_set() or (deadline is not None and self._monotonic() + backoff > deadline):
                return False
            self._sleep(backoff)
            backoff = min(backoff * 2, self.options.backoff_max)

    def _loop(self, max_messages: int | None, deadline: float | None) -> str:
        opts = self.options
        result = self._result
        while True:
            self.health.beat()
            if self._stop.is_set():
                return "signal"
            now_m = self._monotonic()
            if deadline is not None and now_m >= deadline:
                return "timeout"
            self._maybe_reload(now_m)
            if self._outage_active or self._pending:
                if now_m < self._retry_at:
                    self.source.poll(0, 1)  # paused: keeps the group membership alive
                    self._sleep(min(0.2, self._retry_at - now_m))
                    continue
                if not self._recover():
                    continue
            budget = opts.max_batch if max_messages is None else min(opts.max_batch, max_messages - result.messages)
            batch = self.source.poll(opts.poll_timeout, budget)
            started = self._monotonic()
            if batch:
                self._process(batch)
            else:
                self._release()
            self._advance()
            self._persist_due(force=False)
            if batch:
                self.metrics.processing_latency.observe(self._monotonic() - started)
            if now_m - self._last_lag >= opts.lag_interval:
                self._update_lag(now_m)
            if self.source.exhausted and not self._pending and not self._outage_active:
                for part in self._parts.values():
                    part.closed.extend(part.pipeline.flush())
                    part.dirty = True
                return "end_of_source"
            if max_messages is not None and result.messages >= max_messages:
                return "max_messages"

    def _process(self, batch: list[RawMessage]) -> None:
        models = self.config.models
        max_bytes = self.options.max_message_bytes
        parts = self._parts
        kinds: Counter[str] = Counter()
        touched: set[int] = set()
        for msg in batch:
            part = parts.get(msg.partition)
            if part is None:  # not ours (revoked in this poll): the owner re-reads it
                continue
            kinds[msg.kind] += 1
            taken = take(msg, models, max_bytes)
            if part.merger is None:
                self._apply(part, taken)
            else:
                part.merger.push((msg.topic, msg.partition), taken.key, msg.offset, taken)
                touched.add(msg.partition)
        self._release(touched)
        for kind, n in kinds.items():
            self._consumed.labels(kind=kind).inc(n)
        self._result.messages += len(batch)

    def _release(self, numbers: set[int] | None = None) -> None:
        """Feed the pipelines what their mergers may release now (all partitions if ``numbers`` is None)."""
        now_m = self._monotonic()
        for p, part in self._parts.items():
            if part.merger is None:
                continue
            if (numbers is not None and p not in numbers and not len(part.merger)
                    and not self._merge_paused.intersection(part.merger.tps)):
                continue
            for taken in part.merger.release(self.source.caught_up, now_m):
                self._apply(part, taken)
            self._throttle(part.merger)

    def _throttle(self, merger: PartitionMerger) -> None:
        """Bound a merge buffer: pause a stream whose queue is long (its partner is behind in the fetches),
        so the partner's records come through; resume it once its queue has drained."""
        cap = self.options.merge_buffer
        for tp in merger.tps:
            queued = merger.queued(tp)
            if queued > cap and tp not in self._merge_paused:
                self.source.pause([tp])
                self._merge_paused.add(tp)
            elif queued <= cap // 2 and tp in self._merge_paused:
                self._merge_paused.discard(tp)
                if not self._outage_active and tp not in self._pending:
                    self.source.resume([tp])

    def _apply(self, part: _Partition, taken: Taken) -> None:
        msg = taken.msg
        dead = taken.dead
        event = taken.event
        if event is not None:
            try:
                if isinstance(event, PredictionEvent):
                    part.pipeline.on_prediction(event, msg.position)
                else:
                    part.pipeline.on_outcome(event, msg.position)
            except Exception as exc:  # one bad event must not stop the watcher
                log.exception("pipeline rejected an event", extra={"offset": msg.offset, "model": event.model})
                dead = DeadLetterRecord.of(msg, f"pipeline rejected the event: {type(exc).__name__}: {exc}",
                                           category="rejected", error_class=type(exc).__name__,
                                           model=event.model)
        if dead is not None:
            part.dead.append(dead)
            self._dead_counter.labels(reason=dead.category).inc()
            self._result.dead_letters += 1
        part.offsets[(msg.topic, msg.partition)] = msg.offset + 1
        part.dirty = True

    def _advance(self) -> None:
        now = self._clock()
        for part in self._parts.values():
            closed = part.pipeline.advance(now)
            if closed:
                part.closed.extend(closed)
                part.dirty = True

    def _persist_due(self, force: bool) -> None:
        now_m = self._monotonic()
        opts = self.options
        due = [
            p for p, part in self._parts.items()
            if part.closed or len(part.dead) >= opts.max_pending_dead_letters
            or (part.dirty and (force or now_m - part.last_persist >= opts.checkpoint_interval))
        ]
        if not due:
            return
        try:
            self._save(due)
        except StoreUnavailable:
            pass  # _save kept the transaction in _unsaved; the loop retries it with backoff
        except StoreConflict:
            pass  # _save scheduled the partitions for a reload from the database

    # -- persisting ----------------------------------------------------------------------------------
    def _save(self, numbers: Sequence[int]) -> None:
        items: list[tuple[int, SaveItem]] = []
        for p in numbers:
            part = self._parts[p]
            offsets = dict(part.offsets)
            for tp, off in part.pipeline.positions().items():
                if off > offsets.get(tp, -1):
                    offsets[tp] = off
            items.append((p, SaveItem(self._key(p), list(part.closed), part.pipeline.snapshot(), offsets,
                                      list(part.dead))))
            part.closed.clear()
            part.dead.clear()
            part.dirty = False
        self._write(items)

    def _write(self, items: list[tuple[int, SaveItem]]) -> None:
        started = self._monotonic()
        try:
            saved = self.store.save([item for _, item in items])
        except StoreUnavailable as exc:
            self._unsaved = items
            self._outage(exc)
            raise
        except StoreConflict as exc:
            self._unsaved = None
            self.metrics.persist_failures.labels(kind="conflict").inc()
            numbers = sorted({p for p, _ in items})
            log.error("persist refused; reloading the partitions from the database",
                      extra={"partitions": numbers, "error": str(exc)})
            for p in numbers:
                self._parts.pop(p, None)
                tps = [tp for tp in self._assigned if tp[1] == p]
                self.source.pause(tps)
                self._pending.update(tps)
            raise
        now_m = self._monotonic()
        self.metrics.persist_seconds.observe(now_m - started)
        self._unsaved = None
        if self._outage_active:
            log.info("database is back")
        self.health.set("database", True, "up")
        self.metrics.database_up.set(1)
        self._backoff = self.options.backoff_initial
        self._result.persists += 1
        offsets: dict[TopicPartition, int] = {}
        dead: list[DeadLetterRecord] = []
        for p, item in items:
            if p in self._parts:
                self._parts[p].last_persist = now_m
            offsets.update(item.offsets)
            dead.extend(item.dead_letters)
        for model, n in saved.windows.items():
            self.metrics.windows_evaluated.labels(model=model).inc(n)
            self._result.windows += n
        for model, n in saved.alerts_opened.items():
            self.metrics.alerts_opened.labels(model=model).inc(n)
        self.source.commit(offsets)
        log.debug("persisted", extra={"partitions": [p for p, _ in items], "windows": sum(saved.windows.values()),
                                      "dead_letters": len(dead), "seconds": round(now_m - started, 4)})
        if self.publisher is not None and dead:
            self.publisher.publish(dead)

    def _outage(self, exc: Exception) -> None:
        self.metrics.persist_failures.labels(kind="transient").inc()
        self.metrics.database_up.set(0)
        self.health.set("database", False, str(exc)[:300])
        self._outage_active = True
        self.source.pause(sorted(self._assigned))
        self._retry_at = self._monotonic() + self._backoff
        log.warning("database unavailable; consumption paused", extra={"error": str(exc)[:300],
                                                                         "retry_in_s": self._backoff})
        self._backoff = min(self._backoff * 2, self.options.backoff_max)

    def _recover(self) -> bool:
        """Retry the unsaved transaction, then restore pending partitions. True when all is done."""
        if self._unsaved is not None:
            try:
                self._write(self._unsaved)
            except (StoreUnavailable, StoreConflict):
                return False
        if self._pending and not self._restore_pending():
            return False
        if self._outage_active:
            self._outage_active = False
            self.source.resume(sorted(self._assigned - self._pending - self._merge_paused))
            log.info("consumption resumed")
        return True

    def _restore_pending(self) -> bool:
        pending = sorted(self._pending)
        by_number: dict[int, list[TopicPartition]] = {}
        for tp in pending:
            by_number.setdefault(tp[1], []).append(tp)
        for p, tps in by_number.items():
            part = self._parts.get(p)
            if part is None:
                try:
                    part = self._load(p)
                except StoreUnavailable as exc:
                    self._outage(exc)
                    return False
                self._parts[p] = part
            for tp in tps:
                self.source.seek(tp, part.offsets.get(tp))
            self._merge_paused.difference_update(tps)
            self.source.resume(tps)
            self._pending.difference_update(tps)
            log.info("partition assigned", extra={"partition": p, "offsets": {f"{t}:{q}": o for (t, q), o in
                                                                             part.offsets.items()}})
        self.metrics.assigned_partitions.set(len(self._parts))
        return True

    def _load(self, p: int) -> _Partition:
        tps = list(dict.fromkeys([(self.source.predictions_topic, p), (self.source.outcomes_topic, p)]))
        snapshot, offsets = self.store.load(self._key(p), tps)
        pipeline = None
        if snapshot is not None:
            try:
                pipeline = self.store.restore_pipeline(snapshot, self.config)
            except StoreUnavailable:
                raise
            except Exception:
                log.exception("could not restore the stored snapshot; starting partition %d empty", p)
        if pipeline is None:
            pipeline = self.store.new_pipeline(self.config)
        merger = PartitionMerger(tps, self.options.merge_max_wait) if len(tps) > 1 else None
        return _Partition(pipeline, dict(offsets), last_persist=self._monotonic(), merger=merger)

    def _key(self, p: int) -> str:
        return f"{self.source.predictions_topic}:{p}"

    # -- configuration reload ------------------------------------------------------------------------
    def _maybe_reload(self, now_m: float) -> None:
        if self.config_source is None:
            self._reload = False
            return
        force = self._reload
        if not force and now_m - self._last_config_check < self.options.config_check_interval:
            return
        self._reload = False
        self._last_config_check = now_m
        try:
            new = self.config_source.poll(force=force)
        except ConfigError as exc:
            self.metrics.config_reloads.labels(result="error").inc()
            log.error("configuration reload failed; keeping the previous configuration",
                      extra={"error": str(exc)})
            return
        if new is None:
            return
        for part in self._parts.values():
            closed = self.store.reload_pipeline(part.pipeline, new)
            part.closed.extend(closed)
            part.dirty = True
        self.config = new
        self.metrics.config_reloads.labels(result="ok").inc()
        log.info("configuration reloaded", extra={"models": sorted(new.models)})

    # -- misc ----------------------------------------------------------------------------------------
    def _update_lag(self, now_m: float) -> None:
        self._last_lag = now_m
        for (topic, partition), lag in self.source.lag().items():
            self.metrics.consumer_lag.labels(topic=topic, partition=str(partition)).set(lag)

    def _shutdown(self) -> bool:
        """Persist every partition (retrying a database outage up to ``shutdown_grace``) and close."""
        deadline = self._monotonic() + self.options.shutdown_grace
        clean = True
        while True:
            try:
                if self._unsaved is not None:
                    self._write(self._unsaved)
                dirty = [p for p, part in self._parts.items() if part.dirty or part.closed or part.dead]
                if dirty:
                    self._save(dirty)
                break
            except StoreConflict:
                clean = False
                break
            except StoreUnavailable:
                if self._monotonic() >= deadline:
                    log.error("database still unavailable at shutdown; unsaved state will be re-read on restart")
                    clean = False
                    break
                self._sleep(min(self._backoff, max(0.0, deadline - self._monotonic())))
        try:
            self.source.close()
        finally:
            if self.publisher is not None:
                self.publisher.close()
        log.info("stopped", extra={"clean": clean, "messages": self._result.messages,
                                   "windows": self._result.windows, "dead_letters": self._result.dead_letters})
        return clean

    def stats(self) -> Mapping[int, Mapping[str, Any]]:
        """Pipeline counters per partition number (for logs and tests)."""
        return {p: part.pipeline.stats() for p, part in self._parts.items()}
