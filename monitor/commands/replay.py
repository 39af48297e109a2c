"""``driftwarden replay PATH --to-kafka TOPIC``: produce a file of events to Kafka, with a progress bar.

Predictions go to ``TOPIC``, outcomes to ``--outcomes-topic`` (default ``DRIFTWARDEN_KAFKA_OUTCOMES_TOPIC``),
each keyed by its model name, so a model's predictions and outcomes land on the same partition number of
the two (co-partitioned) topics. An outcome without a ``model`` field takes the model of the prediction
with its ``event_id`` seen earlier in the file. Lines that do not decode are produced as they are, unkeyed,
to ``TOPIC`` (the watcher dead-letters them): a replay reproduces bad input too.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from monitor.commands.support import AppState, fail

__all__ = ["ReplayResult", "register", "replay_file"]

_MAX_REMEMBERED = 1_000_000


@dataclass
class ReplayResult:
    predictions: int = 0
    outcomes: int = 0
    undecodable: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.predictions + self.outcomes + self.undecodable


def _count_records(source: Any) -> int | None:
    lag = source.lag()
    if lag:
        return int(sum(lag.values()))
    try:
        with open(source.path, "rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None


def _send(value: bytes, producer: Any, predictions_topic: str, outcomes_topic: str,
          models: OrderedDict[str, bytes], result: ReplayResult) -> None:
    """Produce one record: a prediction keyed by its model (remembered by event id for its outcomes), an
    outcome keyed by its model or its prediction's, anything undecodable to the predictions topic unkeyed."""
    from monitor.events import EventDecodeError, PredictionEvent, decode_any

    try:
        event = decode_any(value)
    except EventDecodeError:
        producer.send(predictions_topic, value=value, key=None)
        result.undecodable += 1
        return
    if isinstance(event, PredictionEvent):
        key = event.model.encode()
        models[event.event_id] = key
        if len(models) > _MAX_REMEMBERED:
            models.popitem(last=False)
        producer.send(predictions_topic, value=value, key=key)
        result.predictions += 1
    else:
        okey = event.model.encode() if event.model else models.get(event.event_id)
        producer.send(outcomes_topic, value=value, key=okey)
        result.outcomes += 1


def replay_file(
    path: str | Path,
    producer: Any,
    predictions_topic: str,
    outcomes_topic: str,
    *,
    limit: int | None = None,
    rate: float | None = None,
    progress: bool = True,
) -> ReplayResult:
    """Produce the events of ``path`` (JSONL or Parquet) with ``producer`` (a ``KafkaProducer``); flushes."""
    from tqdm import tqdm

    from monitor.sources import open_file_source

    source = open_file_source(path)
    tp = (source.predictions_topic, 0)
    source.seek(tp, None)
    source.resume([tp])
    result = ReplayResult()
    models: OrderedDict[str, bytes] = OrderedDict()
    total = _count_records(source) if progress else None
    if limit is not None and total is not None:
        total = min(total, limit)
    started = time.monotonic()
    bar = tqdm(total=total, unit="ev", desc=f"replay {Path(path).name}", disable=not progress, smoothing=0.1)
    try:
        while not source.exhausted:
            batch = source.poll(0, 1000)
            for msg in batch:
                if limit is not None and result.total >= limit:
                    break
                _send(msg.value or b"", producer, predictions_topic, outcomes_topic, models, result)
                if rate:
                    ahead = result.total / rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            bar.update(len(batch))
            if limit is not None and result.total >= limit:
                break
        producer.flush()
    finally:
        bar.close()
        source.close()
    result.seconds = time.monotonic() - started
    return result


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def replay(
        ctx: typer.Context,
        path: str = typer.Argument(..., help="JSONL or Parquet file of events."),
        to_kafka: str = typer.Option(..., "--to-kafka", help="Topic of the prediction events."),
        outcomes_topic: str | None = typer.Option(
            None, "--outcomes-topic", help="Topic of the outcome events (default: DRIFTWARDEN_KAFKA_OUTCOMES_TOPIC)."
        ),
        bootstrap_servers: str | None = typer.Option(
            None, "--bootstrap-servers", help="host:port[,...] (default: DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS)."
        ),
        limit: int | None = typer.Option(None, "--limit", min=1, help="Produce at most N events."),
        rate: float | None = typer.Option(None, "--rate", min=0.001, help="At most N events per second."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ) -> None:
        """Produce a file of events to Kafka, keyed by model (predictions and outcomes to their topics)."""
        from kafka.errors import KafkaError

        from monitor.sources import SourceError
        from monitor.sources.kafka_clients import make_producer

        settings = AppState.of(ctx).settings
        if not Path(path).is_file():
            fail(f"PATH: {path!r} does not exist or is not a file")
        outcomes = outcomes_topic or settings.kafka_outcomes_topic
        if outcomes == to_kafka:
            fail(f"--outcomes-topic must differ from --to-kafka, both are {to_kafka!r}")
        if bootstrap_servers:
            settings = settings.model_copy(update={"kafka_bootstrap_servers": bootstrap_servers})
        servers = settings.kafka_bootstrap_servers
        try:
            producer = make_producer(settings, linger_ms=20, batch_size=512 * 1024,
                                     max_request_size=8 * 1024 * 1024, client_id="driftwarden-replay")
        except KafkaError as exc:
            fail(f"no Kafka broker reachable at {servers!r}: {type(exc).__name__}: {exc}")
        try:
            result = replay_file(path, producer, to_kafka, outcomes, limit=limit, rate=rate, progress=progress)
        except SourceError as exc:
            fail(f"PATH: {exc}")
        finally:
            producer.close(timeout=10)
        typer.echo(
            f"replayed {result.total} events in {result.seconds:.1f}s: {result.predictions} predictions to "
            f"{to_kafka!r}, {result.outcomes} outcomes to {outcomes!r}, {result.undecodable} undecodable",
            err=True,
        )
