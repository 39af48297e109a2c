"""The pure pipeline: per-model windows, outcome join, business metrics and drift tests (no I/O).

See :mod:`monitor.pipeline.core` for the exactly-once contract with :func:`monitor.store.writer.persist`, and
:mod:`monitor.pipeline.snapshot` for the format of a pipeline's snapshot.
"""

from __future__ import annotations

from monitor.pipeline.closed import ClosedWindow
from monitor.pipeline.core import Pipeline
from monitor.pipeline.snapshot import SNAPSHOT_FORMAT, ProfileLoader, SnapshotError

__all__ = ["SNAPSHOT_FORMAT", "ClosedWindow", "Pipeline", "ProfileLoader", "SnapshotError"]
