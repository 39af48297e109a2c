"""The fetch process's ``records`` wire format (interned keys, read with :class:`_PipeReader`) gives exactly the
:class:`RawMessage` s the plain column lists read with :meth:`Connection.recv` gave."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

import pytest

from monitor.sources.base import RawMessage, raw_messages
from monitor.sources.fetch_child import _Rec, record_columns
from monitor.sources.kafka_process import _PipeReader

KINDS: dict[str, Any] = {"preds": "prediction", "outs": "outcome"}


@pytest.fixture
def pipe() -> Iterator[tuple[Connection, Connection]]:
    parent, child = multiprocessing.get_context("spawn").Pipe(duplex=True)
    yield parent, child
    parent.close()
    child.close()


def _batches() -> dict[tuple[str, int], list[_Rec]]:
    """Records as kafka-python hands them out: None keys and values, empty, large and non-ASCII values,
    repeated keys (separate objects, as kafka-python parses each), gaps in offsets."""
    names = [f"bench-{c}" for c in "abcdef"]
    preds = [_Rec(100 + i, bytes(names[i % 6], "ascii"), b'{"i": %d}' % i, 1_763_900_000_000 + i)
             for i in range(1000)]
    preds[3] = _Rec(103, None, b"", 1_763_900_000_003)
    preds[4] = _Rec(104, b"", None, 0)
    preds[5] = _Rec(105, "modèle".encode(), "é☃\u0000\xff".encode() + bytes(range(256)), -1)
    preds[6] = _Rec(107, b"\xff\xfe", b"x" * 3_000_000, 2**62)  # larger than the reader's first buffer
    outs = [_Rec(7, None, None, 1), _Rec(9, b"k", b"", 2)]
    return {("preds", 0): preds, ("outs", 3): outs}


def _old_columns(batches: dict[tuple[str, int], list[_Rec]]) -> list[tuple[Any, ...]]:
    return [(t, p, [r.offset for r in recs], [r.key for r in recs], [r.value for r in recs],
             [r.timestamp for r in recs]) for (t, p), recs in batches.items()]


def _new_columns(batches: dict[tuple[str, int], list[_Rec]]) -> list[tuple[Any, ...]]:
    keys: dict[Any, Any] = {}
    return [record_columns(t, p, recs, keys) for (t, p), recs in batches.items()]


def _raw(msg: tuple[Any, ...]) -> list[RawMessage]:
    assert msg[0] == "records"
    out: list[RawMessage] = []
    for topic, partition, offsets, keys, values, stamps in msg[1]:
        out.extend(raw_messages(topic, partition, KINDS[topic], offsets, keys, values, stamps))
    return out


def _send_later(conn: Connection, *msgs: tuple[Any, ...]) -> threading.Thread:
    thread = threading.Thread(target=lambda: [conn.send(m) for m in msgs], daemon=True)
    thread.start()
    return thread


def _types(msgs: list[RawMessage]) -> list[tuple[type, ...]]:
    return [tuple(type(f) for f in m) for m in msgs]


def test_wire_format_gives_the_raw_messages_sent(pipe: tuple[Connection, Connection]) -> None:
    parent, child = pipe
    batches = _batches()
    hw = {("preds", 0): 1108, ("outs", 3): 10}
    sender = _send_later(child, ("records", _old_columns(batches), hw), ("records", _new_columns(batches), hw))
    old = parent.recv()
    new = _PipeReader(parent).recv()
    sender.join()
    assert new[2] == old[2] == hw
    old_raw, new_raw = _raw(old), _raw(new)
    assert len(new_raw) == 1002
    assert new_raw == old_raw
    assert _types(new_raw) == _types(old_raw)
    assert {type(m.key) for m in new_raw} == {bytes, type(None)}
    assert {type(m.value) for m in new_raw} == {bytes, type(None)}
    assert {type(m.offset) for m in new_raw} == {type(m.timestamp_ms) for m in new_raw} == {int}
    assert new_raw[5].value == "é☃\u0000\xff".encode() + bytes(range(256))
    assert len(new_raw[6].value or b"") == 3_000_000
    # repeated keys are one object on the parent's side too: what interning saves there
    assert new_raw[0].key is new_raw[6 * 10].key
    assert old_raw[0].key is not old_raw[6 * 10].key


def test_keys_are_interned_per_message_and_unhashable_keys_pass_through() -> None:
    keys: dict[Any, Any] = {}
    a = record_columns("t", 0, [_Rec(1, b"k", b"v", 1)], keys)
    b = record_columns("t", 1, [_Rec(1, bytes(bytearray(b"k")), b"v", 1)], keys)
    assert a[3][0] is b[3][0]
    odd = record_columns("t", 0, [_Rec(1, {"a": 1}, b"v", 1), _Rec(2, None, None, 2)], {})
    assert odd == ("t", 0, [1, 2], [{"a": 1}, None], [b"v", None], [1, 2])


def test_reader_reads_one_message_at_a_time_and_the_connection_still_works(
        pipe: tuple[Connection, Connection]) -> None:
    parent, child = pipe
    reader = _PipeReader(parent)
    sender = _send_later(child, ("started",), ("highwaters", {("t", 0): 5}), ("sought", ("t", 0), 1, None),
                         ("revoked", [("t", 0)]))
    assert reader.recv() == ("started",)
    assert parent.recv() == ("highwaters", {("t", 0): 5})  # the connection's own framing, in between
    assert parent.poll(5)
    assert reader.recv() == ("sought", ("t", 0), 1, None)
    assert reader.recv() == ("revoked", [("t", 0)])
    sender.join()
    assert not parent.poll(0)
    parent.send(("ack_revoke",))
    assert child.recv() == ("ack_revoke",)


def test_reader_end_of_pipe(pipe: tuple[Connection, Connection]) -> None:
    parent, child = pipe
    reader = _PipeReader(parent)
    child.send(("started",))
    child.close()
    assert reader.recv() == ("started",)
    with pytest.raises(EOFError):
        reader.recv()


def test_reader_pipe_ending_inside_a_message(pipe: tuple[Connection, Connection]) -> None:
    parent, child = pipe
    child._send(b"\x00\x00\x01\x00" + b"abc")  # type: ignore[attr-defined]  # 256 bytes announced, 3 sent
    child.close()
    with pytest.raises(OSError, match="end of file during message"):
        _PipeReader(parent).recv()
