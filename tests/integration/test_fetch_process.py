""":class:`FetchProcessSource` (the consumer in a child process) against the real broker.

Each test checks one promise of its module docstring with offsets: every record exactly once and in order,
a rewinding seek without a gap or a stale record, a paused partition that yields nothing and then continues
where it stopped (records in flight kept), a revoke handed to the listener before the other member reads,
a killed child whose partitions come back through a new one, and the watcher over it storing the windows
of a file-source run.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from prometheus_client import CollectorRegistry

from monitor.commands.replay import replay_file
from monitor.config.settings import Settings
from monitor.db import upgrade
from monitor.sources.base import RawMessage, TopicPartition
from monitor.sources.kafka_process import FetchProcessSource
from monitor.wiring import build_service
from scenario import generate_scenario
from scenario.runner import build_scenario_reference

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PARTITIONS = 3
PER_PARTITION = 1500


class Listener:
    def __init__(self) -> None:
        self.assigned: list[TopicPartition] = []
        self.revoked: list[TopicPartition] = []
        self.new: list[TopicPartition] = []

    def on_assigned(self, partitions: Sequence[TopicPartition]) -> None:
        self.assigned.extend(partitions)
        self.new.extend(partitions)

    def on_revoked(self, partitions: Sequence[TopicPartition]) -> None:
        self.revoked.extend(partitions)
        self.assigned = [tp for tp in self.assigned if tp not in partitions]


@pytest.fixture
def topics(kafka_bootstrap: str) -> Iterator[tuple[str, str]]:
    run_id = uuid.uuid4().hex[:8]
    preds, outs = f"dw-fetch-{run_id}", f"dw-fetch-{run_id}.outcomes"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(preds, PARTITIONS, 1), NewTopic(outs, PARTITIONS, 1)])
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    for i in range(PER_PARTITION):
        for p in range(PARTITIONS):
            producer.send(preds, f"{p}:{i}".encode() * 40, partition=p)
    producer.flush()
    producer.close()
    yield preds, outs
    admin.delete_topics([preds, outs])
    admin.close()


def _source(bootstrap: str, topics: tuple[str, str], group: str) -> FetchProcessSource:
    # small fetches: many record messages, so pauses and seeks land while records are in flight
    return FetchProcessSource(bootstrap, group, *topics, credit=4, max_partition_fetch_bytes=8 * 1024,
                              fetch_max_wait_ms=50, session_timeout_ms=6000, heartbeat_interval_ms=1500)


def _serve_new(source: FetchProcessSource, listener: Listener, offsets: dict[TopicPartition, int]) -> None:
    """What the service does after an assignment: seek to the stored offset, then resume."""
    for tp in listener.new:
        source.seek(tp, offsets.get(tp))
    source.resume(listener.new)
    listener.new.clear()


def _collect(source: FetchProcessSource, listener: Listener, got: dict[TopicPartition, list[int]],
             until: int, offsets: dict[TopicPartition, int] | None = None, deadline: float = 120) -> None:
    end = time.monotonic() + deadline
    while sum(map(len, got.values())) < until and time.monotonic() < end:
        batch: list[RawMessage] = source.poll(0.2, 300)
        if listener.new:
            _serve_new(source, listener, offsets or {})
        for msg in batch:
            got.setdefault((msg.topic, msg.partition), []).append(msg.offset)
            assert msg.value is not None and msg.value.startswith(f"{msg.partition}:{msg.offset}".encode())
            assert msg.kind == "prediction"


def test_every_record_once_in_order(kafka_bootstrap: str, topics: tuple[str, str]) -> None:
    source, listener = _source(kafka_bootstrap, topics, f"dw-fetch-{uuid.uuid4().hex[:6]}"), Listener()
    got: dict[TopicPartition, list[int]] = {}
    source.start(listener)
    try:
        _collect(source, listener, got, PARTITIONS * PER_PARTITION)
        time.sleep(0.5)
        assert source.poll(0.5, 100) == []
        assert source.lag() == {tp: 0 for tp in listener.assigned}
        assert all(source.caught_up((topics[0], p)) for p in range(PARTITIONS))
    finally:
        source.close()
    assert {tp: offs for tp, offs in got.items()} == {(topics[0], p): list(range(PER_PARTITION))
                                                      for p in range(PARTITIONS)}


def test_rewinding_seek_and_pause_lose_nothing(kafka_bootstrap: str, topics: tuple[str, str]) -> None:
    source, listener = _source(kafka_bootstrap, topics, f"dw-fetch-{uuid.uuid4().hex[:6]}"), Listener()
    got: dict[TopicPartition, list[int]] = {}
    tp0, tp1 = (topics[0], 0), (topics[0], 1)
    source.start(listener)
    try:
        _collect(source, listener, got, 600)
        # rewind partition 0 while its later records are in flight: they are dropped, no gap
        source.seek(tp0, 100)
        rewound_at = len(got.get(tp0, []))
        source.pause([tp1])
        paused_at = len(got.get(tp1, []))
        seen_while_paused = 0
        end = time.monotonic() + 60
        while len(got.get(tp0, [])) < rewound_at + PER_PARTITION - 100 and time.monotonic() < end:
            for msg in source.poll(0.2, 300):
                seen_while_paused += msg.partition == 1
                got.setdefault((msg.topic, msg.partition), []).append(msg.offset)
        assert seen_while_paused == 0
        source.resume([tp1])
        _collect(source, listener, got, rewound_at + PER_PARTITION - 100 + 2 * PER_PARTITION)
    finally:
        source.close()
    assert got[tp0] == list(range(rewound_at)) + list(range(100, PER_PARTITION))
    assert got[tp1] == list(range(PER_PARTITION)), f"paused at {paused_at}"
    assert got[(topics[0], 2)] == list(range(PER_PARTITION))


def test_revoke_reaches_the_listener_before_the_new_member_reads(kafka_bootstrap: str,
                                                                 topics: tuple[str, str]) -> None:
    group = f"dw-fetch-{uuid.uuid4().hex[:6]}"
    first, l1 = _source(kafka_bootstrap, topics, group), Listener()
    second, l2 = _source(kafka_bootstrap, topics, group), Listener()
    got1: dict[TopicPartition, list[int]] = {}
    first.start(l1)
    try:
        _collect(first, l1, got1, 300)
        second.start(l2)
        end = time.monotonic() + 90
        revoked_at: float | None = None
        while not (l2.assigned and l1.revoked) and time.monotonic() < end:
            for msg in first.poll(0.1, 50):  # (an eager rebalance revokes all, then assigns some back)
                assert (msg.topic, msg.partition) in l1.assigned, "a record of a revoked partition"
            if l1.revoked and revoked_at is None:
                revoked_at = time.monotonic()
            if l1.new:
                _serve_new(first, l1, {})
            second.poll(0.1, 50)
            if l2.new:
                assert l1.revoked, "the second member got partitions before the first one gave them up"
                _serve_new(second, l2, {})
        assert l1.revoked and l2.assigned
        assert set(l2.assigned) <= set(l1.revoked)
    finally:
        second.close()
        first.close()


def test_killed_child_revokes_and_comes_back(kafka_bootstrap: str, topics: tuple[str, str]) -> None:
    source, listener = _source(kafka_bootstrap, topics, f"dw-fetch-{uuid.uuid4().hex[:6]}"), Listener()
    got: dict[TopicPartition, list[int]] = {}
    source.start(listener)
    try:
        _collect(source, listener, got, 300)
        owned = sorted(listener.assigned)
        os.kill(source._proc.pid, signal.SIGKILL)
        end = time.monotonic() + 60
        while sorted(listener.revoked) != owned and time.monotonic() < end:
            source.poll(0.1, 10)
        assert sorted(listener.revoked) == owned
        listener.new.clear()
        resume_at = {tp: offs[-1] + 1 for tp, offs in got.items()}
        _collect(source, listener, got, PARTITIONS * PER_PARTITION, offsets=resume_at)
    finally:
        source.close()
    for p in range(PARTITIONS):
        assert got[(topics[0], p)] == list(range(PER_PARTITION))



def test_watcher_over_the_fetch_process_stores_the_file_runs_windows(
        tmp_path: Path, kafka_bootstrap: str, migrated_pg_url: str, sqlite_url: str,
        stored_windows: Callable[[str], list[tuple[Any, ...]]]) -> None:
    files = generate_scenario(tmp_path / "gen", seed=5, days=3, events_per_hour=80, reference_rows=3000)
    total = files.n_events  # predictions, outcomes and label events: every line of the file goes to Kafka
    run_id = uuid.uuid4().hex[:8]
    settings = Settings(kafka_bootstrap_servers=kafka_bootstrap, metrics_port=0, kafka_fetch_process=True,
                        kafka_predictions_topic=f"dw-fp-{run_id}", kafka_outcomes_topic=f"dw-fp-{run_id}.out",
                        kafka_consumer_group=f"dw-fp-{run_id}")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(settings.kafka_predictions_topic, 3, 1),
                         NewTopic(settings.kafka_outcomes_topic, 3, 1)])
    try:
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5, batch_size=256 * 1024)
        replay_file(files.events, producer, settings.kafka_predictions_topic, settings.kafka_outcomes_topic,
                    progress=False)
        producer.close()
        runs = {}
        for source, url in (("kafka", migrated_pg_url), (str(files.events), sqlite_url)):
            upgrade(url)
            build_scenario_reference(files, url)
            service = build_service(settings.model_copy(update={"database_url": url}), files.config, source, url,
                                    registry=CollectorRegistry(), max_batch=500)
            if source == "kafka":
                assert isinstance(service.source, FetchProcessSource)
            result = service.run(max_messages=total if source == "kafka" else None,
                                 timeout=180 if source == "kafka" else None)
            assert result.clean and result.messages == total, result
            runs[source] = stored_windows(url)
    finally:
        admin.delete_topics([settings.kafka_predictions_topic, settings.kafka_outcomes_topic])
        admin.close()
    kafka_w, file_w = runs["kafka"], runs[str(files.events)]
    assert len(kafka_w) == len(file_w) - 1  # the last day stays open on Kafka (only the file run ends)
    assert kafka_w == file_w[:len(kafka_w)]
    assert kafka_w and all(r[3] is not None for r in kafka_w)


def test_a_child_that_stops_delivering_is_restarted(kafka_bootstrap: str, topics: tuple[str, str]) -> None:
    """The watchdog: a partition that may flow, records behind it, nothing delivered for ``stall_timeout``."""
    source = FetchProcessSource(kafka_bootstrap, f"dw-fetch-{uuid.uuid4().hex[:6]}", *topics, credit=4,
                                max_partition_fetch_bytes=8 * 1024, fetch_max_wait_ms=50, session_timeout_ms=6000,
                                heartbeat_interval_ms=1500, stall_timeout=3.0)
    listener = Listener()
    got: dict[TopicPartition, list[int]] = {}
    tp0 = (topics[0], 0)
    source.start(listener)
    try:
        _collect(source, listener, got, 300)
        assert source._conn is not None
        source._conn.send(("pause", [tp0]))  # behind the parent's back: the child stops delivering tp0
        first_child = source._proc
        end = time.monotonic() + 120
        while sum(map(len, got.values())) < PARTITIONS * PER_PARTITION and time.monotonic() < end:
            for msg in source.poll(0.2, 300):
                got.setdefault((msg.topic, msg.partition), []).append(msg.offset)
            if listener.new:  # after the restart: from where this side stopped
                _serve_new(source, listener, {tp: offs[-1] + 1 for tp, offs in got.items() if offs})
        assert source._proc is not first_child and tp0 in listener.revoked
    finally:
        source.close()
    for p in range(PARTITIONS):
        assert got[(topics[0], p)] == list(range(PER_PARTITION))
