"""The ``models`` table: get-or-create a model row by name (safe against a concurrent insert).

A session remembers the model rows it found or created, for the rest of its current (root) transaction:
:func:`get_or_create_model` answers from that memory without a query, and :func:`prefetch_models` fills
it for several names with one query. The rules that keep the memory exact:

- it belongs to one root transaction: a new transaction of the session starts with an empty memory;
- any rollback in the session (of a savepoint too) forgets everything, so a row created in a rolled-back
  savepoint is never handed out;
- an entry whose object is no longer persistent in the session (deleted, expunged) is not used.

Within the transaction a remembered row cannot disappear under the writer: the first window row that
refers to it locks it against a concurrent ``DELETE`` (foreign key), just as a fresh ``SELECT`` would
have found it. :func:`get_model` always queries.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from monitor.db.models import ModelRow

__all__ = ["get_model", "get_or_create_model", "prefetch_models"]

_KNOWN = "driftwarden_known_models"
_HOOKED = "driftwarden_known_models_hooked"


def get_model(session: Session, name: str) -> ModelRow | None:
    return session.scalars(select(ModelRow).where(ModelRow.name == name)).one_or_none()


def _forget(session: Session, _previous: SessionTransaction) -> None:
    session.info.pop(_KNOWN, None)


def _known(session: Session) -> dict[str, ModelRow] | None:
    """The remembered rows of the session's current root transaction (``None``: no transaction yet)."""
    root = session.get_transaction()
    if root is None:
        return None
    entry: tuple[SessionTransaction, dict[str, ModelRow]] | None = session.info.get(_KNOWN)
    if entry is None or entry[0] is not root:
        if not session.info.get(_HOOKED):
            session.info[_HOOKED] = True
            event.listen(session, "after_soft_rollback", _forget)
        entry = (root, {})
        session.info[_KNOWN] = entry
    return entry[1]


def _remember(session: Session, model: ModelRow) -> ModelRow:
    known = _known(session)
    if known is not None:
        known[model.name] = model
    return model


def _recall(session: Session, name: str) -> ModelRow | None:
    known = _known(session)
    found = known.get(name) if known is not None else None
    if found is None:
        return None
    state = inspect(found)
    return found if state.persistent and state.session_id == session.hash_key else None


def prefetch_models(session: Session, names: Iterable[str]) -> None:
    """Remember the existing rows of ``names`` with one query (names already remembered are skipped)."""
    wanted = sorted({name for name in names if _recall(session, name) is None})
    if not wanted:
        return
    for model in session.scalars(select(ModelRow).where(ModelRow.name.in_(wanted))):
        _remember(session, model)


def get_or_create_model(session: Session, name: str) -> ModelRow:
    """The row of model ``name``, inserted if needed (in a savepoint, so a lost race is not an error)."""
    found = _recall(session, name) or get_model(session, name)
    if found is not None:
        return _remember(session, found)
    try:
        with session.begin_nested():
            model = ModelRow(name=name)
            session.add(model)
            session.flush()
        return _remember(session, model)
    except IntegrityError:
        found = get_model(session, name)
        if found is None:
            raise
        return _remember(session, found)
