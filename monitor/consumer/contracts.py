"""The contract between the consumer loop and its database side, and the loop's options and result.

:class:`PartitionStore` is what :class:`monitor.consumer.loop.Service` needs from the database
(:class:`monitor.store.partition_store.SqlPartitionStore` implements it); :class:`StoreUnavailable` and
:class:`StoreConflict` are the two ways a persist can fail, and the loop treats them differently (retry the
same transaction after an outage; reload the partition after a conflict).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from detectors.profile import ReferenceProfile
from monitor.config import MonitorConfig
from monitor.consumer.deadletter import DeadLetterRecord
from monitor.errors import MonitorError
from monitor.events import DEFAULT_MAX_BYTES
from monitor.pipeline import ClosedWindow
from monitor.pipeline.awaiting import WindowUpdate
from monitor.pipeline.early import EarlyAlert
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.sources.base import TopicPartition

__all__ = [
    "ConfigSource",
    "PartitionStore",
    "RunResult",
    "SaveItem",
    "SaveResult",
    "ServiceOptions",
    "StoreConflict",
    "StoreUnavailable",
]


class StoreUnavailable(MonitorError, RuntimeError):
    """The database did not answer (outage): retry the same transaction later."""


class StoreConflict(MonitorError, RuntimeError):
    """The database refused the transaction (e.g. a window already stored): reload the partition's state."""


@dataclass(frozen=True)
class SaveItem:
    """What one persist point writes for one partition (all items of a call share one transaction).

    ``snapshot`` is ``None`` at a persist point of closed windows only (``offsets`` and ``dead_letters`` then
    empty); ``stored_windows``: ``(model, window key)`` of the windows stored that the snapshot stored last does
    not cover (restored as :attr:`monitor.pipeline.Pipeline.stored_windows`)."""

    key: str
    closed: list[ClosedWindow | WindowUpdate | EarlyAlert]
    snapshot: bytes | None
    offsets: dict[TopicPartition, int]
    dead_letters: list[DeadLetterRecord]
    stored_windows: list[tuple[str, str]] | None = None


@dataclass(frozen=True)
class SaveResult:
    windows: Counter[str] = field(default_factory=Counter)
    alerts_opened: Counter[str] = field(default_factory=Counter)


class PartitionStore(Protocol):
    """The database side of the loop (see :mod:`monitor.store.partition_store` for the SQL implementation)."""

    def load(self, key: str, tps: Sequence[TopicPartition]) -> tuple[bytes | None, dict[TopicPartition, int]]:
        """Stored snapshot of ``key`` and next offsets of ``tps`` (raises StoreUnavailable)."""

    def stored_windows(self, key: str) -> set[tuple[str, str]]:
        """The ``stored_windows`` last stored for ``key`` (raises StoreUnavailable)."""

    def profiles(self, config: MonitorConfig) -> dict[str, ReferenceProfile]:
        """The current reference profile of each of ``config``'s models that has one (raises StoreUnavailable)."""

    def find_profile(self, model: str, content_hash: str) -> ReferenceProfile | None:
        """A stored profile of ``model`` by its content hash (an open window's, restored), or ``None``."""

    def performance(self, config: MonitorConfig) -> dict[str, PerformanceReference]:
        """The performance reference of each of ``config``'s models with a ``performance`` block."""

    def save(self, items: Sequence[SaveItem]) -> SaveResult:
        """Write every item in ONE transaction (raises StoreUnavailable or StoreConflict)."""

    def apply_config(self, config: MonitorConfig) -> None:
        """Take the store's own part of a reloaded configuration (the ``retention:`` policy)."""


class ConfigSource(Protocol):
    """Where a new configuration comes from (``monitor.config.ConfigWatcher``)."""

    def poll(self, force: bool = False) -> MonitorConfig | None: ...


@dataclass(frozen=True)
class ServiceOptions:
    group_id: str
    max_batch: int = 2000
    poll_timeout: float = 0.2
    checkpoint_interval: float = 5.0
    max_pending_dead_letters: int = 1000
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    shutdown_grace: float = 30.0
    config_check_interval: float = 2.0
    lag_interval: float = 1.0
    max_message_bytes: int = DEFAULT_MAX_BYTES
    merge_max_wait: float = 10.0
    merge_buffer: int = 20_000
    """Longest merge queue of one stream of a partition: the stream is paused before one more poll batch
    (``max_batch``) could take it past this, and resumed at half of that. Keep it above ``2 * max_batch``."""
    write_at_close: bool = False
    """Write a window the events close (with its alerts) at once without the snapshot
    (:meth:`monitor.consumer.partitions.PartitionTable.save`); else each window close writes the snapshot too."""
    join_timeout: float = 45.0
    """Seconds without any assigned partition after which the source is reconnected (a stuck group join)."""
    gc_young_threshold: int | None = 50_000
    """While :meth:`Service.run` runs: container allocations between two collections of the youngest garbage
    collector generation (CPython's default is 700), with everything alive at the start frozen out of
    collections (``gc.freeze``). Every event allocates a few dozen containers and nearly all die by reference
    count, so the default's collections cost about a tenth of the watcher's time on wide events. ``None``
    leaves the interpreter's settings alone."""


@dataclass
class RunResult:
    """What one :meth:`Service.run` did; ``clean`` is False if the final persist could not be written."""

    messages: int = 0
    dead_letters: int = 0
    windows: int = 0
    persists: int = 0
    stopped_by: str = ""
    clean: bool = True
