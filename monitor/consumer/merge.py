"""Deterministic merge of one partition number's two streams (predictions *p*, outcomes *p*) by event time.

The pipeline's outcome join and window closing follow event time, so the order in which a prediction and
an outcome reach it matters. Kafka hands out records of different partitions in whatever order its fetches
return; feeding them as they come would make results depend on timing (and differ after a restart).

:class:`PartitionMerger` buffers each stream and releases the head with the smaller key ``(event time,
stream rank, offset)``: a head is released only when the other stream has a head to compare with, or has
handed out everything available (``caught_up``). Then the merged order is a pure function of the two
sequences, so a run restarted from stored offsets continues exactly as an uninterrupted one. Only if the
other stream stays silent for longer than it may is a head released without it; that is logged (a WARNING,
once per silence), since the merged order then depends on timing. How long it may stay silent:
``max_lag_wait`` (300 s) while the source knows records of it are waiting (``lagging``: its high watermark is
above its next offset, so the silence is a slow or starved fetch, as on a loaded host), else ``max_wait``
(10 s: nothing is known to be waiting, e.g. no fetch of it has answered yet).
Messages without an event time (dead letters) have key ``-inf``: they leave as soon as they are at the head.

>>> m = PartitionMerger([("p", 0), ("o", 0)], max_wait=5.0)
>>> m.push(("p", 0), 10.0, 0, "pred@10"); m.push(("p", 0), 30.0, 1, "pred@30")
>>> m.release(lambda tp: False, now=0.0)          # outcomes not fetched yet: wait
[]
>>> m.push(("o", 0), 20.0, 0, "out@20")
>>> m.release(lambda tp: False, now=0.1)
['pred@10', 'out@20']
>>> m.release(lambda tp: tp == ("o", 0), now=0.2)  # outcomes at their end: the rest may go
['pred@30']
>>> m.push(("p", 0), 40.0, 2, "pred@40")
>>> lagging = lambda tp: tp == ("o", 0)             # outcomes known to be waiting on the broker
>>> m.release(lambda tp: False, now=1.0, lagging=lagging), m.release(lambda tp: False, now=7.0, lagging=lagging)
([], [])
>>> m.release(lambda tp: False, now=7.5)            # nothing known to be waiting: 5 s of silence were enough
['pred@40']
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from monitor.sources.base import TopicPartition

__all__ = ["PartitionMerger"]

log = logging.getLogger(__name__)


class PartitionMerger:
    """Merges the streams ``tps`` (rank = position in ``tps``) by ``(key, rank, offset)``."""

    def __init__(self, tps: Sequence[TopicPartition], max_wait: float = 10.0, max_lag_wait: float = 300.0) -> None:
        self.tps = list(tps)
        self.max_wait = max_wait
        self.max_lag_wait = max_lag_wait
        self._queues: dict[TopicPartition, deque[tuple[float, int, int, Any]]] = {tp: deque() for tp in tps}
        self._rank = {tp: i for i, tp in enumerate(self.tps)}
        self._blocked_since: float | None = None
        self._warned = False  # the current silence was logged

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def queued(self, tp: TopicPartition) -> int:
        """Items of ``tp`` waiting to be released."""
        return len(self._queues[tp])

    def push(self, tp: TopicPartition, key: float, offset: int, item: Any) -> None:
        self._queues[tp].append((key, self._rank[tp], offset, item))

    def release(self, caught_up: Callable[[TopicPartition], bool], now: float,
                lagging: Callable[[TopicPartition], bool] | None = None) -> list[Any]:
        """Items that may be processed now, in merged order (``lagging``: records of a stream are known to be
        waiting; see the module docstring)."""
        out: list[Any] = []
        queues = [self._queues[tp] for tp in self.tps]
        while True:
            nonempty = [i for i, q in enumerate(queues) if q]
            if not nonempty:
                self._blocked_since = None
                return out
            if len(nonempty) == len(queues):
                best = min(nonempty, key=lambda i: queues[i][0][:3])
                out.append(queues[best].popleft()[3])
                self._blocked_since, self._warned = None, False
                continue
            empty = [self.tps[i] for i, q in enumerate(queues) if not q]
            if all(caught_up(tp) for tp in empty):
                if len(nonempty) == 1:  # the others stay empty during this call: the whole queue goes, in order
                    queue = queues[nonempty[0]]
                    out.extend(entry[3] for entry in queue)
                    queue.clear()
                    self._blocked_since = None
                    return out
                best = min(nonempty, key=lambda i: queues[i][0][:3])
                out.append(queues[best].popleft()[3])
                self._blocked_since = None
                continue
            if self._blocked_since is None:
                self._blocked_since = now
            waited = now - self._blocked_since
            if waited < self.max_wait:
                return out
            if lagging is not None and waited < self.max_lag_wait and any(lagging(tp) for tp in empty):
                return out
            if not self._warned:  # once per silence: from here the merged order depends on timing
                self._warned = True
                log.warning("a stream stayed silent: released the other without it (results may differ from a "
                            "rerun)", extra={"silent": [f"{t}:{p}" for t, p in empty], "waited_s": round(waited, 1)})
            best = min(nonempty, key=lambda i: queues[i][0][:3])
            out.append(queues[best].popleft()[3])
