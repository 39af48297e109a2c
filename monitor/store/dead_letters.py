"""Dead letters as the on-call sees them: find them by reason, model and age, read one with its raw bytes,
record that some were produced back to their topic, and count them by kind of reason over time.

A *reason kind* is the reason with its particulars taken out (quoted names and numbers), so that
"unknown model 'a'" and "unknown model 'b'" count together:

>>> reason_kind("unknown model 'churn-v2' (known: 'rec')")
"unknown model '…' (known: '…')"
>>> reason_kind("message of 70000 bytes exceeds 65536")
'message of N bytes exceeds N'

Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Select, select, update
from sqlalchemy.orm import Session

from monitor.db.models import DeadLetter

__all__ = ["DeadLetterFilter", "DeadLetterItem", "find", "get", "mark_requeued", "reason_counts", "reason_kind"]

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"(?<![A-Za-z-])\d+(?:\.\d+)?\b")


def reason_kind(reason: str) -> str:
    """``reason`` with quoted text written ``'…'`` and numbers ``N`` (at most 120 characters)."""
    return _NUMBER.sub("N", _QUOTED.sub("'…'", reason))[:120]


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters: ``reason`` is a case-insensitive substring, ``since`` a lower bound on
    ``created_at``, ``ids`` exact ids; unset fields do not filter."""

    reason: str | None = None
    model: str | None = None
    since: datetime | None = None
    ids: tuple[int, ...] | None = None
    limit: int | None = None

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if self.reason:
            escaped = self.reason.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(DeadLetter.reason.ilike(f"%{escaped}%", escape="\\"))
        if self.model is not None:
            stmt = stmt.where(DeadLetter.model == self.model)
        if self.since is not None:
            stmt = stmt.where(DeadLetter.created_at >= self.since)
        if self.ids is not None:
            stmt = stmt.where(DeadLetter.id.in_(self.ids))
        return stmt


@dataclass(frozen=True)
class DeadLetterItem:
    """One stored dead letter; ``raw`` holds at most the kept bytes (``truncated`` when the message was longer)."""

    id: int
    created_at: datetime
    source: str
    partition: int | None
    offset: int | None
    model: str | None
    reason: str
    error_class: str
    raw: bytes
    raw_size: int
    key: bytes | None
    requeued_at: datetime | None
    requeue_count: int

    @property
    def truncated(self) -> bool:
        return self.raw_size > len(self.raw)

    def to_json(self, *, with_raw: bool) -> dict[str, Any]:
        """A JSON-ready dict; with ``with_raw`` the bytes as base64 (``raw_base64``, ``key_base64``)."""
        import base64

        out: dict[str, Any] = {
            "id": self.id, "created_at": self.created_at.isoformat(), "source": self.source,
            "partition": self.partition, "offset": self.offset, "model": self.model, "reason": self.reason,
            "error_class": self.error_class, "raw_size": self.raw_size, "truncated": self.truncated,
            "requeued_at": self.requeued_at.isoformat() if self.requeued_at else None,
            "requeue_count": self.requeue_count,
        }
        if with_raw:
            out["raw_base64"] = base64.b64encode(self.raw).decode("ascii")
            out["key_base64"] = base64.b64encode(self.key).decode("ascii") if self.key is not None else None
        return out


def _item(row: DeadLetter) -> DeadLetterItem:
    return DeadLetterItem(
        id=row.id, created_at=row.created_at, source=row.source, partition=row.partition, offset=row.offset,
        model=row.model, reason=row.reason, error_class=row.error_class, raw=bytes(row.raw), raw_size=row.raw_size,
        key=bytes(row.key) if row.key is not None else None, requeued_at=row.requeued_at,
        requeue_count=row.requeue_count or 0,
    )


def find(session: Session, which: DeadLetterFilter) -> list[DeadLetterItem]:
    """The dead letters ``which`` selects, newest first (ties by id)."""
    stmt = which.apply(select(DeadLetter)).order_by(DeadLetter.created_at.desc(), DeadLetter.id.desc())
    if which.limit is not None:
        stmt = stmt.limit(which.limit)
    return [_item(row) for row in session.scalars(stmt)]


def get(session: Session, dead_letter_id: int) -> DeadLetterItem | None:
    row = session.get(DeadLetter, dead_letter_id)
    return None if row is None else _item(row)


def mark_requeued(session: Session, ids: Sequence[int], at: datetime) -> None:
    """Record that the dead letters ``ids`` were produced back to their topic at ``at``."""
    if ids:
        session.execute(update(DeadLetter).where(DeadLetter.id.in_(list(ids)))
                        .values(requeued_at=at, requeue_count=DeadLetter.requeue_count + 1))


def reason_counts(conn: Connection, start: datetime | None = None, end: datetime | None = None,
                  freq: str = "1D", limit: int = 200_000) -> pd.DataFrame:
    """Dead letters per ``freq`` bucket of ``created_at`` and reason kind: ``bucket, reason_kind, count``."""
    stmt = select(DeadLetter.created_at, DeadLetter.reason).order_by(DeadLetter.created_at.desc()).limit(limit)
    if start is not None:
        stmt = stmt.where(DeadLetter.created_at >= start)
    if end is not None:
        stmt = stmt.where(DeadLetter.created_at <= end)
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["created_at", "reason"])
    if frame.empty:
        return pd.DataFrame({"bucket": pd.Series(dtype="datetime64[ns, UTC]"), "reason_kind": pd.Series(dtype=str),
                             "count": pd.Series(dtype=int)})
    frame["bucket"] = pd.to_datetime(frame["created_at"], utc=True).dt.floor(freq)
    frame["reason_kind"] = frame["reason"].map(reason_kind)
    return (frame.groupby(["bucket", "reason_kind"]).size().rename("count").reset_index()
            .sort_values(["bucket", "count"], ascending=[True, False], ignore_index=True))
