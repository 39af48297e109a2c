"""Building a partition's pipeline from what the store reads: new, restored from a snapshot, or reloaded.

The store (:class:`~monitor.consumer.contracts.PartitionStore`) only reads: the configured models' reference
profiles, a profile by its content hash, and the performance references. These functions make the
:class:`~monitor.pipeline.Pipeline` of them, so building pipelines is the consumer's, not the database's.
"""

from __future__ import annotations

from detectors.profile import ReferenceProfile
from monitor.config import MonitorConfig
from monitor.consumer.contracts import PartitionStore, StoreUnavailable
from monitor.pipeline import ClosedWindow, Pipeline
from monitor.pipeline.performance_reference import PerformanceReference

__all__ = ["new_pipeline", "reload_pipeline", "restore_pipeline"]


def new_pipeline(store: PartitionStore, config: MonitorConfig) -> Pipeline:
    """An empty pipeline with the stored reference profiles and performance references of ``config``'s models."""
    return Pipeline(config, store.profiles(config), store.performance(config))


def restore_pipeline(store: PartitionStore, snapshot: bytes, config: MonitorConfig) -> Pipeline:
    """The pipeline of ``snapshot``; open windows whose profile is no longer current get it by its hash."""
    return Pipeline.restore(snapshot, config, store.profiles(config), profile_loader=store.find_profile,
                            performance=store.performance(config))


def reload_pipeline(store: PartitionStore, pipeline: Pipeline, config: MonitorConfig) -> list[ClosedWindow]:
    """Apply a new configuration to ``pipeline`` (the windows it closes are returned), with the reference
    profiles and performance references stored now (a new or changed ``performance`` block, or a reference
    registered since, takes effect). A database that is not reachable keeps the current ones; the new
    configuration still applies."""
    try:
        profiles: dict[str, ReferenceProfile] | None = store.profiles(config)
        performance: dict[str, PerformanceReference] | None = store.performance(config)
    except StoreUnavailable:
        profiles = performance = None
    return pipeline.reload(config, profiles, performance)
