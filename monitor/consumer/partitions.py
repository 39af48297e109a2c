"""The partitions a watcher owns, and their way to and from the database (base of the consumer loop).

A :class:`PartitionKeeper` holds one pipeline per partition number with its next offsets, closed windows and
dead letters not yet written. It restores a partition from the database when it is assigned (checkpoint +
stored offsets, then seek), writes persist points (:meth:`PartitionKeeper._save`: one transaction for all the
given partitions), and handles the two ways that can fail: an outage (pause every partition, keep the unsaved
transaction, retry it with backoff) and a conflict (drop the partition's state and restore it from the
database, like a new assignment). :class:`monitor.consumer.loop.Service` adds the loop on top.
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
from monitor.sources.base import Source, TopicPartition

__all__ = ["PartitionKeeper"]

log = logging.getLogger("monitor.consumer.loop")


@dataclass
class _Partition:
    pipeline: Pipeline
    offsets: dict[TopicPartition, int]
    closed: list[ClosedWindow] = field(default_factory=list)
    dead: list[DeadLetterRecord] = field(default_factory=list)
    dirty: bool = False
    last_persist: float = 0.0
    merger: PartitionMerger | None = None


def persist_items(closed: Sequence[ClosedWindow], pipeline: Pipeline) -> list[ClosedWindow | WindowUpdate | EarlyAlert]:
    """What one persist point writes besides the snapshot: ``closed`` (windows :meth:`Pipeline.advance`
    returned) and the pipeline's other outputs, in ``seq`` order (the order the alert service must see them
    in, the same whatever the batches and persist points: :mod:`monitor.pipeline.updates`)."""
    return sorted([*closed, *pipeline.take_outputs()], key=output_order)


class PartitionKeeper:
    """Owned partitions and their persistence (see the module docstring)."""

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
        self._parts: dict[int, _Partition] = {}
        self._assigned: set[TopicPartition] = set()
        self._pending: set[TopicPartition] = set()
        self._merge_paused: set[TopicPartition] = set()
        self._unsaved: list[tuple[int, SaveItem]] | None = None
        self._outage_active = False
        self._retry_at = 0.0
        self._backoff = options.backoff_initial
        self._result = RunResult()

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
        self.metrics.observe_pipelines(self.stats())
        log.info("partitions revoked", extra={"partitions": sorted(revoked)})

    # -- persisting ----------------------------------------------------------------------------------
    def _save(self, numbers: Sequence[int]) -> None:
        items: list[tuple[int, SaveItem]] = []
        for p in numbers:
            part = self._parts[p]
            offsets = dict(part.offsets)
            for tp, off in part.pipeline.positions().items():
                if off > offsets.get(tp, -1):
                    offsets[tp] = off
            closed = persist_items(part.closed, part.pipeline)
            items.append((p, SaveItem(self._key(p), closed, part.pipeline.snapshot(), offsets,
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
        self.metrics.observe_pipelines(self.stats())  # label counters and awaiting predictions
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
        self.metrics.observe_pipelines(self.stats())  # baseline of restored partitions
        return True

    def _load(self, p: int) -> _Partition:
        tps = list(dict.fromkeys([(self.source.predictions_topic, p), (self.source.outcomes_topic, p)]))
        snapshot, offsets = self.store.load(self._key(p), tps)
        pipeline = None
        if snapshot is not None:
            try:
                pipeline = restore_pipeline(self.store, snapshot, self.config)
            except StoreUnavailable:
                raise
            except Exception:
                log.exception("could not restore the stored snapshot; starting partition %d empty", p)
        if pipeline is None:
            pipeline = new_pipeline(self.store, self.config)
        merger = PartitionMerger(tps, self.options.merge_max_wait) if len(tps) > 1 else None
        return _Partition(pipeline, dict(offsets), last_persist=self._monotonic(), merger=merger)

    def _key(self, p: int) -> str:
        return f"{self.source.predictions_topic}:{p}"

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
