"""A dead letter is produced back to its topic with ``driftwarden deadletters requeue`` and, after a
configuration change that adds its model, the watcher accepts it (real broker, real PostgreSQL).

The replay holds events of three models; the first watcher's configuration knows two, so every event of the
third is a dead letter ("unknown model"). The configuration then gains the model, the dead letters are
requeued (recorded: ``requeued_at``, ``requeue_count``), and the restarted watcher (same group) closes windows
of the third model from them without a single new dead letter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import create_engine, text

sys.path.insert(0, os.path.dirname(__file__))  # the replay and watcher helpers of the crash test
from test_crash_sigkill import (
    DRIVER,
    MODELS,
    PARTITIONS,
    _no_leftover_watchers,  # noqa: F401  (autouse: kills a watcher a failed test left running)
    create_topics,
    extra_database,
    prepare_replay,
    register_references,
    replay,
    start_watcher,
    stop_watcher,
    wait_consumed,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
ADDED = MODELS[-1]


def _ends(bootstrap: str, topics: tuple[str, str]) -> dict[tuple[str, int], int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        return {(tp.topic, tp.partition): off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def _scalar(url: str, query: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def test_requeued_dead_letters_are_accepted_after_the_model_is_added(
    tmp_path: Path, kafka_bootstrap: str, pg_server_url: str
) -> None:
    events, config = prepare_replay(tmp_path, days=1, per_hour=120)
    raw = yaml.safe_load(config.read_text())
    raw["models"].pop(ADDED)
    without = tmp_path / "without.yaml"
    without.write_text(yaml.safe_dump(raw, sort_keys=False))
    topics = create_topics(kafka_bootstrap, f"dw-requeue-{uuid.uuid4().hex[:8]}")
    ends = replay(kafka_bootstrap, events, *topics)
    group = f"requeue-{uuid.uuid4().hex[:8]}"
    unknown = f"SELECT count(*) FROM dead_letters WHERE model = '{ADDED}' AND reason LIKE 'unknown model%'"
    with extra_database(pg_server_url) as url:
        register_references(config, tmp_path / "scenario" / "reference.parquet", url)
        log = tmp_path / "watcher.log"
        proc = start_watcher(without, url, kafka_bootstrap, topics, group, log)
        wait_consumed(url, group, ends, proc, log)
        stop_watcher(proc, log)
        n_unknown = _scalar(url, unknown)
        n_dead = _scalar(url, "SELECT count(*) FROM dead_letters")
        assert n_unknown > 100
        assert _scalar(url, f"SELECT count(*) FROM window_results w JOIN models m ON m.id = w.model_id "
                            f"WHERE m.name = '{ADDED}'") == 0

        env = {**os.environ, "DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DRIFTWARDEN_DATABASE_URL": url}
        done = subprocess.run([*DRIVER, "deadletters", "requeue", "--model", ADDED, "--reason", "unknown model",
                               "--json", "--no-migrate"], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert len(result["requeued"]) == n_unknown and not result["skipped"]
        assert set(result["topics"]) == set(topics) and sum(result["topics"].values()) == n_unknown
        assert _scalar(url, f"SELECT count(*) FROM dead_letters WHERE model = '{ADDED}' AND requeue_count = 1 "
                            "AND requeued_at IS NOT NULL") == n_unknown
        new_ends = _ends(kafka_bootstrap, topics)
        assert sum(new_ends.values()) == sum(ends.values()) + n_unknown

        proc = start_watcher(config, url, kafka_bootstrap, topics, group, log)
        wait_consumed(url, group, new_ends, proc, log)
        stop_watcher(proc, log)
        assert _scalar(url, "SELECT count(*) FROM dead_letters") == n_dead  # every requeued event accepted
        windows = _scalar(url, f"SELECT count(*) FROM window_results w JOIN models m ON m.id = w.model_id "
                               f"WHERE m.name = '{ADDED}'")
        assert windows >= 2, f"no window of {ADDED} closed from the requeued events"
