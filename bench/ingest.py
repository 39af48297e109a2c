"""Ingest speed: the watcher's end-to-end rate against the raw kafka-python consume rate of the same topic.

    .venv/bin/python bench/ingest.py [--events 100000] [--features 50] [--partitions 3] [--processes 1]

Needs the real services (``eval "$(scripts/postgres-local start)"; eval "$(scripts/kafka-local start)"``).
In one run it:

1. produces N prediction events with F features (numeric and categorical) to a new topic (keyed by one of
   a few models, so they spread over the partitions), registers a reference for each model in a fresh
   PostgreSQL database;
2. measures the **raw consume rate**: one kafka-python consumer (new group) polls the topic, values left
   as bytes, from the first record to the N-th;
3. measures **driftwarden run's end-to-end rate**: the real ``Service`` (Kafka source, msgspec decode,
   per-partition pipelines with count windows and drift tests, persist into PostgreSQL, informational
   commit), from its first record to the moment the last offset is written to the database; with
   ``--processes K`` it runs K ``driftwarden run`` processes in one consumer group (scale-out);
4. measures the raw consume rate again right after the watcher (the broker's state moves it between runs);
   prints the rates, the ratio to each raw run and to their mean (target >= 0.8), the CPU time per record of
   the raw consumer and per event of the watcher (its main process and its fetch process), the watcher's rate
   from a JSONL file of the same events (its own work per event, without Kafka) and the msgspec decode rate
   on one core;
5. prints a **floor**: the raw consumer again, now also decoding each value with the watcher's typed decoder
   and doing nothing else. A watcher in one process with the consumer cannot keep more of the raw rate than
   this, whatever else it does (``--no-decode-floor`` skips it).

The wall-clock rate of a consumer run depends on the broker's state at that moment (here the raw rate of the
same topic has varied from 26k to 85k msg/s between runs), so the CPU ratios (the raw consumer's CPU time per
record over the other's per event) are printed too: they are the steadier comparison of the work done.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

# bench/detectors.py is named like the package: drop bench/ from the path so `detectors` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import msgspec  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from monitor.config.settings import Settings  # noqa: E402
from monitor.db.admin import create_database, drop_database  # noqa: E402
from monitor.sources.kafka import FETCH_MAX_WAIT_MS  # noqa: E402
from monitor.sources.kafka_clients import make_admin, make_consumer, make_producer  # noqa: E402

MODELS = ("bench-a", "bench-b", "bench-c", "bench-d", "bench-e", "bench-f")
CATEGORIES = ("alpha", "beta", "gamma", "delta", "epsilon")


def feature_kinds(n: int) -> dict[str, str]:
    return {f"f{i:02d}": ("categorical" if i % 5 == 4 else "numeric") for i in range(n)}


def make_event(rng: random.Random, i: int, kinds: dict[str, str], t0: float) -> dict[str, Any]:
    features: dict[str, Any] = {}
    for name, kind in kinds.items():
        features[name] = rng.choice(CATEGORIES) if kind == "categorical" else round(rng.gauss(0, 1), 4)
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + i * 0.01)) + f".{(i % 100) * 10:03d}Z"
    return {"model": MODELS[i % len(MODELS)], "model_version": "1", "event_id": f"b-{i:09d}", "ts": ts,
            "features": features, "prediction": round(rng.random(), 4)}


def reference_frame(kinds: dict[str, str], rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for name, kind in kinds.items():
        data[name] = rng.choice(CATEGORIES, rows) if kind == "categorical" else rng.normal(0, 1, rows).round(4)
    data["prediction"] = rng.random(rows).round(4)
    return pd.DataFrame(data)


def write_config(path: Path, kinds: dict[str, str], window: int) -> None:
    model = {"features": kinds, "prediction": {"kind": "score", "column": "prediction"},
             "window": {"type": "count", "size": window}, "sample": {"enabled": True, "size": 200}}
    path.write_text(yaml.safe_dump({"version": 1, "models": {m: model for m in MODELS}}, sort_keys=False))


def fresh_database(server_url: str) -> str:
    return create_database(server_url, "dw_bench")


def register_references(url: str, kinds: dict[str, str]) -> None:
    from detectors.profile import ReferenceProfile
    from monitor.db import make_engine, session_factory, upgrade
    from monitor.store.references import register_reference

    upgrade(url)
    profile = ReferenceProfile.build(reference_frame(kinds, 5000, 7), {**kinds, "prediction": "numeric"})
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        for model in MODELS:
            register_reference(session, model, profile, source="bench")
    engine.dispose()


def kafka_settings(bootstrap: str) -> Settings:
    """The environment's settings (DRIFTWARDEN_KAFKA_* TLS and SASL) with ``bootstrap`` as the servers."""
    return Settings(kafka_bootstrap_servers=bootstrap)


