"""The fetch process of :class:`monitor.sources.kafka_process.FetchProcessSource` (runs in a child process).

kafka-python parses every record in Python (about 30 µs each here), on the same core as everything the
watcher does with it. This child runs a :class:`~monitor.sources.kafka.KafkaSource` (the same consumer-group
code as the one-process source) and ships what it fetches to the parent in compact column lists, so fetching
and parsing records runs on one core while the watcher decodes, windows and tests them on another.

Wire protocol (pickled tuples over a :mod:`multiprocessing` pipe, in its framing: a 4-byte big-endian length,
``-1`` then an 8-byte length past 2 GiB, then the pickle; the parent reads record messages straight from the
pipe into one reusable buffer, see :class:`monitor.sources.kafka_process.FetchProcessSource`):

child → parent
    ``("started",)`` / ``("error", kind, message)`` once, after subscribing (kind ``unavailable`` or ``source``);
    ``("records", [(topic, partition, offsets, keys, values, timestamps), ...], highwaters)``: one column list
    per field (:func:`record_columns`); a key that repeats within the message is one object, so pickle
    writes it once and a memo reference after (the parent unpickles a reference instead of a new ``bytes``);
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

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from kafka import TopicPartition as KafkaTP

from monitor.sources.base import SourceError, SourceUnavailable, TopicPartition

__all__ = ["CHUNK_RECORDS", "RecordColumns", "child_main", "record_columns"]

log = logging.getLogger("monitor.sources.fetch")

CHUNK_RECORDS = 1000
"""Records per ``records`` message at most (one kafka-python poll)."""


RecordColumns = tuple[str, int, list[int], list[Any], list[Any], list[int]]
"""One partition's records in a ``records`` message: topic, partition, offsets, keys, values, timestamps."""


def record_columns(topic: str, partition: int, records: Sequence[Any],
                   keys: dict[Any, Any]) -> RecordColumns:
    """The columns of one partition's kafka-python records; ``keys`` interns the keys of one message (pass the
    same dict for each partition of it): equal keys become one object, which pickle sends once.

    >>> cols = record_columns("t", 0, [_Rec(5, b"k", b"v", 1), _Rec(6, b"k", None, 2)], {})
    >>> cols
    ('t', 0, [5, 6], [b'k', b'k'], [b'v', None], [1, 2])
    >>> cols[3][0] is cols[3][1]
    True
    """
    try:
        intern = keys.setdefault
        key_list = [intern(r.key, r.key) for r in records]
    except TypeError:  # an unhashable key (a key_deserializer in the consumer config): sent as it is
        key_list = [r.key for r in records]
    return (topic, partition, [r.offset for r in records], key_list, [r.value for r in records],
            [r.timestamp for r in records])


class _Rec(NamedTuple):
    """A stand-in for kafka-python's ``ConsumerRecord`` (the fields :func:`record_columns` reads)."""

    offset: int
    key: Any
    value: Any
    timestamp: int


