"""Cost of per-segment detection: the watcher's rate from a JSON Lines file, without and with segments.

    .venv/bin/python bench/segments_speed.py [--events 60000] [--features 20] [--segments 20] [--runs 3]

Needs PostgreSQL (``eval "$(scripts/postgres-local start)"``). The events are those of ``bench/ingest.py``
(six models, numeric and categorical features, count windows of ``--window`` events per model) with
``segments: {country: c00..c19}`` (equal shares); the same file is run by the real ``Service`` (file source,
decode, per-partition pipelines, drift tests, persist into a fresh PostgreSQL database) with the models
configured without segments, then with ``segments: {keys: [country], max_segments: 20}``, alternating
``--runs`` times. Each run's rate is events / (time from the first record to the end of the run).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import msgspec  # noqa: E402
import yaml  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_ingest", HERE / "ingest.py")
assert _spec is not None and _spec.loader is not None
ingest: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ingest)


def write_events(path: Path, kinds: dict[str, str], n: int, segments: int) -> None:
    rng = random.Random(1)
    encoder = msgspec.json.Encoder()
    t0 = time.time() - n * 0.01
    with path.open("wb") as f:
        for i in range(n):
            event = ingest.make_event(rng, i, kinds, t0)
            event["segments"] = {"country": f"c{(i // len(ingest.MODELS)) % segments:02d}"}
            f.write(encoder.encode(event) + b"\n")


def write_config(path: Path, kinds: dict[str, str], window: int, segments: int | None) -> None:
    model: dict[str, Any] = {"features": kinds, "prediction": {"kind": "score", "column": "prediction"},
                             "window": {"type": "count", "size": window}, "sample": {"enabled": True, "size": 200}}
    if segments is not None:
        model["segments"] = {"keys": ["country"], "max_segments": segments}
    path.write_text(yaml.safe_dump({"version": 1, "models": {m: model for m in ingest.MODELS}}, sort_keys=False))


def run_once(server_url: str, kinds: dict[str, str], config: Path, events: Path, n: int) -> float:
    from monitor.config.settings import Settings
    from monitor.wiring import build_service

    url = ingest.fresh_database(server_url)
    try:
        ingest.register_references(url, kinds)
        service = build_service(Settings(database_url=url, metrics_port=0), config, str(events), url,
                                registry=CollectorRegistry(), checkpoint_interval=5.0)
        clock = ingest.FirstRecordClock(service.source)
        service.source = clock
        result = service.run(timeout=900)
        end = time.monotonic()
    finally:
        ingest.drop_database(url)
    if result.messages < n:
        raise SystemExit(f"file run consumed {result.messages} of {n}")
    return float(n / (end - (clock.first or end)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--window", type=int, default=5000, help="count window size (events per model)")
    parser.add_argument("--segments", type=int, default=20, help="distinct segment values (max_segments too)")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each configuration")
    parser.add_argument("--database-url", default=os.environ.get("DRIFTWARDEN_DATABASE_URL"))
    args = parser.parse_args(argv)
    if not (args.database_url or "").startswith("postgresql"):
        parser.error("needs a postgresql DRIFTWARDEN_DATABASE_URL (eval \"$(scripts/postgres-local start)\")")
    kinds = ingest.feature_kinds(args.features)
    rates: dict[str, list[float]] = {"no segments": [], f"segments ({args.segments} values)": []}
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.jsonl"
        write_events(events, kinds, args.events, args.segments)
        configs = {}
        for name, segs in zip(rates, (None, args.segments), strict=True):
            configs[name] = Path(tmp) / f"{len(configs)}.yaml"
            write_config(configs[name], kinds, args.window, segs)
        for r in range(args.runs):
            for name in rates:
                rate = run_once(args.database_url, kinds, configs[name], events, args.events)
                rates[name].append(rate)
                print(f"run {r + 1} {name}: {rate:,.0f} events/s", flush=True)
    print(f"\n{args.events:,} events, {args.features} features, {len(ingest.MODELS)} models, "
          f"windows of {args.window:,} events per model\n")
    print("| configuration | runs (events/s) | median |\n|---|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {', '.join(f'{v:,.0f}' for v in values)} | {statistics.median(values):,.0f} |")
    base = statistics.median(next(iter(rates.values())))
    last = statistics.median(list(rates.values())[-1])
    print(f"\nwith segments / without: {last / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
