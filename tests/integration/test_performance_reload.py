"""A configuration reload picks up the stored performance reference: a reference registered since the
pipeline was built, and a ``performance`` block added by the new configuration (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.alerts.service import AlertService
from monitor.config import parse_config
from monitor.consumer.pipelines import new_pipeline, reload_pipeline
from monitor.db import make_engine, session_factory, upgrade
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.store.partition_store import SqlPartitionStore
from monitor.store.references import register_performance_reference

PLAIN = """
version: 1
models:
  m:
    features: {x: numeric}
    window: {type: count, size: 100}
"""
WITH_PERFORMANCE = PLAIN + """    performance: {task: binary_classification, metrics: [accuracy, roc_auc]}
"""


def _register(url: str, seed: int, noise: float) -> PerformanceReference:
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=1500)
    y = (rng.uniform(size=p.size) < np.clip(p + rng.normal(0, noise, p.size), 0, 1)).astype(int)
    settings = parse_config(WITH_PERFORMANCE).models["m"].performance
    assert settings is not None
    ref = PerformanceReference.build(settings, y.tolist(), p.tolist(), model="m")
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        register_performance_reference(session, "m", ref)
    engine.dispose()
    return ref


@pytest.mark.parametrize("database", ["sqlite_url", "migrated_pg_url"])
def test_reload_reads_new_and_changed_performance_references(database: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(database)
    upgrade(url)
    engine = make_engine(url)
    store = SqlPartitionStore(engine, "g", AlertService())
    pipeline = new_pipeline(store, parse_config(PLAIN))
    assert pipeline.models["m"].quality is None
    first = _register(url, seed=1, noise=0.0)
    reload_pipeline(store, pipeline, parse_config(WITH_PERFORMANCE))  # the block is new: its reference comes too
    quality = pipeline.models["m"].quality
    assert quality is not None and quality.reference is not None
    assert quality.reference.value("accuracy") == first.value("accuracy")
    changed = _register(url, seed=2, noise=0.4)  # a new version registered while the watcher runs
    assert changed.value("accuracy") != first.value("accuracy")
    reload_pipeline(store, pipeline, parse_config(WITH_PERFORMANCE))
    quality = pipeline.models["m"].quality
    assert quality is not None and quality.reference is not None
    assert quality.reference.value("accuracy") == changed.value("accuracy")
    assert quality.reference.cbpe is not None and changed.cbpe is not None
    assert quality.reference.cbpe.to_dict() == changed.cbpe.to_dict()
    engine.dispose()
