"""Poison messages in the middle of a replay do not stop ``driftwarden run`` nor change its results.

The same replay goes through the real broker into PostgreSQL twice: once as it is, once with poison
messages produced into every partition of both topics halfway through (nesting 100,000 brackets deep as in
issue #12, deep nesting in known and unknown fields, a lone surrogate, a NUL in a model name, a 5,000-digit
integer, random bytes). The watcher consumes the poisoned topics to the end and exits 0 on SIGTERM; the
poison messages are in ``dead_letters`` with their reasons, and the windows, feature results, metrics,
samples and alerts equal those of the run without them.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from monitor.consumer.deadletter import RAW_LIMIT

sys.path.insert(0, os.path.dirname(__file__))  # the replay and watcher helpers of the crash test
from test_crash_sigkill import (
    MODELS,
    PARTITIONS,
    _no_leftover_watchers,  # noqa: F401  (autouse: kills a watcher a failed test left running)
    create_topics,
    dump,
    extra_database,
    prepare_replay,
    register_references,
    replay,
    start_watcher,
    stop_watcher,
    wait_consumed,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

DEEP = b"[" * 100_000 + b"]" * 100_000
PREDICTION = (b'{"kind": "prediction", "model": "rec-a", "model_version": "1", "event_id": "poison", '
              b'"ts": "2026-11-02T01:00:00Z", "features": {"tenure_days": %s}, "prediction": 0.5%s}')
OUTCOME = b'{"kind": "outcome", "model": "rec-a", "event_id": "poison", "ts": "2026-11-02T01:00:00Z", %s}'
# (message, a word its dead letter's reason must contain)
POISON_PREDICTIONS = [
    (b'{"model": "rec-a", "a": ' + DEEP + b"}", "100001 levels deep in field 'a'"),  # the message
    (PREDICTION % (DEEP, b""), "'features'"),
    (PREDICTION % (b"1", b', "extra": ' + b"[" * 1000 + b"]" * 1000), "'extra'"),
    (PREDICTION % (b'"\\ud800"', b""), "surrogate"),
    (PREDICTION.replace(b'"rec-a"', b'"rec-a\\u0000"') % (b"1", b""), "unknown model"),
    (PREDICTION % (b"1" + b"0" * 5000, b""), "features.tenure_days"),
    (bytes(range(256)), "UTF-8"),
]
POISON_OUTCOMES = [
    (OUTCOME % (b'"outcomes": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000), "'outcomes'"),
    (OUTCOME % b'"label": NaN', "'label'"),
    (OUTCOME % b'"label": 1, "x": "\\udfff"', "surrogate"),
]
COMPARED = ("windows", "features", "metrics", "samples", "alerts", "alert_events")


def split_replay(events: Path, out: Path) -> tuple[Path, Path]:
    """The replay file cut in two halves (every event names its model, so each half keys on its own)."""
    lines = events.read_bytes().splitlines(keepends=True)
    first, second = out / "first.jsonl", out / "second.jsonl"
    first.write_bytes(b"".join(lines[:len(lines) // 2]))
    second.write_bytes(b"".join(lines[len(lines) // 2:]))
    return first, second


def produce_poison(bootstrap: str, predictions: str, outcomes: str) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=4 * 1024 * 1024)
    sent = 0
    try:
        for topic, messages in ((predictions, POISON_PREDICTIONS), (outcomes, POISON_OUTCOMES)):
            for p in range(PARTITIONS):
                for raw, _ in messages:
                    producer.send(topic, value=raw, key=MODELS[p].encode(), partition=p)
                    sent += 1
        producer.flush()
    finally:
        producer.close()
    return sent


def without_poison(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``dead_letters`` rows as (model, reason, error_class, raw), leaving out the poison messages."""
    poison = {raw[:RAW_LIMIT] for raw, _ in POISON_PREDICTIONS + POISON_OUTCOMES}
    return sorted((tuple(r[3:7]) for r in rows if bytes(r[6]) not in poison), key=repr)


def test_poison_messages_are_dead_letters_and_change_no_result(
    tmp_path: Path, kafka_bootstrap: str, pg_server_url: str
) -> None:
    events, config = prepare_replay(tmp_path, days=2, per_hour=120)
    reference = tmp_path / "scenario" / "reference.parquet"
    clean_topics = create_topics(kafka_bootstrap, f"dw-clean-{uuid.uuid4().hex[:8]}")
    clean_ends = replay(kafka_bootstrap, events, *clean_topics)
    poisoned_topics = create_topics(kafka_bootstrap, f"dw-poison-{uuid.uuid4().hex[:8]}")
    first, second = split_replay(events, tmp_path)
    replay(kafka_bootstrap, first, *poisoned_topics)
    n_poison = produce_poison(kafka_bootstrap, *poisoned_topics)
    poisoned_ends = replay(kafka_bootstrap, second, *poisoned_topics)
    assert sum(poisoned_ends.values()) == sum(clean_ends.values()) + n_poison

    results = {}
    with extra_database(pg_server_url) as clean_url, extra_database(pg_server_url) as poisoned_url:
        for name, url, topics, ends in (("clean", clean_url, clean_topics, clean_ends),
                                        ("poisoned", poisoned_url, poisoned_topics, poisoned_ends)):
            register_references(config, reference, url)
            log = tmp_path / f"{name}.log"
            group = f"{name}-{uuid.uuid4().hex[:8]}"
            proc = start_watcher(config, url, kafka_bootstrap, topics, group, log)
            wait_consumed(url, group, ends, proc, log)  # fails if the watcher exits before the end
            stop_watcher(proc, log)
            results[name] = dump(url)

    clean, poisoned = results["clean"], results["poisoned"]
    assert clean["windows"] and clean["alerts"]
    for table in COMPARED:
        assert poisoned[table] == clean[table], table
    dead = poisoned["dead_letters"]
    assert len(dead) == len(clean["dead_letters"]) + n_poison
    assert without_poison(dead) == without_poison(clean["dead_letters"])
    reasons: dict[bytes, list[str]] = {}
    for row in dead:
        reasons.setdefault(bytes(row[6]), []).append(row[4])
    for raw, word in POISON_PREDICTIONS + POISON_OUTCOMES:
        stored = reasons[raw[:RAW_LIMIT]]  # (the table keeps the first RAW_LIMIT bytes)
        assert len(stored) == PARTITIONS and all(word in reason for reason in stored), (word, stored)
    print(json.dumps({"dead_letters": len(dead), "poison": n_poison, "windows": len(clean["windows"])}))
