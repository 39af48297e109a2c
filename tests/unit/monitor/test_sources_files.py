"""File sources: JSONL and Parquet, offsets = line/row numbers, seek, pause/resume, bad rows handed out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitor.events import OutcomeEvent, PredictionEvent, decode_any
from monitor.sources import JsonlSource, ParquetSource, SourceError, file_topic, open_file_source


class Recorder:
    def __init__(self) -> None:
        self.assigned: list[Any] = []
        self.revoked: list[Any] = []

    def on_assigned(self, partitions: Any) -> None:
        self.assigned.append(list(partitions))

    def on_revoked(self, partitions: Any) -> None:
        self.revoked.append(list(partitions))


def _drain(src: Any, batch: int = 2) -> list[Any]:
    out = []
    while not src.exhausted:
        out.extend(src.poll(0, batch))
    return out


def test_jsonl_offsets_seek_and_pause(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"n": 0}\n{"n": 1}\r\n\n   \n{"n": 4}\nnot json\n')
    src = open_file_source(path)
    assert isinstance(src, JsonlSource)
    rec = Recorder()
    src.start(rec)
    tp = (file_topic(path), 0)
    assert rec.assigned == [[tp]]
    assert src.poll(0, 10) == []  # paused until the service seeks and resumes
    src.seek(tp, None)
    src.resume([tp])
    got = _drain(src)
    assert [(m.offset, m.value, m.kind) for m in got] == [
        (0, b'{"n": 0}', "any"), (1, b'{"n": 1}', "any"), (4, b'{"n": 4}', "any"), (5, b"not json", "any")
    ]
    src.seek(tp, 2)
    assert [m.offset for m in _drain(src)] == [4, 5]
    src.seek(tp, 6)
    assert _drain(src) == []


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.jsonl"):
        open_file_source(tmp_path / "nope.jsonl")


def test_bad_parquet_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"not parquet")
    with pytest.raises(SourceError, match="not a readable Parquet file"):
        open_file_source(path)


def test_parquet_nested_flattened_and_map_columns(tmp_path: Path) -> None:
    ts = [datetime(2026, 11, 1, 12, 0), datetime(2026, 11, 1, 12, 1), datetime(2026, 11, 1, 12, 2)]
    table = pa.table({
        "kind": ["prediction", "prediction", "outcome"],
        "model": ["m", "m", None],
        "model_version": ["1", "1", None],
        "event_id": ["a", "b", "a"],
        "ts": pa.array(ts, pa.timestamp("us")),
        "features.x": [1.5, None, None],
        "features.c": ["u", "v", None],
        "prediction": [0.1, 0.9, None],
        "segments": pa.array([[("country", "FR")], [], None], pa.map_(pa.string(), pa.string())),
        "label": [None, None, 1.0],
    })
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    src = open_file_source(path)
    assert isinstance(src, ParquetSource)
    src.start(Recorder())
    tp = (src.predictions_topic, 0)
    src.seek(tp, None)
    src.resume([tp])
    assert src.lag() == {tp: 3}
    events = [decode_any(m.value) for m in _drain(src)]
    assert src.lag() == {tp: 0}
    first, second, outcome = events
    assert isinstance(first, PredictionEvent) and isinstance(outcome, OutcomeEvent)
    assert first.feature_dict == {"x": 1.5, "c": "u"} and first.segments == {"country": "FR"}
    assert first.ts == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # naive -> UTC
    assert second.feature_dict == {"x": None, "c": "v"}
    assert outcome.label == 1.0 and outcome.event_id == "a"
    src.seek(tp, 2)
    assert [m.offset for m in _drain(src)] == [2]
