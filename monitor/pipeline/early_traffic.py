"""Early warning of a traffic drop or spike (pure): Poisson CUSUMs of event counts per block of event time.

Granularity: event time is cut into blocks of ``early_warning.traffic_block_seconds`` (900 s by default,
aligned on the Unix epoch); a block closes when the first event of a later block arrives, and each empty
block in between counts as a block of 0 events (at most ``HISTORY + 1`` of them: after that the recent
rate is 0 and nothing is tested). The first block seen is partial and only starts the count.

Rule, per closed block with count ``x`` and ``lam0`` = the mean count of the ``HISTORY`` (4) previous blocks
(the recent rate, one hour by default), tested only when those blocks hold at least ``MIN_RECENT`` (20)
events:

- drop: ``llr = poisson_llr(x, lam0, volume.drop_ratio / 2)`` (half the window-close rule's boundary: the
  window-close rule's ``critical`` level);
- spike: ``llr = poisson_llr(x, lam0, 2 x volume.spike_ratio)``;

each into its own CUSUM ``S = max(0, S + llr)`` alarming at ``S > log(early_warning.ert)``. The recent
rate follows slow changes (daily cycles), so only an abrupt severe change alarms.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from detectors.sequential import CUSUM
from detectors.sequential.early import llr_cusum, poisson_llr
from monitor.config import ModelConfig

__all__ = ["HISTORY", "MIN_RECENT", "TrafficAlarm", "TrafficTest"]

HISTORY = 4
MIN_RECENT = 20


@dataclass(frozen=True)
class TrafficAlarm:
    """A crossing: ``direction`` ("drop" or "spike"), the block's count, the recent mean count per block,
    and the events of the CUSUM's run (blocks' counts summed)."""

    direction: str
    count: int
    recent: float
    run_events: int


class TrafficTest:
    """The drop and spike CUSUMs of one model (see the module docstring)."""

    def __init__(self, config: ModelConfig) -> None:
        volume = config.alerts.volume
        self.seconds = float(config.early_warning.traffic_block_seconds)
        self.ratios = {"drop": volume.drop_ratio / 2, "spike": 2 * volume.spike_ratio}
        self.cusums = {d: llr_cusum(config.early_warning.ert) for d in self.ratios}
        self.runs = dict.fromkeys(self.ratios, 0)
        self.history: deque[int] = deque(maxlen=HISTORY)
        self.block: int | None = None
        self.count = 0
        self.partial = True

    def add(self, ts: float) -> list[TrafficAlarm]:
        """Count one event at event time ``ts``; the alarms of the blocks it closes."""
        index = math.floor(ts / self.seconds)
        if self.block is None:
            self.block, self.count = index, 1
            return []
        if index <= self.block:  # same block, or a late event: counted in the open block
            self.count += 1
            return []
        out = self.close_block(self.count)
        for _ in range(min(index - self.block - 1, HISTORY + 1)):
            out += self.close_block(0)
        self.block, self.count = index, 1
        return out

    def close_block(self, count: int) -> list[TrafficAlarm]:
        """Close a block of ``count`` events: test it against the recent rate, then add it to the history."""
        if self.partial:  # the first block seen started before the first event
            self.partial = False
            return []
        out: list[TrafficAlarm] = []
        recent = sum(self.history)
        if len(self.history) == HISTORY and recent >= MIN_RECENT:
            lam0 = recent / HISTORY
            for direction, ratio in self.ratios.items():
                cusum = self.cusums[direction]
                fired = cusum.update(poisson_llr(count, lam0, ratio))
                self.runs[direction] = 0 if cusum.sum_increase <= 0 and not fired else self.runs[direction] + count
                if fired:
                    out.append(TrafficAlarm(direction, count, lam0, self.runs[direction]))
                    self.runs[direction] = 0
        self.history.append(count)
        return out

    # -- serialisation -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "block": self.block, "count": self.count, "partial": self.partial,
                "history": list(self.history), "runs": dict(self.runs),
                "cusums": {d: c.to_dict() for d, c in self.cusums.items()}}

    def restore(self, data: dict[str, Any]) -> None:
        """Take a saved state back; a different block length starts afresh (a partial first block)."""
        if float(data.get("seconds", -1)) != self.seconds:
            return
        self.block = None if data.get("block") is None else int(data["block"])
        self.count = int(data.get("count", 0))
        self.partial = bool(data.get("partial", True))
        self.history = deque((int(c) for c in data.get("history", [])), maxlen=HISTORY)
        for direction, saved in data.get("cusums", {}).items():
            restored = CUSUM.from_dict(saved)
            if direction in self.cusums and restored.h == self.cusums[direction].h:
                self.cusums[direction] = restored
                self.runs[direction] = int(data.get("runs", {}).get(direction, 0))
