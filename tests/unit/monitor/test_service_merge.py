"""The merge of a partition's two streams is a pure function of the two sequences: however the records
arrive (batch sizes, which stream first), the released order is the same. That is what makes a restarted
watcher continue exactly like an uninterrupted one."""

from __future__ import annotations

import math
import random

import pytest

from monitor.consumer.merge import PartitionMerger

PRED, OUT = ("preds", 3), ("outs", 3)


def _streams(seed: int) -> dict[tuple[str, int], list[tuple[float, int]]]:
    rng = random.Random(seed)
    preds, outs = [], []
    t = 0.0
    for i in range(300):
        t += rng.expovariate(1.0)
        preds.append((t, i))
        if rng.random() < 0.7:
            outs.append((t + rng.uniform(0, 20), i))
    outs.sort()
    for j in rng.sample(range(len(outs)), 5):  # a few dead letters (no event time) in the outcomes
        outs[j] = (-math.inf, outs[j][1])
    return {PRED: preds, OUT: outs}


def _merge(streams: dict[tuple[str, int], list[tuple[float, int]]], seed: int | None) -> list[tuple[str, int]]:
    """Feed the streams in random chunks (``seed``) or all at once (None); returns the released order."""
    rng = random.Random(seed)
    merger = PartitionMerger([PRED, OUT], max_wait=math.inf)
    fed = {PRED: 0, OUT: 0}
    out: list[tuple[str, int]] = []

    def caught_up(tp: tuple[str, int]) -> bool:
        return fed[tp] == len(streams[tp])

    while any(fed[tp] < len(streams[tp]) for tp in streams) or len(merger):
        tp = rng.choice([PRED, OUT]) if seed is not None else (PRED if fed[PRED] < len(streams[PRED]) else OUT)
        n = rng.randint(1, 40) if seed is not None else len(streams[tp])
        for key, i in streams[tp][fed[tp]: fed[tp] + n]:
            merger.push(tp, key, fed[tp], (tp[0], i))
            fed[tp] += 1
        out.extend(merger.release(caught_up, now=0.0))
    return out


@pytest.mark.parametrize("data_seed", [1, 2, 3])
def test_released_order_does_not_depend_on_arrival(data_seed: int) -> None:
    streams = _streams(data_seed)
    reference = _merge(streams, None)
    assert len(reference) == len(streams[PRED]) + len(streams[OUT])
    for arrival_seed in range(10):
        assert _merge(streams, arrival_seed) == reference


def test_each_stream_keeps_its_own_order_and_ties_go_to_the_first_stream() -> None:
    merger = PartitionMerger([PRED, OUT], max_wait=math.inf)
    merger.push(OUT, 5.0, 0, "o0")
    merger.push(OUT, 1.0, 1, "o1")  # out of time order inside its stream: stays behind o0
    merger.push(PRED, 5.0, 0, "p0")
    assert merger.release(lambda tp: True, now=0.0) == ["p0", "o0", "o1"]


def test_a_silent_stream_is_waited_for_until_max_wait(caplog: pytest.LogCaptureFixture) -> None:
    merger = PartitionMerger([PRED, OUT], max_wait=2.0)
    merger.push(PRED, 1.0, 0, "p0")
    assert merger.release(lambda tp: False, now=10.0) == []
    assert merger.release(lambda tp: False, now=11.0) == []
    assert not caplog.records
    assert merger.release(lambda tp: False, now=12.5) == ["p0"]
    assert merger.queued(PRED) == 0 and len(merger) == 0
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "stayed silent" in warned[0].getMessage()
    assert warned[0].silent == [f"{OUT[0]}:{OUT[1]}"]  # type: ignore[attr-defined]
    merger.push(PRED, 2.0, 1, "p1")
    assert merger.release(lambda tp: False, now=20.0) == []
    assert merger.release(lambda tp: False, now=22.5) == ["p1"]  # the same silence: logged once
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1


def test_a_stream_with_records_known_to_be_waiting_is_waited_for_until_max_lag_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A fetch that is slow (records of the silent stream are on the broker, not yet polled) is not a stalled
    partition: releasing without it would make the merged order depend on timing."""
    merger = PartitionMerger([PRED, OUT], max_wait=2.0, max_lag_wait=60.0)
    merger.push(PRED, 1.0, 0, "p0")
    lagging: set[tuple[str, int]] = {OUT}
    assert merger.release(lambda tp: False, now=0.0, lagging=lagging.__contains__) == []
    assert merger.release(lambda tp: False, now=59.0, lagging=lagging.__contains__) == []
    assert not caplog.records
    assert merger.release(lambda tp: False, now=60.5, lagging=lagging.__contains__) == ["p0"]
    assert [r.waited_s for r in caplog.records if r.levelname == "WARNING"] == [60.5]  # type: ignore[attr-defined]
    merger.push(PRED, 2.0, 1, "p1")  # the lag is gone (the records were polled and were another stream's)
    lagging.clear()
    assert merger.release(lambda tp: False, now=70.0, lagging=lagging.__contains__) == []
    assert merger.release(lambda tp: False, now=72.5, lagging=lagging.__contains__) == ["p1"]
