"""Pipeline snapshots (``window_checkpoints``) and next offsets (``consumer_offsets``). Never commits.

Saving is "UPDATE the row; INSERT it if no row matched" in Core statements, which writes what the ORM's
"get the row; add it or change it" wrote, without loading the row:

- a row that does not exist yet is INSERTed, so two writers racing to create the same row still end in
  ``IntegrityError`` for the loser (as the add did);
- an offset is only ever raised (``updated_at`` moves only with it); a checkpoint's ``updated_at`` moves
  only when its state changes;
- a row whose ORM object the session already holds is changed through that object instead (the ORM way),
  so the object never goes stale;
- pending changes of the session are flushed first, as the ``get`` did.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, case, insert, select, update
from sqlalchemy.orm import Session

from monitor.db.base import Base, utcnow
from monitor.db.models import ConsumerOffset, WindowCheckpoint

__all__ = ["load_checkpoint", "load_offsets", "load_stored_windows", "save_checkpoint", "save_offsets",
           "save_stored_windows", "snapshot_key", "written_key"]

WRITTEN_FORMAT = "driftwarden-written"


def snapshot_key(predictions_topic: str, partition: int) -> str:
    """The checkpoint key of one pipeline: ``"<predictions-topic>:<partition>"``."""
    return f"{predictions_topic}:{partition}"


def load_checkpoint(session: Session, group_id: str, key: str) -> bytes | None:
    row = session.get(WindowCheckpoint, (group_id, key))
    return bytes(row.state) if row is not None else None


def _table(entity: type[Base]) -> Table:
    table = entity.__table__
    assert isinstance(table, Table)
    return table


_CHECKPOINTS = _table(WindowCheckpoint)
_OFFSETS = _table(ConsumerOffset)
_CHANGED_STATE = _CHECKPOINTS.c.state.is_distinct_from(bindparam("state"))
_UPDATE_CHECKPOINT = (
    update(_CHECKPOINTS)
    .where(_CHECKPOINTS.c.group_id == bindparam("g"), _CHECKPOINTS.c.key == bindparam("k"))
    .values(state=bindparam("state"),
            updated_at=case((_CHANGED_STATE, bindparam("now")), else_=_CHECKPOINTS.c.updated_at))
)
_INSERT_CHECKPOINT = insert(_CHECKPOINTS)
_RAISED = _OFFSETS.c.next_offset < bindparam("offset")
_UPDATE_OFFSET = (
    update(_OFFSETS)
    .where(_OFFSETS.c.group_id == bindparam("g"), _OFFSETS.c.topic == bindparam("t"),
           _OFFSETS.c.partition == bindparam("p"))
    .values(next_offset=case((_RAISED, bindparam("offset")), else_=_OFFSETS.c.next_offset),
            updated_at=case((_RAISED, bindparam("now")), else_=_OFFSETS.c.updated_at))
)
_INSERT_OFFSET = insert(_OFFSETS)


def _held(session: Session, entity: type[Base], key: tuple[Any, ...]) -> Any:
    """The session's object of that primary key if it holds one (no query), else ``None``."""
    return session.identity_map.get(session.identity_key(entity, key))


def _update_matched(session: Session, statement: Any, params: dict[str, Any]) -> bool:
    """Run an UPDATE of one primary key; True when the row exists."""
    return bool(cast(CursorResult[Any], session.execute(statement, params)).rowcount)


def save_checkpoint(session: Session, group_id: str, key: str, state: bytes) -> None:
    """Insert or replace the snapshot of ``(group_id, key)`` (see the module docstring)."""
    row = _held(session, WindowCheckpoint, (group_id, key))
    if row is not None:
        row.state = state
        return
    session.flush()
    now = utcnow()
    if not _update_matched(session, _UPDATE_CHECKPOINT, dict(g=group_id, k=key, state=state, now=now)):
        session.execute(_INSERT_CHECKPOINT, dict(group_id=group_id, key=key, state=state, updated_at=now))


def written_key(key: str) -> str:
    """The key of the row beside snapshot ``key`` listing the windows stored that the snapshot does not cover
    (``{"format": "driftwarden-written", "windows": [[model, window_key], ...]}``, JSON)."""
    return f"{key}#written"


def load_stored_windows(session: Session, group_id: str, key: str) -> set[tuple[str, str]]:
    """The windows stored beyond the snapshot ``key`` (empty if none)."""
    data = load_checkpoint(session, group_id, written_key(key))
    if data is None:
        return set()
    payload = json.loads(data)
    if not isinstance(payload, dict) or payload.get("format") != WRITTEN_FORMAT:
        raise ValueError(f"checkpoint {written_key(key)!r} is not a {WRITTEN_FORMAT} row")
    return {(str(model), str(window)) for model, window in payload["windows"]}


def save_stored_windows(session: Session, group_id: str, key: str, windows: list[tuple[str, str]]) -> None:
    """Store the windows written beyond the snapshot ``key`` (in the persist transaction)."""
    save_checkpoint(session, group_id, written_key(key),
                    json.dumps({"format": WRITTEN_FORMAT, "windows": [list(w) for w in windows]}).encode())


def load_offsets(session: Session, group_id: str, topics: list[str] | None = None) -> dict[tuple[str, int], int]:
    """Stored next offsets of ``group_id`` (optionally only for ``topics``)."""
    query = select(ConsumerOffset).where(ConsumerOffset.group_id == group_id)
    if topics is not None:
        query = query.where(ConsumerOffset.topic.in_(topics))
    return {(r.topic, r.partition): int(r.next_offset) for r in session.scalars(query)}


def save_offsets(session: Session, group_id: str, offsets: Mapping[tuple[str, int], int]) -> None:
    """Upsert next offsets. An offset never moves backwards (a stale writer cannot rewind the group)."""
    for (topic, partition), offset in offsets.items():
        pk = (group_id, topic, int(partition))
        row = _held(session, ConsumerOffset, pk)
        if row is not None:
            if int(offset) > row.next_offset:
                row.next_offset = int(offset)
            continue
        session.flush()
        now = utcnow()
        params = dict(g=group_id, t=topic, p=int(partition), offset=int(offset), now=now)
        if not _update_matched(session, _UPDATE_OFFSET, params):
            session.execute(_INSERT_OFFSET, dict(group_id=group_id, topic=topic, partition=int(partition),
                                                 next_offset=int(offset), updated_at=now))
