"""Round trip through the real Kafka broker (``scripts/kafka-local``): produce, consume, commit.

A new 3-partition topic gets 10,000 keyed messages; one consumer group reads them all back,
committing explicitly. Every message must arrive exactly once, on the partition the producer
reported, and the group's committed offsets must equal the partitions' end offsets. A second
consumer of the same group then must read nothing (``auto_offset_reset="earliest"`` means that
missing commits would make it re-read everything).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

MESSAGES = 10_000
PARTITIONS = 3
DEADLINE_S = 120.0


@dataclass(frozen=True)
class Roundtrip:
    """What the module's one produce/consume pass observed."""

    topic: str
    group: str
    produced: dict[int, int]  # message number -> partition the broker acknowledged it on
    consumed: list[tuple[int, int, bytes, int]]  # (partition, offset, key, message number)
    end_offsets: dict[TopicPartition, int]


def _admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dw-test-roundtrip-admin")


def _consumer(bootstrap: str, group: str, topic: str | None = None) -> KafkaConsumer:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=f"dw-test-{group}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        key_deserializer=bytes,
        value_deserializer=lambda raw: int(raw.decode("ascii")),
    )
    if topic is not None:
        consumer.subscribe([topic])
    return consumer


def _group_offsets(admin: KafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    """Committed offsets of ``group`` as the broker's group coordinator reports them."""
    list_group_offsets = getattr(admin, "list_group_offsets", None)
    if list_group_offsets is not None:  # kafka-python >= 3
        offsets: Any = list_group_offsets({group: None})[group]
    else:  # kafka-python 2.x
        offsets = admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in offsets.items()}


def _create_topic(admin: KafkaAdminClient, topic: str) -> None:
    admin.create_topics({topic: {"num_partitions": PARTITIONS, "replication_factor": 1}})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = admin.describe_topics([topic])
        parts = described[0].get("partitions", []) if described else []
        if (
            described
            and described[0].get("error_code", 0) == 0
            and len(parts) == PARTITIONS
            and all(p.get("leader_id", p.get("leader", -1)) >= 0 for p in parts)  # 3.x / 2.x key
        ):
            return
        time.sleep(0.2)
    pytest.fail(f"topic {topic!r} on the broker has no leader for all {PARTITIONS} partitions after 30s")


def _produce(bootstrap: str, topic: str) -> dict[int, int]:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="dw-test-roundtrip-producer",
        acks="all",
        linger_ms=5,
        key_serializer=lambda key: key.encode("ascii"),
        value_serializer=lambda value: str(value).encode("ascii"),
    )
    try:
        futures = [(n, producer.send(topic, key=f"key-{n}", value=n)) for n in range(MESSAGES)]
        producer.flush(timeout=60)
        return {n: future.get(timeout=30).partition for n, future in futures}
    finally:
        producer.close(timeout=10)


def _consume_all(bootstrap: str, group: str, topic: str) -> list[tuple[int, int, bytes, int]]:
    consumer = _consumer(bootstrap, group, topic)
    consumed: list[tuple[int, int, bytes, int]] = []
    try:
        deadline = time.monotonic() + DEADLINE_S
        while len(consumed) < MESSAGES and time.monotonic() < deadline:
            batches = consumer.poll(timeout_ms=1000)
            if not batches:
                continue
            for records in batches.values():
                consumed.extend((r.partition, r.offset, r.key, r.value) for r in records)
            consumer.commit()  # synchronous: offsets of everything returned so far
        # Anything beyond MESSAGES would be a duplicate: give it a moment to show up.
        for records in consumer.poll(timeout_ms=2000).values():
            consumed.extend((r.partition, r.offset, r.key, r.value) for r in records)
        consumer.commit()
    finally:
        consumer.close(autocommit=False)
    return consumed


