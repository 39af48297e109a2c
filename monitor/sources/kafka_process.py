"""The Kafka source with its consumer in a child process (``driftwarden run --fetch-process``).

Same contract as :class:`~monitor.sources.kafka.KafkaSource` (the :class:`~monitor.sources.base.Source`
protocol), but the kafka-python consumer runs in :mod:`monitor.sources.fetch_child`: fetching and parsing
records uses one core, the watcher's decoding, windows and tests another. What makes it exact:

- **Order.** Records of a partition come through one pipe in offset order; a control message (assigned,
  revoked) ends a poll batch, so the service sees records and rebalances in the order the consumer did.
- **Revokes.** The child blocks its rebalance callback until this side has called ``on_revoked`` (which
  persists the partitions) and acknowledged: no other member reads them before their state is stored.
- **Seeks.** Records of a partition that were in flight when the service sought it are dropped here until
  the child confirms that seek (``sought``), so a rewind never leaves a gap.
- **Pauses.** Records that arrive for a paused partition are kept (in order) and handed out after the resume:
  a paused partition yields nothing, and nothing in flight is lost.
- **Memory.** The child sends at most ``credit`` record messages (of up to 1,000 records) ahead of what
  this side has taken from the pipe; it pauses its partitions while it has no credit.

If the child dies, its partitions are treated as revoked and a new child joins the group.

This side is the watcher's busy process, so it reads the child's messages with :class:`_PipeReader`: straight
from the pipe's file descriptor into one reusable buffer, instead of :meth:`Connection.recv`, which allocates
a new buffer for every read (for a 1,000-record message, about 0.8 MB of fresh pages each time).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import struct
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from monitor.sources.base import (
    AssignmentListener,
    RawMessage,
    SourceError,
    SourceUnavailable,
    TopicPartition,
    raw_messages,
    topic_kinds,
)
from monitor.sources.fetch_child import child_main

__all__ = ["FetchProcessSource"]

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0

_SIZE = struct.Struct("!i")
_LONG_SIZE = struct.Struct("!Q")


class _PipeReader:
    """Receives pickled messages from a :class:`Connection` as :meth:`Connection.recv` does (same framing: a
    4-byte big-endian length, ``-1`` then an 8-byte length for a message past 2 GiB, then the pickle; same
    errors: :class:`EOFError` at the end of the pipe, :class:`OSError` if it ends inside a message), but reads
    into one buffer kept from message to message (up to ``KEEP`` bytes; a larger message gets its own).
    It reads exactly one message's bytes, so the connection's own ``poll``, ``recv`` and ``send`` still work
    on the same pipe. Where the connection is not a POSIX file descriptor it simply calls ``recv``."""

    KEEP = 64 << 20

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._fd = conn.fileno() if os.name == "posix" and hasattr(os, "readv") else -1
        self._buf = memoryview(bytearray(1 << 20))

    def recv(self) -> Any:
        if self._fd < 0:
            return self._conn.recv()
        (size,) = _SIZE.unpack(self._read(4))
        if size == -1:
            (size,) = _LONG_SIZE.unpack(self._read(8))
        return pickle.loads(self._read(size))

    def _read(self, n: int) -> memoryview:
        """The next ``n`` bytes of the pipe (a view of the buffer, valid until the next read)."""
        buf = self._buf
        if n > len(buf):
            buf = memoryview(bytearray(n))
            if n <= self.KEEP:
                self._buf = buf
        view = buf[:n]
        got = 0
        while got < n:
            k = os.readv(self._fd, [view[got:]])
            if k == 0:
                if got == 0:
                    raise EOFError
                raise OSError("got end of file during message")
            got += k
        return view


class FetchProcessSource:
    """Consumer-group source whose kafka-python consumer runs in a child process (see the module docstring)."""

    def __init__(
        self,
        bootstrap_servers: str | list[str],
        group_id: str,
        predictions_topic: str,
        outcomes_topic: str,
        *,
        client_id: str = "driftwarden",
        credit: int = 8,
        stall_timeout: float = 60.0,
        log_level: str = "INFO",
        **consumer_config: Any,
    ) -> None:
        self._kinds = topic_kinds(predictions_topic, outcomes_topic)
        if credit < 1:
            raise SourceError(f"credit must be at least 1, got {credit!r}")
        self.predictions_topic = predictions_topic
        self.outcomes_topic = outcomes_topic
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers, "group_id": group_id, "predictions_topic": predictions_topic,
            "outcomes_topic": outcomes_topic, "client_id": client_id, "consumer_config": consumer_config,
            "credit": credit, "log_level": log_level,
        }
        self.stall_timeout = stall_timeout
        self._listener: AssignmentListener | None = None
        self._proc: Any = None
        self._conn: Connection | None = None
        self._reader: _PipeReader | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self._assigned: set[TopicPartition] = set()
        self._paused: set[TopicPartition] = set()
        self._buffers: dict[TopicPartition, deque[list[RawMessage]]] = {}
        self._awaiting: dict[TopicPartition, int] = {}  # tp -> seek number not confirmed yet
        self._seek_seq = 0
        self._control: deque[tuple[Any, ...]] = deque()
        self._highwaters: dict[TopicPartition, int] = {}
        self._next: dict[TopicPartition, int] = {}
        self._grant = 0
        self._last_progress = time.monotonic()

    # -- life cycle ----------------------------------------------------------------------------------
    def start(self, listener: AssignmentListener) -> None:
        """Start the fetch process; :class:`SourceUnavailable` if no broker answers (try again later)."""
        self._listener = listener
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=child_main, args=(child, self._options), name="driftwarden-fetch", daemon=True)
        proc.start()
        child.close()
        if not parent.poll(START_TIMEOUT):
            proc.kill()
            raise SourceUnavailable(f"the Kafka fetch process did not start within {START_TIMEOUT:.0f}s")
        try:
            first = parent.recv()
        except EOFError:
            proc.join(5)
            raise SourceUnavailable(f"the Kafka fetch process exited at start (exit code {proc.exitcode})") from None
        if first[0] == "error":
            proc.join(10)
            parent.close()
            raise (SourceUnavailable if first[1] == "unavailable" else SourceError)(first[2])
        self._proc, self._conn, self._reader = proc, parent, _PipeReader(parent)

    def restart(self, listener: AssignmentListener) -> None:
        """Stop the fetch process and start a new one (a new group member)."""
        self.close()
        self.start(listener)

    def close(self) -> None:
        conn, proc = self._conn, self._proc
        self._conn = self._proc = self._reader = None
        self._reset_state()
        if conn is None:
            return
        try:
            conn.send(("close",))
            # drain until the child exits, so it is never blocked on a full pipe
            while proc.is_alive():
                if conn.poll(0.1):
                    msg = conn.recv()
                    if msg[0] == "revoked":
                        conn.send(("ack_revoke",))
        except (EOFError, OSError):
            pass
        proc.join(30)
        if proc.is_alive():  # pragma: no cover - a child stuck in kafka-python's close
            proc.kill()
            proc.join(5)
        conn.close()

    # -- commands to the child -----------------------------------------------------------------------
    def _send(self, cmd: tuple[Any, ...]) -> None:
        if self._conn is None:  # the child died: its successor starts from the stored state
            return
        try:
            self._conn.send(cmd)
        except OSError as exc:
            log.warning("kafka fetch process unreachable", extra={"error": str(exc)})

    def seek(self, tp: TopicPartition, offset: int | None) -> None:
        self._seek_seq += 1
        self._awaiting[tp] = self._seek_seq
        self._buffers.pop(tp, None)
        if offset is not None:
            self._next[tp] = offset
        else:
            self._next.pop(tp, None)
        self._send(("seek", tp, offset, self._seek_seq))

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        tps = [tp for tp in tps if tp in self._assigned]
        if tps:
            self._paused.update(tps)
            self._send(("pause", tps))

    def resume(self, tps: Sequence[TopicPartition]) -> None:
        tps = [tp for tp in tps if tp in self._assigned]
        if tps:
            self._paused.difference_update(tps)
            self._send(("resume", tps))

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if offsets:
            self._send(("commit", dict(offsets)))

    # -- reading -------------------------------------------------------------------------------------
    def poll(self, timeout: float, max_records: int) -> list[RawMessage]:
        """Up to ``max_records`` messages; handles at most one control message first (see the docstring)."""
        if self._conn is None:
            return self._revive(timeout)
        if self._control:
            self._handle(self._control.popleft())
        out = self._take(max_records)
        wait = timeout
        while len(out) < max_records and not self._control:
            if not self._receive(wait):
                break
            wait = 0.0
            if not self._control:
                out.extend(self._take(max_records - len(out)))
        if self._grant:
            self._send(("credit", self._grant))
            self._grant = 0
        self._watchdog()
        return out

    def _watchdog(self) -> None:
        """Restart a child that stopped delivering: a partition that may flow, with records waiting behind it
        (high watermark past the next offset), and no record message for ``stall_timeout`` seconds. Its
        partitions are revoked (persisted) and a new child joins; the service restores and seeks them."""
        now = time.monotonic()
        stalled = [tp for tp in self._assigned
                   if tp not in self._paused and tp not in self._awaiting and not self._buffers.get(tp)
                   and self._highwaters.get(tp, 0) > self._next.get(tp, self._highwaters.get(tp, 0))]
        if not stalled:
            self._last_progress = now
            return
        if now - self._last_progress < self.stall_timeout or self._proc is None:
            return
        log.error("the Kafka fetch process delivered nothing for %.0fs while records wait; restarting it",
                  now - self._last_progress, extra={"partitions": sorted(stalled)})
        self._proc.kill()
        self._last_progress = now

    def _receive(self, timeout: float) -> bool:
        """Take one message from the pipe (waiting up to ``timeout``); False if none came."""
        conn, reader = self._conn, self._reader
        assert conn is not None and reader is not None
        try:
            if not conn.poll(timeout):
                return False
            msg = reader.recv()
        except (EOFError, OSError):
            self._child_died()
            return False
        op = msg[0]
        if op == "records":
            self._grant += 1
            self._last_progress = time.monotonic()
            self._highwaters.update(msg[2])
            kinds = self._kinds
            for topic, partition, offsets, keys, values, stamps in msg[1]:
                tp = (topic, partition)
                if tp in self._awaiting or tp not in self._assigned:
                    continue  # sent before a seek (or a revoke) this side made: stale
                chunk = raw_messages(topic, partition, kinds[topic], offsets, keys, values, stamps)
                self._buffers.setdefault(tp, deque()).append(chunk)
        elif op == "highwaters":
            self._highwaters.update(msg[1])
        elif op == "sought":
            _, tp, seq, offset = msg
            tp = tuple(tp)
            if self._awaiting.get(tp) == seq:
                del self._awaiting[tp]
                if offset is not None:
                    self._next.setdefault(tp, offset)
        elif op in ("assigned", "revoked"):  # handled in order, at the start of the next poll
            self._control.append(msg)
        return True

    def _take(self, limit: int) -> list[RawMessage]:
        """Buffered records of partitions that may flow, up to ``limit``, partitions served in turn."""
        out: list[RawMessage] = []
        buffers = self._buffers
        for tp in list(buffers):
            chunks = buffers[tp]
            if not chunks or tp in self._paused or tp in self._awaiting:
                continue
            buffers[tp] = buffers.pop(tp)  # to the end of the turn order
            while chunks and len(out) < limit:
                chunk = chunks[0]
                room = limit - len(out)
                if len(chunk) <= room:
                    out.extend(chunks.popleft())
                else:
                    out.extend(chunk[:room])
                    chunks[0] = chunk[room:]
                self._next[tp] = out[-1].offset + 1
            if len(out) >= limit:
                break
        return out

    def _handle(self, msg: tuple[Any, ...]) -> None:
        listener = self._listener
        assert listener is not None
        tps = [tuple(tp) for tp in msg[1]]
        if msg[0] == "assigned":
            self._assigned.update(tps)
            self._paused.update(tps)  # the child paused them: until the service seeks and resumes
            for tp in tps:
                self._buffers.pop(tp, None)
            listener.on_assigned(tps)
        elif msg[0] == "revoked":
            try:
                listener.on_revoked(tps)
            finally:
                self._forget(tps)
                self._send(("ack_revoke",))

    def _forget(self, tps: Sequence[TopicPartition]) -> None:
        for tp in tps:
            self._assigned.discard(tp)
            self._paused.discard(tp)
            self._buffers.pop(tp, None)
            self._awaiting.pop(tp, None)
            self._highwaters.pop(tp, None)
            self._next.pop(tp, None)

    def _child_died(self) -> None:
        """The child is gone (killed, crashed): its partitions are revoked here; :meth:`poll` starts a new one."""
        proc = self._proc
        if proc is not None:
            proc.join(5)
        code = proc.exitcode if proc is not None else None
        log.error("the Kafka fetch process died (exit code %s); its partitions are revoked and a new one joins "
                  "the group", code, extra={"exit_code": code})
        tps = sorted(self._assigned)
        if self._conn is not None:
            self._conn.close()
        self._conn = self._proc = self._reader = None
        self._reset_state()
        if tps and self._listener is not None:
            self._listener.on_revoked(tps)

    def _revive(self, timeout: float) -> list[RawMessage]:
        """Start a new fetch process after one died (waits ``timeout`` first if that fails)."""
        if self._listener is None:
            raise SourceError("the Kafka source is not started")
        try:
            self.start(self._listener)
        except SourceError as exc:
            log.warning("kafka fetch process could not be restarted, retrying", extra={"error": str(exc)})
            time.sleep(timeout)
        return []

    # -- state ---------------------------------------------------------------------------------------
    def caught_up(self, tp: TopicPartition) -> bool:
        """True when every record of ``tp`` up to its high watermark (as the child last saw it) is handed out."""
        high = self._highwaters.get(tp)
        nxt = self._next.get(tp)
        return (high is not None and nxt is not None and nxt >= high and not self._buffers.get(tp)
                and tp not in self._awaiting)

    def lag(self) -> dict[TopicPartition, int]:
        out: dict[TopicPartition, int] = {}
        for tp in self._assigned:
            high, nxt = self._highwaters.get(tp), self._next.get(tp)
            if high is not None and nxt is not None:
                out[tp] = max(0, high - nxt)
        return out

    @property
    def exhausted(self) -> bool:
        return False
