"""Backlog speed through Kafka against the file source, on the demo scenario (two streams merged by event time).

    .venv/bin/python bench/ingest_backlog.py [--events-per-hour 200] [--days 14]

Needs the real services (``eval "$(scripts/postgres-local start)"; eval "$(scripts/kafka-local start)"``).
``bench/ingest.py`` measures one prediction stream; this one measures what a watcher does after an outage:
the scenario's predictions *and* outcomes are all in their topics before it starts, and it has to merge them
by event time to join the outcomes. In one run it:

1. generates the scenario and produces it to two fresh co-partitioned topics;
2. runs the real ``Service`` over the scenario file (file source) into a fresh PostgreSQL database;
3. runs it over the two topics (Kafka source, new consumer group) into another fresh database;
4. prints both rates (messages/s, start of run to the last message), their ratio (target <= 3), the longest
   merge buffer, and whether both runs stored the same windows with the same take rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# bench/detectors.py is named like the package: drop bench/ from the path so `detectors` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from kafka.admin import NewTopic  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from monitor.consumer.merge import PartitionMerger  # noqa: E402
from monitor.db.admin import create_database, drop_database  # noqa: E402
from monitor.sources.kafka_clients import make_admin, make_producer  # noqa: E402


def fresh_database(server_url: str) -> str:
    return create_database(server_url, "dw_bench")


def windows(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT w.window_key, w.n_events, w.drift_share, m.value FROM window_results w LEFT JOIN "
            "metric_values m ON m.window_id = w.id AND m.name = 'take_rate' ORDER BY w.window_key")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


class MergeWatch:
    """Records the longest merge buffer seen by any :class:`PartitionMerger` while installed."""

    def __init__(self) -> None:
        self.longest = 0
        self._release = PartitionMerger.release

    def __enter__(self) -> MergeWatch:
        watch, release = self, self._release

        def wrapped(merger: PartitionMerger, *args: Any, **kwargs: Any) -> Any:
            watch.longest = max(watch.longest, len(merger))
            return release(merger, *args, **kwargs)

        PartitionMerger.release = wrapped  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_exc: object) -> None:
        PartitionMerger.release = self._release  # type: ignore[method-assign]


def watch(settings: Any, files: Any, source: str, url: str, total: int) -> tuple[float, int, Any]:
    """(messages/s, longest merge buffer, run result) of one ``Service`` run over ``source``."""
    from monitor.db import upgrade
    from monitor.wiring import build_service
    from scenario.runner import build_scenario_reference

    upgrade(url)
    build_scenario_reference(files, url)
    service = build_service(settings.model_copy(update={"database_url": url}), files.config, source, url,
                            registry=CollectorRegistry(), checkpoint_interval=30.0, max_batch=5000)
    kafka = source == "kafka"
    with MergeWatch() as merges:
        started = time.monotonic()
        result = service.run(max_messages=total if kafka else None, timeout=900 if kafka else None)
        seconds = time.monotonic() - started
    if result.messages < total or not result.clean:
        raise SystemExit(f"{source}: the watcher consumed {result.messages} of {total} (clean={result.clean})")
    return result.messages / seconds, merges.longest, result


def main(argv: list[str] | None = None) -> int:
    from monitor.commands.replay import replay_file
    from monitor.config.settings import Settings
    from scenario import generate_scenario

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-hour", type=float, default=200.0)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--bootstrap", default=os.environ.get("DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--database-url", default=os.environ.get("DRIFTWARDEN_DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.bootstrap or not (args.database_url or "").startswith("postgresql"):
        parser.error("needs DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS and a postgresql DRIFTWARDEN_DATABASE_URL "
                     "(eval \"$(scripts/postgres-local start)\"; eval \"$(scripts/kafka-local start)\")")
    run_id = uuid.uuid4().hex[:8]
    settings = Settings(kafka_bootstrap_servers=args.bootstrap, metrics_port=0,
                        kafka_predictions_topic=f"bench-backlog-{run_id}.predictions",
                        kafka_outcomes_topic=f"bench-backlog-{run_id}.outcomes",
                        kafka_consumer_group=f"bench-backlog-{run_id}")
    topics = [settings.kafka_predictions_topic, settings.kafka_outcomes_topic]
    admin = make_admin(settings)
    admin.create_topics([NewTopic(t, 1, 1) for t in topics])
    admin.close()
    urls = {"file": fresh_database(args.database_url), "kafka": fresh_database(args.database_url)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            files = generate_scenario(Path(tmp), seed=7, days=args.days, events_per_hour=args.events_per_hour)
            total = files.n_predictions + files.n_outcomes
            producer = make_producer(settings, linger_ms=5, batch_size=256 * 1024,
                                     max_request_size=8 * 1024 * 1024)
            started = time.monotonic()
            replay_file(files.events, producer, *topics, progress=False)
            producer.close()
            print(f"scenario: {args.days} days at {args.events_per_hour:g} recommendations/hour = {total:,} events "
                  f"(predictions + outcomes), produced to Kafka in {time.monotonic() - started:.1f}s")
            rates: dict[str, float] = {}
            for source in ("file", "kafka"):
                rate, longest, result = watch(settings, files, "kafka" if source == "kafka" else str(files.events),
                                              urls[source], total)
                rates[source] = rate
                print(f"{source:>5} source: {rate:,.0f} msg/s end-to-end into PostgreSQL "
                      f"({result.windows} windows closed, longest merge buffer {longest:,})")
        print(f"file / kafka: {rates['file'] / rates['kafka']:.2f} (target <= 3)")
        file_w, kafka_w = windows(urls["file"]), windows(urls["kafka"])
        missing = sum(1 for w in kafka_w if w[3] is None)
        same = kafka_w == file_w[:len(kafka_w)]
        print(f"kafka windows equal to the file run's: {same}; windows without a take rate: {missing}")
    finally:
        for url in urls.values():
            drop_database(url)
        admin = make_admin(settings)
        admin.delete_topics(topics)
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
