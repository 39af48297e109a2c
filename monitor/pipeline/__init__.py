"""The pure pipeline: per-model windows, outcome join, business metrics and drift tests (no I/O).

See :mod:`monitor.pipeline.core` for the exactly-once contract with :func:`monitor.store.writer.persist`.
"""

from __future__ import annotations

from monitor.pipeline.closed import ClosedWindow
from monitor.pipeline.core import SNAPSHOT_FORMAT, Pipeline, ProfileLoader, SnapshotError

__all__ = ["SNAPSHOT_FORMAT", "ClosedWindow", "Pipeline", "ProfileLoader", "SnapshotError"]
