"""Dead-letter records: bounded raw bytes, full size kept, model from the key, rows round-trip."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from monitor.consumer.deadletter import DeadLetterPublisher, DeadLetterRecord
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import DeadLetter
from monitor.sources import RawMessage


def test_record_bounds_raw_and_keeps_where_it_came_from(sqlite_url: str) -> None:
    msg = RawMessage("preds", 2, 17, b"recommender", b"x" * 100_000, "prediction")
    rec = DeadLetterRecord.of(msg, "too big", category="oversized", error_class="EventDecodeError")
    assert len(rec.raw) == 65_536 and rec.raw_size == 100_000 and rec.model == "recommender"
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with session_factory(engine).begin() as session:
        session.add(rec.to_row())
    with session_factory(engine)() as session:
        row = session.scalars(select(DeadLetter)).one()
        assert (row.source, row.partition, row.offset, row.reason) == ("preds", 2, 17, "too big")
        assert row.raw_size == 100_000 and len(row.raw) == 65_536
    engine.dispose()


def test_model_is_optional_and_given_model_wins() -> None:
    rec = DeadLetterRecord.of(RawMessage("t", 0, 1, None, None, "any"), "empty", category="malformed",
                              error_class="X")
    assert rec.model is None and rec.raw == b"" and rec.raw_size == 0
    rec = DeadLetterRecord.of(RawMessage("t", 0, 1, b"k", b"{}", "any"), "unknown model 'z'",
                              category="unknown_model", error_class="UnknownModel", model="z")
    assert rec.model == "z"


class ListProducer:
    """A stand-in for KafkaProducer; the real topic path is covered in tests/integration/test_run_kafka.py."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = fail

    def send(self, topic: str, **kwargs: Any) -> None:
        if self.fail:
            raise RuntimeError("broker down")
        self.sent.append({"topic": topic, **kwargs})


def test_publisher_sends_headers_and_never_raises() -> None:
    rec = DeadLetterRecord.of(RawMessage("t", 1, 9, b"m", b"\xff", "prediction"), "not UTF-8",
                              category="malformed", error_class="EventDecodeError")
    producer = ListProducer()
    assert DeadLetterPublisher("dlq", producer).publish([rec]) == 1
    headers = dict(producer.sent[0]["headers"])
    assert headers["offset"] == b"9" and headers["category"] == b"malformed"
    assert producer.sent[0]["value"] == b"\xff"
    assert DeadLetterPublisher("dlq", ListProducer(fail=True)).publish([rec]) == 0
