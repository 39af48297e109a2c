"""Window assignment for one model's stream: count or event-time windows, tumbling or sliding (pure).

A :class:`Windower` only decides *which* windows an event belongs to and *when* a window is closed; the
pipeline keeps the windows' contents. Its whole state is three numbers, serialised with :meth:`state`.

Count windows
    Event number ``i`` (0-based, in arrival order) belongs to every window ``[s, s + size)`` with ``s`` a
    multiple of ``step``; window ``s`` closes once event ``s + size - 1`` has arrived. Key ``count:<s>``.
    A new ``size`` or ``step`` (configuration reload, or a snapshot restored under another configuration)
    starts a new grid at the next event ``o``: windows ``[o + k x step, o + k x step + size)``, so no key of
    the old grid comes back; the old grid's open windows get no more events and close at their end.
Time windows
    An event at time ``t`` belongs to every window ``[s, s + size)`` with ``s`` a multiple of ``step`` (aligned
    on the Unix epoch). The watermark is ``max(t seen) - allowed_lateness``; a window closes when the
    watermark reaches its end. An event whose every window is already closed is *late*: it is counted, not
    used. Key ``time:<start as ISO-8601 UTC>``.

Examples
--------
>>> from monitor.config import WindowConfig
>>> w = Windower(WindowConfig(type="count", size=3, slide=2))
>>> [[s.key for s in w.assign(0.0).spans] for _ in range(5)]
[['count:0'], ['count:0'], ['count:0', 'count:2'], ['count:2'], ['count:2', 'count:4']]
>>> [s.key for s in w.due([Span("count:0", 0, 3), Span("count:2", 2, 5), Span("count:4", 4, 7)])]
['count:0', 'count:2']
>>> t = Windower(WindowConfig(type="time", size=60, allowed_lateness=10))
>>> [s.key for s in t.assign(125.0).spans]
['time:1970-01-01T00:02:00Z']
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.config import WindowConfig

__all__ = ["Assignment", "Span", "Windower", "to_epoch"]


@dataclass(frozen=True, slots=True)
class Span:
    """One window: ``key`` and its bounds (event indices for count windows, epoch seconds for time)."""

    key: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Assignment:
    spans: list[Span]
    late: bool


def to_epoch(ts: Any) -> float:
    """Epoch seconds of an aware ``datetime``, or of a number (seconds; > 1e11 means milliseconds).

    >>> to_epoch(datetime(1970, 1, 1, 0, 1, tzinfo=UTC)), to_epoch(1_700_000_000_000)
    (60.0, 1700000000.0)
    """
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return ts.timestamp()
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        raise ValueError(f"timestamp {ts!r} is neither a datetime nor a number")
    value = float(ts)
    if not math.isfinite(value):
        raise ValueError(f"timestamp {ts!r} is not finite")
    return value / 1000.0 if abs(value) > 1e11 else value


def _iso(epoch: float) -> str:
    text = datetime.fromtimestamp(epoch, UTC).isoformat()
    return text.replace("+00:00", "Z")


class Windower:
    """Assigns events of one model to windows and says which windows are due (see the module docstring)."""

    def __init__(self, config: WindowConfig, state: dict[str, Any] | None = None) -> None:
        self.config = config
        self._seq = 0
        self._max_ts = -math.inf
        self._closed_until = -math.inf
        # count windows: (lo, hi, assignment): the assignment of every event number in [lo, hi); the same
        # windows hold an event number up to where the next window starts or one of them ends
        self._cached: tuple[int, int, Assignment] | None = None
        self._origin = 0
        if state:
            self._seq = int(state.get("seq", 0))
            self._max_ts = _num(state.get("max_ts"))
            self._closed_until = _num(state.get("closed_until"))
            self._origin = int(state.get("origin", 0))
            if config.type == "count" and "size" in state and (
                    float(state["size"]) != config.size or float(state["step"]) != config.step):
                self._origin = self._seq  # a new grid starts at the next event: no key of the old one again

    # -- state --------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """JSON-safe state (``None`` stands for minus infinity)."""
        return {
            "seq": self._seq,
            "max_ts": None if self._max_ts == -math.inf else self._max_ts,
            "closed_until": None if self._closed_until == -math.inf else self._closed_until,
            "origin": self._origin,
            "size": self.config.size,
            "step": self.config.step,
        }

    @property
    def watermark(self) -> float:
        """Event time up to which windows are complete (time windows)."""
        return self._max_ts - self.config.allowed_lateness

    @property
    def clock(self) -> float:
        """What :meth:`due` compares a span's end with (no idle time): the watermark of time windows, the
        number of events assigned of count windows. A span is due once ``clock >= span.end``."""
        return float(self._seq) if self.config.type == "count" else self.watermark

    # -- assignment ---------------------------------------------------------------------------------
    def assign(self, ts: float) -> Assignment:
        """The windows an event at epoch ``ts`` belongs to (count windows ignore ``ts`` for membership)."""
        if self.config.type == "count":
            i = self._seq
            self._seq += 1
            cached = self._cached
            if cached is not None and cached[0] <= i < cached[1]:
                return cached[2]
            return self._assign_count(i)
        size, step = self.config.size, self.config.step
        if ts > self._max_ts:
            self._max_ts = ts
        spans = []
        k = math.floor((ts - size) / step) + 1
        while k * step <= ts:
            start = k * step
            end = start + size
            if ts < end and end > self._closed_until:
                spans.append(Span(f"time:{_iso(start)}", float(start), float(end)))
            k += 1
        return Assignment(spans, late=not spans)

    def _assign_count(self, i: int) -> Assignment:
        size, step, origin = self.config.size, self.config.step, self._origin
        j = i - origin
        first = max(0, math.floor((j - size) / step) + 1)
        spans = []
        k = first
        while k * step <= j:
            start = origin + k * step
            if i < start + size:
                spans.append(Span(f"count:{int(start)}", float(start), float(start + size)))
            k += 1
        assignment = Assignment(spans, late=False)
        if step == int(step) and size == int(size):  # (whole numbers for count windows)
            hi = origin + (j // int(step) + 1) * int(step)
            for span in spans:
                hi = min(hi, int(span.end))
            self._cached = (i, hi, assignment)
        return assignment

    def due(self, spans: Iterable[Span], idle_seconds: float = 0.0, flush: bool = False) -> list[Span]:
        """The given open spans that are closed now, oldest end first; marks them closed.

        ``idle_seconds`` pushes the watermark of time windows forward by that much processing time; for
        count windows any ``idle_seconds > 0`` (the idle timeout was reached) closes every span, partial
        ones included. ``flush`` closes every span (end of a finite source). A count window closed before
        it was full moves the event counter to its end, so later events open new windows (new keys).
        """
        if flush or (self.config.type == "count" and idle_seconds > 0):
            out = sorted(spans, key=lambda s: (s.end, s.start))
            if out and self.config.type == "count":
                self._seq = max(self._seq, int(max(s.end for s in out)))
        elif self.config.type == "count":
            out = sorted((s for s in spans if s.end <= self._seq), key=lambda s: s.end)
        else:
            mark = self.watermark + max(0.0, idle_seconds)
            out = sorted((s for s in spans if s.end <= mark), key=lambda s: s.end)
        if out and self.config.type == "time":
            self._closed_until = max(self._closed_until, max(s.end for s in out))
        return out

    def idle_spans(self, idle_seconds: float, limit: int = 48) -> list[Span]:
        """Empty time windows after the last event that an idle stream has let pass (marked closed).

        Only time windows: the windows that start after the newest event and end before ``watermark +
        idle_seconds``, at most ``limit`` of them (the newest), so a dead stream still yields windows
        (with zero events) and its traffic drop can be seen.

        >>> w = Windower(WindowConfig(type="time", size=60))
        >>> _ = w.assign(30.0)
        >>> [s.key for s in w.idle_spans(200)]
        ['time:1970-01-01T00:01:00Z', 'time:1970-01-01T00:02:00Z']
        """
        if self.config.type != "time" or self._max_ts == -math.inf or idle_seconds <= 0:
            return []
        size, step = self.config.size, self.config.step
        mark = self.watermark + idle_seconds
        k = math.floor(self._max_ts / step) + 1
        last = math.floor((mark - size) / step)
        first = max(k, last - limit + 1)
        spans = []
        for j in range(first, last + 1):
            start = j * step
            if start + size > self._closed_until:
                spans.append(Span(f"time:{_iso(start)}", float(start), float(start + size)))
        if spans:
            self._closed_until = max(self._closed_until, spans[-1].end)
        return spans

    def with_config(self, config: WindowConfig) -> Windower:
        """A windower for a new config that keeps this one's progress (used by a config reload)."""
        return Windower(config, self.state())


def _num(value: Any) -> float:
    return -math.inf if value is None else float(value)
