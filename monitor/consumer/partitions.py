"""The partitions a watcher owns, and their way to and from the database (a part of the consumer loop).

A :class:`PartitionTable` holds one :class:`Partition` per partition number: its pipeline, its next offsets
(the one place the consumer tracks them), closed windows and dead letters not yet written. It is the source's
assignment listener: it restores a partition from the database when it is assigned (checkpoint + stored
offsets, then seek), writes persist points (:meth:`PartitionTable.save`: one transaction for all the given
partitions), and handles the two ways that can fail: an outage (pause every partition, keep the unsaved
transaction, retry it with backoff: :meth:`PartitionTable.recover`) and a conflict (drop the partition's state
and restore it from the database, like a new assignment). :class:`monitor.consumer.loop.Service` holds one and
runs the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.config import MonitorConfig
from monitor.consumer.contracts import (
    PartitionStore,
    RunResult,
    SaveItem,
    ServiceOptions,
    StoreConflict,
    StoreUnavailable,
)
from monitor.consumer.deadletter import DeadLetterPublisher, DeadLetterRecord
from monitor.consumer.merge import PartitionMerger
from monitor.consumer.pipelines import new_pipeline, restore_pipeline
from monitor.ops import Health, Metrics
from monitor.pipeline import ClosedWindow, Pipeline
from monitor.pipeline.awaiting import WindowUpdate
from monitor.pipeline.early import EarlyAlert
from monitor.pipeline.updates import output_order
from monitor.sources.base import RawMessage, Source, TopicPartition

__all__ = ["Partition", "PartitionTable", "persist_items"]

log = logging.getLogger("monitor.consumer.loop")


@dataclass
class Partition:
    """One owned partition number: its pipeline, the next offset of each of its streams (advanced past every
    message the loop has taken, event or dead letter), and what the next persist point writes."""

    pipeline: Pipeline
    offsets: dict[TopicPartition, int]
    closed: list[ClosedWindow] = field(default_factory=list)
    dead: list[DeadLetterRecord] = field(default_factory=list)
    dirty: bool = False
    last_persist: float = 0.0
    merger: PartitionMerger | None = None
    snapshotted: bool = False
    """A snapshot of this pipeline is stored (restored from one, or written since)."""
    written: set[tuple[str, str]] = field(default_factory=set)
    """``(model, window key)`` of the windows written since the last snapshot (:meth:`PartitionTable.save`)."""

    def light_ok(self) -> bool:
        """Whether its closed windows may be written now without a snapshot (see :meth:`PartitionTable.save`):
        a snapshot is stored, the pipeline's outputs since were all made by events, and no update or early
        alert waits (they would then be written after a window that follows them)."""
        return self.snapshotted and self.pipeline.replayable and not self.pipeline.has_other_outputs()


def persist_items(closed: Sequence[ClosedWindow], pipeline: Pipeline) -> list[ClosedWindow | WindowUpdate | EarlyAlert]:
    """What one persist point writes besides the snapshot: ``closed`` (windows :meth:`Pipeline.advance`
    returned) and the pipeline's other outputs, in ``seq`` order (the order the alert service must see them
    in, the same whatever the batches and persist points: :mod:`monitor.pipeline.updates`)."""
    return sorted([*closed, *pipeline.take_outputs()], key=output_order)


class PartitionTable:
    """Owned partitions and their persistence (see the module docstring).

    Read by the loop: ``parts`` (owned partitions by number), ``assigned`` (their topic-partitions),
    ``pending`` (assigned, not yet restored and resumed), ``merge_paused`` (streams the merge throttle
    paused), ``outage_active`` / ``retry_at`` (a database outage and when to retry), ``result`` (the run's
    counters, replaced by the loop at each run).
    """

    def __init__(
        self,
        config: MonitorConfig,
        source: Source,
        store: PartitionStore,
        options: ServiceOptions,
        *,
        metrics: Metrics,
        health: Health,
        publisher: DeadLetterPublisher | None,
        monotonic: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.config = config
        self.source = source
        self.store = store
        self.options = options
        self.metrics = metrics
        self.health = health
        self.publisher = publisher
        self._monotonic, self._sleep = monotonic, sleep
        self.parts: dict[int, Partition] = {}
        self.assigned: set[TopicPartition] = set()
        self.pending: set[TopicPartition] = set()
        self.merge_paused: set[TopicPartition] = set()
        self._unsaved: list[tuple[int, SaveItem]] | None = None
        self.outage_active = False
        self.retry_at = 0.0
        self._backoff = options.backoff_initial
        self.result = RunResult()

    # -- assignment (called by the source from inside poll) ------------------------------------------
    def on_assigned(self, partitions: Sequence[TopicPartition]) -> None:
        self.assigned.update(partitions)
        self.pending.update(partitions)  # paused by the source; restored + sought + resumed by the loop

    def on_revoked(self, partitions: Sequence[TopicPartition]) -> None:
        revoked = set(partitions)
        numbers = sorted({p for _, p in revoked} & set(self.parts))
        if numbers and self._unsaved is None:
            try:
                self.save(numbers)
            except (StoreUnavailable, StoreConflict) as exc:
                log.warning("could not persist revoked partitions; the next owner re-reads from the stored "
                            "offsets", extra={"partitions": numbers, "error": str(exc)})
        if self._unsaved is not None:
            self._unsaved = [(p, item) for p, item in self._unsaved if p not in numbers] or None
        for p in numbers:
            del self.parts[p]
        self.assigned -= revoked
        self.pending -= revoked
        self.merge_paused -= revoked
        self.metrics.assigned_partitions.set(len(self.parts))
        self.metrics.observe_pipelines(self.stats())
        log.info("partitions revoked", extra={"partitions": sorted(revoked)})

    # -- persisting ----------------------------------------------------------------------------------
    def save(self, numbers: Sequence[int], light: frozenset[int] = frozenset()) -> None:
        """Write a persist point of the partitions ``numbers`` in one transaction.

        A partition in ``light`` (its :meth:`Partition.light_ok`) writes only the windows its events closed,
        with their alerts, and the keys of the windows written since its last snapshot: no snapshot, offsets or
        dead letters, which wait for the next full persist point (``checkpoint_interval``). A window's alert is
        then committed as soon as it closes, without encoding the whole state. After a crash the partition
        restarts from its last snapshot and offsets and reads the same events again: the windows whose keys
        are stored are closed again and dropped (:attr:`Pipeline.stored_windows`), so each is stored once."""
        items: list[tuple[int, SaveItem]] = []
        for p in numbers:
            part = self.parts[p]
            pipeline = part.pipeline
            if p in light:
                windows = sorted([*part.closed, *pipeline.take_closed()], key=output_order)
                part.written.update((c.model, c.window_key) for c in windows)
                items.append((p, SaveItem(self._key(p), [*windows], None, {}, [],
                                          stored_windows=sorted(part.written | pipeline.stored_since_snapshot()))))
                part.closed.clear()
                continue
            closed = persist_items(part.closed, part.pipeline)
            snapshot = pipeline.snapshot()
            # (with write_at_close off, a list left by an earlier run names stored windows only: harmless)
            stored = sorted(pipeline.stored_windows) if self.options.write_at_close or pipeline.stored_windows else None
            items.append((p, SaveItem(self._key(p), closed, snapshot, dict(part.offsets), list(part.dead),
                                      stored_windows=stored)))
            part.closed.clear()
            part.dead.clear()
            part.written.clear()
            part.dirty = False
            part.snapshotted = True
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
                self.parts.pop(p, None)
                tps = [tp for tp in self.assigned if tp[1] == p]
                self.source.pause(tps)
                self.pending.update(tps)
            raise
        now_m = self._monotonic()
        self.metrics.persist_seconds.observe(now_m - started)
        self._unsaved = None
        if self.outage_active:
            log.info("database is back")
        self.health.set("database", True, "up")
        self.metrics.database_up.set(1)
        self._backoff = self.options.backoff_initial
        self.result.persists += 1
        offsets: dict[TopicPartition, int] = {}
        dead: list[DeadLetterRecord] = []
        for p, item in items:
            if p in self.parts and item.snapshot is not None:
                self.parts[p].last_persist = now_m
            offsets.update(item.offsets)
            dead.extend(item.dead_letters)
        for model, n in saved.windows.items():
            self.metrics.windows_evaluated.labels(model=model).inc(n)
            self.result.windows += n
        for model, n in saved.alerts_opened.items():
            self.metrics.alerts_opened.labels(model=model).inc(n)
        self.metrics.observe_pipelines(self.stats())  # label counters and awaiting predictions
        if offsets:
            self.source.commit(offsets)
        log.debug("persisted", extra={"partitions": [p for p, _ in items], "windows": sum(saved.windows.values()),
                                      "dead_letters": len(dead), "seconds": round(now_m - started, 4)})
        if self.publisher is not None and dead:
            self.publisher.publish(dead)

    def _outage(self, exc: Exception) -> None:
        self.metrics.persist_failures.labels(kind="transient").inc()
        self.metrics.database_up.set(0)
        self.health.set("database", False, str(exc)[:300])
        self.outage_active = True
        self.source.pause(sorted(self.assigned))
        self.retry_at = self._monotonic() + self._backoff
        log.warning("database unavailable; consumption paused", extra={"error": str(exc)[:300],
                                                                         "retry_in_s": self._backoff})
        self._backoff = min(self._backoff * 2, self.options.backoff_max)

    def recover(self) -> bool:
        """Retry the unsaved transaction, then restore pending partitions. True when all is done."""
        if self._unsaved is not None:
            try:
                self._write(self._unsaved)
            except (StoreUnavailable, StoreConflict):
                return False
        if self.pending and not self._restore_pending():
            return False
        if self.outage_active:
            self.outage_active = False
            self.source.resume(sorted(self.assigned - self.pending - self.merge_paused))
            log.info("consumption resumed")
        return True

    def _restore_pending(self) -> bool:
        pending = sorted(self.pending)
        by_number: dict[int, list[TopicPartition]] = {}
        for tp in pending:
            by_number.setdefault(tp[1], []).append(tp)
        for p, tps in by_number.items():
            part = self.parts.get(p)
            if part is None:
                try:
                    part = self._load(p)
                except StoreUnavailable as exc:
                    self._outage(exc)
                    return False
                self.parts[p] = part
            for tp in tps:
                self.source.seek(tp, part.offsets.get(tp))
            self.merge_paused.difference_update(tps)
            self.source.resume(tps)
            self.pending.difference_update(tps)
            log.info("partition assigned", extra={"partition": p, "offsets": {f"{t}:{q}": o for (t, q), o in
                                                                             part.offsets.items()}})
        self.metrics.assigned_partitions.set(len(self.parts))
        self.metrics.observe_pipelines(self.stats())  # baseline of restored partitions
        return True

    def _load(self, p: int) -> Partition:
        tps = list(dict.fromkeys([(self.source.predictions_topic, p), (self.source.outcomes_topic, p)]))
        snapshot, offsets = self.store.load(self._key(p), tps)
        pipeline = None
        if snapshot is not None:
            try:
                pipeline = restore_pipeline(self.store, snapshot, self.config)
                pipeline.stored_windows = self.store.stored_windows(self._key(p))
            except StoreUnavailable:
                raise
            except Exception:
                log.exception("could not restore the stored snapshot; starting partition %d empty", p)
        restored = pipeline is not None
        if pipeline is None:
            pipeline = new_pipeline(self.store, self.config)
        merger = PartitionMerger(tps, self.options.merge_max_wait) if len(tps) > 1 else None
        return Partition(pipeline, dict(offsets), last_persist=self._monotonic(), merger=merger,
                         snapshotted=restored)

    def _key(self, p: int) -> str:
        return f"{self.source.predictions_topic}:{p}"

    def save_all(self) -> bool:
        """Persist every partition with something unsaved (retrying a database outage up to
        ``shutdown_grace``); False if some of it could not be written."""
        deadline = self._monotonic() + self.options.shutdown_grace
        while True:
            try:
                if self._unsaved is not None:
                    self._write(self._unsaved)
                dirty = [p for p, part in self.parts.items() if part.dirty or part.closed or part.dead]
                if dirty:
                    self.save(dirty)
                return True
            except StoreConflict:
                return False
            except StoreUnavailable:
                if self._monotonic() >= deadline:
                    log.error("database still unavailable at shutdown; unsaved state will be re-read on restart")
                    return False
                self._sleep(min(self._backoff, max(0.0, deadline - self._monotonic())))

    # -- the merge of two streams (called by the loop) -------------------------------------------------
    def direct_partitions(self, batch: list[RawMessage]) -> set[int]:
        """Merged partitions whose messages in ``batch`` may skip the merge buffer: all of one stream, with
        nothing queued and every other stream of the partition caught up. Pushed and released, they would
        come out at once and in the order given (:meth:`PartitionMerger.release` hands out the whole queue of
        the one non-empty stream when the others are empty and caught up), so feeding them straight to the
        pipeline is the same, without the buffering."""
        streams: dict[int, set[TopicPartition]] = {}
        for tp in {(msg.topic, msg.partition) for msg in batch}:
            streams.setdefault(tp[1], set()).add(tp)
        out: set[int] = set()
        caught_up = self.source.caught_up
        for p, tps in streams.items():
            part = self.parts.get(p)
            merger = part.merger if part is not None else None
            if merger is None or len(tps) != 1 or len(merger):
                continue
            if all(caught_up(tp) for tp in merger.tps if tp not in tps):
                out.add(p)
        return out

    def throttle(self, merger: PartitionMerger) -> None:
        """Bound a merge buffer: pause a stream whose queue one more poll batch could take past ``merge_buffer``
        (it is ahead in event time, its partner is behind in the fetches), so the partner's records come
        through; resume it once its queue is down to half of that. A stream's queue then stays within
        ``merge_buffer`` and the whole buffer within ``merge_buffer + max_batch``. The merged order does not
        depend on it (only on the two sequences).

        A paused stream is always resumed: here, by :meth:`recover` after a database outage (which pauses
        everything and leaves merge-paused streams to this method), or as a newly assigned partition."""
        high = max(self.options.merge_buffer - self.options.max_batch, 1)
        for tp in merger.tps:
            queued = merger.queued(tp)
            if queued > high and tp not in self.merge_paused:
                self.merge_paused.add(tp)
                self.source.pause([tp])
                log.debug("merge buffer full: stream paused until its partner catches up", extra={
                    "topic": tp[0], "partition": tp[1], "queued": queued})
            elif queued <= high // 2 and tp in self.merge_paused:
                self.merge_paused.discard(tp)
                if not self.outage_active and tp not in self.pending:
                    self.source.resume([tp])

    def stats(self) -> Mapping[int, Mapping[str, Any]]:
        """Pipeline counters per partition number (for logs and tests)."""
        return {p: part.pipeline.stats() for p, part in self.parts.items()}