def produce(bootstrap: str, topic: str, n: int, kinds: dict[str, str]) -> tuple[float, float]:
    """Produce ``n`` events; returns (seconds, mean message bytes)."""
    rng = random.Random(1)
    encoder = msgspec.json.Encoder()
    producer = make_producer(kafka_settings(bootstrap), linger_ms=50, batch_size=1024 * 1024,
                             max_request_size=8 * 1024 * 1024)
    t0 = time.time() - n * 0.01
    started = time.monotonic()
    size = 0
    for i in range(n):
        value = encoder.encode(make_event(rng, i, kinds, t0))
        size += len(value)
        producer.send(topic, value=value, key=MODELS[i % len(MODELS)].encode())
    producer.flush()
    producer.close()
    return time.monotonic() - started, size / n


def raw_consume(bootstrap: str, topic: str, n: int, decode: Callable[[bytes], Any] | None = None
                ) -> tuple[float, float]:
    """Records per second of a plain kafka-python consumer (values as bytes), first record to the n-th, and
    its CPU time per record (µs, this process). With ``decode``, each value is also decoded by it."""
    consumer = make_consumer(kafka_settings(bootstrap), topic, group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             max_partition_fetch_bytes=1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)
    got = 0
    first = None
    cpu = 0.0
    deadline = time.monotonic() + 600
    while got < n and time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=500, max_records=2000)
        for records in batch.values():
            if records and first is None:
                first, cpu = time.monotonic(), time.process_time()
            if decode is not None:
                for record in records:
                    decode(record.value)
            got += len(records)
    elapsed = time.monotonic() - (first or time.monotonic())
    cpu = time.process_time() - cpu
    consumer.close()
    if got < n:
        raise SystemExit(f"raw consumer got {got} of {n} records")
    return n / elapsed, cpu / n * 1e6


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FirstRecordClock:
    """Wraps a source; remembers when the first record came out of poll, and the CPU time used from then on:
    ``cpu`` of this process and ``child_cpu`` of the fetch process, if any (read just before it closes)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.first: float | None = None
        self.cpu = 0.0
        self.child_cpu = 0.0

    def _child(self) -> int | None:
        proc = getattr(self._inner, "_proc", None)
        return proc.pid if proc is not None and proc.is_alive() else None

    def poll(self, timeout: float, max_records: int) -> Any:
        batch = self._inner.poll(timeout, max_records)
        if batch and self.first is None:
            self.first = time.monotonic()
            self.cpu = time.process_time()
            child = self._child()
            self.child_cpu = _cpu_of(child) if child is not None else 0.0
        return batch

    def close(self) -> None:
        if self.first is not None:
            self.cpu = time.process_time() - self.cpu
            child = self._child()
            self.child_cpu = _cpu_of(child) - self.child_cpu if child is not None else 0.0
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def watcher_in_process(bootstrap: str, topic: str, url: str, config: Path, n: int, fetch_process: bool,
                       consumer_config: dict[str, Any] | None = None) -> tuple[float, float, float]:
    """msg/s, and CPU µs per event of this process and of the fetch process (0 without one)."""
    from monitor.config.settings import Settings
    from monitor.wiring import build_service

    group = f"bench-dw-{uuid.uuid4().hex[:6]}"
    settings = Settings(database_url=url, kafka_bootstrap_servers=bootstrap, kafka_predictions_topic=topic,
                        kafka_outcomes_topic=f"{topic}.outcomes", kafka_consumer_group=group, metrics_port=0)
    service = build_service(settings, config, "kafka", url, registry=CollectorRegistry(), checkpoint_interval=5.0,
                            fetch_process=fetch_process, consumer_config=consumer_config)
    clock = FirstRecordClock(service.source)
    service.source = clock
    result = service.run(max_messages=n, timeout=600)
    end = time.monotonic()
    if result.messages < n or not result.clean:
        raise SystemExit(f"watcher consumed {result.messages} of {n} (clean={result.clean})")
    return n / (end - (clock.first or end)), clock.cpu / n * 1e6, clock.child_cpu / n * 1e6


def watcher_processes(bootstrap: str, topic: str, url: str, config: Path, n: int, processes: int) -> float:
    """K ``driftwarden run`` processes in one group; first stored offset to all N stored (from the DB)."""
    group = f"bench-dw-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DRIFTWARDEN_DATABASE_URL": url,
           "DRIFTWARDEN_KAFKA_PREDICTIONS_TOPIC": topic, "DRIFTWARDEN_KAFKA_OUTCOMES_TOPIC": f"{topic}.outcomes",
           "DRIFTWARDEN_KAFKA_CONSUMER_GROUP": group, "DRIFTWARDEN_METRICS_PORT": "0",
           "DRIFTWARDEN_LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--config", str(config), "--no-migrate",
                               "--checkpoint-interval", "1"], env=env) for _ in range(processes)]
    engine = create_engine(url)
    first = None
    try:
        while True:
            with engine.connect() as conn:
                done = conn.execute(text("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets "
                                         "WHERE group_id = :g AND topic = :t"), {"g": group, "t": topic}).scalar()
            if done and first is None:
                first = time.monotonic()
            if int(done or 0) >= n:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a watcher process exited early")
            time.sleep(0.05)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        engine.dispose()
    # The first stored offset already covers the work since the first record: count from the start of that
    # work by adding one checkpoint's worth of records (an underestimate of the rate, never an overestimate).
    return n / (time.monotonic() - (first or time.monotonic()) + 1.0)


def watcher_from_file(server_url: str, kinds: dict[str, str], config: Path, n: int, tmp: Path) -> float:
    """The watcher's own work: the same N events from a JSONL file (no Kafka) into a fresh PostgreSQL database."""
    from monitor.config.settings import Settings
    from monitor.wiring import build_service

    rng = random.Random(1)  # the events produce() sent
    encoder = msgspec.json.Encoder()
    t0 = time.time() - n * 0.01
    path = tmp / "events.jsonl"
    with path.open("wb") as f:
        for i in range(n):
            f.write(encoder.encode(make_event(rng, i, kinds, t0)) + b"\n")
    url = fresh_database(server_url)
    try:
        register_references(url, kinds)
        service = build_service(Settings(database_url=url, metrics_port=0), config, str(path), url,
                                registry=CollectorRegistry(), checkpoint_interval=5.0)
        clock = FirstRecordClock(service.source)
        service.source = clock
        result = service.run(timeout=600)
        end = time.monotonic()
    finally:
        drop_database(url)
    if result.messages < n:
        raise SystemExit(f"file run consumed {result.messages} of {n}")
    return n / (end - (clock.first or end))