class _Child:
    """Three threads touch the pipe: kafka-python's IO thread runs the rebalance callbacks (they send), the main
    loop polls and sends records, and a reader thread is the only one that receives. The reader sets the
    revoke acknowledgement and the stop flag at once (a callback may be waiting for them while the main loop
    is inside ``poll``) and queues every other command for the main loop. Sends hold a lock."""

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
        self.closing = threading.Event()
        self.revoke_acked = threading.Event()
        self.highwaters: dict[TopicPartition, int] = {}
        self.commands: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.send_lock = threading.Lock()

    def send(self, msg: tuple[Any, ...]) -> None:
        with self.send_lock:
            self.conn.send(msg)

    def _read(self) -> None:
        """The reader thread: every command from the parent; the end of the pipe means stop."""
        try:
            while True:
                cmd = self.conn.recv()
                if cmd[0] == "ack_revoke":
                    self.revoke_acked.set()
                    continue
                if cmd[0] == "close":
                    self.closing.set()
                self.commands.put(cmd)
        except (EOFError, OSError):
            self.closing.set()  # the parent is gone (or killed): leave the group

    # -- AssignmentListener (called by KafkaSource on kafka-python's IO thread) -----------------------
    def on_assigned(self, partitions: Sequence[TopicPartition]) -> None:
        self.assigned.update(partitions)
        self.held.update(partitions)  # KafkaSource paused them already
        self.send(("assigned", list(partitions)))

    def on_revoked(self, partitions: Sequence[TopicPartition]) -> None:
        """Waits until the parent has persisted the partitions (its ``ack_revoke``) or is stopping."""
        self.revoke_acked.clear()
        self.send(("revoked", list(partitions)))
        while not self.revoke_acked.wait(0.2) and not self.closing.is_set():
            pass
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
            self.send(("sought", tp, seq, self.source.next_offset(tp)))
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
            self.send(("error", "unavailable", str(exc)))
            return
        except SourceError as exc:
            self.send(("error", "source", str(exc)))
            return
        threading.Thread(target=self._read, name="driftwarden-fetch-commands", daemon=True).start()
        self.send(("started",))
        last_hw = 0.0
        try:
            while not self.closing.is_set():
                while True:
                    try:
                        self._command(self.commands.get_nowait())
                    except queue.Empty:
                        break
                if self.closing.is_set():
                    break
                self._flow()
                # (a longer wait while nothing is assigned lets a group join complete inside the poll)
                if self._poll(0.0 if self.credit <= 0 else 0.05 if self.assigned else 0.5):
                    continue
                now = time.monotonic()
                if now - last_hw >= 0.2:
                    last_hw = now
                    self._send_highwaters()
                if self.credit <= 0:
                    with contextlib.suppress(queue.Empty):  # wait for credit (or any command)
                        self._command(self.commands.get(timeout=0.05))
        finally:
            self.source.close()

    def _poll(self, timeout: float) -> bool:
        if not self.source.ensure_started(max(timeout, 0.5)):
            return False
        consumer = self.source.consumer
        try:
            batches = consumer.poll(timeout_ms=int(timeout * 1000), max_records=CHUNK_RECORDS)
        except Exception as exc:  # kafka errors: the loop keeps going, as KafkaSource.poll does
            log.warning("kafka poll failed, retrying", extra={"error": f"{type(exc).__name__}: {exc}"})
            return False
        self.source.reconcile()
        if self.closing.is_set():
            return False
        chunks: list[RecordColumns] = []
        keys: dict[Any, Any] = {}
        for ktp, records in batches.items():
            if not records:
                continue
            tp = (ktp.topic, ktp.partition)
            if tp not in self.assigned:
                continue
            chunks.append(record_columns(ktp.topic, ktp.partition, records, keys))
        if not chunks:
            return False
        self.credit -= 1
        self.send(("records", chunks, self._highwaters()))
        return True

    def _highwaters(self) -> dict[TopicPartition, int]:
        consumer = self.source.consumer
        out: dict[TopicPartition, int] = {}
        for tp in sorted(self.assigned):  # (a copy: a callback may change the set meanwhile)
            high = consumer.highwater(KafkaTP(*tp))
            if high is not None:
                out[tp] = int(high)
        return out

    def _send_highwaters(self) -> None:
        hw = self._highwaters()
        if hw != self.highwaters:
            self.highwaters = hw
            self.send(("highwaters", hw))


def child_main(conn: Connection, options: dict[str, Any]) -> None:
    """Entry point of the fetch process."""
    from monitor.json_logs import configure_logging

    configure_logging(options.get("log_level", "INFO"))
    try:
        _Child(conn, options).run()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the parent is gone or stopping: nothing left to do
    except Exception:
        log.exception("the Kafka fetch process failed")
        raise
    finally:
        conn.close()
