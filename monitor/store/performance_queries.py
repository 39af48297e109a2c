"""Read-only queries of model quality (``performance_values``): :func:`performance_series` (one
:class:`PerformanceRow` per window and metric) and :func:`performance_metrics`; exported by
:mod:`monitor.store.queries` too, and like it they never write or commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from monitor.db.models import ModelRow, PerformanceValue

__all__ = ["PERFORMANCE_FIELDS", "PerformanceRow", "performance_metrics", "performance_series"]

PERFORMANCE_FIELDS = (
    "model", "window_start", "window_end", "metric", "n_predictions", "n_labelled", "realized", "realized_lower",
    "realized_upper", "estimated", "estimated_lower", "estimated_upper", "reference", "provisional",
)
"""The fields of one line of ``driftwarden performance --json`` (:meth:`PerformanceRow.to_json`)."""


@dataclass(frozen=True)
class PerformanceRow:
    """One window's quality for one metric (a row of ``performance_values``).

    ``realized`` (with its confidence interval) is computed from the labels joined so far; ``estimated``
    (with its CBPE band) from the scores alone, for every window from the moment it closes. ``None`` where
    not available (no labels yet, no CBPE for the task, metric undefined: ``reason`` says why).
    ``provisional`` is true until the model's ``label_ttl`` has passed for the window. ``error`` is
    ``estimated - realized`` when both exist; ``estimate_reliable`` is the reliability guard's verdict for
    the model's metric when the row was written (``None`` before any labelled window was compared).
    ``display`` is what a chart shows: the realized value when there is one, else the estimate.
    """

    model: str
    window_id: int
    window_start: datetime
    window_end: datetime
    metric: str
    n_predictions: int
    n_labelled: int
    realized: float | None
    realized_lower: float | None
    realized_upper: float | None
    estimated: float | None
    estimated_lower: float | None
    estimated_upper: float | None
    reference: float | None
    provisional: bool
    error: float | None = None
    estimate_reliable: bool | None = None
    reason: str | None = None

    @property
    def display(self) -> float | None:
        return self.realized if self.realized is not None else self.estimated

    @property
    def label_coverage(self) -> float | None:
        """``n_labelled / n_predictions`` (``None`` for an empty window)."""
        return self.n_labelled / self.n_predictions if self.n_predictions else None

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` line: exactly :data:`PERFORMANCE_FIELDS`, times as ISO 8601 strings."""
        out: dict[str, Any] = {}
        for name in PERFORMANCE_FIELDS:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


def _utc(value: datetime) -> datetime:
    return pd.Timestamp(value).tz_localize("UTC").to_pydatetime() if value.tzinfo is None else value


def performance_series(
    conn: Connection | Session,
    model: str,
    since: datetime | None = None,
    until: datetime | None = None,
    metrics: Sequence[str] | None = None,
) -> list[PerformanceRow]:
    """The performance rows of ``model`` (by name) with ``since <= window_end <= until``, in window order
    (then metric name). A model without rows (or unknown) gives ``[]``."""
    pv = PerformanceValue
    stmt = (
        select(ModelRow.name.label("model"), pv.window_id, pv.window_start, pv.window_end, pv.metric,
               pv.n_predictions, pv.n_labelled, pv.realized, pv.realized_lower, pv.realized_upper, pv.estimated,
               pv.estimated_lower, pv.estimated_upper, pv.reference, pv.provisional, pv.error,
               pv.estimate_reliable, pv.reason)  # columns, not the entity: rows alike from a Session or a Connection
        .join(ModelRow, ModelRow.id == pv.model_id)
        .where(ModelRow.name == model)
        .order_by(pv.window_end, pv.window_start, pv.metric)
    )
    if since is not None:
        stmt = stmt.where(pv.window_end >= since)
    if until is not None:
        stmt = stmt.where(pv.window_end <= until)
    if metrics is not None:
        stmt = stmt.where(pv.metric.in_(list(metrics)))
    return [
        PerformanceRow(
            model=str(row.model), window_id=int(row.window_id), window_start=_utc(row.window_start),
            window_end=_utc(row.window_end), metric=str(row.metric), n_predictions=int(row.n_predictions),
            n_labelled=int(row.n_labelled), realized=row.realized, realized_lower=row.realized_lower,
            realized_upper=row.realized_upper, estimated=row.estimated, estimated_lower=row.estimated_lower,
            estimated_upper=row.estimated_upper, reference=row.reference, provisional=bool(row.provisional),
            error=row.error, estimate_reliable=row.estimate_reliable, reason=row.reason,
        )
        for row in conn.execute(stmt)
    ]


def performance_metrics(conn: Connection | Session, model: str) -> list[str]:
    """The metric names ``model`` has performance rows for, sorted."""
    stmt = (select(PerformanceValue.metric).distinct().join(ModelRow, ModelRow.id == PerformanceValue.model_id)
            .where(ModelRow.name == model).order_by(PerformanceValue.metric))
    return [str(name) for name in conn.execute(stmt).scalars()]