def decode_rate(kinds: dict[str, str], n: int = 50_000) -> tuple[float, float]:
    import json

    from monitor.events import EventDecoder

    rng = random.Random(2)
    raws = [msgspec.json.encode(make_event(rng, i, kinds, 1.7e9)) for i in range(2000)]
    decode = EventDecoder({m: kinds for m in MODELS}).decode
    started = time.perf_counter()
    for i in range(n):
        decode(raws[i % 2000])
    typed = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(n):
        json.loads(raws[i % 2000])
    stdlib = n / (time.perf_counter() - started)
    return typed, stdlib


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--window", type=int, default=5000, help="count window size (events per model)")
    parser.add_argument("--processes", type=int, default=0,
                        help="0: the Service in this process; K: K 'driftwarden run' processes in one group")
    parser.add_argument("--fetch-max-wait-ms", type=int, default=None,
                        help=f"the watcher's consumer fetch_max_wait_ms (default: the Kafka source's, "
                             f"{FETCH_MAX_WAIT_MS}; kafka-python's own is 500); not with --processes")
    parser.add_argument("--fetch-process", action=argparse.BooleanOptionalAction, default=True,
                        help="the watcher's consumer in a child process (driftwarden run --fetch-process)")
    parser.add_argument("--decode-floor", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure raw consume + decode only: the most any one-process watcher can keep")
    parser.add_argument("--bootstrap", default=os.environ.get("DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--database-url", default=os.environ.get("DRIFTWARDEN_DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.bootstrap or not (args.database_url or "").startswith("postgresql"):
        parser.error("needs DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS and a postgresql DRIFTWARDEN_DATABASE_URL "
                     "(eval \"$(scripts/postgres-local start)\"; eval \"$(scripts/kafka-local start)\")")
    if args.processes and args.fetch_max_wait_ms is not None:
        parser.error("--fetch-max-wait-ms sets the in-process watcher's consumer; it cannot reach --processes")
    kinds = feature_kinds(args.features)
    topic = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    admin = make_admin(kafka_settings(args.bootstrap))
    admin.create_topics([NewTopic(topic, args.partitions, 1), NewTopic(f"{topic}.outcomes", args.partitions, 1)])
    admin.close()
    url = fresh_database(args.database_url)
    try:
        register_references(url, kinds)
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "bench.yaml"
            write_config(config, kinds, args.window)
            produced_s, size = produce(args.bootstrap, topic, args.events, kinds)
            print(f"produced {args.events} events ({args.features} features, {size:.0f} B each) to {topic!r} "
                  f"({args.partitions} partitions) in {produced_s:.1f}s")
            raw, raw_cpu = raw_consume(args.bootstrap, topic, args.events)
            print(f"raw kafka-python consume: {raw:,.0f} msg/s (CPU {raw_cpu:.1f} µs/record)")
            consumer_config = ({} if args.fetch_max_wait_ms is None
                               else {"fetch_max_wait_ms": args.fetch_max_wait_ms})
            if args.processes:
                watcher = watcher_processes(args.bootstrap, topic, url, config, args.events, args.processes)
                how = f"{args.processes} 'driftwarden run' processes"
                cpu = ""
            else:
                watcher, main_cpu, child_cpu = watcher_in_process(args.bootstrap, topic, url, config, args.events,
                                                                  args.fetch_process, consumer_config)
                how = "--fetch-process" if args.fetch_process else "one process"
                if args.fetch_max_wait_ms is not None:
                    how += f", fetch_max_wait_ms={args.fetch_max_wait_ms}"
                cpu = f" (CPU {main_cpu:.1f} µs/event" + (
                    f" + fetch process {child_cpu:.1f} µs/event)" if args.fetch_process else ")")
            print(f"driftwarden run end-to-end into PostgreSQL ({how}): {watcher:,.0f} msg/s{cpu}")
            # the raw rate again, right after: how far the broker's state moved it during this run
            raw_after, raw_cpu_after = raw_consume(args.bootstrap, topic, args.events)
            print(f"raw kafka-python consume again, after the watcher: {raw_after:,.0f} msg/s "
                  f"(CPU {raw_cpu_after:.1f} µs/record)")
            raw_mean = (raw + raw_after) / 2
            print(f"ratio watcher / raw: {watcher / raw:.2f} to the first raw run, {watcher / raw_after:.2f} to the "
                  f"second, {watcher / raw_mean:.2f} to their mean (target >= 0.80)")
            raw_cpu_mean = (raw_cpu + raw_cpu_after) / 2
            if cpu:
                print(f"CPU ratio, raw CPU per record (mean of both raw runs) / watcher CPU per event (all its "
                      f"processes): {raw_cpu_mean / (main_cpu + child_cpu):.2f}")
            if args.decode_floor:
                from monitor.events import EventDecoder

                decoder = EventDecoder({m: kinds for m in MODELS})
                floor, floor_cpu = raw_consume(args.bootstrap, topic, args.events, decode=decoder.decode)
                print(f"floor: raw consume + the watcher's typed decode of each value, nothing else: {floor:,.0f} "
                      f"msg/s (CPU {floor_cpu:.1f} µs/record), ratio {floor / raw_mean:.2f} to the mean raw rate, "
                      f"CPU ratio {raw_cpu_mean / floor_cpu:.2f}")
            own = watcher_from_file(args.database_url, kinds, config, args.events, Path(tmp))
            print(f"driftwarden run from a JSONL file of the same events (its own work, no Kafka): {own:,.0f} msg/s "
                  f"({1e6 / own:.0f} µs/event)")
        typed, stdlib = decode_rate(kinds)
        print(f"decode on one core: msgspec typed {typed:,.0f} msg/s, stdlib json {stdlib:,.0f} msg/s")
    finally:
        drop_database(url)
        admin = make_admin(kafka_settings(args.bootstrap))
        admin.delete_topics([topic, f"{topic}.outcomes"])
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
