"""The persist point: one window's results, its alert changes, the pipeline snapshot and the next offsets.

:func:`persist` adds everything to the caller's session and flushes; the caller commits (or rolls back)
the one transaction, then commits offsets to Kafka (informational). ``window_results`` is unique on
``(model, window_key)``: persisting a window twice raises ``IntegrityError`` instead of double counting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from monitor.alerts.service import AlertService
from monitor.db.models import FeatureResult, MetricValue, WindowResult, WindowSample
from monitor.pipeline.closed import ClosedWindow
from monitor.store.checkpoints import save_checkpoint, save_offsets
from monitor.store.models_repo import get_or_create_model

__all__ = ["DEFAULT_GROUP_ID", "persist", "write_window"]

DEFAULT_GROUP_ID = "driftwarden"


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_window(session: Session, closed: ClosedWindow) -> WindowResult:
    """Insert one window with its feature results, metric values and sample; flushed, not committed."""
    model = get_or_create_model(session, closed.model)
    row = WindowResult(
        model_id=model.id, window_key=closed.window_key, window_start=closed.window_start,
        window_end=closed.window_end, n_events=closed.n_events, reference_version=closed.reference_version,
        preset=closed.preset, dataset_drift=closed.dataset_drift, drift_share=float(closed.drift_share),
        multivariate_statistic=closed.multivariate_statistic, report=_json_safe(closed.report),
    )
    session.add(row)
    session.flush()
    # the window's children go in as ORM bulk INSERTs (one executemany each), not through the unit of work
    seen: set[str] = set()
    features: list[dict[str, Any]] = []
    for col in closed.columns:
        name = col.get("name") or col.get("column")
        if not name or name in seen:
            continue
        seen.add(str(name))
        features.append(dict(
            window_id=row.id, feature=str(name), kind=str(col.get("kind", "?")), test=str(col.get("test", "?")),
            statistic=_num(col.get("statistic")), p_value=_num(col.get("p_value")),
            threshold=_num(col.get("threshold")) or 0.0, drifted=bool(col.get("drifted", False)),
            missing_rate_reference=_num(col.get("missing_rate_reference")),
            missing_rate_current=_num(col.get("missing_rate_current")),
            effect_size=_num(col.get("effect_size")), p_value_adjusted=_num(col.get("p_value_adjusted")),
            alpha=_num(col.get("alpha")),
        ))
    if features:
        session.execute(insert(FeatureResult), features)
    metrics: list[dict[str, Any]] = [
        dict(window_id=row.id, model_id=model.id, name=metric.name, ts=closed.window_end, value=_num(metric.value),
             numerator=float(metric.numerator), denominator=float(metric.denominator))
        for metric in closed.metrics]
    named = {m.name for m in closed.metrics}
    metrics.extend(dict(window_id=row.id, model_id=model.id, name=name, ts=closed.window_end, value=_num(value),
                        numerator=None, denominator=None)
                   for name, value in closed.extra_metrics.items() if name not in named)
    if metrics:
        session.execute(insert(MetricValue), metrics)
    if closed.sample is not None:
        session.execute(insert(WindowSample), [dict(window_id=row.id, format="parquet", n_rows=closed.sample_rows,
                                                    data=closed.sample)])
    return row


def persist(
    session: Session,
    closed_windows: Iterable[ClosedWindow],
    snapshot_key: str | None,
    snapshot: bytes | None,
    offsets: Mapping[tuple[str, int], int],
    alert_service: AlertService | None,
    *,
    group_id: str = DEFAULT_GROUP_ID,
) -> list[WindowResult]:
    """Write a persist point into ``session``'s transaction (the caller commits; see the module docstring).

    ``group_id`` is the Kafka consumer group the snapshot and offsets belong to (``Settings.
    kafka_consumer_group``). Windows are written in the given order, each followed by its alert changes.
    """
    rows = []
    for closed in closed_windows:
        row = write_window(session, closed)
        if alert_service is not None:
            alert_service.process_window(session, closed.model, row, closed.signals,
                                         auto_resolve_after=closed.auto_resolve_after)
        rows.append(row)
    if snapshot_key is not None and snapshot is not None:
        save_checkpoint(session, group_id, snapshot_key, snapshot)
    if offsets:
        save_offsets(session, group_id, offsets)
    session.flush()
    return rows
