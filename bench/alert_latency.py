"""Alert latency: from the event that closes a window to its alert row committed in PostgreSQL.

    scripts/with-services .venv/bin/python bench/alert_latency.py [--models 100] [--rate 20000] [--seconds 30]

Needs the real services (a Kafka broker and PostgreSQL: ``DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS`` and a
``postgresql`` ``DRIFTWARDEN_DATABASE_URL``). In one run it:

1. registers a reference for each of M models of 50 features (``bench/many_models.py``'s models: 40
   numeric, 10 categorical with 20 levels, each model its own distribution) in a fresh database;
2. writes ``rate x seconds`` prediction events interleaved across the models, in which model m's k-th
   count window (``--window`` events) has feature ``num{k}`` shifted by ``--shift`` standard deviations,
   so each closed window raises one new ``feature_drift`` alert naming that feature (early warning off:
   the alert comes from the window's close);
3. starts ``driftwarden run --source kafka`` on a new one-partition topic, then produces the events at
   ``--rate`` events/s, noting the wall time at which it hands each window's last event to the producer;
4. polls the ``alerts`` table every ``--poll`` seconds and notes when each alert row is first visible
   (committed), until every expected alert is seen or ``--timeout`` seconds after the last event.

It prints the produce rate reached, the latency (visible - last event sent) p50, p90, p99 and max over the
alerts, and how many of the expected alerts were seen. The poll interval bounds the measurement's own error.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

# This directory holds a script named like the `detectors` package: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import msgspec  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from kafka import KafkaAdminClient, KafkaProducer  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from monitor.db.admin import create_database, drop_database  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_many_models", Path(__file__).with_name("many_models.py"))
assert _spec is not None and _spec.loader is not None
many = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(many)


def write_config(path: Path, models: int, window: int) -> None:
    many.write_config(path, models, window, sample=False)
    config = yaml.safe_load(path.read_text())
    for model in config["models"].values():
        model["early_warning"] = {"enabled": False}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def write_events(path: Path, models: int, n: int, window: int, shift: float) -> None:
    """``n`` events, model ``k % models`` for the k-th; model m's j-th window shifts feature ``num{j % 40}``."""
    encoder = msgspec.json.Encoder()
    rng = np.random.default_rng(54321)
    t0 = 1_767_225_600.0
    names = list(many.kinds())
    block = window
    with path.open("wb") as out:
        cols: dict[int, tuple[list[list[Any]], list[float]]] = {}
        for k in range(n):
            i = k % models
            pos = (k // models) % block
            if pos == 0:
                data = many.draw(i, block, rng)
                j = (k // models) // window % many.N_NUMERIC
                _, scale, _ = many.model_params(i)
                data[f"num{j:02d}"] = (data[f"num{j:02d}"] + shift * scale[j]).round(4)
                cols[i] = [data[c].tolist() for c in names], data["prediction"].tolist()
            values, pred = cols[i]
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + k // 1000)) + f".{k % 1000:03d}Z"
            event = {"model": many.model_name(i), "model_version": "1", "event_id": f"e{k:010d}", "ts": ts,
                     "features": {c: col[pos] for c, col in zip(names, values, strict=True)},
                     "prediction": pred[pos]}
            out.write(encoder.encode(event) + b"\n")


def produce(bootstrap: str, topic: str, events: Path, models: int, window: int, rate: float
            ) -> tuple[dict[tuple[str, str], float], float]:
    """Send the file's events at ``rate``/s; ``({(model, feature): wall time its window's last event was
    sent}, events/s reached)``."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=256 * 1024)
    closing: dict[tuple[str, str], float] = {}
    start = time.perf_counter()
    k = 0
    with events.open("rb") as src:
        for line in src:
            due = start + k / rate
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            producer.send(topic, value=line.rstrip(b"\n"))
            seq = k // models
            if (seq + 1) % window == 0:
                j = seq // window % many.N_NUMERIC
                closing[(many.model_name(k % models), f"num{j:02d}")] = time.time()
            k += 1
    producer.flush()
    elapsed = time.perf_counter() - start
    producer.close()
    return closing, k / elapsed


def poll_alerts(url: str, seen: dict[tuple[str, str], float], stop: threading.Event, interval: float) -> None:
    engine = create_engine(url)
    query = text("SELECT m.name, a.feature FROM alerts a JOIN models m ON m.id = a.model_id "
                 "WHERE a.signal = 'feature_drift' AND a.feature IS NOT NULL")
    try:
        while not stop.is_set():
            with engine.connect() as conn:
                rows = conn.execute(query).all()
            now = time.time()
            for name, feature in rows:
                seen.setdefault((name, feature), now)
            stop.wait(interval)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--rate", type=float, default=20_000, help="events/s produced")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--window", type=int, default=1000, help="count window size (events per model)")
    ap.add_argument("--rows", type=int, default=20_000, help="reference rows per model")
    ap.add_argument("--shift", type=float, default=1.0, help="drift of the window's feature, in standard deviations")
    ap.add_argument("--poll", type=float, default=0.02, help="seconds between polls of the alerts table")
    ap.add_argument("--timeout", type=float, default=60, help="seconds to wait after the last event")
    ap.add_argument("--checkpoint-interval", type=float, default=5.0, help="the watcher's --checkpoint-interval")
    ap.add_argument("--write-at-close", action=argparse.BooleanOptionalAction, default=True,
                    help="the watcher's --write-at-close (else --write-at-checkpoint)")
    ap.add_argument("--fetch-process", action=argparse.BooleanOptionalAction, default=False,
                    help="the watcher's consumer in a child process")
    ap.add_argument("--bootstrap", default=os.environ.get("DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS"))
    ap.add_argument("--database-url", default=os.environ.get("DRIFTWARDEN_DATABASE_URL"))
    args = ap.parse_args(argv)
    if not args.bootstrap or not (args.database_url or "").startswith("postgresql"):
        ap.error("needs DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS and a postgresql DRIFTWARDEN_DATABASE_URL "
                 "(scripts/with-services, or eval \"$(scripts/postgres-local start)\"; "
                 "eval \"$(scripts/kafka-local start)\")")
    n = int(args.rate * args.seconds)
    topic = f"bench-latency-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1), NewTopic(f"{topic}.outcomes", 1, 1)])
    admin.close()
    url = create_database(args.database_url, "dw_bench_latency")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config, events = Path(tmp) / "models.yaml", Path(tmp) / "events.jsonl"
            write_config(config, args.models, args.window)
            print(f"registering {args.models} references of {args.rows:,} rows ...", file=sys.stderr)
            many.register(url, args.models, args.rows, config)
            write_events(events, args.models, n, args.window, args.shift)
            result = run(args, config, events, topic, url, n)
    finally:
        drop_database(url)
    closing, rate, seen = result
    latencies = sorted(seen[key] - sent for key, sent in closing.items() if key in seen)
    print(f"\n{args.models} models x 50 features, count windows of {args.window:,} events, one-partition topic, "
          f"consumer {'in a child process' if args.fetch_process else 'in the watcher process'}, "
          f"{'--write-at-close' if args.write_at_close else '--write-at-checkpoint'}")
    print(f"produced {n:,} events at {rate:,.0f} events/s (target {args.rate:,.0f}); "
          f"alerts seen {len(latencies)}/{len(closing)} (poll every {args.poll * 1000:.0f} ms)\n")
    if latencies:
        q = np.quantile(latencies, [0.5, 0.9, 0.99])
        print("| alerts | p50 s | p90 s | p99 s | max s |")
        print("| --- | --- | --- | --- | --- |")
        print(f"| {len(latencies)} | {q[0]:.3f} | {q[1]:.3f} | {q[2]:.3f} | {latencies[-1]:.3f} |")
    return 0 if latencies and len(latencies) == len(closing) else 1


def run(args: argparse.Namespace, config: Path, events: Path, topic: str, url: str, n: int
        ) -> tuple[dict[tuple[str, str], float], float, dict[tuple[str, str], float]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS": args.bootstrap,
           "DRIFTWARDEN_DATABASE_URL": url, "DRIFTWARDEN_KAFKA_PREDICTIONS_TOPIC": topic,
           "DRIFTWARDEN_KAFKA_OUTCOMES_TOPIC": f"{topic}.outcomes", "DRIFTWARDEN_KAFKA_DEAD_LETTER_TOPIC": "",
           "DRIFTWARDEN_KAFKA_CONSUMER_GROUP": f"bench-latency-{uuid.uuid4().hex[:6]}",
           "DRIFTWARDEN_METRICS_PORT": "0", "DRIFTWARDEN_LOG_LEVEL": "WARNING",
           "DRIFTWARDEN_KAFKA_FETCH_PROCESS": "true" if args.fetch_process else "false"}
    watcher = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--config", str(config), "--no-migrate",
                                "--no-progress", "--checkpoint-interval", str(args.checkpoint_interval),
                                "--write-at-close" if args.write_at_close else "--write-at-checkpoint"],
                               env=env, cwd=ROOT)
    seen: dict[tuple[str, str], float] = {}
    stop = threading.Event()
    poller = threading.Thread(target=poll_alerts, args=(url, seen, stop, args.poll), daemon=True)
    try:
        time.sleep(5)  # the watcher's start-up and partition assignment, before the first event
        if watcher.poll() is not None:
            raise SystemExit(f"driftwarden run exited {watcher.returncode} before the first event")
        poller.start()
        closing, rate = produce(args.bootstrap, topic, events, args.models, args.window, args.rate)
        deadline = time.time() + args.timeout
        while time.time() < deadline and not all(key in seen for key in closing):
            if watcher.poll() is not None:
                raise SystemExit(f"driftwarden run exited {watcher.returncode}")
            time.sleep(0.2)
    finally:
        stop.set()
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=120)
        if poller.is_alive():
            poller.join(timeout=10)
    return closing, rate, dict(seen)


if __name__ == "__main__":
    raise SystemExit(main())
