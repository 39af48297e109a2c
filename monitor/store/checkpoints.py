"""Pipeline snapshots (``window_checkpoints``) and next offsets (``consumer_offsets``). Never commits."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db.models import ConsumerOffset, WindowCheckpoint

__all__ = ["load_checkpoint", "load_offsets", "save_checkpoint", "save_offsets", "snapshot_key"]


def snapshot_key(predictions_topic: str, partition: int) -> str:
    """The checkpoint key of one pipeline: ``"<predictions-topic>:<partition>"``."""
    return f"{predictions_topic}:{partition}"


def load_checkpoint(session: Session, group_id: str, key: str) -> bytes | None:
    row = session.get(WindowCheckpoint, (group_id, key))
    return bytes(row.state) if row is not None else None


def save_checkpoint(session: Session, group_id: str, key: str, state: bytes) -> None:
    row = session.get(WindowCheckpoint, (group_id, key))
    if row is None:
        session.add(WindowCheckpoint(group_id=group_id, key=key, state=state))
    else:
        row.state = state


def load_offsets(session: Session, group_id: str, topics: list[str] | None = None) -> dict[tuple[str, int], int]:
    """Stored next offsets of ``group_id`` (optionally only for ``topics``)."""
    query = select(ConsumerOffset).where(ConsumerOffset.group_id == group_id)
    if topics is not None:
        query = query.where(ConsumerOffset.topic.in_(topics))
    return {(r.topic, r.partition): int(r.next_offset) for r in session.scalars(query)}


def save_offsets(session: Session, group_id: str, offsets: Mapping[tuple[str, int], int]) -> None:
    """Upsert next offsets. An offset never moves backwards (a stale writer cannot rewind the group)."""
    for (topic, partition), offset in offsets.items():
        row = session.get(ConsumerOffset, (group_id, topic, int(partition)))
        if row is None:
            session.add(ConsumerOffset(group_id=group_id, topic=topic, partition=int(partition),
                                       next_offset=int(offset)))
        elif int(offset) > row.next_offset:
            row.next_offset = int(offset)
