"""Pruning by the ``retention:`` policy (:class:`monitor.config.retention.RetentionConfig`).

:func:`prune_pass` deletes at most ``batch_size`` rows per table in the caller's transaction (the watcher
runs one pass inside a persist transaction, so a crash rolls the pass back with the results it rode with);
:func:`prune_all` repeats passes in their own short transactions until nothing is left
(``driftwarden prune``); :func:`due_counts` counts what a full prune would delete (``--dry-run``).

The age of window data is measured against the newest stored ``window_end`` of the same model (event time);
dead letters against ``now``. A window that an alert cites (``first_window_id`` / ``last_window_id``) is
never deleted, nor are alerts and their events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select, union
from sqlalchemy.orm import Session

from monitor.config.retention import RETAINED_TABLES, RetentionConfig
from monitor.db.models import Alert, DeadLetter, FeatureResult, WindowResult, WindowSample

__all__ = ["due_counts", "prune_all", "prune_pass"]


def _cited_windows() -> Any:
    return union(select(Alert.first_window_id).where(Alert.first_window_id.is_not(None)),
                 select(Alert.last_window_id).where(Alert.last_window_id.is_not(None)))


def _model_cutoffs(session: Session, keep: float) -> dict[int, datetime]:
    newest = session.execute(select(WindowResult.model_id, func.max(WindowResult.window_end))
                             .group_by(WindowResult.model_id)).all()
    return {int(model_id): end - timedelta(seconds=keep) for model_id, end in newest if end is not None}


def _old_windows(model_id: int, cutoff: datetime) -> ColumnElement[bool]:
    return (WindowResult.model_id == model_id) & (WindowResult.window_end < cutoff)


def _selectors(session: Session, policy: RetentionConfig, now: datetime) -> dict[str, list[Select[Any]]]:
    """Per table, the ``select`` of the primary keys due for deletion (one per model for window data)."""
    out: dict[str, list[Select[Any]]] = {}
    if policy.samples is not None:
        out["samples"] = [select(WindowSample.window_id).join(WindowResult, WindowResult.id == WindowSample.window_id)
                          .where(_old_windows(m, c)) for m, c in _model_cutoffs(session, policy.samples).items()]
    if policy.feature_results is not None:
        out["feature_results"] = [
            select(FeatureResult.id).join(WindowResult, WindowResult.id == FeatureResult.window_id)
            .where(_old_windows(m, c)) for m, c in _model_cutoffs(session, policy.feature_results).items()]
    if policy.window_results is not None:
        out["window_results"] = [
            select(WindowResult.id).where(_old_windows(m, c), WindowResult.id.not_in(_cited_windows()))
            for m, c in _model_cutoffs(session, policy.window_results).items()]
    if policy.dead_letters is not None:
        out["dead_letters"] = [select(DeadLetter.id).where(
            DeadLetter.created_at < now - timedelta(seconds=policy.dead_letters))]
    return out


_KEYS: dict[str, Any] = {"samples": WindowSample.window_id, "feature_results": FeatureResult.id,
                         "window_results": WindowResult.id, "dead_letters": DeadLetter.id}


def prune_pass(session: Session, policy: RetentionConfig, now: datetime) -> dict[str, int]:
    """Delete up to ``policy.batch_size`` due rows of each table (per model for window data); flushed, not
    committed. Returns the rows deleted per table."""
    deleted = dict.fromkeys(RETAINED_TABLES, 0)
    for table, selects in _selectors(session, policy, now).items():
        key = _KEYS[table]
        for stmt in selects:
            ids = list(session.scalars(stmt.order_by(key).limit(policy.batch_size)))
            if ids:
                session.execute(delete(key.class_).where(key.in_(ids)))
                deleted[table] += len(ids)
    session.flush()
    return deleted


def due_counts(session: Session, policy: RetentionConfig, now: datetime) -> dict[str, int]:
    """Rows a full prune would delete now, per table (nothing is deleted)."""
    counts = dict.fromkeys(RETAINED_TABLES, 0)
    for table, selects in _selectors(session, policy, now).items():
        counts[table] = sum(int(session.scalar(select(func.count()).select_from(s.subquery())) or 0)
                            for s in selects)
    return counts


def prune_all(begin: Callable[[], Any], policy: RetentionConfig, now: datetime) -> dict[str, int]:
    """Passes, each in its own transaction (``begin()``: a context manager yielding a session that commits
    on exit), until a pass deletes nothing. Returns the rows deleted per table."""
    total = dict.fromkeys(RETAINED_TABLES, 0)
    while True:
        with begin() as session:
            deleted = prune_pass(session, policy, now)
        for table, n in deleted.items():
            total[table] += n
        if not any(deleted.values()):
            return total
