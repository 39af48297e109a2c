"""The consumer of ``driftwarden run``: one room for the loop and what it needs.

* :mod:`~monitor.consumer.loop`: :class:`Service`, the loop (poll → intake → pipeline → persist → commit);
* :mod:`~monitor.consumer.partitions`: :class:`PartitionTable`, the owned partitions, their offsets and their
  way to and from the :class:`PartitionStore`;
* :mod:`~monitor.consumer.intake`: from a raw message to a pipeline input or a dead letter;
* :mod:`~monitor.consumer.merge`: the event-time merge of a partition's two streams;
* :mod:`~monitor.consumer.contracts`: the store contract, the loop's options and result.
* :mod:`~monitor.consumer.control`: the signal handlers (SIGTERM/SIGINT stop, SIGHUP reload), which only
  flip the loop's flags.

The SQL implementation of the store is :class:`monitor.store.partition_store.SqlPartitionStore`.
"""

from __future__ import annotations

from monitor.consumer.contracts import (
    ConfigSource,
    PartitionStore,
    RunResult,
    SaveItem,
    SaveResult,
    ServiceOptions,
    StoreConflict,
    StoreUnavailable,
)
from monitor.consumer.loop import Service

__all__ = [
    "ConfigSource",
    "PartitionStore",
    "RunResult",
    "SaveItem",
    "SaveResult",
    "Service",
    "ServiceOptions",
    "StoreConflict",
    "StoreUnavailable",
]
