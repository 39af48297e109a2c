"""Nothing lost, nothing doubled: ``driftwarden run`` killed with SIGKILL at random points while it consumes a
replay from the real broker into the real PostgreSQL, restarted each time, ends with the same window results,
metric values, alerts, dead letters and open-window checkpoints as an uninterrupted run.

The replay: the demo scenario's events spread over three models (so three partitions carry state), with bad
messages mixed in (they must be dead-lettered exactly once), to two co-partitioned 3-partition topics.
Every signal is on: early warning and the label-judged alerts (``performance.min_labels`` lowered to 50 so
``performance_drop`` can fire on these windows). Set ``DRIFTWARDEN_CRASH_SEED`` to replay a failing sequence
of kills; ``DRIFTWARDEN_CRASH_KILLS`` for more.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from sqlalchemy import Engine, create_engine, text

from monitor.commands.reference import build_reference
from monitor.commands.replay import replay_file
from monitor.db import upgrade
from monitor.db.admin import temporary_database
from scenario import generate_scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

MODELS = ("rec-a", "rec-b", "rec-c")
LABEL_JUDGED = {"performance_drop", "business_metric_drop"}
PARTITIONS = 3
DRIVER = [sys.executable, "-m", "monitor.cli"]
BAD_MESSAGES = [
    b"\xff\xfe not json at all",
    b'{"model": "rec-a", "model_version": "1", "event_id": "bad-1", "ts": "2026-11-02T01:00:00Z", '
    b'"features": {"tenure_days": NaN}, "prediction": 0.5}',
    b'{"model": "no-such-model", "model_version": "1", "event_id": "bad-2", "ts": "2026-11-02T01:00:00Z", '
    b'"features": {}, "prediction": 0.5}',
    b'{"model": "rec-b", "event_id": "bad-3", "ts": "2026-11-02T01:00:00Z", "features": {}, "prediction": 1}',
    b'{"model": "rec-c", "model_version": "1", "event_id": "bad-4", "ts": "2026-11-02T01:00:00Z", '
    b'"features": {"tenure_days": "12"}, "prediction": [1, 2]}',
]


# -- data ------------------------------------------------------------------------------------------------
def prepare_replay(out: Path, *, days: int = 5, per_hour: float = 160, window: str = "6h") -> tuple[Path, Path]:
    """The scenario's events spread over three models plus bad messages; a config watching the three."""
    files = generate_scenario(out / "scenario", seed=11, days=days, events_per_hour=per_hour,
                              reference_rows=3000)
    lines: list[bytes] = []
    for i, line in enumerate(files.events.read_bytes().splitlines()):
        event = json.loads(line)
        event["model"] = MODELS[zlib.crc32(event["event_id"].encode()) % len(MODELS)]
        lines.append(json.dumps(event, separators=(",", ":")).encode())
        if i % 1500 == 700:
            lines.append(BAD_MESSAGES[(i // 1500) % len(BAD_MESSAGES)])
    events = out / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    raw = yaml.safe_load(files.config.read_text())
    base = raw["models"].pop("recommender")
    base["reference"]["path"] = str(files.reference)
    base["performance"]["reference"]["path"] = str(files.validation)
    base["window"] = {"type": "time", "size": window, "allowed_lateness": "30m"}
    base["performance"]["min_labels"] = 50  # low enough for performance_drop to fire on these windows
    raw["models"] = {name: {**copy.deepcopy(base), "name": name} for name in MODELS}
    config = out / "watch.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    return events, config


def register_references(config: Path, reference: Path, url: str) -> None:
    upgrade(url)
    for name in MODELS:
        build_reference(name, reference, config, url, progress=False)


def create_topics(bootstrap: str, prefix: str) -> tuple[str, str]:
    predictions, outcomes = f"{prefix}.predictions", f"{prefix}.outcomes"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="dw-test-admin")
    try:
        admin.create_topics([NewTopic(predictions, PARTITIONS, 1), NewTopic(outcomes, PARTITIONS, 1)])
    finally:
        admin.close()
    return predictions, outcomes


def replay(bootstrap: str, events: Path, predictions: str, outcomes: str) -> dict[tuple[str, int], int]:
    """Produce the file; returns the end offset of every topic-partition."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024)
    try:
        result = replay_file(events, producer, predictions, outcomes, progress=False)
    finally:
        producer.close()
    assert result.undecodable >= 1 and result.predictions > 1000
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(t, p) for t in (predictions, outcomes) for p in range(PARTITIONS)]
        ends = consumer.end_offsets(tps)
    finally:
        consumer.close()
    assert all(ends[tp] > 0 for tp in tps if tp.topic == predictions), ends
    return {(tp.topic, tp.partition): off for tp, off in ends.items()}


def extra_database(server_url: str) -> AbstractContextManager[str]:
    return temporary_database(server_url, "dw_test")


# -- the watcher as a process ------------------------------------------------------------------------------
STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_leftover_watchers() -> Iterator[None]:
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def start_watcher(config: Path, url: str, bootstrap: str, topics: tuple[str, str], group: str,
                  log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DRIFTWARDEN_KAFKA_PREDICTIONS_TOPIC": topics[0],
        "DRIFTWARDEN_KAFKA_OUTCOMES_TOPIC": topics[1],
        "DRIFTWARDEN_KAFKA_CONSUMER_GROUP": group,
        "DRIFTWARDEN_DATABASE_URL": url,
        "DRIFTWARDEN_METRICS_PORT": "0",
        "DRIFTWARDEN_LOG_LEVEL": "INFO",
    }
    args = [*DRIVER, "run", "--config", str(config), "--source", "kafka", "--no-migrate",
            "--checkpoint-interval", "0.5", "--session-timeout", "6", *extra]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    STARTED.append(proc)
    return proc


def stored_offsets(url: str, group: str) -> dict[tuple[str, int], int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT topic, partition, next_offset FROM consumer_offsets "
                                     "WHERE group_id = :g"), {"g": group}).all()
    finally:
        engine.dispose()
    return {(r[0], int(r[1])): int(r[2]) for r in rows}


def wait_consumed(url: str, group: str, ends: dict[tuple[str, int], int], proc: subprocess.Popen[bytes],
                  log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"watcher exited with {proc.returncode} before the end; log:\n{log.read_text()[-4000:]}")
        stored = stored_offsets(url, group)
        if all(stored.get(tp, 0) >= end for tp, end in ends.items()):
            return
        time.sleep(0.3)
    pytest.fail(f"not consumed within {timeout}s: stored {stored_offsets(url, group)} vs ends {ends}")


def wait_progress(engine: Engine, group: str, target: int, proc: subprocess.Popen[bytes],
                  timeout: float = 120) -> None:
    """Until the offsets stored for ``group`` add up to ``target`` or more (or the watcher exits)."""
    deadline = time.monotonic() + timeout
    query = text("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = :g")
    while time.monotonic() < deadline and proc.poll() is None:
        with engine.connect() as conn:
            if int(conn.execute(query, {"g": group}).scalar_one()) >= target:
                return
        time.sleep(0.02)


def wait_assigned(log: Path, mark: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """Until the process logged a partition assignment (it imported, migrated and joined the group)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with log.open("rb") as handle:
            handle.seek(mark)
            if b"partition assigned" in handle.read():
                return
        time.sleep(0.05)
    pytest.fail(f"watcher (exit code {proc.poll()}) did not get partitions within {timeout}s; log:\n"
                f"{log.read_text()[-4000:]}")


def stop_watcher(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    assert code == 0, f"SIGTERM should exit 0, got {code}; log:\n{log.read_text()[-4000:]}"


# -- comparing databases -----------------------------------------------------------------------------------
QUERIES = {
    "windows": "SELECT m.name, w.window_key, w.window_start, w.window_end, w.n_events, w.reference_version, "
               "w.preset, w.dataset_drift, w.drift_share, w.multivariate_statistic, w.report "
               "FROM window_results w JOIN models m ON m.id = w.model_id ORDER BY 1, 2",
    "features": "SELECT m.name, w.window_key, f.feature, f.kind, f.test, f.statistic, f.p_value, f.threshold, "
                "f.drifted, f.missing_rate_current FROM feature_results f JOIN window_results w ON w.id = "
                "f.window_id JOIN models m ON m.id = w.model_id ORDER BY 1, 2, 3",
    "metrics": "SELECT m.name, w.window_key, v.name, v.value, v.numerator, v.denominator FROM metric_values v "
               "JOIN window_results w ON w.id = v.window_id JOIN models m ON m.id = w.model_id ORDER BY 1, 2, 3",
    # model quality: every label update of a window (until its label TTL), not the processing-time updated_at
    "performance": "SELECT m.name, w.window_key, p.metric, p.n_predictions, p.n_labelled, p.realized, "
                   "p.realized_lower, p.realized_upper, p.estimated, p.estimated_lower, p.estimated_upper, "
                   "p.reference, p.error, p.estimate_reliable, p.provisional, p.reason FROM performance_values p "
                   "JOIN window_results w ON w.id = p.window_id JOIN models m ON m.id = w.model_id ORDER BY 1, 2, 3",
    "samples": "SELECT m.name, w.window_key, s.n_rows, md5(s.data) FROM window_samples s JOIN window_results w "
               "ON w.id = s.window_id JOIN models m ON m.id = w.model_id ORDER BY 1, 2",
    "alerts": "SELECT m.name, a.dedup_key, a.signal, a.feature, a.severity, a.status, a.message, a.first_seen, "
              "a.last_seen, a.windows_count, a.clean_windows, a.detected_at, a.early, a.detected_events "
              "FROM alerts a JOIN models m ON m.id = a.model_id "
              # every column: one window can open two alerts of a key (opened by a label step, auto-resolved by
              # an older window's final update, opened again by the next step), same first_seen
              "ORDER BY 1, 2, 8, 12, 3, 4, 5, 6, 7, 9, 10, 11, 13, 14",
    "alert_events": "SELECT a.dedup_key, a.first_seen, e.action, e.note FROM alert_events e JOIN alerts a "
                    "ON a.id = e.alert_id ORDER BY 1, 2, e.id",
    # incidents: which alerts each groups and what it derives from them (not the wall-clock resolved_at)
    "incidents": "SELECT m.name, a.dedup_key, a.first_seen, i.first_seen, i.last_seen, i.last_opened, i.title, "
                 "i.status, i.top_signal, i.top_feature, i.severity, i.alerts_count FROM alerts a "
                 "JOIN incidents i ON i.id = a.incident_id JOIN models m ON m.id = i.model_id ORDER BY 1, 2, 3",
    "dead_letters": "SELECT source, partition, \"offset\", model, reason, error_class, raw, raw_size "
                    "FROM dead_letters ORDER BY 1, 2, 3",
    "offsets": "SELECT topic, partition, next_offset FROM consumer_offsets ORDER BY 1, 2",
    "checkpoints": "SELECT key, state FROM window_checkpoints ORDER BY 1",
}


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {name: [tuple(r) for r in conn.execute(text(q))] for name, q in QUERIES.items()}
    finally:
        engine.dispose()
    out["checkpoints"] = [(key, _event_time_only(json.loads(bytes(state)))) for key, state in out["checkpoints"]]
    return out


def _event_time_only(state: Any) -> Any:
    """A snapshot without ``last_arrival`` (processing time, only used for idle timeouts)."""
    if isinstance(state, dict):
        return {k: _event_time_only(v) for k, v in state.items() if k != "last_arrival"}
    if isinstance(state, list):
        return [_event_time_only(v) for v in state]
    return state


def assert_same(expected: dict[str, list[Any]], got: dict[str, list[Any]]) -> None:
    for name in QUERIES:
        assert len(got[name]) == len(expected[name]), f"{name}: {len(got[name])} rows, expected {len(expected[name])}"
        for want, have in zip(expected[name], got[name], strict=True):
            assert have == want, f"{name} differs:\n expected {str(want)[:600]}\n got      {str(have)[:600]}"


# -- the test ----------------------------------------------------------------------------------------------
def test_sigkill_at_random_points_changes_nothing(
    tmp_path: Path, kafka_bootstrap: str, pg_server_url: str
) -> None:
    seed = int(os.environ.get("DRIFTWARDEN_CRASH_SEED", str(random.SystemRandom().randrange(1_000_000))))
    kills = int(os.environ.get("DRIFTWARDEN_CRASH_KILLS", "8"))
    rng = random.Random(seed)
    print(f"crash test seed={seed} kills={kills}")
    events, config = prepare_replay(tmp_path)
    topics = create_topics(kafka_bootstrap, f"dw-crash-{uuid.uuid4().hex[:8]}")
    ends = replay(kafka_bootstrap, events, *topics)
    total = sum(ends.values())
    reference = tmp_path / "scenario" / "reference.parquet"

    with extra_database(pg_server_url) as clean_url, extra_database(pg_server_url) as crash_url:
        for url in (clean_url, crash_url):
            register_references(config, reference, url)

        run_id = uuid.uuid4().hex[:8]  # consumer groups of this run only
        clean, crash = f"clean-{run_id}", f"crash-{run_id}"
        log = tmp_path / "clean.log"
        proc = start_watcher(config, clean_url, kafka_bootstrap, topics, clean, log, "--no-fetch-process")
        wait_consumed(clean_url, clean, ends, proc, log)
        stop_watcher(proc, log)
        expected = dump(clean_url)
        assert expected["windows"] and expected["alerts"] and expected["incidents"] and expected["dead_letters"]
        # the replay's labels reach the windows: realized quality, not only the estimate at close
        assert any(row[4] > 0 and row[5] is not None for row in expected["performance"]), expected["performance"][:3]
        assert len(expected["dead_letters"]) == len({r[:3] for r in expected["dead_letters"]})
        signals = Counter((row[2], bool(row[12])) for row in expected["alerts"])
        print(f"uninterrupted run's alerts (signal, early): {dict(signals)}")
        # the comparison covers the signals that are hardest to keep exact: early alerts and label-judged ones
        assert any(early for _, early in signals), signals
        assert any(signal in LABEL_JUDGED for signal, _ in signals), signals

        log = tmp_path / "crash.log"
        progress: list[int] = []
        # Kill points follow the stream, not the clock (a fast machine consumes the whole replay in a few
        # seconds): kill i waits until the stored offsets pass a random point of the i-th of ``kills`` equal
        # stretches of the stream, and at least one persist of this watcher's own, then a random 0-0.4 s
        # more, so the kill lands anywhere in the work.
        targets = [int(total * 0.9 * (i + rng.random()) / kills) for i in range(kills)]
        watch = create_engine(crash_url)
        try:
            for i, target in enumerate(targets):
                mark = log.stat().st_size if log.exists() else 0
                # every other watcher runs its consumer in a child process (--fetch-process): each kind resumes
                # the state the other one left, and a SIGKILL of the parent must also end its fetch child
                proc = start_watcher(config, crash_url, kafka_bootstrap, topics, crash, log,
                                     "--fetch-process" if i % 2 else "--no-fetch-process")
                wait_assigned(log, mark, proc)
                before = sum(stored_offsets(crash_url, crash).values())
                wait_progress(watch, crash, max(target, before + 1), proc)
                time.sleep(rng.uniform(0.0, 0.4))
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                progress.append(sum(stored_offsets(crash_url, crash).values()))
                if progress[-1] >= total:
                    break
        finally:
            watch.dispose()
        print(f"stored offsets after each SIGKILL: {progress} of {total}")
        assert any(0 < p < total for p in progress), "no kill landed in the middle of the stream"
        mark = log.stat().st_size
        proc = start_watcher(config, crash_url, kafka_bootstrap, topics, crash, log, "--fetch-process")
        wait_assigned(log, mark, proc)
        wait_consumed(crash_url, crash, ends, proc, log)
        stop_watcher(proc, log)
        got = dump(crash_url)

    assert_same(expected, got)
