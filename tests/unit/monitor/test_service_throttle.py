"""The merge buffer of a partition's two streams is bounded by pausing the stream that runs ahead.

A two-topic source whose polls carry four times as many outcomes as predictions (as Kafka fetches do on a
backlog: outcomes are small messages) makes the outcomes queue up in the merge. The watcher must pause that
stream past ``merge_buffer``, resume it at half, leave nothing paused (also across a database outage, which
pauses and resumes everything), consume every message and store what a run over the mixed file stores.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, text

from monitor.alerts.service import AlertService
from monitor.commands.reference import build_reference
from monitor.config import load_config
from monitor.consumer import Service, ServiceOptions
from monitor.consumer.contracts import SaveItem, SaveResult, StoreUnavailable
from monitor.consumer.intake import Taken
from monitor.consumer.merge import PartitionMerger
from monitor.consumer.partitions import Partition, PartitionTable
from monitor.db import make_engine, upgrade
from monitor.ops import Health, Metrics
from monitor.sources import JsonlSource
from monitor.sources.base import AssignmentListener, RawMessage, TopicPartition
from monitor.store.partition_store import SqlPartitionStore
from scenario import generate_scenario

PRED, OUT = ("preds", 0), ("outs", 0)
CAP, BATCH = 60, 20


class TwoTopics:
    """Predictions and outcomes of one partition number; each poll takes 4 outcomes per prediction."""

    predictions_topic, outcomes_topic = PRED[0], OUT[0]

    def __init__(self, lines: list[bytes]) -> None:
        self._msgs: dict[TopicPartition, list[RawMessage]] = {PRED: [], OUT: []}
        for line in lines:
            kind = json.loads(line)["kind"]
            tp = PRED if kind == "prediction" else OUT
            self._msgs[tp].append(RawMessage(tp[0], 0, len(self._msgs[tp]), None, line, kind))
        self._next = {PRED: 0, OUT: 0}
        self.paused: set[TopicPartition] = set()
        self.pauses: list[TopicPartition] = []
        self._listener: AssignmentListener | None = None

    def start(self, listener: AssignmentListener) -> None:
        self._listener = listener

    def poll(self, timeout: float, max_records: int) -> list[RawMessage]:
        if self._listener is not None:  # the assignment happens inside the first poll, paused
            listener, self._listener = self._listener, None
            self.paused.update((PRED, OUT))
            listener.on_assigned([PRED, OUT])
            return []
        out: list[RawMessage] = []
        for tp, share in ((OUT, 4 * max_records // 5), (PRED, max_records)):
            if tp in self.paused:
                continue
            n = min(share, max_records - len(out))
            start = self._next[tp]
            out.extend(self._msgs[tp][start:start + n])
            self._next[tp] = min(start + n, len(self._msgs[tp]))
        return out

    def seek(self, tp: TopicPartition, offset: int | None) -> None:
        self._next[tp] = offset or 0

    def pause(self, tps: Sequence[TopicPartition]) -> None:
        self.paused.update(tps)
        self.pauses.extend(tps)

    def resume(self, tps: Sequence[TopicPartition]) -> None:
        self.paused.difference_update(tps)

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        pass

    def lag(self) -> dict[TopicPartition, int]:
        return {tp: len(self._msgs[tp]) - n for tp, n in self._next.items()}

    def caught_up(self, tp: TopicPartition) -> bool:
        return self._next[tp] >= len(self._msgs[tp])

    @property
    def exhausted(self) -> bool:
        return all(self.caught_up(tp) for tp in self._msgs) and not self.paused

    def close(self) -> None:
        pass


class FlakyStore(SqlPartitionStore):
    """``outages`` database outages of three refused saves each: one at the third save, the others when the
    outcomes stream is paused by the merge."""

    def __init__(self, *args: Any, outages: int, source: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outages, self.source, self.calls, self.failing = outages, source, 0, 0
        self.outage_began_while_merge_paused = False

    def save(self, items: Sequence[SaveItem]) -> SaveResult:
        self.calls += 1
        merge_paused = getattr(self.source, "paused", None) == {OUT}  # an outage pauses both streams
        if not self.failing and self.outages and (self.calls == 3 or merge_paused):
            self.outages -= 1
            self.failing = 3
            self.outage_began_while_merge_paused |= merge_paused
        if self.failing:
            self.failing -= 1
            raise StoreUnavailable(f"save #{self.calls} refused by the test")
        return super().save(items)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return generate_scenario(tmp_path_factory.mktemp("gen"), seed=3, days=2, events_per_hour=60,
                             reference_rows=1500)


def _db(tmp_path: Path, files: Any, name: str) -> str:
    url = f"sqlite:///{tmp_path}/{name}.db"
    upgrade(url)
    build_reference("recommender", files.reference, files.config, url, progress=False)
    return url


def _windows(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(
            "SELECT w.window_key, w.n_events, w.drift_share, m.name, m.value FROM window_results w "
            "LEFT JOIN metric_values m ON m.window_id = w.id ORDER BY 1, 4"))]
    engine.dispose()
    return rows


def _service(url: str, files: Any, source: Any, outages: int = 0) -> Service:
    store = FlakyStore(make_engine(url), "g", AlertService(), outages=outages, source=source)
    options = ServiceOptions(group_id="g", checkpoint_interval=0.0, max_batch=BATCH, merge_buffer=CAP,
                             backoff_initial=0.001, backoff_max=0.001)
    return Service(load_config(files.config), source, store, options, metrics=Metrics(CollectorRegistry()),
                   health=Health(), sleep=lambda _s: None)


@pytest.mark.parametrize("outages", [0, 3], ids=["no-outage", "outages"])
def test_ahead_stream_is_paused_at_the_cap_and_the_results_do_not_change(
        tmp_path: Path, scenario: Any, monkeypatch: pytest.MonkeyPatch, outages: int) -> None:
    reference = _service(_db(tmp_path, scenario, "file"), scenario, JsonlSource(scenario.events)).run()
    assert reference.stopped_by == "end_of_source"

    source = TwoTopics(scenario.events.read_bytes().splitlines())
    longest: dict[Any, int] = {PRED: 0, OUT: 0, "total": 0}
    release = PartitionMerger.release

    def watched(merger: PartitionMerger, *args: Any, **kwargs: Any) -> Any:
        for tp in merger.tps:
            longest[tp] = max(longest[tp], merger.queued(tp))
        longest["total"] = max(longest["total"], len(merger))
        return release(merger, *args, **kwargs)

    monkeypatch.setattr(PartitionMerger, "release", watched)
    url = _db(tmp_path, scenario, "two")
    service = _service(url, scenario, source, outages)
    result = service.run()
    store = service.store
    assert isinstance(store, FlakyStore)
    assert store.outages == 0, "fewer outages than planned"
    assert store.outage_began_while_merge_paused or not outages, "no outage met a paused stream: not tested"

    assert result.stopped_by == "end_of_source" and result.clean
    assert result.messages == reference.messages == scenario.n_events  # predictions, outcomes and label events
    assert OUT in source.pauses, "the outcomes never filled the merge buffer: the bound is not tested"
    assert not source.paused
    assert longest[OUT] <= CAP and longest[PRED] <= CAP, longest
    assert longest["total"] <= CAP + BATCH, longest
    assert result.windows == reference.windows
    assert _windows(url) == _windows(f"sqlite:///{tmp_path}/file.db")


# -- batches that skip the merge buffer ----------------------------------------------------------------------
# A batch of one stream of a merged partition, with nothing queued and the other stream caught up, goes
# straight to the pipeline (``PartitionTable.direct_partitions``). Pushed and released it would come out at once and
# in the same order, so the stored results must be those of the buffered way, on every arrival schedule.

class OneStreamPolls(TwoTopics):
    """A live pair of streams: each poll first lets a random number of the file's next events be produced,
    then serves one stream only, in a random amount. A stream is caught up when it handed out all that was
    produced of it, so one-stream batches often meet a caught-up partner (direct) and often not (buffered)."""

    def __init__(self, lines: list[bytes], seed: int) -> None:
        super().__init__(lines)
        self._rng = random.Random(seed)
        self._order = [PRED if json.loads(line)["kind"] == "prediction" else OUT for line in lines]
        self._produced = 0
        self._avail = {PRED: 0, OUT: 0}

    def poll(self, timeout: float, max_records: int) -> list[RawMessage]:
        if self._listener is not None:
            return super().poll(timeout, max_records)
        for tp in self._order[self._produced:self._produced + self._rng.randint(0, max_records // 2)]:
            self._avail[tp] += 1
            self._produced += 1
        ready = [tp for tp in (PRED, OUT) if tp not in self.paused and not self.caught_up(tp)]
        if not ready:
            return []
        tp = self._rng.choice(ready)
        start = self._next[tp]
        self._next[tp] = min(start + self._rng.randint(1, max_records), self._avail[tp])
        return self._msgs[tp][start:self._next[tp]]

    def caught_up(self, tp: TopicPartition) -> bool:
        return self._next[tp] >= self._avail[tp]

    @property
    def exhausted(self) -> bool:
        return self._produced == len(self._order) and super().exhausted


@pytest.mark.parametrize("seed", [1])
def test_direct_batches_feed_the_pipeline_in_the_merged_order(tmp_path: Path, scenario: Any,
                                                             monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    lines = scenario.events.read_bytes().splitlines()
    direct_calls: list[set[int]] = []
    find = PartitionTable.direct_partitions

    def watched(self: PartitionTable, batch: list[RawMessage]) -> set[int]:
        found = find(self, batch)
        direct_calls.append(found)
        return found

    applied: list[tuple[str, int]] = []  # (topic, offset) of the events in the order the pipeline got them
    apply = Service._apply

    def watched_apply(self: Service, part: Partition, taken: Taken) -> None:
        if taken.event is not None:
            applied.append((taken.msg.topic, taken.msg.offset))
        apply(self, part, taken)

    monkeypatch.setattr(Service, "_apply", watched_apply)
    monkeypatch.setattr(PartitionTable, "direct_partitions", watched)
    url = _db(tmp_path, scenario, "direct")
    fast = _service(url, scenario, OneStreamPolls(lines, seed)).run()
    assert any(direct_calls) and not all(direct_calls), "both kinds of batch must occur"
    fast_order, applied[:] = list(applied), []

    monkeypatch.setattr(PartitionTable, "direct_partitions", lambda self, batch: set())
    buffered_url = _db(tmp_path, scenario, "buffered")
    buffered = _service(buffered_url, scenario, OneStreamPolls(lines, seed)).run()

    assert fast.stopped_by == buffered.stopped_by == "end_of_source" and fast.clean and buffered.clean
    assert fast.messages == buffered.messages == len(lines)
    assert fast_order == applied and len(applied) == len(lines)
    assert (fast.windows, fast.dead_letters) == (buffered.windows, buffered.dead_letters)
    assert _windows(url) == _windows(buffered_url) and _windows(url)
