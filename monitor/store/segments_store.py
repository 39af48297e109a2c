"""Segment and fairness rows of windows: written with their window (same transaction), the label-based
fairness rows upserted by the window's label updates (``upsert_fairness``), read for the CLI and the
dashboard (``segment_series``, ``fairness_series``, ``worst_slice_series``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db.models import FairnessResultRow, ModelRow, SegmentResultRow, WindowResult
from monitor.pipeline.closed import ClosedWindow
from monitor.pipeline.fairness_state import FairnessRecord

__all__ = ["FAIRNESS_FIELDS", "SEGMENT_FIELDS", "FairnessRow", "SegmentRow", "SliceRow", "fairness_series",
           "segment_series", "upsert_fairness", "worst_slice_series", "write_segments"]

SEGMENT_FIELDS = ("model", "window_start", "window_end", "segment", "n_events", "drift_share", "drifted_columns",
                  "metrics", "alerted")
FAIRNESS_FIELDS = ("model", "window_start", "window_end", "attribute", "metric", "value", "lower", "upper",
                   "threshold", "violated", "groups")


def write_segments(session: Session, closed: ClosedWindow, row: WindowResult) -> None:
    """Insert the window's ``segment_results`` and ``fairness_results`` rows (flushed with the window)."""
    base = dict(window_id=row.id, model_id=row.model_id, window_start=row.window_start, window_end=row.window_end)
    for seg in closed.segments:
        session.add(SegmentResultRow(**base, segment=seg.segment, n_events=seg.n_events,
                                     drift_share=seg.drift_share, drifted_columns=list(seg.drifted_columns),
                                     metrics=dict(seg.metrics), alerted=seg.alerted))
    for fair in closed.fairness:
        session.add(FairnessResultRow(**base, attribute=fair.attribute, metric=fair.metric, value=fair.value,
                                      lower=fair.lower, upper=fair.upper, threshold=fair.threshold,
                                      violated=fair.violated, groups=dict(fair.groups)))


def upsert_fairness(session: Session, row: WindowResult, records: Iterable[FairnessRecord]) -> None:
    """One ``fairness_results`` row per (window, attribute, metric): updated in place, or inserted (a
    metric the window's close did not write)."""
    records = list(records)
    if not records:
        return
    existing = {(f.attribute, f.metric): f for f in session.scalars(
        select(FairnessResultRow).where(FairnessResultRow.window_id == row.id))}
    for rec in records:
        values = dict(value=rec.value, lower=rec.lower, upper=rec.upper, threshold=rec.threshold,
                      violated=rec.violated, groups=dict(rec.groups))
        target = existing.get((rec.attribute, rec.metric))
        if target is None:
            session.add(FairnessResultRow(window_id=row.id, model_id=row.model_id, window_start=row.window_start,
                                          window_end=row.window_end, attribute=rec.attribute, metric=rec.metric,
                                          **values))
            continue
        for name, value in values.items():
            setattr(target, name, value)


@dataclass(frozen=True)
class SegmentRow:
    model: str
    window_start: datetime
    window_end: datetime
    segment: str
    n_events: int
    drift_share: float | None
    drifted_columns: list[str]
    metrics: dict[str, Any]
    alerted: bool

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["window_start"], out["window_end"] = self.window_start.isoformat(), self.window_end.isoformat()
        return out


@dataclass(frozen=True)
class FairnessRow:
    model: str
    window_start: datetime
    window_end: datetime
    attribute: str
    metric: str
    value: float | None
    lower: float | None
    upper: float | None
    threshold: float | None
    violated: bool
    groups: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["window_start"], out["window_end"] = self.window_start.isoformat(), self.window_end.isoformat()
        return out


def segment_series(session: Session, model: str, limit: int = 10_000, since: datetime | None = None
                   ) -> list[SegmentRow]:
    """The model's segment rows, oldest window first (then by segment); ``since``: windows ending at or after."""
    stmt = (select(SegmentResultRow).join(ModelRow, ModelRow.id == SegmentResultRow.model_id)
            .where(ModelRow.name == model)
            .order_by(SegmentResultRow.window_end, SegmentResultRow.window_id, SegmentResultRow.segment).limit(limit))
    if since is not None:
        stmt = stmt.where(SegmentResultRow.window_end >= since)
    return [SegmentRow(model, r.window_start, r.window_end, r.segment, int(r.n_events), r.drift_share,
                       list(r.drifted_columns or []), dict(r.metrics or {}), bool(r.alerted))
            for r in session.scalars(stmt)]


def fairness_series(session: Session, model: str, limit: int = 10_000, since: datetime | None = None
                    ) -> list[FairnessRow]:
    """The model's fairness rows, oldest window first (then by attribute and metric); ``since``: windows
    ending at or after."""
    stmt = (select(FairnessResultRow).join(ModelRow, ModelRow.id == FairnessResultRow.model_id)
            .where(ModelRow.name == model)
            .order_by(FairnessResultRow.window_end, FairnessResultRow.window_id, FairnessResultRow.attribute,
                      FairnessResultRow.metric).limit(limit))
    if since is not None:
        stmt = stmt.where(FairnessResultRow.window_end >= since)
    return [FairnessRow(model, r.window_start, r.window_end, r.attribute, r.metric, r.value, r.lower, r.upper,
                        r.threshold, bool(r.violated), dict(r.groups or {}))
            for r in session.scalars(stmt)]



@dataclass(frozen=True)
class SliceRow:
    """One of a window's worst slices (``report.worst_slices``), ``rank`` 1 the worst."""

    model: str
    window_start: datetime
    window_end: datetime
    rank: int
    metric: str
    name: str
    n: int
    rate: float | None
    rest_rate: float | None
    difference: float | None
    p_value: float | None
    q_value: float | None
    significant: bool


def worst_slice_series(session: Session, model: str, since: datetime | None = None, limit: int = 10_000
                       ) -> list[SliceRow]:
    """The worst slices kept with each of the model's windows (oldest window first, then by rank);
    ``since``: windows ending at or after. Windows without segments keep none."""
    stmt = (select(WindowResult.window_start, WindowResult.window_end, WindowResult.report)
            .join(ModelRow, ModelRow.id == WindowResult.model_id).where(ModelRow.name == model)
            .order_by(WindowResult.window_end, WindowResult.id).limit(limit))
    if since is not None:
        stmt = stmt.where(WindowResult.window_end >= since)
    out: list[SliceRow] = []
    for start, end, report in session.execute(stmt).all():
        found = report.get("worst_slices") if isinstance(report, dict) else None
        items = [item for item in found or [] if isinstance(item, dict)]
        for rank, item in enumerate(items, start=1):
            out.append(SliceRow(model, start, end, rank, str(item.get("metric")), str(item.get("name")),
                                int(item.get("n") or 0), item.get("rate"), item.get("rest_rate"),
                                item.get("difference"), item.get("p_value"), item.get("q_value"),
                                bool(item.get("significant"))))
    return out
