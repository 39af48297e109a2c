"""A backlog of both topics through the watcher with a small merge buffer, against the real broker.

The outcomes (small messages) run ahead of the predictions in event time on a backlog: each fetch carries many
more of them. The watcher must bound the outcomes' merge queue by pausing that partition and resuming it at
half (kafka-python 3.0 parks the records of a partition paused mid-fetch and would never fetch it again
unless the source drops them on resume), consume every message, and store the windows of a file-source run.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from prometheus_client import CollectorRegistry

from monitor.commands.replay import replay_file
from monitor.config.settings import Settings
from monitor.consumer.merge import PartitionMerger
from monitor.db import upgrade
from monitor.sources.kafka import KafkaSource
from monitor.wiring import build_service
from scenario import generate_scenario
from scenario.runner import build_scenario_reference

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

CAP = 500
MAX_BATCH = 200



def _run(settings: Settings, files: Any, source: str, url: str, total: int,
         monkeypatch: pytest.MonkeyPatch) -> tuple[Any, int, int, dict[Any, int]]:
    """(run result, longest queue of one stream, longest merge buffer, queue of each stream left paused by the
    merge throttle) of one Service run with a small cap."""
    upgrade(url)
    build_scenario_reference(files, url)
    service = build_service(settings.model_copy(update={"database_url": url}), files.config, source, url,
                            registry=CollectorRegistry(), max_batch=MAX_BATCH,
                            consumer_config={"max_partition_fetch_bytes": 32 * 1024})
    service.options = dataclasses.replace(service.options, merge_buffer=CAP)
    longest = {"stream": 0, "total": 0}
    release = PartitionMerger.release

    def watched(merger: PartitionMerger, *args: Any, **kwargs: Any) -> Any:
        longest["stream"] = max([longest["stream"], *(merger.queued(tp) for tp in merger.tps)])
        longest["total"] = max(longest["total"], len(merger))
        return release(merger, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(PartitionMerger, "release", watched)
        kafka = source == "kafka"
        result = service.run(max_messages=total if kafka else None, timeout=120 if kafka else None)
    left_paused = {tp: part.merger.queued(tp) for part in service.partitions.parts.values()
                   if part.merger is not None for tp in part.merger.tps if tp in service.partitions.merge_paused}
    return result, longest["stream"], longest["total"], left_paused


def test_backlog_merge_buffer_is_bounded_and_windows_match_the_file_run(
        tmp_path: Path, kafka_bootstrap: str, migrated_pg_url: str, sqlite_url: str,
        monkeypatch: pytest.MonkeyPatch, stored_windows: Callable[[str], list[tuple[Any, ...]]]) -> None:
    files = generate_scenario(tmp_path / "gen", seed=11, days=4, events_per_hour=100, reference_rows=3000)
    total = files.n_predictions + files.n_outcomes
    run_id = uuid.uuid4().hex[:8]
    settings = Settings(kafka_bootstrap_servers=kafka_bootstrap, metrics_port=0, kafka_fetch_process=False,
                        kafka_predictions_topic=f"dw-merge-{run_id}.p", kafka_outcomes_topic=f"dw-merge-{run_id}.o",
                        kafka_consumer_group=f"dw-merge-{run_id}")
    topics = [settings.kafka_predictions_topic, settings.kafka_outcomes_topic]
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(t, 1, 1) for t in topics])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5, batch_size=256 * 1024)
    replay_file(files.events, producer, *topics, progress=False)
    producer.close()

    calls: list[tuple[str, tuple[Any, ...]]] = []
    pause, resume = KafkaSource.pause, KafkaSource.resume

    def counted_pause(self: KafkaSource, tps: Any) -> None:
        calls.append(("pause", tuple(tps)))
        pause(self, tps)

    def counted_resume(self: KafkaSource, tps: Any) -> None:
        calls.append(("resume", tuple(tps)))
        resume(self, tps)

    monkeypatch.setattr(KafkaSource, "pause", counted_pause)
    monkeypatch.setattr(KafkaSource, "resume", counted_resume)
    try:
        reference, _, _, _ = _run(settings, files, str(files.events), sqlite_url, total, monkeypatch)
        result, stream, merged, held = _run(settings, files, "kafka", migrated_pg_url, total, monkeypatch)
    finally:
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        admin.delete_topics(topics)
        admin.close()

    assert result.messages == total and result.stopped_by == "max_messages" and result.clean, result
    merge_pauses = [tps for kind, tps in calls if kind == "pause" and len(tps) == 1 and tps[0][0] in topics]
    assert merge_pauses, f"no merge buffer was paused (longest stream queue {stream}, cap {CAP})"
    paused: set[Any] = set()
    for kind, tps in calls:
        paused = paused | set(tps) if kind == "pause" else paused - set(tps)
    # A bounded run can stop while the throttle holds a stream whose queue is still above the resume point
    # (half of merge_buffer - max_batch); any other stream left paused would never be resumed.
    resume_at = (CAP - MAX_BATCH) // 2
    assert set(paused) == set(held), f"left paused: {paused}, held by the merge throttle: {held}"
    assert all(queued > resume_at for queued in held.values()), f"paused with a short queue: {held}"
    assert stream <= CAP, f"a stream queued {stream} items (cap {CAP})"
    assert merged <= CAP + MAX_BATCH, f"the merge buffer held {merged} items (cap {CAP} + batch {MAX_BATCH})"
    kafka_w, file_w = stored_windows(migrated_pg_url), stored_windows(sqlite_url)
    assert len(kafka_w) == len(file_w) - 1 == reference.windows - 1  # the last day stays open on Kafka
    assert all(w[3] is not None for w in kafka_w), kafka_w  # every window joined its outcomes
    assert kafka_w == file_w[:len(kafka_w)]


class _Assignments:
    def __init__(self) -> None:
        self.assigned: list[tuple[str, int]] = []

    def on_assigned(self, partitions: Any) -> None:
        self.assigned.extend(partitions)

    def on_revoked(self, partitions: Any) -> None:
        self.assigned = [tp for tp in self.assigned if tp not in partitions]


def test_a_partition_paused_in_the_middle_of_a_fetch_is_fetched_again_after_resume(kafka_bootstrap: str) -> None:
    """kafka-python 3.0 parks the rest of a fetch of a partition paused while it was being handed out, and
    never fetches that partition again; :meth:`KafkaSource.resume` must undo that without losing a record."""
    run_id = uuid.uuid4().hex[:8]
    a, b, n = f"dw-pause-{run_id}.a", f"dw-pause-{run_id}.b", 2000
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(a, 1, 1), NewTopic(b, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    for _ in range(n):
        producer.send(a, b"a" * 300, partition=0)
        producer.send(b, b"b" * 30, partition=0)
    producer.flush()
    producer.close()
    source = KafkaSource(kafka_bootstrap, f"dw-pause-{run_id}", a, b, max_partition_fetch_bytes=16 * 1024,
                         fetch_max_wait_ms=50)  # B at its end: its fetch must not hold A's for 500 ms
    listener = _Assignments()
    got: dict[tuple[str, int], list[int]] = {(a, 0): [], (b, 0): []}
    pauses = 0
    try:
        source.start(listener)
        deadline = time.monotonic() + 120
        while not listener.assigned and time.monotonic() < deadline:
            source.poll(0.2, 10)
        for tp in listener.assigned:
            source.seek(tp, None)
        source.resume(listener.assigned)
        while sum(map(len, got.values())) < 2 * n and time.monotonic() < deadline:
            batch = source.poll(0.2, 40)
            for msg in batch:
                got[(msg.topic, msg.partition)].append(msg.offset)
            if batch and batch[-1].topic == a:  # pause A while the rest of its fetch is being handed out
                source.pause([(a, 0)])
                pauses += 1
                for _ in range(3):
                    for msg in source.poll(0.05, 40):
                        got[(msg.topic, msg.partition)].append(msg.offset)
                source.resume([(a, 0)])
    finally:
        source.close()
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        admin.delete_topics([a, b])
        admin.close()
    assert got[(a, 0)] == list(range(n)), f"A: {len(got[(a, 0)])} of {n} after {pauses} pauses"
    assert pauses >= 5, pauses
    assert got[(b, 0)] == list(range(n))
