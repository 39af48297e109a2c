"""The ``models`` table: get-or-create a model row by name (safe against a concurrent insert)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.db.models import Model

__all__ = ["get_model", "get_or_create_model"]


def get_model(session: Session, name: str) -> Model | None:
    return session.scalars(select(Model).where(Model.name == name)).one_or_none()


def get_or_create_model(session: Session, name: str) -> Model:
    """The row of model ``name``, inserted if needed (in a savepoint, so a lost race is not an error)."""
    found = get_model(session, name)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            model = Model(name=name)
            session.add(model)
            session.flush()
        return model
    except IntegrityError:
        found = get_model(session, name)
        if found is None:
            raise
        return found
