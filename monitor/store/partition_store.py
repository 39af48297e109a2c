"""The SQL side of the consumer loop: :class:`SqlPartitionStore` (PostgreSQL or SQLite).

It loads a partition's snapshot and offsets, the registered reference profiles and performance references
(the consumer builds pipelines of them: :mod:`monitor.consumer.pipelines`), and writes a persist point —
:func:`monitor.store.writer.persist` for each partition plus its dead letters — in ONE transaction. Database
errors are sorted into :class:`~monitor.consumer.contracts.StoreUnavailable` (the database is down or
restarting: retry later) and :class:`~monitor.consumer.contracts.StoreConflict` (it refused the data: reload).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from detectors.profile import ReferenceProfile
from monitor.alerts.incidents import DEFAULT_INCIDENT_GAP
from monitor.alerts.service import AlertService
from monitor.config import MonitorConfig
from monitor.config.retention import RetentionConfig
from monitor.consumer.contracts import SaveItem, SaveResult, StoreConflict, StoreUnavailable
from monitor.db.engine import session_factory
from monitor.pipeline import ClosedWindow
from monitor.pipeline.performance_reference import PerformanceReference
from monitor.sources.base import TopicPartition
from monitor.store.checkpoints import load_checkpoint, load_offsets, load_stored_windows, save_stored_windows
from monitor.store.references import (
    ProfileCache,
    compact_columns,
    find_reference,
    load_performance_references,
    load_profiles,
)
from monitor.store.retention import prune_pass
from monitor.store.writer import persist

__all__ = ["SqlPartitionStore", "is_transient"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """True for errors of an unreachable / restarting database (worth retrying the same transaction)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)


@contextmanager
def _classified(what: str) -> Iterator[None]:
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        if is_transient(exc):
            raise StoreUnavailable(f"{what}: {type(exc).__name__}: {_first_line(exc)}") from exc
        raise StoreConflict(f"{what}: {type(exc).__name__}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class SqlPartitionStore:
    """Implements :class:`monitor.consumer.contracts.PartitionStore` on an engine (see the module docstring)."""

    def __init__(self, engine: Engine, group_id: str, alert_service: AlertService | None = None, *,
                 retention: RetentionConfig | None = None,
                 on_pruned: Callable[[dict[str, int]], None] | None = None,
                 incident_gap: timedelta = DEFAULT_INCIDENT_GAP) -> None:
        self.engine = engine
        self.incident_gap = incident_gap
        self.group_id = group_id
        self.alert_service = alert_service
        self.sessions = session_factory(engine)
        self.retention = retention if retention is not None and retention.enabled else None
        self.on_pruned = on_pruned
        self._next_prune = 0.0
        self._profile_cache: ProfileCache = {}

    def _read(self, what: str, fn: Callable[[Session], T]) -> T:
        with _classified(what), self.sessions() as session:
            return fn(session)

    # -- loading -------------------------------------------------------------------------------------
    def load(self, key: str, tps: Sequence[TopicPartition]) -> tuple[bytes | None, dict[TopicPartition, int]]:
        wanted = set(tps)

        def read(session: Session) -> tuple[bytes | None, dict[TopicPartition, int]]:
            snapshot = load_checkpoint(session, self.group_id, key)
            offsets = load_offsets(session, self.group_id, sorted({t for t, _ in wanted}))
            return snapshot, {tp: off for tp, off in offsets.items() if tp in wanted}

        return self._read(f"loading checkpoint {key!r}", read)

    def stored_windows(self, key: str) -> set[tuple[str, str]]:
        return self._read(f"loading checkpoint {key!r}", lambda s: load_stored_windows(s, self.group_id, key))

    def profiles(self, config: MonitorConfig) -> dict[str, ReferenceProfile]:
        return self._read("loading reference profiles",
                          lambda s: load_profiles(s, list(config.models), self._profile_cache,
                                                  {n: compact_columns(m) for n, m in config.models.items()}))

    def warm_up(self, config: MonitorConfig) -> None:
        """Decode the configured models' reference profiles into the cache before consuming (the first
        partition assignment then finds them decoded). Best effort: a database that is not reachable yet is
        the consumer loop's to handle, so this never raises for it."""
        try:
            self.profiles(config)
        except (StoreUnavailable, StoreConflict) as exc:
            log.info("reference profiles not preloaded: %s", exc)

    def find_profile(self, model: str, content_hash: str) -> ReferenceProfile | None:
        return self._read("loading a reference profile", lambda s: find_reference(s, model, content_hash))

    def performance(self, config: MonitorConfig) -> dict[str, PerformanceReference]:
        wanted = [name for name, cfg in config.models.items() if cfg.performance is not None]
        if not wanted:
            return {}
        return self._read("loading performance references", lambda s: load_performance_references(s, wanted))

    # -- the persist transaction ---------------------------------------------------------------------
    def save(self, items: Sequence[SaveItem]) -> SaveResult:
        windows: Counter[str] = Counter()
        opened: Counter[str] = Counter()
        with _classified("persisting a checkpoint"), self.sessions.begin() as session:
            for item in items:
                persist(session, item.closed, item.key, item.snapshot, item.offsets, self.alert_service,
                        group_id=self.group_id, opened=opened, incident_gap=self.incident_gap)
                if item.stored_windows is not None:
                    save_stored_windows(session, self.group_id, item.key, item.stored_windows)
                session.add_all(d.to_row() for d in item.dead_letters)
                for closed in item.closed:
                    if isinstance(closed, ClosedWindow):
                        windows[closed.model] += 1
            pruned = self._prune(session)
            session.flush()
        if pruned and self.on_pruned is not None:
            self.on_pruned(pruned)
        return SaveResult(windows=windows, alerts_opened=+opened)

    def apply_config(self, config: MonitorConfig) -> None:
        """A reloaded configuration's retention policy applies from the next persist transaction on."""
        policy = config.retention if config.retention.enabled else None
        if policy != self.retention:
            log.info("retention policy changed", extra={"retention": policy.model_dump() if policy else None})
            self.retention = policy
            self._next_prune = 0.0

    def _prune(self, session: Session) -> dict[str, int] | None:
        """One retention pass inside the persist transaction, at most every ``retention.interval``."""
        if self.retention is None or time.monotonic() < self._next_prune:
            return None
        self._next_prune = time.monotonic() + self.retention.interval
        deleted = prune_pass(session, self.retention, datetime.now(UTC))
        if any(deleted.values()):
            log.info("retention pruned rows", extra={"deleted": deleted})
        return deleted
