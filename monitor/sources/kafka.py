"""The Kafka source: a kafka-python consumer group over the predictions and outcomes topics.

Both topics are keyed by model and co-partitioned, and the group uses the range assignor, so partition *p*
of both topics lands on the same process. Offsets are not auto-committed: the database holds the truth
(written with the window results) and the service seeks to it when a partition is assigned. Newly assigned
partitions are paused inside the rebalance callback, so no record of them is handed out before that seek.

kafka-python reconnects to a restarted broker by itself; :meth:`KafkaSource.poll` turns the errors it may
still raise into an empty batch (logged), so the loop keeps going.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata
from kafka import TopicPartition as KafkaTP
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaError

from monitor.sources.base import (
    AssignmentListener,
    RawMessage,
    SourceError,
    SourceUnavailable,
    TopicPartition,
    raw_messages,
    topic_kinds,
)

__all__ = ["KafkaSource"]

log = logging.getLogger(__name__)

FETCH_MAX_WAIT_MS = 100
"""How long a fetch may wait on the broker for data (kafka-python: 500); see the consumer defaults below."""

RECONCILE_AFTER = 2.0
"""Seconds the consumer's assignment may differ from the announced one before :meth:`KafkaSource.reconcile`
announces the difference."""


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, source: KafkaSource, listener: AssignmentListener) -> None:
        self._source = source
        self._listener = listener

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._source._announce_revoked(sorted((tp.topic, tp.partition) for tp in revoked), self._listener)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._source._announce_assigned(sorted((tp.topic, tp.partition) for tp in assigned), self._listener)


class KafkaSource:
    """Consumer-group source of the predictions and outcomes topics (see the module docstring)."""

    def __init__(
        self,
        bootstrap_servers: str | list[str],
        group_id: str,
        predictions_topic: str,
        outcomes_topic: str,
        *,
        client_id: str = "driftwarden",
        **consumer_config: Any,
    ) -> None:
        self._kinds = topic_kinds(predictions_topic, outcomes_topic)
        self.predictions_topic = predictions_topic
        self.outcomes_topic = outcomes_topic
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "group_id": group_id,
            "client_id": client_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "partition_assignment_strategy": (RangePartitionAssignor,),
            "max_partition_fetch_bytes": 1024 * 1024,
            "fetch_max_bytes": 64 * 1024 * 1024,
            # kafka-python keeps one fetch in flight per broker. The outcomes topic is often idle, and a fetch
            # of only its partitions waits up to this long on the broker, while the predictions partitions that
            # have just been drained cannot be fetched from the same broker: kafka-python's default of 500 ms
            # stalled the watcher (bench/ingest.py --fetch-max-wait-ms 500, one process: 14.8k msg/s; 24.6k
            # at 100 ms in the next run; docs/architecture.md).
            "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
            "reconnect_backoff_max_ms": 2000,
        }
        self._config.update(consumer_config)
        self._consumer: KafkaConsumer | None = None
        self._next: dict[TopicPartition, int] = {}
        self._listener: AssignmentListener | None = None
        self._announced: set[TopicPartition] = set()
        self._mismatch_since: float | None = None
        self._in_callback = 0  # a listener callback is running (on kafka-python's IO thread)

    @property
    def consumer(self) -> KafkaConsumer:
        if self._consumer is None:
            raise SourceError("the Kafka source is not started")
        return self._consumer

    def start(self, listener: AssignmentListener) -> None:
        """Connect and subscribe; :class:`SourceUnavailable` if no broker answers (try again later)."""
        try:
            consumer = KafkaConsumer(**self._config)
        except KafkaError as exc:
            raise SourceUnavailable(
                f"no Kafka broker reachable at {self._config['bootstrap_servers']!r}: {type(exc).__name__}: {exc}"
            ) from None
        counts = {t: consumer.partitions_for_topic(t) for t in (self.predictions_topic, self.outcomes_topic)}
        sizes = {t: len(parts) for t, parts in counts.items() if parts}
        if len(sizes) == 2 and len(set(sizes.values())) == 2:
            consumer.close(autocommit=False)
            raise SourceError(
                f"topics must be co-partitioned, but {self.predictions_topic!r} has "
                f"{sizes[self.predictions_topic]} partitions and {self.outcomes_topic!r} has "
                f"{sizes[self.outcomes_topic]}"
            )
        consumer.subscribe(
            topics=[self.predictions_topic, self.outcomes_topic], listener=_Rebalance(self, listener)
        )
        self._consumer = consumer
        self._listener = listener
        self._announced = set()
        self._mismatch_since = None

    def restart(self, listener: AssignmentListener) -> None:
        """Close the consumer (without a commit) and join the group again as a new member."""
        self.close()
        self._next.clear()
        self.start(listener)

    # -- assignment bookkeeping -----------------------------------------------------------------------
    def _announce_assigned(self, tps: list[TopicPartition], listener: AssignmentListener) -> None:
        if tps:
            self._in_callback += 1
            try:
                self._announced.update(tps)
                self.pause(tps)
                listener.on_assigned(tps)
            finally:
                self._in_callback -= 1

    def _announce_revoked(self, tps: list[TopicPartition], listener: AssignmentListener) -> None:
        if tps:
            self._in_callback += 1
            try:
                listener.on_revoked(tps)  # (may take a while: the partitions are persisted first)
                self._announced.difference_update(tps)
            finally:
                self._in_callback -= 1

    def reconcile(self, now: float | None = None) -> None:
        """Repair an assignment kafka-python changed without calling the rebalance listener.

        kafka-python 3.0.12 skips its join-complete step (``on_partitions_assigned`` included) when a
        JoinGroup/SyncGroup round trip completes while no ``poll`` is waiting for it (a poll timeout shorter
        than the join): the member then owns partitions nobody was told about, and never fetches them. If the
        consumer's assignment and the announced one differ for :data:`RECONCILE_AFTER` seconds, partitions that
        are gone are announced as revoked (the service persists them), and if there are unannounced ones the
        consumer joins the group again as a new member (what ``Service`` did after 45 s without partitions)."""
        consumer = self._consumer
        listener = self._listener
        if consumer is None or listener is None or self._in_callback:
            self._mismatch_since = None
            return
        actual = {(ktp.topic, ktp.partition) for ktp in consumer.assignment()}
        if actual == self._announced:
            self._mismatch_since = None
            return
        now = time.monotonic() if now is None else now
        if self._mismatch_since is None:
            self._mismatch_since = now
            return
        if now - self._mismatch_since < RECONCILE_AFTER:
            return
        self._mismatch_since = None
        gone, new = sorted(self._announced - actual), sorted(actual - self._announced)
        if gone:
            log.warning("kafka-python revoked partitions without calling the rebalance listener; announcing it",
                        extra={"revoked": gone})
            self._announce_revoked(gone, listener)
        if new:
            log.warning("kafka-python assigned partitions without completing the join (no listener call, no "
                        "fetching); joining the group again as a new member", extra={"assigned": new})
            if self._announced:  # the service gives up (persists) what it holds; the new member is told anew
                self._announce_revoked(sorted(self._announced), listener)
            try:
                self.restart(listener)
            except SourceError as exc:
                log.warning("rejoining the group failed; retrying on the next poll", extra={"error": str(exc)})

    def ensure_started(self, wait: float = 0.0) -> bool:
        """Start again after a rejoin (see :meth:`reconcile`) whose start failed; False (after ``wait``
        seconds) if that fails again."""
        if self._consumer is not None:
            return True
        if self._listener is None:
            raise SourceError("the Kafka source is not started")
        try:
            self.start(self._listener)
        except SourceError as exc:
            log.warning("rejoining the group failed; retrying", extra={"error": str(exc)})
            time.sleep(wait)
            return False
        return True

    def poll(self, timeout: float, max_records: int) -> list[RawMessage]:
        if not self.ensure_started(timeout):
            return []
        try:
            batches = self.consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        except KafkaError as exc:
            log.warning("kafka poll failed, retrying", extra={"error": f"{type(exc).__name__}: {exc}"})
            return []
        self.reconcile()
        out: list[RawMessage] = []
        kinds = self._kinds
        for tp, records in batches.items():
            out.extend(raw_messages(tp.topic, tp.partition, kinds[tp.topic], [r.offset for r in records],
                                    [r.key for r in records], [r.value for r in records],
                                    [r.timestamp for r in records]))
            if records:
                self._next[(tp.topic, tp.partition)] = records[-1].offset + 1
        return out

    def seek(self, tp: TopicPartition, offset: int | None) -> None:
        ktp = KafkaTP(*tp)
        if offset is None:
            try:
                offset = int(self.consumer.beginning_offsets([ktp], timeout_ms=30_000)[ktp])
            except KafkaError as exc:
                log.warning("beginning offset unknown; seeking to the beginning",
                            extra={"topic": tp[0], "partition": tp[1], "error": str(exc)})
                self.consumer.seek_to_beginning(ktp)
                self._next.pop(tp, None)
                return
        self.consumer.seek(ktp, offset)
        self._next[tp] = offset

    def next_offset(self, tp: TopicPartition) -> int | None:
        """Offset of the next record of ``tp`` to hand out (after a seek: where it landed), if known."""
        return self._next.get(tp)

    def caught_up(self, tp: TopicPartition) -> bool:
        """True when every record of ``tp`` up to its high watermark has been handed out by :meth:`poll`."""
        if self._consumer is None:
            return False
        high = self._consumer.highwater(KafkaTP(*tp))
        nxt = self._next.get(tp)
        return high is not None and nxt is not None and nxt >= high

    def _owned(self, tps: Sequence[TopicPartition]) -> list[KafkaTP]:
        assigned = self.consumer.assignment()
        return [ktp for ktp in (KafkaTP(*tp) for tp in tps) if ktp in assigned]

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        """Pause the given partitions that are still assigned (others are ignored)."""
        self.consumer.pause(*self._owned(tps))

    def resume(self, tps: Sequence[TopicPartition]) -> None:
        """Resume the given partitions that are still assigned, and make sure they are fetched again.

        kafka-python 3.0 parks the records of a partition paused while its parsed fetch was being handed out
        (``Fetcher._paused_partition_records``) and gives them back only when no other partition's fetch is
        current, which after the first fetch is never: the parked partition is then excluded from every fetch
        request for good (a seek does not help). So the parked records are dropped here; the partition's
        position is the offset after the last record :meth:`poll` handed out, so the next fetch starts there.
        """
        owned = self._owned(tps)
        self.consumer.resume(*owned)
        parked = getattr(getattr(self.consumer, "_fetcher", None), "_paused_partition_records", None)
        if not isinstance(parked, dict):
            return
        for ktp in owned:
            records = parked.pop(ktp, None)
            if records is not None:
                records.drain()
                log.debug("dropped parked records of a resumed partition; it is fetched again from its position",
                          extra={"topic": ktp.topic, "partition": ktp.partition})

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Asynchronous, informational commit (monitoring tools read group lag from it)."""
        if not offsets:
            return
        payload = {KafkaTP(*tp): OffsetAndMetadata(off, "", -1) for tp, off in offsets.items()}
        try:
            self.consumer.commit_async(payload)
        except KafkaError as exc:
            log.info("informational kafka commit failed", extra={"error": f"{type(exc).__name__}: {exc}"})

    def lag(self) -> dict[TopicPartition, int]:
        """High watermark (from the last fetch responses) minus the next offset, per assigned partition."""
        out: dict[TopicPartition, int] = {}
        if self._consumer is None:
            return out
        for ktp in self._consumer.assignment():
            tp = (ktp.topic, ktp.partition)
            high = self._consumer.highwater(ktp)
            nxt = self._next.get(tp)
            if high is not None and nxt is not None:
                out[tp] = max(0, high - nxt)
        return out

    @property
    def exhausted(self) -> bool:
        return False

    def close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except KafkaError as exc:  # pragma: no cover - closing a consumer of a dead broker
                log.info("kafka consumer close failed", extra={"error": str(exc)})
            self._consumer = None
