"""Every Kafka client over TLS and SASL, against a real broker with secured listeners (``secured_broker``).

For each way in (mutual TLS; SASL/SCRAM-SHA-256 in plain text; SASL/SCRAM-SHA-512 over TLS; SASL/PLAIN over
TLS), only ``DRIFTWARDEN_KAFKA_*`` settings change: ``driftwarden replay`` produces a scenario with bad lines,
``driftwarden run`` (in one process or with its fetch child) consumes it to the end, writes windows and dead
letters, and its dead-letter producer copies them to the dead-letter topic, read back by a secured consumer;
the password is in no log.
A wrong password or a missing client certificate is a one-line error, exit 2.
"""

from __future__ import annotations

import os
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
from kafka import TopicPartition
from kafka.admin import NewTopic
from sqlalchemy import create_engine, text

from monitor.commands.reference import build_reference
from monitor.config.settings import Settings
from monitor.db import upgrade
from monitor.sources.kafka_clients import make_admin, make_consumer
from scenario import generate_scenario

sys.path.insert(0, os.path.dirname(__file__))
from secured_broker import PASSWORD, USER, SecuredBroker, kafka_libs, start_secured_broker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

DRIVER = [sys.executable, "-m", "monitor.cli"]
BAD = [b"{not json", b'{"model": "ghost", "model_version": "1", "event_id": "x2", "ts": "2026-11-02T03:00:00Z", '
       b'"features": {}, "prediction": 0.1}']
CASES = {  # listener, SASL mechanism, client certificate, fetch process
    "mutual-tls": ("SSL", None, True, True),
    "scram-sha-256": ("SASL_PLAINTEXT", "SCRAM-SHA-256", False, False),
    "scram-sha-512-tls": ("SASL_SSL", "SCRAM-SHA-512", False, True),
    "plain-tls": ("SASL_SSL", "PLAIN", False, False),
}


