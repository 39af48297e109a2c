"""The contents of one open window and their (JSON + detectors bytes) serialisation."""

from __future__ import annotations

import base64
import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from hashlib import blake2b
from operator import itemgetter
from typing import Any

import numpy as np

from detectors.profile import ReferenceProfile
from detectors.window_state import WindowState
from monitor.pipeline.labels import LabelBook
from monitor.pipeline.rows import Row, coerce
from monitor.pipeline.segments import SegmentBook
from monitor.pipeline.windower import Span

__all__ = ["BATCH_ROWS", "OpenWindow", "sample_priority"]

log = logging.getLogger(__name__)

BATCH_ROWS = 512
"""Rows buffered before one ``WindowState.update`` (amortises building the column arrays)."""


def sample_priority(event_id: str) -> int:
    """Deterministic priority of an event for the bottom-k sample (same event, same priority, any process)."""
    return int.from_bytes(blake2b(event_id.encode(), digest_size=8).digest(), "big")


_STR_OR_NONE: frozenset[type] = frozenset({str, type(None)})
_NO_CUT = b"\xff" * 9  # above every 8-byte priority
_SampleEntry = tuple[str, float, tuple[Any, ...], tuple[str, ...]]


class OpenWindow:
    """One window being filled: drift state (``detectors.WindowState``), counters, joined outcomes, sample.

    ``buffer`` holds the rows not yet fed to the drift state as tuples of the profile's columns (in the
    profile's order); checkpoints hold them as ``{column: value}`` dicts.
    """

    def __init__(self, span: Span, profile: ReferenceProfile | None, seed: int, sample_size: int,
                 max_values: int = 20_000) -> None:
        self.span = span
        self.state: WindowState | None = (
            WindowState.empty(profile, seed=seed, max_values=max_values) if profile is not None else None)
        self._set_profile(profile)
        self.buffer: list[tuple[Any, ...]] = []
        self.n_events = 0
        self.first_ts = math.inf
        self.last_ts = -math.inf
        self.score_n = 0
        self.score_mean = 0.0
        self.score_m2 = 0.0
        self.joined: dict[str, dict[str, Any]] = {}
        # (priority, row): the row as a dict (restored) or as (event_id, ts, values, columns), made a dict
        # only when asked for (few of the rows that once enter the sample stay in it)
        self.sample: list[tuple[int, Row | _SampleEntry]] = []
        self.sample_size = sample_size
        self._sample_cut = _NO_CUT
        self.closed = False
        self.dropped_rows = 0
        self.versions: Counter[str] = Counter()
        self.segments: Counter[str] = Counter()
        self.estimates: dict[str, Any] = {}
        """CBPE estimates made when the window closed (set by ``finish_window``)."""
        self.book: LabelBook | None = None
        """Scores and labels of the window's predictions (models with a ``performance`` block)."""
        self.seg: SegmentBook | None = None
        """Per-segment drift state (models with segment keys; :mod:`monitor.pipeline.segments`)."""
        self.fair: Any = None
        """Group counts for fairness (:class:`monitor.pipeline.fairness_state.FairnessBook`), or None."""
        self.fair_state: dict[str, Any] | None = None
        """A checkpoint's fairness counts, until the model state restores them into ``fair``."""

    def _set_profile(self, profile: ReferenceProfile | None) -> None:
        self.profile = profile
        self._profile_columns: list[tuple[str, str]] = (
            [(col.name, col.kind) for col in profile] if profile is not None else [])
        self._profile_names = tuple(name for name, _ in self._profile_columns)
        self._layout: tuple[str, ...] | None = None  # the row layout _project was made for
        self._project: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None

    def _set_layout(self, columns: tuple[str, ...]) -> None:
        """How to turn a row of ``columns`` into a buffer row (profile columns; one the row lacks is None)."""
        self._layout = columns
        names = self._profile_names
        if columns == names:
            self._project = None
            return
        where = {name: i for i, name in reversed(list(enumerate(columns)))}
        index = [where.get(name, -1) for name in names]
        if len(index) >= 2 and min(index) >= 0:
            self._project = itemgetter(*index)
        else:
            self._project = lambda row: tuple(None if i < 0 else row[i] for i in index)

    # -- filling -----------------------------------------------------------------------------------
    def add(self, row: tuple[Any, ...], columns: tuple[str, ...], ts: float, event_id: str, version: str,
            score: float | None, segments: dict[str, str]) -> None:
        """Add one event's ``row`` (its values, named by ``columns``)."""
        self.n_events += 1
        if ts < self.first_ts:
            self.first_ts = ts
        if ts > self.last_ts:
            self.last_ts = ts
        self.versions[version] += 1
        if self.seg is not None:
            self.seg.add(event_id, segments, self.state is not None)
        if self.fair is not None:
            self.fair.add(row, segments, score, event_id)
        if score is not None:  # Welford
            self.score_n += 1
            delta = score - self.score_mean
            self.score_mean += delta / self.score_n
            self.score_m2 += delta * (score - self.score_mean)
        if self.state is not None:
            if columns is not self._layout:
                self._set_layout(columns)
            project = self._project
            buffer = self.buffer
            buffer.append(row if project is None else project(row))
            if len(buffer) >= BATCH_ROWS:
                self.flush_buffer()
        if self.sample_size > 0:
            digest = blake2b(event_id.encode(), digest_size=8).digest()  # (sample_priority, big-endian bytes)
            if digest < self._sample_cut:  # else it can never be among the sample_size lowest
                self.sample.append((int.from_bytes(digest, "big"), (event_id, ts, row, columns)))
                if len(self.sample) >= 2 * self.sample_size:
                    self._trim_sample()

    def _trim_sample(self) -> None:
        """Keep the ``sample_size`` rows of lowest priority (first come first on a tie)."""
        self.sample.sort(key=itemgetter(0))
        del self.sample[self.sample_size:]
        if self.sample_size > 0 and len(self.sample) == self.sample_size:
            # a later row of priority >= the highest kept one sorts after all of them
            self._sample_cut = self.sample[-1][0].to_bytes(8, "big")

    @staticmethod
    def _sample_row(item: Row | _SampleEntry) -> Row:
        if isinstance(item, dict):
            return item
        event_id, ts, row, columns = item
        out: Row = {"event_id": event_id, "ts": ts}
        out.update(zip(columns, row, strict=True))
        return out

    def sample_rows(self) -> list[Row]:
        self._trim_sample()
        return [self._sample_row(item) for _, item in self.sample]

    def flush_buffer(self) -> None:
        """Feed the buffered rows to the drift state, one column array per profile column."""
        if self.state is None or self.profile is None or not self.buffer:
            return
        batch: dict[str, Any] = {}
        # (every buffered row has one value per profile column: zip need not check it, which is slower)
        for (name, kind), raw in zip(self._profile_columns, zip(*self.buffer, strict=False), strict=True):
            values: Sequence[Any] = raw
            if kind == "numeric":
                try:  # fast path: floats / None, as the config kind = the profile kind (what np.array gives, faster)
                    batch[name] = np.fromiter(values, dtype=np.float64, count=len(values))
                except (TypeError, ValueError):
                    values = [coerce(kind, v) for v in values]
                    batch[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            else:
                if not _STR_OR_NONE.issuperset(map(type, values)):
                    values = [coerce(kind, v) for v in values]
                batch[name] = np.array(values, dtype=object)
        rows = len(self.buffer)
        self.buffer = []
        if self.seg is not None:
            self.seg.update(batch, rows)
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
            "buffer": [dict(zip(self._profile_names, row, strict=True)) for row in self.buffer],
            "n_events": self.n_events,
            "first_ts": None if self.n_events == 0 else self.first_ts,
            "last_ts": None if self.n_events == 0 else self.last_ts,
            "score": [self.score_n, self.score_mean, self.score_m2],
            **self._joined_state(),
            "sample": [[p, self._sample_row(item)] for p, item in self.sample], "sample_size": self.sample_size,
            "closed": self.closed, "dropped_rows": self.dropped_rows,
            "versions": dict(self.versions), "segments": dict(self.segments),
            "book": self.book.to_state() if self.book is not None else None,
            "seg": self.seg.to_state() if self.seg is not None else None,
            "fair": self.fair.to_state() if self.fair is not None else None,
        }

    def _joined_state(self) -> dict[str, Any]:
        names = sorted({n for fields in self.joined.values() for n in fields})
        return {"joined_fields": names,
                "joined": {k: [fields.get(n) for n in names] for k, fields in self.joined.items()}}

    @classmethod
    def from_state(cls, data: dict[str, Any], profile: ReferenceProfile | None) -> OpenWindow:
        span = Span(str(data["key"]), float(data["start"]), float(data["end"]))
        window = cls(span, None, 0, int(data["sample_size"]))
        window._set_profile(profile)
        if data.get("state") is not None and profile is not None:
            raw = data["state"]
            blob = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
            window.state = WindowState.from_bytes(blob, profile, source=f"checkpoint {span.key}")
        columns = window._profile_names
        # rows of every configured column (older checkpoints) or of the profile's: only those are used
        if profile is not None:
            window.buffer = [tuple(row.get(name) for name in columns) for row in data["buffer"]]
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
        if data.get("book") is not None:
            window.book = LabelBook.from_state(data["book"])
        if data.get("seg") is not None:
            window.seg = SegmentBook.from_state(data["seg"], profile)
        window.fair_state = data.get("fair")  # (restored into a FairnessBook by ModelState)
        return window
