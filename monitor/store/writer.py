"""The persist point: one window's results, its alert changes, the pipeline snapshot and the next offsets.

:func:`persist` adds everything to the caller's session and flushes; the caller commits (or rolls back)
the one transaction, then commits offsets to Kafka (informational). ``window_results`` is unique on
``(model, window_key)``: persisting a window twice raises ``IntegrityError`` instead of double counting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import timedelta
from math import isfinite
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from monitor.alerts.incidents import DEFAULT_INCIDENT_GAP, group_alerts
from monitor.alerts.service import AlertChanges, AlertService
from monitor.db.base import Base, utcnow
from monitor.db.models import FeatureResult, MetricValue, PerformanceValue, WindowResult, WindowSample
from monitor.errors import MonitorError
from monitor.pipeline.awaiting import PerformanceRecord, WindowUpdate
from monitor.pipeline.closed import ClosedWindow, epoch_to_datetime
from monitor.pipeline.early import EarlyAlert
from monitor.store.checkpoints import save_checkpoint, save_offsets
from monitor.store.models_repo import get_or_create_model, prefetch_models
from monitor.store.segments_store import upsert_fairness, write_segments

__all__ = ["DEFAULT_GROUP_ID", "UpdateTargetMissing", "persist", "write_update", "write_window"]

DEFAULT_GROUP_ID = "driftwarden"

_AS_IS: frozenset[type] = frozenset({str, int, bool, type(None)})



def _table(entity: type[Base]) -> Table:
    """The mapped ``Table`` of ``entity`` (Core statements on it skip the ORM's per-statement work)."""
    table = entity.__table__
    assert isinstance(table, Table)
    return table


_WINDOWS = _table(WindowResult)
_INSERT_WINDOW = insert(_WINDOWS).returning(_WINDOWS.c.id)
_INSERT_FEATURES = insert(_table(FeatureResult))
_INSERT_METRICS = insert(_table(MetricValue))
_INSERT_SAMPLE = insert(_table(WindowSample))


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if isfinite(x) else None


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as ``None``, dict keys as ``str`` and tuples as lists.

    Plain ``dict``/``float``/``str``/``int``/``bool``/``None`` are recognised by exact type first (the
    bulk of a report); anything else follows the ``isinstance`` rules (subclasses included).
    """
    cls = type(value)
    if cls is dict:
        return _json_safe_dict(value)
    if cls is float:
        return value if isfinite(value) else None
    if cls in _AS_IS:
        return value
    if isinstance(value, float):
        return value if isfinite(value) else None
    if isinstance(value, dict):
        return _json_safe_dict(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _json_safe_dict(value: dict[Any, Any]) -> dict[str, Any]:
    """:func:`_json_safe` of a dict: keys ``str(k)`` (a later equal key wins), values made safe."""
    out: dict[str, Any] = {}
    for k, v in value.items():
        key = k if type(k) is str else str(k)
        cls = type(v)
        if cls in _AS_IS:
            out[key] = v
        elif cls is float:
            out[key] = v if isfinite(v) else None
        else:
            out[key] = _json_safe(v)
    return out


def _insert_window(session: Session, closed: ClosedWindow, model_id: int) -> WindowResult:
    """INSERT the window row (Core, ``RETURNING id``) and hand back its ORM object, persistent in the session.

    The object carries exactly the inserted values (``created_at`` is the column default ``utcnow()``,
    taken here), like the row ``session.add(); session.flush()`` used to give, without the unit of work.
    Anything pending in the session is flushed first, as that flush did.
    """
    values: dict[str, Any] = dict(
        model_id=model_id, window_key=closed.window_key, window_start=closed.window_start,
        window_end=closed.window_end, n_events=closed.n_events, reference_version=closed.reference_version,
        preset=closed.preset, dataset_drift=closed.dataset_drift, drift_share=float(closed.drift_share),
        multivariate_statistic=closed.multivariate_statistic, report=_json_safe(closed.report), created_at=utcnow(),
    )
    session.flush()
    window_id = session.execute(_INSERT_WINDOW, values).scalar_one()
    row = WindowResult(id=window_id, **values)
    make_transient_to_detached(row)
    session.add(row)
    return row


def _feature_rows(closed: ClosedWindow, window_id: int) -> list[dict[str, Any]]:
    """One row per named column, first occurrence of a name wins."""
    seen: set[str] = set()
    features: list[dict[str, Any]] = []
    for col in closed.columns:
        name = col.get("name") or col.get("column")
        if not name or name in seen:
            continue
        seen.add(str(name))
        features.append(dict(
            window_id=window_id, feature=str(name), kind=str(col.get("kind", "?")), test=str(col.get("test", "?")),
            statistic=_num(col.get("statistic")), p_value=_num(col.get("p_value")),
            threshold=_num(col.get("threshold")) or 0.0, drifted=bool(col.get("drifted", False)),
            missing_rate_reference=_num(col.get("missing_rate_reference")),
            missing_rate_current=_num(col.get("missing_rate_current")),
            effect_size=_num(col.get("effect_size")), p_value_adjusted=_num(col.get("p_value_adjusted")),
            alpha=_num(col.get("alpha")),
        ))
    return features


def _metric_rows(closed: ClosedWindow, window_id: int, model_id: int) -> list[dict[str, Any]]:
    """The window's metrics, then its extra metrics whose names are not metrics already."""
    metrics: list[dict[str, Any]] = [
        dict(window_id=window_id, model_id=model_id, name=metric.name, ts=closed.window_end,
             value=_num(metric.value), numerator=float(metric.numerator), denominator=float(metric.denominator))
        for metric in closed.metrics]
    named = {m.name for m in closed.metrics}
    metrics.extend(dict(window_id=window_id, model_id=model_id, name=name, ts=closed.window_end,
                        value=_num(value), numerator=None, denominator=None)
                   for name, value in closed.extra_metrics.items() if name not in named)
    return metrics


class UpdateTargetMissing(MonitorError, LookupError):
    """A window update whose window row is not in the database (it must be written first)."""


def _upsert_performance(session: Session, row: WindowResult, records: Iterable[PerformanceRecord]) -> None:
    """One ``performance_values`` row per (window, metric): inserted, or updated in place."""
    records = list(records)
    if not records:
        return
    existing = {p.metric: p for p in session.scalars(
        select(PerformanceValue).where(PerformanceValue.window_id == row.id))}
    now = utcnow()
    for rec in records:
        values = rec.to_dict()
        target = existing.get(rec.metric)
        if target is None:
            session.add(PerformanceValue(window_id=row.id, model_id=row.model_id, window_start=row.window_start,
                                         window_end=row.window_end, updated_at=now, **values))
        else:
            for name, value in values.items():
                setattr(target, name, value)
            target.updated_at = now


def _upsert_metrics(session: Session, row: WindowResult, update: WindowUpdate) -> None:
    if update.metrics is None:
        return
    existing = {m.name: m for m in session.scalars(select(MetricValue).where(MetricValue.window_id == row.id))}
    for metric in update.metrics:
        target = existing.get(metric.name)
        values = dict(value=_num(metric.value), numerator=float(metric.numerator),
                      denominator=float(metric.denominator))
        if target is None:
            session.add(MetricValue(window_id=row.id, model_id=row.model_id, name=metric.name, ts=row.window_end,
                                    **values))
        else:
            for name, value in values.items():
                setattr(target, name, value)


def write_update(session: Session, update: WindowUpdate) -> WindowResult:
    """Apply one :class:`~monitor.pipeline.awaiting.WindowUpdate` to its window's rows (performance values,
    business metric values and label-based fairness rows upserted); flushed, not committed.

    Raises
    ------
    UpdateTargetMissing
        The window (``update.model``, ``update.window_key``) has no row.
    """
    model = get_or_create_model(session, update.model)
    row = session.scalars(select(WindowResult).where(WindowResult.model_id == model.id,
                                                     WindowResult.window_key == update.window_key)).first()
    if row is None:
        raise UpdateTargetMissing(f"window {update.window_key!r} of model {update.model!r} has no row to update")
    _upsert_performance(session, row, update.performance)
    _upsert_metrics(session, row, update)
    upsert_fairness(session, row, update.fairness)
    session.flush()
    return row


def write_window(session: Session, closed: ClosedWindow) -> WindowResult:
    """Insert one window with its feature results, metric values and sample; flushed, not committed.

    The window's children go in as Core INSERTs (one executemany per table), in list order, so their ids
    follow that order; neither goes through the unit of work or the ORM bulk-insert machinery.
    """
    model = get_or_create_model(session, closed.model)
    row = _insert_window(session, closed, model.id)
    features = _feature_rows(closed, row.id)
    if features:
        session.execute(_INSERT_FEATURES, features)
    metrics = _metric_rows(closed, row.id, model.id)
    if metrics:
        session.execute(_INSERT_METRICS, metrics)
    if closed.sample is not None:
        session.execute(_INSERT_SAMPLE, [dict(window_id=row.id, format="parquet", n_rows=closed.sample_rows,
                                              data=closed.sample)])
    if closed.performance:
        _upsert_performance(session, row, closed.performance)
    if closed.segments or closed.fairness:
        write_segments(session, closed, row)
    return row


def _write_one(session: Session, closed: ClosedWindow | WindowUpdate | EarlyAlert,
               alert_service: AlertService | None) -> tuple[WindowResult | None, AlertChanges | None]:
    """Write one item of a persist point; its window row (a closed window only) and its alert changes."""
    if isinstance(closed, EarlyAlert):
        return None, None if alert_service is None else alert_service.process_early(session, closed.model, closed)
    if isinstance(closed, WindowUpdate):
        target = write_update(session, closed)
        if alert_service is None:
            return None, None
        at = None if closed.judged_at is None else epoch_to_datetime(closed.judged_at)
        return None, alert_service.process_labels(session, closed.model, target, closed.signals, closed.judged,
                                                  auto_resolve_after=closed.auto_resolve_after, judged_at=at)
    row = write_window(session, closed)
    if alert_service is None:
        return row, None
    return row, alert_service.process_window(session, closed.model, row, closed.signals,
                                             auto_resolve_after=closed.auto_resolve_after)


def persist(
    session: Session,
    closed_windows: Iterable[ClosedWindow | WindowUpdate | EarlyAlert],
    snapshot_key: str | None,
    snapshot: bytes | None,
    offsets: Mapping[tuple[str, int], int],
    alert_service: AlertService | None,
    *,
    group_id: str = DEFAULT_GROUP_ID,
    opened: Counter[str] | None = None,
    incident_gap: timedelta = DEFAULT_INCIDENT_GAP,
) -> list[WindowResult]:
    """Write a persist point into ``session``'s transaction (the caller commits; see the module docstring).

    ``group_id`` is the Kafka consumer group the snapshot and offsets belong to (``Settings.
    kafka_consumer_group``). Windows are written in the given order, each followed by its alert changes.
    A :class:`~monitor.pipeline.awaiting.WindowUpdate` (labels or outcomes of a window written earlier)
    upserts that window's performance and metric values and applies its label-lifecycle signals
    (:meth:`AlertService.process_labels`); its window row is not returned. An
    :class:`~monitor.pipeline.early.EarlyAlert` opens (or dates back) its alert (:meth:`AlertService.process_early`).
    ``opened``, when given, counts the alerts opened per model (from what the alert service returns).
    Every alert change then goes to its incident (:func:`monitor.alerts.incidents.group_alerts`, ``incident_gap``),
    whose notifications go to the alert service's notifier.
    """
    windows = list(closed_windows)
    prefetch_models(session, (closed.model for closed in windows))
    rows = []
    for closed in windows:
        row, changes = _write_one(session, closed, alert_service)
        if changes is not None:
            group_alerts(session, changes, incident_gap, alert_service.notifier if alert_service else None)
            if opened is not None:
                opened[closed.model] += len(changes.opened)
        if row is not None:
            rows.append(row)
    if snapshot_key is not None and snapshot is not None:
        save_checkpoint(session, group_id, snapshot_key, snapshot)
    if offsets:
        save_offsets(session, group_id, offsets)
    session.flush()
    return rows
