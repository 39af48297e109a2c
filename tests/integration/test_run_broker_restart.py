"""A broker restart is survived by reconnecting: ``driftwarden run`` keeps running while its (private) Kafka
broker is stopped and started again on the same data, then consumes what is produced afterwards.

The test starts its own single-node broker with ``scripts/kafka-local`` in a private state directory (the
shared broker of the other tests is left alone), restarts it with the same command line and data, and checks
that the watcher never exits, consumes both halves of the replay and ends with the same drift results as a
file run of the same events.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from sqlalchemy import create_engine, text

from monitor.commands.reference import build_reference
from monitor.commands.replay import replay_file
from monitor.db import upgrade
from scenario import generate_scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
DRIVER = [sys.executable, "-m", "monitor.cli"]


class PrivateBroker:
    def __init__(self, local_dir: Path) -> None:
        self.local = local_dir
        self.env = {**os.environ, "DRIFTWARDEN_LOCAL_DIR": str(local_dir)}
        self.bootstrap = ""

    @property
    def pid_file(self) -> Path:
        return self.local / "kafka" / "kafka.pid"

    def start(self) -> None:
        out = subprocess.run([str(REPO / "scripts" / "kafka-local"), "start"], env=self.env, capture_output=True,
                             text=True, timeout=240)
        if out.returncode != 0:
            pytest.fail(f"private broker did not start: {out.stderr[-2000:]}")
        self.bootstrap = out.stdout.strip().split("=", 1)[1]

    def restart(self) -> float:
        """SIGTERM the broker, wait, start the same command line on the same data; seconds it was away."""
        pid = int(self.pid_file.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        cwd = os.readlink(f"/proc/{pid}/cwd")
        down = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # the watcher sees a dead broker for a while
        log = (self.local / "kafka" / "run" / "broker.log").open("ab")
        proc = subprocess.Popen([c.decode() for c in cmdline], cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
                admin.list_topics()
                admin.close()
                return time.monotonic() - down
            except Exception:  # not up yet
                time.sleep(1)
        pytest.fail("the restarted broker did not come back")

    def stop(self) -> None:
        subprocess.run([str(REPO / "scripts" / "kafka-local"), "stop"], env=self.env, capture_output=True,
                       timeout=120)


@pytest.fixture
def broker(tmp_path: Path, kafka_bootstrap: str) -> Iterator[PrivateBroker]:
    libs = REPO / ".local" / "kafka" / "libs"
    local = tmp_path / "local"
    if (libs / ".stamp").is_file():  # reuse the assembled jars: no Maven run
        shutil.copytree(libs, local / "kafka" / "libs")
    broker = PrivateBroker(local)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def _produce(bootstrap: str, lines: list[bytes], path: Path, topics: tuple[str, str]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    replay_file(path, producer, *topics, progress=False)
    producer.close()


def _stored(url: str, group: str) -> dict[tuple[str, int], int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = :g"),
                            {"g": group}).all()
    engine.dispose()
    return {(r[0], int(r[1])): int(r[2]) for r in rows}


def _wait_consumed(url: str, group: str, bootstrap: str, topics: tuple[str, str], proc: Any, log: Path) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    ends = consumer.end_offsets([TopicPartition(t, p) for t in topics for p in range(2)])
    consumer.close()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"watcher exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
        stored = _stored(url, group)
        if all(stored.get((tp.topic, tp.partition), 0) >= end for tp, end in ends.items()):
            return
        time.sleep(0.5)
    pytest.fail(f"not consumed: {_stored(url, group)} vs {ends}\n{log.read_text()[-3000:]}")


def _windows(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT m.name, w.window_key, w.n_events, w.dataset_drift, w.drift_share "
                                 "FROM window_results w JOIN models m ON m.id = w.model_id ORDER BY 1, 2")).all()
    engine.dispose()
    return [(r[0], r[1], int(r[2]), bool(r[3]), float(r[4])) for r in rows]


def test_watcher_survives_a_broker_restart(tmp_path: Path, broker: PrivateBroker, migrated_pg_url: str,
                                           sqlite_url: str) -> None:
    files = generate_scenario(tmp_path / "gen", seed=9, days=2, events_per_hour=60, reference_rows=1500)
    raw = yaml.safe_load(files.config.read_text())
    raw["models"]["recommender"]["reference"]["path"] = str(files.reference)
    raw["models"]["recommender"]["performance"]["reference"]["path"] = str(files.validation)
    raw["models"]["recommender"]["window"] = {"type": "count", "size": 200}
    config = tmp_path / "watch.yaml"
    config.write_text(yaml.safe_dump(raw))
    for url in (migrated_pg_url, sqlite_url):
        upgrade(url)
        build_reference("recommender", files.reference, config, url, progress=False)
    lines = files.events.read_bytes().splitlines()
    half = len(lines) // 2

    prefix = f"dw-restart-{uuid.uuid4().hex[:6]}"
    topics = (f"{prefix}.p", f"{prefix}.o")
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(topics[0], 2, 1), NewTopic(topics[1], 2, 1)])
    admin.close()
    _produce(broker.bootstrap, lines[:half], tmp_path / "first.jsonl", topics)

    env = {**os.environ, "DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
           "DRIFTWARDEN_KAFKA_PREDICTIONS_TOPIC": topics[0], "DRIFTWARDEN_KAFKA_OUTCOMES_TOPIC": topics[1],
           "DRIFTWARDEN_KAFKA_CONSUMER_GROUP": prefix, "DRIFTWARDEN_DATABASE_URL": migrated_pg_url,
           "DRIFTWARDEN_METRICS_PORT": "0"}
    log = tmp_path / "run.log"
    proc = subprocess.Popen([*DRIVER, "run", "--config", str(config), "--checkpoint-interval", "0.5"], env=env,
                            stderr=log.open("wb"))
    try:
        _wait_consumed(migrated_pg_url, prefix, broker.bootstrap, topics, proc, log)
        away = broker.restart()
        assert proc.poll() is None, log.read_text()[-3000:]
        _produce(broker.bootstrap, lines[half:], tmp_path / "second.jsonl", topics)
        _wait_consumed(migrated_pg_url, prefix, broker.bootstrap, topics, proc, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]
    assert away > 3

    file_run = subprocess.run([*DRIVER, "run", "--config", str(config), "--source", str(files.events),
                               "--db", sqlite_url, "--metrics-port", "0"], capture_output=True, timeout=300)
    assert file_run.returncode == 0, file_run.stderr.decode()[-2000:]
    got, expected = _windows(migrated_pg_url), _windows(sqlite_url)
    missing = [w for w in expected if w not in got]
    assert got and set(got) <= set(expected)
    assert len(missing) <= 1 and all(w[2] < 200 for w in missing)  # the file run flushes its partial window
