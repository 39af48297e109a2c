"""The consumer loop of ``driftwarden run``: decode → Pipeline → persist → commit.

One :class:`~monitor.pipeline.Pipeline` per partition number *p* owns the state of the models keyed to *p*
(partition *p* of the predictions topic and of the outcomes topic). The loop:

1. polls a batch from the :class:`~monitor.sources.Source`;
2. decodes each message (bad input → a dead letter; the loop never stops for it) and feeds the pipeline; an
   exception the pipeline raises for one event makes that event a dead letter too (category ``rejected``),
   except the process failures of :data:`monitor.consumer.intake.PROCESS_ERRORS` (out of memory);
3. asks each pipeline for finished windows; at a persist point (``checkpoint_interval`` passed, too many
   dead letters waiting, a revoke, the shutdown, a window closed by the idle timeout) writes **in one
   transaction** the closed windows with their alerts, the pipeline snapshot, the next offsets and the dead
   letters; with ``write_at_close``, a window the events closed in between is written at once with its
   alerts, without the snapshot (:meth:`PartitionTable.save`: stored once all the same);
4. commits the offsets to Kafka (informational) and copies dead letters to the optional topic.

Failures: a database outage (a transient error) pauses every partition and retries the same unsaved
transaction with exponential backoff, so nothing is lost and offsets do not advance; a conflict (e.g. a
window already stored) throws the partition's state away and restores it from the database, like a new
assignment. Signals only flip flags: SIGTERM/SIGINT stop (persist, commit, exit 0), SIGHUP reloads the
configuration (also reloaded when its file changes), keeping open windows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from monitor.config import ConfigError, MonitorConfig
from monitor.consumer.contracts import (
    ConfigSource,
    PartitionStore,
    RunResult,
    ServiceOptions,
    StoreConflict,
    StoreUnavailable,
)
from monitor.consumer.control import flag_signals
from monitor.consumer.deadletter import DeadLetterPublisher, DeadLetterRecord
from monitor.consumer.gc_tuning import gc_tuned
from monitor.consumer.intake import PROCESS_ERRORS, Taken, take
from monitor.consumer.partitions import Partition, PartitionTable
from monitor.consumer.pipelines import reload_pipeline
from monitor.events import EventDecoder, OutcomeEvent
from monitor.ops import Health, Metrics
from monitor.retry import retry_with_backoff
from monitor.sources.base import RawMessage, Source, SourceUnavailable, TopicPartition

__all__ = ["Service"]

log = logging.getLogger(__name__)


class Service:
    """The always-on watcher loop (see the module docstring). Drive it with :meth:`run`.

    Its owned partitions, their offsets and their persistence are a :class:`PartitionTable`
    (``self.partitions``), which is also the source's assignment listener."""

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
        self.store = store
        self.metrics = metrics
        self.health = health or Health()
        self.publisher = publisher
        self.partitions = PartitionTable(config, source, store, options, metrics=metrics, health=self.health,
                                         publisher=publisher, monotonic=monotonic, sleep=sleep)
        self.config_source = config_source
        self._clock = clock
        self._monotonic, self._sleep = monotonic, sleep
        self._stop = stop_event or threading.Event()
        self._reload = False
        self._last_config_check = 0.0
        self._last_lag = 0.0
        self._unassigned_since: float | None = None
        self._consumed = metrics.events_consumed
        self._dead_counter = metrics.dead_letters
        self._decoder: tuple[MonitorConfig, EventDecoder] | None = None

    @property
    def config(self) -> MonitorConfig:
        """The configuration in force (replaced by a reload)."""
        return self.partitions.config

    @property
    def source(self) -> Source:
        """Where messages come from (the partition table's too: a wrapper set here is used by both)."""
        return self.partitions.source

    @source.setter
    def source(self, source: Source) -> None:
        self.partitions.source = source

    @property
    def options(self) -> ServiceOptions:
        """The loop's options (the partition table's too)."""
        return self.partitions.options

    @options.setter
    def options(self, options: ServiceOptions) -> None:
        self.partitions.options = options

    def stats(self) -> Mapping[int, Mapping[str, Any]]:
        """Pipeline counters per partition number (for logs and tests)."""
        return self.partitions.stats()

    # -- control (signal handlers only flip flags) --------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload = True

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, max_messages: int | None = None, timeout: float | None = None) -> RunResult:
        """Consume until stopped (signal / :meth:`request_stop`), the end of a file source, ``max_messages``
        messages, or ``timeout`` seconds; then persist everything and close the source."""
        self.partitions.result = result = RunResult()
        deadline = None if timeout is None else self._monotonic() + timeout
        with flag_signals(self._stop, self.request_reload), gc_tuned(self.options.gc_young_threshold):
            try:
                warm_up = getattr(self.store, "warm_up", None)
                if warm_up is not None:
                    warm_up(self.config)
                if self._start_source(deadline):
                    result.stopped_by = self._loop(max_messages, deadline)
                else:
                    result.stopped_by = "stop" if self._stop.is_set() else "timeout"
            finally:
                result.clean = self._shutdown()
        return result

    def _shutdown(self) -> bool:
        """Persist every partition and close the source and the dead-letter publisher."""
        try:
            clean = self.partitions.save_all()
        finally:
            try:
                self.source.close()
            finally:
                if self.publisher is not None:
                    self.publisher.close()
        result = self.partitions.result
        log.info("stopped", extra={"clean": clean, "messages": result.messages, "windows": result.windows,
                                   "dead_letters": result.dead_letters})
        return clean

    def _start_source(self, deadline: float | None) -> bool:
        def unavailable(exc: BaseException, wait: float) -> None:
            self.health.set("source", False, str(exc))
            log.warning("source unavailable, retrying", extra={"error": str(exc), "retry_in_s": wait})

        def give_up(wait: float, attempts: int) -> bool:
            return self._stop.is_set() or (deadline is not None and self._monotonic() + wait > deadline)

        try:
            retry_with_backoff(lambda: self.source.start(self.partitions), retry_on=SourceUnavailable,
                               initial=self.options.backoff_initial, maximum=self.options.backoff_max,
                               give_up=give_up, on_failure=unavailable, sleep=self._sleep)
        except SourceUnavailable:
            return False
        self.health.set("source", True, "started")
        return True

    def _loop(self, max_messages: int | None, deadline: float | None) -> str:
        opts = self.options
        result = self.partitions.result
        self._unassigned_since = self._monotonic()
        while True:
            if self.partitions.assigned:
                self._unassigned_since = None
            elif self._unassigned_since is None:
                self._unassigned_since = self._monotonic()
            elif self._monotonic() - self._unassigned_since > opts.join_timeout:
                self._rejoin()
            self.health.beat()
            if self._stop.is_set():
                return "signal"
            now_m = self._monotonic()
            if deadline is not None and now_m >= deadline:
                return "timeout"
            self._maybe_reload(now_m)
            if self.partitions.outage_active or self.partitions.pending:
                if now_m < self.partitions.retry_at:
                    self.source.poll(0, 1)  # paused: keeps the group membership alive
                    self._sleep(min(0.2, self.partitions.retry_at - now_m))
                    continue
                if not self.partitions.recover():
                    continue
            budget = opts.max_batch if max_messages is None else min(opts.max_batch, max_messages - result.messages)
            polled = self._monotonic()
            batch = self.source.poll(opts.poll_timeout, budget)
            started = self._monotonic()
            if batch:
                self._process(batch)
            else:
                if started - polled < opts.poll_timeout / 4 and not self.source.exhausted:
                    self._sleep(opts.poll_timeout / 4)  # an empty poll that returned at once: don't spin
                self._release()
            self._advance()
            self._persist_due(force=False)
            if batch:
                self.metrics.processing_latency.observe(self._monotonic() - started)
            if now_m - self._last_lag >= opts.lag_interval:
                self._update_lag(now_m)
            if self.source.exhausted and not self.partitions.pending and not self.partitions.outage_active:
                for part in self.partitions.parts.values():
                    part.closed.extend(part.pipeline.flush())
                    part.dirty = True
                return "end_of_source"
            if max_messages is not None and result.messages >= max_messages:
                return "max_messages"

    def _rejoin(self) -> None:
        """No partition for ``join_timeout`` seconds: a group join that never completed (seen with kafka-python
        3.0 under load). Reconnect the source; a fresh member joins the group."""
        restart = getattr(self.source, "restart", None)
        self._unassigned_since = self._monotonic()
        if restart is None:
            return
        log.warning("no partitions assigned for %.0fs; reconnecting to the consumer group",
                    self.options.join_timeout)
        try:
            restart(self.partitions)
        except SourceUnavailable as exc:
            log.warning("reconnect failed, retrying later", extra={"error": str(exc)})

    def _event_decoder(self) -> EventDecoder:
        """The decoder of the current configuration's models (built again after a reload)."""
        built = self._decoder
        if built is None or built[0] is not self.config:
            decoder = EventDecoder({name: cfg.features for name, cfg in self.config.models.items()},
                                   self.options.max_message_bytes)
            self._decoder = built = (self.config, decoder)
        return built[1]

    def _process(self, batch: list[RawMessage]) -> None:
        decoder = self._event_decoder()
        parts = self.partitions.parts
        touched: set[int] = set()
        direct = self.partitions.direct_partitions(batch)
        last: int | None = None
        part: Partition | None = None
        straight = False
        for msg in batch:
            if msg.partition != last:
                last = msg.partition
                part = parts.get(last)
                straight = part is not None and (part.merger is None or last in direct)
                if part is not None and part.merger is not None:
                    touched.add(last)
            if part is None:  # not ours (revoked in this poll): the owner re-reads it
                continue
            taken = take(msg, decoder)
            if straight:
                self._apply(part, taken)
            else:
                assert part.merger is not None
                part.merger.push((msg.topic, msg.partition), taken.key, msg.offset, taken)
        self._release(touched)
        for kind, n in Counter(msg.kind for msg in batch).items():
            self._consumed.labels(kind=kind).inc(n)
        self.partitions.result.messages += len(batch)

    def _release(self, numbers: set[int] | None = None) -> None:
        """Feed the pipelines what their mergers may release now (all partitions if ``numbers`` is None)."""
        now_m = self._monotonic()
        for p, part in self.partitions.parts.items():
            if part.merger is None:
                continue
            if (numbers is not None and p not in numbers and not len(part.merger)
                    and not self.partitions.merge_paused.intersection(part.merger.tps)):
                continue
            for taken in part.merger.release(self.source.caught_up, now_m, self._lagging):
                self._apply(part, taken)
            self.partitions.throttle(part.merger)

    def _lagging(self, tp: TopicPartition) -> bool:
        """Records of ``tp`` are known to be waiting for a poll (the source's lag; asked only while a merge
        waits for ``tp``)."""
        return self.source.lag().get(tp, 0) > 0

    def _apply(self, part: Partition, taken: Taken) -> None:
        """Feed one taken message to its partition's pipeline (an event the pipeline raises for becomes a dead
        letter, category ``rejected``), and move the partition's next offset past it."""
        msg, key, event, dead = taken
        if event is not None:
            try:
                if isinstance(event, OutcomeEvent):
                    part.pipeline.on_outcome(event)
                else:
                    part.pipeline.on_prediction(event, ts=key)
            except PROCESS_ERRORS:
                raise
            except Exception as exc:  # one bad event must not stop the watcher
                log.exception("pipeline rejected an event", extra={"offset": msg.offset, "model": event.model})
                dead = DeadLetterRecord.of(msg, f"pipeline rejected the event: {type(exc).__name__}: {exc}",
                                           category="rejected", error_class=type(exc).__name__,
                                           model=event.model)
        if dead is not None:
            self._add_dead(part, dead)
        part.offsets[(msg.topic, msg.partition)] = msg.offset + 1
        part.dirty = True

    def _add_dead(self, part: Partition, dead: DeadLetterRecord) -> None:
        part.dead.append(dead)
        self._dead_counter.labels(reason=dead.category).inc()
        self.partitions.result.dead_letters += 1

    def _advance(self) -> None:
        now = self._clock()
        for part in self.partitions.parts.values():
            closed = part.pipeline.advance(now)
            if closed:
                part.closed.extend(closed)
                part.dirty = True

    def _persist_due(self, force: bool) -> None:
        now_m = self._monotonic()
        opts = self.options
        due: list[int] = []
        light: set[int] = set()
        for p, part in self.partitions.parts.items():
            if (len(part.dead) >= opts.max_pending_dead_letters
                    or (part.dirty and (force or now_m - part.last_persist >= opts.checkpoint_interval))):
                due.append(p)
            elif part.closed or part.pipeline.has_closed():
                due.append(p)
                if opts.write_at_close and part.light_ok():
                    light.add(p)
        if not due:
            return
        try:
            self.partitions.save(due, frozenset(light))
        except StoreUnavailable:
            pass  # the table kept the transaction unsaved; the loop retries it with backoff (recover)
        except StoreConflict:
            pass  # the table scheduled the partitions for a reload from the database

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
        for part in self.partitions.parts.values():
            closed = reload_pipeline(self.store, part.pipeline, new)
            part.closed.extend(closed)
            part.dirty = True
        self.store.apply_config(new)
        self.partitions.config = new
        self.metrics.config_reloads.labels(result="ok").inc()
        log.info("configuration reloaded", extra={"models": sorted(new.models)})
        # a reload is a persist point: the stored snapshot and offsets mark the event where the new configuration
        # took effect, so a restart after it continues like the uninterrupted run (docs/architecture.md)
        self._persist_due(force=True)

    # -- misc ----------------------------------------------------------------------------------------
    def _update_lag(self, now_m: float) -> None:
        self._last_lag = now_m
        for (topic, partition), lag in self.source.lag().items():
            self.metrics.consumer_lag.labels(topic=topic, partition=str(partition)).set(lag)
