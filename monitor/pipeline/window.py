"""The contents of one open window and their (JSON + detectors bytes) serialisation."""

from __future__ import annotations

import base64
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from detectors.profile import ReferenceProfile
from detectors.window import WindowState
from monitor.pipeline.rows import Row, coerce
from monitor.windows import Span

__all__ = ["BATCH_ROWS", "OpenWindow", "sample_priority"]

log = logging.getLogger(__name__)

BATCH_ROWS = 512
"""Rows buffered before one ``WindowState.update`` (amortises building the column arrays)."""


def sample_priority(event_id: str) -> int:
    """Deterministic priority of an event for the bottom-k sample (same event, same priority, any process)."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")


class OpenWindow:
    """One window being filled: drift state (``detectors.WindowState``), counters, joined outcomes, sample."""

    def __init__(self, span: Span, profile: ReferenceProfile | None, seed: int, sample_size: int,
                 max_values: int = 20_000) -> None:
        self.span = span
        self.profile = profile
        self.state: WindowState | None = (
            WindowState.empty(profile, seed=seed, max_values=max_values) if profile is not None else None)
        self.buffer: list[Row] = []
        self.n_events = 0
        self.first_ts = math.inf
        self.last_ts = -math.inf
        self.score_n = 0
        self.score_mean = 0.0
        self.score_m2 = 0.0
        self.joined: dict[str, dict[str, Any]] = {}
        self.sample: list[tuple[int, Row]] = []
        self.sample_size = sample_size
        self.closed = False
        self.dropped_rows = 0
        self.versions: Counter[str] = Counter()
        self.segments: Counter[str] = Counter()

    # -- filling -----------------------------------------------------------------------------------
    def add(self, row: Row, ts: float, event_id: str, version: str, score: float | None,
            segments: dict[str, str]) -> None:
        self.n_events += 1
        self.first_ts = min(self.first_ts, ts)
        self.last_ts = max(self.last_ts, ts)
        self.versions[version] += 1
        for key, value in segments.items():
            self.segments[f"{key}={value}"] += 1
        if score is not None:  # Welford
            self.score_n += 1
            delta = score - self.score_mean
            self.score_mean += delta / self.score_n
            self.score_m2 += delta * (score - self.score_mean)
        if self.state is not None:
            self.buffer.append(row)
            if len(self.buffer) >= BATCH_ROWS:
                self.flush_buffer()
        if self.sample_size > 0:
            self.sample.append((sample_priority(event_id), {"event_id": event_id, "ts": ts, **row}))
            if len(self.sample) >= 2 * self.sample_size:
                self._trim_sample()

    def _trim_sample(self) -> None:
        self.sample.sort(key=lambda item: item[0])
        del self.sample[self.sample_size:]

    def sample_rows(self) -> list[Row]:
        self._trim_sample()
        return [row for _, row in self.sample]

    def flush_buffer(self) -> None:
        """Feed the buffered rows to the drift state, one column array per profile column."""
        if self.state is None or self.profile is None or not self.buffer:
            return
        batch: dict[str, Any] = {}
        names = [col.name for col in self.profile]
        columns: dict[str, tuple[Any, ...]]
        try:  # rows hold every configured column: transpose them in C
            if len(names) < 2:  # (itemgetter of one name returns the value, not a 1-tuple)
                raise KeyError(names)
            columns = dict(zip(names, zip(*map(itemgetter(*names), self.buffer), strict=True), strict=True))
        except KeyError:  # rows of before a configuration change may lack a column
            columns = {name: tuple(row.get(name) for row in self.buffer) for name in names}
        for col in self.profile:
            raw: Sequence[Any] = columns[col.name]
            if col.kind == "numeric":
                try:  # fast path: the row already holds floats / None (config kind = profile kind)
                    batch[col.name] = np.array([np.nan if v is None else v for v in raw], dtype=np.float64)
                except (TypeError, ValueError):
                    values = [coerce(col.kind, v) for v in raw]
                    batch[col.name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            else:
                if not all(v is None or type(v) is str for v in raw):
                    raw = [coerce(col.kind, v) for v in raw]
                batch[col.name] = np.array(raw, dtype=object)
        rows = len(self.buffer)
        self.buffer = []
        try:
            self.state.update(batch)
        except ValueError as exc:  # detectors' errors are ValueErrors; a bad batch must not stop the watcher
            self.dropped_rows += rows
            log.warning("window %s: a batch of %d rows was rejected by the drift state: %s", self.span.key, rows, exc)

    @property
    def score_std(self) -> float | None:
        return math.sqrt(self.score_m2 / self.score_n) if self.score_n >= 2 else None

    # -- serialisation -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "key": self.span.key, "start": self.span.start, "end": self.span.end,
            "profile_hash": self.profile.content_hash if self.profile is not None else None,
            "profile_version": self.profile.version if self.profile is not None else None,
            "state": self.state.to_bytes() if self.state is not None else None,
            "buffer": self.buffer, "n_events": self.n_events,
            "first_ts": None if self.n_events == 0 else self.first_ts,
            "last_ts": None if self.n_events == 0 else self.last_ts,
            "score": [self.score_n, self.score_mean, self.score_m2],
            **self._joined_state(),
            "sample": [[p, row] for p, row in self.sample], "sample_size": self.sample_size,
            "closed": self.closed, "dropped_rows": self.dropped_rows,
            "versions": dict(self.versions), "segments": dict(self.segments),
        }

    def _joined_state(self) -> dict[str, Any]:
        names = sorted({n for fields in self.joined.values() for n in fields})
        return {"joined_fields": names,
                "joined": {k: [fields.get(n) for n in names] for k, fields in self.joined.items()}}

    @classmethod
    def from_state(cls, data: dict[str, Any], profile: ReferenceProfile | None) -> OpenWindow:
        span = Span(str(data["key"]), float(data["start"]), float(data["end"]))
        window = cls(span, None, 0, int(data["sample_size"]))
        window.profile = profile
        if data.get("state") is not None and profile is not None:
            raw = data["state"]
            blob = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
            window.state = WindowState.from_bytes(blob, profile, source=f"checkpoint {span.key}")
        window.buffer = list(data["buffer"])
        window.n_events = int(data["n_events"])
        if data.get("first_ts") is not None:
            window.first_ts, window.last_ts = float(data["first_ts"]), float(data["last_ts"])
        window.score_n, window.score_mean, window.score_m2 = (
            int(data["score"][0]), float(data["score"][1]), float(data["score"][2]))
        names = data.get("joined_fields")
        if names is None:
            window.joined = {str(k): dict(v) for k, v in data["joined"].items()}
        else:  # compact form: one list of values (in ``joined_fields`` order) per event
            window.joined = {str(k): {n: x for n, x in zip(names, v, strict=True) if x is not None}
                             for k, v in data["joined"].items()}
        window.sample = [(int(p), dict(row)) for p, row in data["sample"]]
        window.closed = bool(data["closed"])
        window.dropped_rows = int(data.get("dropped_rows", 0))
        window.versions = Counter({str(k): int(v) for k, v in data["versions"].items()})
        window.segments = Counter({str(k): int(v) for k, v in data.get("segments", {}).items()})
        return window
