"""Which pipeline outputs depend on processing time (docs/architecture.md, "Exactly-once across crashes").

Without ``window.idle_timeout`` none does: the wall-clock ``now`` given to :meth:`Pipeline.advance` changes no
output and nothing in the snapshot but ``last_arrival``. With it, the idle timeout is the one processing-time
input: which windows it closes (and the empty windows it adds, and the awaiting windows it finalizes) depends
on how long the stream was quiet by the clock, and its outputs come after those of every event processed before.
"""

from __future__ import annotations

import random
from typing import Any

import msgspec

from monitor.config import parse_config
from monitor.consumer.partitions import persist_items
from monitor.events import PredictionEvent
from monitor.pipeline import Pipeline
from monitor.pipeline.early import EarlyAlert
from tests.unit.monitor.test_alerts_persist_points import CONFIG, performance_reference, stream
from tests.unit.monitor.test_pipeline import PROFILE

IDLE = CONFIG.replace("window: {type: time, size: 5m, allowed_lateness: 1m}",
                      "window: {type: time, size: 5m, allowed_lateness: 1m, idle_timeout: 10m}")


def digest(item: Any) -> tuple[Any, ...]:
    """An output as the alert service sees it: kind, window, place in the order and its signals."""
    if isinstance(item, EarlyAlert):
        return ("early", item.seq, item.detected_at, item.signal.dedup_key(item.model), item.signal.message)
    signals = tuple((s.signal, s.feature, s.severity, s.message) for s in item.signals)
    return (type(item).__name__, item.seq, item.window_key, signals, getattr(item, "judged", None))


def without_arrival(snapshot: bytes) -> Any:
    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k != "last_arrival"}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return strip(msgspec.json.decode(snapshot))


def feed(config_text: str, events: list[Any], clock: list[list[float | None]], batch: int) -> tuple[list[Any], Any]:
    """Feed ``events`` in batches; after batch ``i`` call ``advance(t)`` for each ``t`` in ``clock[i]`` (polls
    that brought nothing more) and take every output."""
    pipeline = Pipeline(parse_config(config_text), {"rec": PROFILE}, {"rec": performance_reference()})
    out: list[Any] = []
    for i in range(0, len(events), batch):
        for event in events[i:i + batch]:
            if isinstance(event, PredictionEvent):
                pipeline.on_prediction(event)
            else:
                pipeline.on_outcome(event)
        for now in clock[i // batch]:
            out += persist_items(pipeline.advance(now), pipeline)
    return [digest(x) for x in out], without_arrival(pipeline.snapshot())


def test_without_idle_timeout_no_output_depends_on_the_clock() -> None:
    events = stream(n=2400)
    batches = -(-len(events) // 97)
    expected = feed(CONFIG, events, [[None]] * batches, 97)
    rng = random.Random(2)
    clock, now = [], 1.8e9
    for _ in range(batches):  # a wall clock that stalls, jumps by hours and steps back (NTP), with quiet polls
        ticks = []
        for _ in range(rng.randint(1, 3)):
            now += rng.choice([0.0, 0.01, 3600.0, 86_400.0, -30.0])
            ticks.append(now)
        clock.append(ticks)
    assert feed(CONFIG, events, clock, 97) == expected
    kinds = {d[0] for d in expected[0]}
    assert {"early", "ClosedWindow", "WindowUpdate"} <= kinds, kinds
    # the same clock with an idle timeout (shorter than the jumps) changes the outputs: the comparison can fail
    assert feed(IDLE, events, clock, 97) != feed(IDLE, events, [[None]] * batches, 97)


def test_the_idle_timeout_closes_windows_by_the_clock_after_the_events_outputs() -> None:
    assert IDLE != CONFIG
    pipeline = Pipeline(parse_config(IDLE), {"rec": PROFILE}, {"rec": performance_reference()})
    for event in stream(n=400):
        if isinstance(event, PredictionEvent):
            pipeline.on_prediction(event)
        else:
            pipeline.on_outcome(event)
    start = 1.8e9  # the wall clock: unrelated to the events' time
    by_events = persist_items(pipeline.advance(start), pipeline)
    last_seq = max(x.seq for x in by_events)
    state = pipeline.models["rec"]
    open_before = len(state.windows)
    assert open_before >= 1  # the watermark has not passed the last windows of the stream
    assert not pipeline.advance(start + 300)  # quiet for 5 minutes: under the timeout
    closed = pipeline.advance(start + 1200)  # quiet for 20 minutes by the clock
    # the idle timeout pushed the watermark by the 20 minutes: the open windows closed, then the empty windows
    # of the quiet time after the last event, numbered after every output of the events before
    assert not state.windows and len(closed) > open_before
    assert [w.n_events == 0 for w in closed] == [False] * open_before + [True] * (len(closed) - open_before)
    assert [w.seq for w in closed] == list(range(last_seq + 1, last_seq + 1 + len(closed)))
