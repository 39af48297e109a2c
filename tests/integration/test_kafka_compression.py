"""Producers compress their batches (gzip, lz4, snappy, zstd): the watcher reads every codec from the real broker.

Without the codec's library kafka-python cannot decompress a fetched batch, and a watcher would retry that
fetch forever without consuming anything; the ``kafka-python[lz4,snappy,zstd]`` extras in pyproject prevent it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from prometheus_client import CollectorRegistry

from detectors.profile import ReferenceProfile
from monitor.config.settings import Settings
from monitor.db import make_engine, session_factory
from monitor.store.references import register_reference
from monitor.wiring import build_service

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

N_EVENTS = 300
WINDOW = 100


def _event(i: int, rng: np.random.Generator) -> bytes:
    return json.dumps({
        "model": "zip", "model_version": "1", "event_id": f"z{i:05d}",
        "ts": f"2026-11-02T00:{i // 60:02d}:{i % 60:02d}Z",
        "features": {"x": float(rng.normal()), "c": ["a", "b", "c"][i % 3]}, "prediction": float(rng.random()),
    }).encode()


@pytest.mark.parametrize("codec", ["gzip", "lz4", "snappy", "zstd"])
def test_the_watcher_reads_compressed_batches(codec: str, tmp_path: Path, kafka_bootstrap: str,
                                              migrated_pg_url: str) -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b", "c"], 2000),
                              "prediction": rng.random(2000)})
    profile = ReferenceProfile.build(reference, {"x": "numeric", "c": "categorical", "prediction": "numeric"})
    engine = make_engine(migrated_pg_url)
    with session_factory(engine).begin() as session:
        register_reference(session, "zip", profile, source="test")
    engine.dispose()
    config = tmp_path / "watch.yaml"
    config.write_text(yaml.safe_dump({"version": 1, "models": {"zip": {
        "features": {"x": "numeric", "c": "categorical"}, "window": {"type": "count", "size": WINDOW}}}}))

    prefix = f"dw-zip-{codec}-{uuid.uuid4().hex[:6]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(f"{prefix}.p", 1, 1), NewTopic(f"{prefix}.o", 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, compression_type=codec, linger_ms=20)
    for i in range(N_EVENTS):
        producer.send(f"{prefix}.p", key=b"zip", value=_event(i, rng))
    producer.flush()
    producer.close()

    settings = Settings(database_url=migrated_pg_url, kafka_bootstrap_servers=kafka_bootstrap,
                        kafka_predictions_topic=f"{prefix}.p", kafka_outcomes_topic=f"{prefix}.o",
                        kafka_consumer_group=prefix, metrics_port=0)
    service = build_service(settings, config, "kafka", migrated_pg_url, registry=CollectorRegistry())
    result = service.run(max_messages=N_EVENTS, timeout=120)
    assert result.messages == N_EVENTS, f"{codec}: consumed {result.messages} of {N_EVENTS} ({result.stopped_by})"
    assert result.dead_letters == 0 and result.clean  # every record decompressed and decoded as an event