@pytest.fixture(scope="module")
def roundtrip(kafka_bootstrap: str) -> Iterator[Roundtrip]:
    topic = f"dw-test-roundtrip-{uuid.uuid4().hex[:12]}"
    group = f"dw-test-group-{uuid.uuid4().hex[:12]}"
    admin = _admin(kafka_bootstrap)
    try:
        _create_topic(admin, topic)
        produced = _produce(kafka_bootstrap, topic)
        consumed = _consume_all(kafka_bootstrap, group, topic)
        probe = KafkaConsumer(bootstrap_servers=kafka_bootstrap, client_id="dw-test-end-offsets")
        try:
            tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            end_offsets = dict(probe.end_offsets(tps))
        finally:
            probe.close()
        yield Roundtrip(topic, group, produced, consumed, end_offsets)
    finally:
        try:
            admin.delete_topics([topic])
        finally:
            admin.close()


def test_every_message_arrives_exactly_once_across_three_partitions(roundtrip: Roundtrip) -> None:
    numbers = [n for _, _, _, n in roundtrip.consumed]
    duplicates = {n: c for n, c in Counter(numbers).items() if c > 1}
    assert not duplicates, f"messages consumed more than once: {dict(list(duplicates.items())[:10])}"
    missing = set(range(MESSAGES)) - set(numbers)
    assert not missing, f"{len(missing)} messages never consumed, e.g. {sorted(missing)[:10]}"
    assert len(numbers) == MESSAGES

    for partition, _, key, n in roundtrip.consumed:
        assert key == f"key-{n}".encode("ascii"), f"message {n} came back with key {key!r}"
        assert partition == roundtrip.produced[n], (
            f"message {n} acknowledged on partition {roundtrip.produced[n]} but consumed from {partition}"
        )
    per_partition = Counter(p for p, _, _, _ in roundtrip.consumed)
    assert set(per_partition) == set(range(PARTITIONS)), f"keys did not spread: {dict(per_partition)}"
    assert per_partition == Counter(roundtrip.produced.values())


def test_committed_offsets_equal_end_offsets(roundtrip: Roundtrip, kafka_bootstrap: str) -> None:
    assert sum(roundtrip.end_offsets.values()) == MESSAGES, roundtrip.end_offsets
    per_partition = Counter(p for p, _, _, _ in roundtrip.consumed)
    for tp, end in roundtrip.end_offsets.items():
        assert end == per_partition[tp.partition], f"{tp}: end offset {end}, consumed {per_partition[tp.partition]}"

    admin = _admin(kafka_bootstrap)
    try:
        committed = _group_offsets(admin, roundtrip.group)
    finally:
        admin.close()
    assert committed == roundtrip.end_offsets, f"group {roundtrip.group} committed {committed}"

    # The same answer through the consumer-side OffsetFetch, from a consumer that never joined.
    viewer = _consumer(kafka_bootstrap, roundtrip.group)
    try:
        for tp, end in roundtrip.end_offsets.items():
            assert viewer.committed(tp) == end, f"{tp}: committed {viewer.committed(tp)}, end {end}"
    finally:
        viewer.close(autocommit=False)


def test_second_consumer_in_group_reads_nothing_new(roundtrip: Roundtrip, kafka_bootstrap: str) -> None:
    consumer = _consumer(kafka_bootstrap, roundtrip.group, roundtrip.topic)
    extra: list[tuple[int, int]] = []
    try:
        deadline = time.monotonic() + 60
        while not consumer.assignment() and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                extra.extend((r.partition, r.offset) for r in records)
        assignment = consumer.assignment()
        assert len(assignment) == PARTITIONS, f"second consumer got assignment {assignment} after 60s"
        quiet_until = time.monotonic() + 3
        while time.monotonic() < quiet_until:
            for records in consumer.poll(timeout_ms=500).values():
                extra.extend((r.partition, r.offset) for r in records)
        positions = {tp: consumer.position(tp) for tp in assignment}
    finally:
        consumer.close(autocommit=False)
    assert not extra, f"second consumer re-read {len(extra)} records, e.g. {extra[:5]}"
    assert positions == roundtrip.end_offsets, f"second consumer resumed at {positions}"
