"""The reference registry: profiles stored in ``reference_profiles`` with their content hash and a version.

Versions count up per model from 1. Registering a profile whose content hash equals the model's latest one
is a no-op that returns the latest row (re-running ``reference build`` on the same data is idempotent).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from detectors.columns import NumericProfile
from detectors.errors import DetectorError
from detectors.profile import ReferenceProfile
from monitor.config.models import ModelConfig
from monitor.db.models import ModelRow, PerformanceReferenceRow, ReferenceRow
from monitor.errors import MonitorError
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.store.models_repo import get_model, get_or_create_model

__all__ = ["ReferenceLoadError", "compact_columns", "find_reference", "latest_reference", "load_performance_references",
           "load_profiles", "register_performance_reference", "register_reference"]


class ReferenceLoadError(MonitorError, ValueError):
    """A stored profile that cannot be decoded (damaged, or written by an incompatible ``detectors``)."""

    def __init__(self, model: str, version: int, problem: str) -> None:
        self.model = model
        self.version = version
        self.problem = problem
        super().__init__(
            f"reference profile v{version} of model {model!r} in the database cannot be loaded ({problem}); "
            f"rebuild it with `driftwarden reference build {model} --from <training data>`"
        )


def register_reference(session: Session, model: str, profile: ReferenceProfile, source: str | None = None
                       ) -> tuple[ReferenceRow, bool]:
    """Store ``profile`` as the next version of ``model``; ``(row, created)``. Does not commit."""
    model_row = get_or_create_model(session, model)
    latest = session.scalars(
        select(ReferenceRow).where(ReferenceRow.model_id == model_row.id).order_by(ReferenceRow.version.desc())
    ).first()
    if latest is not None and latest.content_hash == profile.content_hash:
        return latest, False
    version = (latest.version if latest is not None else 0) + 1
    stored = profile.with_version(version)
    row = ReferenceRow(
        model_id=model_row.id, version=version, content_hash=profile.content_hash, n_rows=profile.n_rows,
        columns=list(profile.names), source=source, profile=stored.to_bytes(),
    )
    session.add(row)
    session.flush()
    return row, True


def _decode(row: ReferenceRow, model: str) -> ReferenceProfile:
    try:
        profile = ReferenceProfile.from_bytes(row.profile, source=f"reference_profiles {model} v{row.version}")
    except DetectorError as exc:
        raise ReferenceLoadError(model, row.version, str(getattr(exc, "problem", exc))) from exc
    return profile if profile.version == row.version else profile.with_version(row.version)


def latest_reference(session: Session, model: str) -> ReferenceProfile | None:
    """The newest registered profile of ``model`` (its ``version`` set), or ``None``."""
    row = session.scalars(
        select(ReferenceRow).join(ModelRow).where(ModelRow.name == model).order_by(ReferenceRow.version.desc())
    ).first()
    return _decode(row, model) if row is not None else None


def find_reference(session: Session, model: str, content_hash: str) -> ReferenceProfile | None:
    """The newest profile of ``model`` with ``content_hash`` (an open window's reference after a restart)."""
    row = session.scalars(
        select(ReferenceRow).join(ModelRow)
        .where(ModelRow.name == model, ReferenceRow.content_hash == content_hash)
        .order_by(ReferenceRow.version.desc())
    ).first()
    return _decode(row, model) if row is not None else None


ProfileCache = dict[tuple[str, int, str], ReferenceProfile]
"""Decoded profiles by ``(model, version, content_hash)`` (see :func:`load_profiles`)."""


def compact_columns(config: ModelConfig) -> frozenset[str]:
    """The columns of ``config`` whose numeric reference values a watcher replaces by a quantile grid
    (:meth:`detectors.ReferenceProfile.compacted`): under the ``default`` preset every column without a
    per-column test override (its Cramér-von Mises test runs on the grid); under ``evidently`` none."""
    if config.preset != "default":
        return frozenset()
    return frozenset(c for c in config.columns if c not in config.tests)


def _compacted(profile: ReferenceProfile, wanted: Collection[str] | None) -> ReferenceProfile:
    return profile if not wanted else profile.compacted([c for c in wanted if c in profile.names])


def _fits(profile: ReferenceProfile, wanted: Collection[str] | None) -> bool:
    """Whether ``profile`` is compacted on exactly the numeric columns of ``wanted``."""
    target = frozenset(c for c in (wanted or ()) if c in profile.names and isinstance(profile[c], NumericProfile))
    return frozenset(c.name for c in profile if isinstance(c, NumericProfile) and c.compact) == target


def load_profiles(session: Session, models: Iterable[str], cache: ProfileCache | None = None,
                  compact: Mapping[str, Collection[str]] | None = None) -> dict[str, ReferenceProfile]:
    """The latest profile of each model that has one.

    With a ``cache``, a profile already decoded (same model, version and content hash) is reused: only the
    newest version's key is read, and the blob only when it is new. Every partition of a watcher then shares
    one profile object per model (and its cached sorted reference values), and a partition assignment does
    not decode every model's profile again. The cache keeps one entry per model; models registered with the
    same profile bytes (same content hash and version) share one decoded profile.

    ``compact`` maps a model to the columns kept as a quantile grid (:func:`compact_columns`): the decoded
    profile is compacted before it is cached, and a cached one compacted otherwise is decoded again."""
    out: dict[str, ReferenceProfile] = {}
    for name in models:
        wanted = None if compact is None else compact.get(name)
        if cache is None:
            profile = latest_reference(session, name)
            profile = None if profile is None else _compacted(profile, wanted)
        else:
            head = session.execute(
                select(ReferenceRow.id, ReferenceRow.version, ReferenceRow.content_hash).join(ModelRow)
                .where(ModelRow.name == name).order_by(ReferenceRow.version.desc()).limit(1)
            ).first()
            if head is None:
                continue
            key = (name, int(head.version), str(head.content_hash))
            profile = cache.get(key)
            if profile is not None and not _fits(profile, wanted):
                del cache[key]
                profile = None
            if profile is None:
                # another model's entry with the same bytes and version: share its (immutable) decoded profile
                profile = next((p for (_, v, h), p in cache.items()
                                if v == key[1] and h == key[2] and _fits(p, wanted)), None)
            if profile is None:
                row = session.get(ReferenceRow, head.id)
                if row is None:  # pragma: no cover - deleted between the two reads
                    continue
                profile = _compacted(_decode(row, name), wanted)
            if key not in cache:
                for old in [k for k in cache if k[0] == name]:
                    del cache[old]
                cache[key] = profile
        if profile is not None:
            out[name] = profile
    return out


def reference_versions(session: Session, model: str) -> list[tuple[int, str, int]]:
    """``(version, content_hash, n_rows)`` of every profile of ``model``, oldest first."""
    model_row = get_model(session, model)
    if model_row is None:
        return []
    rows = session.execute(
        select(ReferenceRow.version, ReferenceRow.content_hash, ReferenceRow.n_rows)
        .where(ReferenceRow.model_id == model_row.id).order_by(ReferenceRow.version)
    ).all()
    return [(int(v), str(h), int(n)) for v, h, n in rows]



def register_performance_reference(session: Session, model: str, reference: PerformanceReference,
                                   source: str | None = None) -> tuple[PerformanceReferenceRow, bool]:
    """Store the labelled performance reference of ``model`` as its next version; ``(row, created)``.
    The same content as the latest version registers nothing. Does not commit."""
    model_row = get_or_create_model(session, model)
    latest = session.scalars(
        select(PerformanceReferenceRow).where(PerformanceReferenceRow.model_id == model_row.id)
        .order_by(PerformanceReferenceRow.version.desc())).first()
    if latest is not None and latest.content_hash == reference.content_hash:
        return latest, False
    version = (latest.version if latest is not None else 0) + 1
    row = PerformanceReferenceRow(model_id=model_row.id, version=version, content_hash=reference.content_hash,
                                  task=reference.task, n_rows=reference.n_rows, source=source,
                                  payload=reference.with_version(version).to_dict())
    session.add(row)
    session.flush()
    return row, True


def load_performance_references(session: Session, models: Iterable[str]) -> dict[str, PerformanceReference]:
    """The latest performance reference of each model that has one."""
    out: dict[str, PerformanceReference] = {}
    for name in models:
        row = session.scalars(
            select(PerformanceReferenceRow).join(ModelRow).where(ModelRow.name == name)
            .order_by(PerformanceReferenceRow.version.desc())).first()
        if row is not None:
            out[name] = PerformanceReference.from_dict(row.payload)
    return out
