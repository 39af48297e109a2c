"""Progress of a long run over a file (a backfill): how many events the file holds, and a source wrapper
that reports each batch it hands out.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "e.jsonl").write_bytes(b'{"a": 1}\\n\\n{"a": 2}')
>>> file_event_count(d / "e.jsonl")
3
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ProgressSource", "file_event_count"]

_CHUNK = 1 << 22


def file_event_count(path: str | Path) -> int:
    """Offsets a file source will hand out: lines of a JSONL file (blank ones included, as offsets count
    them), rows of a Parquet file (from its footer, without reading the data)."""
    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(p).metadata.num_rows)
    lines = 0
    last = b"\n"
    with p.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


class ProgressSource:
    """A :class:`~monitor.sources.Source` that calls ``on_batch(batch)`` after every non-empty poll."""

    def __init__(self, inner: Any, on_batch: Callable[[list[Any]], None]) -> None:
        self._inner = inner
        self._on_batch = on_batch

    def poll(self, timeout: float, max_messages: int) -> Any:
        batch = self._inner.poll(timeout, max_messages)
        if batch:
            self._on_batch(batch)
        return batch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
