"""``driftwarden replay`` then ``driftwarden run`` against the real broker and PostgreSQL, as processes.

Checks: the replay keys events by model (co-partitioned topics), the watcher consumes everything, writes
windows and dead letters (with topic/partition/offset), copies dead letters to the dead-letter topic,
serves ``/healthz`` and ``/metrics`` (events consumed, lag, dead letters, windows, latency histogram), and
exits 0 on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import zlib
from pathlib import Path

import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from sqlalchemy import create_engine, text

from monitor.commands.reference import build_reference
from monitor.db import upgrade
from scenario import generate_scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

MODELS = ("shop-a", "shop-b")
DRIVER = [sys.executable, "-m", "monitor.cli"]
BAD = [
    b"{not json",
    b'{"model": "shop-a", "model_version": "1", "event_id": "x1", "ts": "2026-11-02T03:00:00Z", '
    b'"features": {"tenure_days": 1e999}, "prediction": 0.1}',
    b'{"model": "ghost", "model_version": "1", "event_id": "x2", "ts": "2026-11-02T03:00:00Z", '
    b'"features": {}, "prediction": 0.1}',
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_replay_then_run_from_kafka(tmp_path: Path, kafka_bootstrap: str, migrated_pg_url: str) -> None:
    files = generate_scenario(tmp_path / "gen", seed=4, days=2, events_per_hour=60, reference_rows=1500)
    lines = []
    for i, line in enumerate(files.events.read_bytes().splitlines()):
        event = json.loads(line)
        event["model"] = MODELS[zlib.crc32(event["event_id"].encode()) % 2]
        if event["kind"] == "outcome" and i % 2:
            del event["model"]  # replay must key it by its prediction's model
        lines.append(json.dumps(event).encode())
        if i % 1000 == 500:
            lines.append(BAD[(i // 1000) % len(BAD)])
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    raw = yaml.safe_load(files.config.read_text())
    base = raw["models"].pop("recommender")
    base["reference"]["path"] = str(files.reference)
    base["performance"]["reference"]["path"] = str(files.validation)
    base["window"] = {"type": "count", "size": 200}
    raw["models"] = {m: {**base, "name": m} for m in MODELS}
    config = tmp_path / "watch.yaml"
    config.write_text(yaml.safe_dump(raw))
    upgrade(migrated_pg_url)
    for m in MODELS:
        build_reference(m, files.reference, config, migrated_pg_url, progress=False)

    prefix = f"dw-run-{uuid.uuid4().hex[:8]}"
    predictions, outcomes, dlq = f"{prefix}.p", f"{prefix}.o", f"{prefix}.dlq"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(predictions, 2, 1), NewTopic(outcomes, 2, 1), NewTopic(dlq, 1, 1)])
    admin.close()
    env = {**os.environ, "DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "DRIFTWARDEN_KAFKA_PREDICTIONS_TOPIC": predictions, "DRIFTWARDEN_KAFKA_OUTCOMES_TOPIC": outcomes,
           "DRIFTWARDEN_KAFKA_CONSUMER_GROUP": prefix, "DRIFTWARDEN_KAFKA_DEAD_LETTER_TOPIC": dlq,
           "DRIFTWARDEN_DATABASE_URL": migrated_pg_url}

    replayed = subprocess.run([*DRIVER, "replay", str(events), "--to-kafka", predictions], env=env,
                              capture_output=True, timeout=300)
    assert replayed.returncode == 0, replayed.stderr.decode()[-2000:]
    n_bad = sum(1 for line in lines if line in BAD)
    n_undecodable = sum(1 for line in lines if line in BAD[:2])  # "ghost" decodes: it is keyed and sent
    assert f"{n_undecodable} undecodable" in replayed.stderr.decode()
    assert "100%" in replayed.stderr.decode()  # the progress bar went to the end

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap)
    tps = [TopicPartition(t, p) for t in (predictions, outcomes) for p in range(2)]
    ends = consumer.end_offsets(tps)
    consumer.assign(tps)
    consumer.seek_to_beginning()
    keyed: dict[tuple[str, int], set[bytes | None]] = {}
    got = 0
    deadline = time.monotonic() + 60
    while got < sum(ends.values()) and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            for r in records:
                keyed.setdefault((tp.topic, tp.partition), set()).add(r.key)
                got += 1
    consumer.close()
    for p in range(2):  # a model's predictions and outcomes share the partition number
        model_keys = set(keyed.get((outcomes, p), set()))
        assert model_keys <= keyed.get((predictions, p), set()) | {None}
        assert None not in model_keys

    port = _free_port()
    log = tmp_path / "run.log"
    proc = subprocess.Popen([*DRIVER, "run", "--config", str(config), "--metrics-port", str(port),
                             "--checkpoint-interval", "0.5"], env=env, stderr=log.open("wb"))
    try:
        engine = create_engine(migrated_pg_url)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            with engine.connect() as conn:
                stored = dict(((r[0], r[1]), r[2]) for r in conn.execute(text(
                    "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = :g"),
                    {"g": prefix}))
            if all(stored.get((tp.topic, tp.partition), 0) >= end for tp, end in ends.items()):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"not consumed: {stored} vs {ends}")
        time.sleep(1.5)  # a lag update and a latency observation or two
        code, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert code == 200 and json.loads(body)["status"] == "ok", body
        code, metrics = _get(f"http://127.0.0.1:{port}/metrics")
        assert code == 200
        n_predictions = float(sum(ends[tp] for tp in tps if tp.topic == predictions))
        assert f'driftwarden_events_consumed_total{{kind="prediction"}} {n_predictions}' in metrics
        assert 'driftwarden_dead_letters_total{reason="malformed"}' in metrics
        assert 'driftwarden_dead_letters_total{reason="unknown_model"}' in metrics
        assert 'driftwarden_windows_evaluated_total{model="shop-a"}' in metrics
        assert f'driftwarden_consumer_lag{{partition="0",topic="{predictions}"}} 0.0' in metrics
        assert "driftwarden_processing_latency_seconds_count" in metrics
        with engine.connect() as conn:
            dead = conn.execute(text('SELECT source, partition, "offset", reason FROM dead_letters')).all()
            windows = conn.execute(text("SELECT count(*) FROM window_results")).scalar()
        engine.dispose()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]
    assert len(dead) == n_bad and all(row[0] == predictions for row in dead)
    assert len({(r[1], r[2]) for r in dead}) == n_bad
    assert windows and windows > 4
    assert "stopped" in log.read_text() and '"level": "info"' in log.read_text()  # structured JSON logs

    consumer = KafkaConsumer(dlq, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             group_id=f"{prefix}-dlq-reader", consumer_timeout_ms=10_000)
    copies = list(consumer)
    consumer.close()
    assert len(copies) == n_bad
    headers = dict(copies[0].headers)
    assert headers["source"] == predictions.encode() and headers["reason"] and headers["category"]
    assert {r.value for r in copies} <= set(BAD)
