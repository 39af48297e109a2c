"""File sources: a JSONL or Parquet file of events (predictions and outcomes mixed), read to the end.

The file is one partition (0) of a pseudo-topic ``file:<resolved path>``; the offset of an event is its line
number (JSONL, 0-based, blank lines included) or row number (Parquet). So the consumer loop stores and seeks
offsets of a file exactly like those of a Kafka partition: running the same file twice against the same
database resumes where the first run ended instead of counting the events twice.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "e.jsonl").write_bytes(b'{"a": 1}\\n\\n{"a": 2}\\n')
>>> src = JsonlSource(d / "e.jsonl")
>>> src.seek((src.predictions_topic, 0), None); src.resume([(src.predictions_topic, 0)])
>>> [(m.offset, m.value) for m in src.poll(0, 10)], src.exhausted
([(0, b'{"a": 1}'), (2, b'{"a": 2}')], True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import msgspec

from monitor.sources.base import AssignmentListener, RawMessage, SourceError, TopicPartition

__all__ = ["JsonlSource", "ParquetSource", "file_topic", "open_file_source"]

_NESTED = ("features", "segments", "outcomes", "prediction")


def file_topic(path: str | Path) -> str:
    """The pseudo-topic name of a file: ``file:<resolved path>`` (shortened with a hash past 300 chars)."""
    resolved = str(Path(path).resolve())
    name = f"file:{resolved}"
    if len(name) <= 300:
        return name
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:16]
    return f"file:{digest}:{resolved[-(300 - 23):]}"


class _FileSource:
    """Shared bookkeeping: one partition, paused until the service seeks and resumes it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"event file {str(self.path)!r} does not exist or is not a file")
        self.predictions_topic = self.outcomes_topic = file_topic(self.path)
        self._tp: TopicPartition = (self.predictions_topic, 0)
        self._paused = True
        self._next = 0
        self._done = False
        self._iter: Iterator[tuple[int, bytes]] | None = None

    def start(self, listener: AssignmentListener) -> None:
        listener.on_assigned([self._tp])

    def seek(self, tp: TopicPartition, offset: int | None) -> None:
        self._check(tp)
        self._next = offset or 0
        self._iter = None
        self._done = False

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        if self._tp in tps:
            self._paused = True

    def resume(self, tps: Sequence[TopicPartition]) -> None:
        if self._tp in tps:
            self._paused = False

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Nothing to do: a file's offsets live in the database only."""

    def lag(self) -> dict[TopicPartition, int]:
        return {}

    def caught_up(self, tp: TopicPartition) -> bool:
        return self._done

    @property
    def exhausted(self) -> bool:
        return self._done

    def poll(self, timeout: float, max_records: int) -> list[RawMessage]:
        if self._paused or self._done:
            return []
        if self._iter is None:
            self._iter = self._records(self._next)
        out: list[RawMessage] = []
        topic = self.predictions_topic
        for offset, value in self._iter:
            out.append(RawMessage(topic, 0, offset, None, value, "any"))
            self._next = offset + 1
            if len(out) >= max_records:
                return out
        self._done = True
        return out

    def close(self) -> None:
        self._iter = None

    def _check(self, tp: TopicPartition) -> None:
        if tp != self._tp:
            raise SourceError(f"{tp!r} is not the partition of file source {str(self.path)!r}")

    def _records(self, start: int) -> Iterator[tuple[int, bytes]]:
        raise NotImplementedError


class JsonlSource(_FileSource):
    """One JSON event per line; blank lines are skipped (but keep their line number)."""

    def _records(self, start: int) -> Iterator[tuple[int, bytes]]:
        try:
            handle: IO[bytes] = self.path.open("rb")
        except OSError as exc:
            raise SourceError(f"cannot open event file {str(self.path)!r}: {exc.strerror}") from None
        with handle:
            for number, line in enumerate(handle):
                if number < start:
                    continue
                value = line.rstrip(b"\r\n")
                if value.strip():
                    yield number, value


class ParquetSource(_FileSource):
    """One event per row. ``features``/``segments``/``outcomes``/``prediction`` may be struct or map
    columns, or flattened ``features.<name>`` columns; naive timestamps are read as UTC. Each row is handed
    out as the JSON bytes of the event, so it goes through the same decoder (and dead-letter path) as Kafka."""

    def __init__(self, path: str | Path, batch_size: int = 4096) -> None:
        super().__init__(path)
        import pyarrow.parquet as pq

        try:
            self._file = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises several types
            raise SourceError(f"{str(self.path)!r} is not a readable Parquet file: {exc}") from None
        self._rows = self._file.metadata.num_rows
        self._batch_size = batch_size
        self._encoder = msgspec.json.Encoder()
        schema = self._file.schema_arrow
        import pyarrow as pa

        self._maps = {f.name for f in schema if pa.types.is_map(f.type)}

    def lag(self) -> dict[TopicPartition, int]:
        return {self._tp: max(0, self._rows - self._next)}

    def _records(self, start: int) -> Iterator[tuple[int, bytes]]:
        number = 0
        for batch in self._file.iter_batches(batch_size=self._batch_size):
            if number + batch.num_rows <= start:
                number += batch.num_rows
                continue
            for row in batch.to_pylist():
                if number >= start:
                    try:
                        yield number, self._encoder.encode(_event_dict(row, self._maps))
                    except (TypeError, msgspec.EncodeError):
                        # Not representable as JSON: hand out its repr, which the decoder dead-letters.
                        yield number, repr(row).encode("utf-8", "replace")
                number += 1


def _event_dict(row: dict[str, Any], maps: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name in maps and isinstance(value, list):
            value = dict(value)
        elif isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        head, dot, rest = name.partition(".")
        if dot and head in _NESTED:
            out.setdefault(head, {})[rest] = value
        elif value is not None:
            out[name] = value
    return out


def open_file_source(path: str | Path) -> JsonlSource | ParquetSource:
    """A source for ``path``: Parquet if it ends in ``.parquet``/``.pq``, else JSONL."""
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return ParquetSource(path)
    return JsonlSource(path)