@pytest.fixture(scope="module")
def broker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    libs = kafka_libs()
    if libs is None:
        message = "no Kafka broker jars (scripts/kafka-local start assembles them)"
        if os.environ.get("DRIFTWARDEN_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    secured = start_secured_broker(libs, tmp_path_factory.mktemp("secured-kafka"))
    yield secured
    secured.stop()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("secured-scenario")
    files = generate_scenario(folder / "gen", seed=11, days=1, events_per_hour=60, reference_rows=1000)
    lines = files.events.read_bytes().splitlines()
    for at, bad in zip((100, 700), BAD, strict=True):
        lines.insert(at, bad)
    events = folder / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    raw = yaml.safe_load(files.config.read_text())
    model = raw["models"]["recommender"]
    model["reference"]["path"] = str(files.reference)
    model["performance"]["reference"]["path"] = str(files.validation)
    model["window"] = {"type": "count", "size": 200}
    config = folder / "watch.yaml"
    config.write_text(yaml.safe_dump(raw))
    return {"events": events, "config": config, "reference": files.reference}


def security_env(broker: SecuredBroker, listener: str, mechanism: str | None, client_cert: bool) -> dict[str, str]:
    env = {"DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap(listener),
           "DRIFTWARDEN_KAFKA_SECURITY_PROTOCOL": listener}
    if listener.endswith("SSL"):
        env["DRIFTWARDEN_KAFKA_SSL_CAFILE"] = str(broker.ca_file)
    if client_cert:
        env |= {"DRIFTWARDEN_KAFKA_SSL_CERTFILE": str(broker.client_cert),
                "DRIFTWARDEN_KAFKA_SSL_KEYFILE": str(broker.client_key)}
    if mechanism:
        env |= {"DRIFTWARDEN_KAFKA_SASL_MECHANISM": mechanism, "DRIFTWARDEN_KAFKA_SASL_PLAIN_USERNAME": USER,
                "DRIFTWARDEN_KAFKA_SASL_PLAIN_PASSWORD": PASSWORD}
    return env


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(**{key.removeprefix("DRIFTWARDEN_").lower(): value for key, value in env.items()})


def consumed_to(url: str, group: str, ends: dict[TopicPartition, int], proc: subprocess.Popen[bytes],
                log: Path) -> None:
    engine = create_engine(url)
    stored: dict[tuple[str, int], int] = {}
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            with engine.connect() as conn:
                stored = {(r[0], r[1]): r[2] for r in conn.execute(text(
                    "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = :g"), {"g": group})}
            if all(stored.get((tp.topic, tp.partition), 0) >= end for tp, end in ends.items()):
                return
            time.sleep(0.5)
    finally:
        engine.dispose()
    pytest.fail(f"not consumed: {stored} vs {ends}\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("case", list(CASES))
def test_replay_run_and_dead_letter_copies_over_a_secured_listener(
        case: str, broker: SecuredBroker, scenario: dict[str, Any], tmp_path: Path) -> None:
    listener, mechanism, client_cert, fetch_process = CASES[case]
    prefix = f"dw-sec-{uuid.uuid4().hex[:8]}"
    url = f"sqlite:///{tmp_path}/dw.db"
    env = {**security_env(broker, listener, mechanism, client_cert), "DRIFTWARDEN_DATABASE_URL": url,
           "DRIFTWARDEN_KAFKA_PREDICTIONS_TOPIC": f"{prefix}.p", "DRIFTWARDEN_KAFKA_OUTCOMES_TOPIC": f"{prefix}.o",
           "DRIFTWARDEN_KAFKA_DEAD_LETTER_TOPIC": f"{prefix}.dlq", "DRIFTWARDEN_KAFKA_CONSUMER_GROUP": prefix,
           "DRIFTWARDEN_KAFKA_FETCH_PROCESS": str(fetch_process).lower()}
    settings = settings_of(env)
    admin = make_admin(settings)
    admin.create_topics([NewTopic(f"{prefix}.{t}", 1, 1) for t in ("p", "o", "dlq")])
    admin.close()
    upgrade(url)
    build_reference("recommender", scenario["reference"], scenario["config"], url, progress=False)
    child_env = {**os.environ, **env}

    replayed = subprocess.run([*DRIVER, "replay", str(scenario["events"]), "--to-kafka", f"{prefix}.p",
                               "--no-progress"], env=child_env, capture_output=True, timeout=300)
    assert replayed.returncode == 0, replayed.stderr.decode()[-2000:]
    consumer = make_consumer(settings)
    tps = [TopicPartition(f"{prefix}.{t}", 0) for t in ("p", "o")]
    ends = consumer.end_offsets(tps)
    consumer.close()
    assert all(ends.values()), ends

    log = tmp_path / "run.log"
    proc = subprocess.Popen([*DRIVER, "run", "--config", str(scenario["config"]), "--metrics-port", "0",
                             "--checkpoint-interval", "0.5"], env=child_env, stderr=log.open("wb"))
    try:
        consumed_to(url, prefix, ends, proc, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]
    assert PASSWORD not in log.read_text() and PASSWORD not in replayed.stderr.decode()  # secrets never logged
    engine = create_engine(url)
    with engine.connect() as conn:
        dead = conn.execute(text("SELECT raw FROM dead_letters")).scalars().all()
        windows = conn.execute(text("SELECT count(*) FROM window_results")).scalar()
    engine.dispose()
    assert sorted(dead) == sorted(BAD) and windows and windows >= 3

    reader = make_consumer(settings, f"{prefix}.dlq", auto_offset_reset="earliest", group_id=f"{prefix}-dlq",
                           consumer_timeout_ms=10_000)
    copies = sorted(record.value for record in reader)
    reader.close()
    assert copies == sorted(BAD)


@pytest.mark.parametrize("change", ["wrong password", "no client certificate"])
def test_a_refused_connection_is_a_one_line_error(change: str, broker: SecuredBroker, scenario: dict[str, Any]
                                                  ) -> None:
    if change == "wrong password":
        env = security_env(broker, "SASL_SSL", "SCRAM-SHA-512", False)
        env["DRIFTWARDEN_KAFKA_SASL_PLAIN_PASSWORD"] = "not-the-password"
    else:
        env = security_env(broker, "SSL", None, False)
    replayed = subprocess.run([*DRIVER, "replay", str(scenario["events"]), "--to-kafka", "dw-sec-refused",
                               "--no-progress"], env={**os.environ, **env}, capture_output=True, timeout=120)
    lines = replayed.stderr.decode().strip().splitlines()
    assert replayed.returncode == 2 and len(lines) == 1, replayed.stderr.decode()[-2000:]
    assert broker.bootstrap(env["DRIFTWARDEN_KAFKA_SECURITY_PROTOCOL"]) in lines[0]
