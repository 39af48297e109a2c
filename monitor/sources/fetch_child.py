"""The fetch process of :class:`monitor.sources.kafka_process.FetchProcessSource` (runs in a child process).

kafka-python parses every record in Python (about 30 µs each here), on the same core as everything the
watcher does with it. This child runs a :class:`~monitor.sources.kafka.KafkaSource` (the same consumer-group
code as the one-process source) and ships what it fetches to the parent in compact column lists, so fetching
and parsing records runs on one core while the watcher decodes, windows and tests them on another.

Wire protocol (pickled tuples over a :mod:`multiprocessing` pipe):

child → parent
    ``("started",)`` / ``("error", kind, message)`` once, after subscribing (kind ``unavailable`` or ``source``);
    ``("records", [(topic, partition, offsets, keys, values, timestamps), ...], highwaters)``;
    ``("assigned", tps)``: newly assigned partitions, paused here until the parent resumes them;
    ``("revoked", tps)``: the child then waits for ``("ack_revoke",)`` before kafka-python goes on with the
    rebalance, so the parent persists those partitions before another member can read them;
    ``("sought", tp, seq, offset)``: the seek number ``seq`` is applied (``offset``: where it landed, the
    earliest offset resolved); records of ``tp`` sent before it are stale;
    ``("highwaters", highwaters)``: when they changed without records.

parent → child
    ``("seek", tp, offset, seq)``, ``("pause", tps)``, ``("resume", tps)``, ``("commit", offsets)``,
    ``("credit", n)`` (n more ``records`` messages may be sent: bounds what is in flight), ``("ack_revoke",)``,
    ``("close",)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from monitor.sources.base import SourceError, SourceUnavailable, TopicPartition

__all__ = ["CHUNK_RECORDS", "child_main"]

log = logging.getLogger("monitor.sources.fetch")

CHUNK_RECORDS = 1000
"""Records per ``records`` message at most (one kafka-python poll)."""


class _Child:
    def __init__(self, conn: Connection, options: dict[str, Any]) -> None:
        from monitor.sources.kafka import KafkaSource

        self.conn = conn
        self.source = KafkaSource(options["bootstrap_servers"], options["group_id"], options["predictions_topic"],
                                  options["outcomes_topic"], client_id=options["client_id"],
                                  **options["consumer_config"])
        self.credit = int(options["credit"])
        self.assigned: set[TopicPartition] = set()
        self.held: set[TopicPartition] = set()  # paused for the parent (new, or asked to)
        self.flow_paused = False
        self.closing = False
        self.revoke_acked = False
        self.highwaters: dict[TopicPartition, int] = {}
        self.deferred: list[tuple[Any, ...]] = []

    # -- AssignmentListener (called by KafkaSource from inside poll) ----------------------------------
    def on_assigned(self, partitions: Sequence[TopicPartition]) -> None:
        self.assigned.update(partitions)
        self.held.update(partitions)  # KafkaSource paused them already
        self.conn.send(("assigned", list(partitions)))

    def on_revoked(self, partitions: Sequence[TopicPartition]) -> None:
        """Runs on kafka-python's IO thread, while the main thread waits in ``poll``: only the acknowledgement
        is handled here; other commands wait for the main loop (a seek may block on the IO thread)."""
        self.conn.send(("revoked", list(partitions)))
        self.revoke_acked = False
        while not self.revoke_acked and not self.closing:
            if self.conn.poll(0.5):
                cmd = self.conn.recv()
                if cmd[0] in ("ack_revoke", "close", "credit"):
                    self._command(cmd)
                else:
                    self.deferred.append(cmd)
        self.assigned.difference_update(partitions)
        self.held.difference_update(partitions)
        for tp in partitions:
            self.highwaters.pop(tp, None)

    # -- commands ------------------------------------------------------------------------------------
    def _command(self, cmd: tuple[Any, ...]) -> None:
        op = cmd[0]
        if op == "credit":
            self.credit += int(cmd[1])
        elif op == "seek":
            _, tp, offset, seq = cmd
            tp = tuple(tp)
            if tp in self.assigned:
                self.source.seek(tp, offset)
            self.conn.send(("sought", tp, seq, self.source.next_offset(tp)))
        elif op == "pause":
            tps = [tuple(tp) for tp in cmd[1] if tuple(tp) in self.assigned]
            self.held.update(tps)
            self.source.pause(tps)
        elif op == "resume":
            tps = [tuple(tp) for tp in cmd[1] if tuple(tp) in self.assigned]
            self.held.difference_update(tps)
            if not self.flow_paused:
                self.source.resume(tps)
        elif op == "commit":
            self.source.commit(cmd[1])
        elif op == "ack_revoke":
            self.revoke_acked = True
        elif op == "close":
            self.closing = True

    def _flow(self) -> None:
        """Pause everything while the parent has no credit left; resume what it did not pause itself."""
        if self.credit <= 0 and not self.flow_paused:
            self.flow_paused = True
            self.source.pause(sorted(self.assigned))
        elif self.credit > 0 and self.flow_paused:
            self.flow_paused = False
            self.source.resume(sorted(self.assigned - self.held))

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.source.start(self)
        except SourceUnavailable as exc:
            self.conn.send(("error", "unavailable", str(exc)))
            return
        except SourceError as exc:
            self.conn.send(("error", "source", str(exc)))
            return
        self.conn.send(("started",))
        last_hw = 0.0
        try:
            while not self.closing:
                while self.deferred:
                    self._command(self.deferred.pop(0))
                while self.conn.poll(0):
                    self._command(self.conn.recv())
                if self.closing:
                    break
                self._flow()
                sent = self._poll(0.05 if self.credit > 0 else 0.0)
                if not sent:
                    now = time.monotonic()
                    if now - last_hw >= 0.2:
                        last_hw = now
                        self._send_highwaters()
                    if self.credit <= 0:
                        self.conn.poll(0.05)  # wait for credit (or any command)
        finally:
            self.source.close()

    def _poll(self, timeout: float) -> bool:
        consumer = self.source.consumer
        try:
            batches = consumer.poll(timeout_ms=int(timeout * 1000), max_records=CHUNK_RECORDS)
        except Exception as exc:  # kafka errors: the loop keeps going, as KafkaSource.poll does
            log.warning("kafka poll failed, retrying", extra={"error": f"{type(exc).__name__}: {exc}"})
            return False
        if self.closing:
            return False
        chunks = []
        for ktp, records in batches.items():
            if not records:
                continue
            tp = (ktp.topic, ktp.partition)
            if tp not in self.assigned:
                continue
            chunks.append((ktp.topic, ktp.partition, [r.offset for r in records], [r.key for r in records],
                           [r.value for r in records], [r.timestamp for r in records]))
        if not chunks:
            return False
        self.credit -= 1
        self.conn.send(("records", chunks, self._highwaters()))
        return True

    def _highwaters(self) -> dict[TopicPartition, int]:
        from kafka import TopicPartition as KafkaTP

        consumer = self.source.consumer
        out: dict[TopicPartition, int] = {}
        for tp in self.assigned:
            high = consumer.highwater(KafkaTP(*tp))
            if high is not None:
                out[tp] = int(high)
        return out

    def _send_highwaters(self) -> None:
        hw = self._highwaters()
        if hw != self.highwaters:
            self.highwaters = hw
            self.conn.send(("highwaters", hw))


def child_main(conn: Connection, options: dict[str, Any]) -> None:
    """Entry point of the fetch process."""
    from monitor.logging import configure_logging

    configure_logging(options.get("log_level", "INFO"))
    try:
        _Child(conn, options).run()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the parent is gone or stopping: nothing left to do
    finally:
        conn.close()
