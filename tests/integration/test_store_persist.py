"""The persist transaction, checkpoints, offsets and the reference registry on PostgreSQL and SQLite.

The crash test: a pipeline persisted every few hundred events, thrown away at arbitrary points and
restored from the database (snapshot + stored offsets), writes exactly the rows of an uninterrupted run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.service import AlertService
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import Alert, FeatureResult, MetricValue, WindowResult, WindowSample
from monitor.pipeline import Pipeline
from monitor.store.checkpoints import load_checkpoint, load_offsets, save_offsets, snapshot_key
from monitor.store.references import find_reference, latest_reference, load_profiles, register_reference
from monitor.store.writer import persist

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "monitor"))
from test_pipeline import PROFILE, config, reference_profile, stream

GROUP = "driftwarden-test"
KEY = snapshot_key("preds", 0)


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("migrated_pg_url"))
    else:
        url = str(request.getfixturevalue("sqlite_url"))
        upgrade(url)
    engine: Engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


def test_reference_registry_versions_and_hash(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        row, created = register_reference(s, "rec", PROFILE, source="train.parquet")
        assert created and row.version == 1 and row.content_hash == PROFILE.content_hash
        again, created = register_reference(s, "rec", PROFILE)
        assert not created and again.id == row.id
        other = reference_profile(seed=9)
        row2, created = register_reference(s, "rec", other)
        assert created and row2.version == 2
    with sessions() as s:
        latest = latest_reference(s, "rec")
        assert latest is not None and latest.version == 2 and latest.content_hash == other.content_hash
        old = find_reference(s, "rec", PROFILE.content_hash)
        assert old is not None and old.version == 1
        assert load_profiles(s, ["rec", "unknown"]).keys() == {"rec"}


def test_persist_writes_everything_and_a_replayed_window_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        register_reference(s, "rec", PROFILE)
    p = Pipeline(config(), {"rec": PROFILE})
    next_offsets: dict[tuple[str, int], int] = {}  # (what the consumer tracks: past every message fed)
    for kind, event, pos in stream(2000, drift_from=400):
        (p.on_prediction if kind == "p" else p.on_outcome)(event)
        next_offsets[(pos.topic, pos.partition)] = pos.offset + 1
    closed = p.advance() + p.flush()
    assert len(closed) == 5
    service = AlertService()
    with sessions.begin() as s:
        rows = persist(s, closed, KEY, p.snapshot(), next_offsets, service, group_id=GROUP)
        ids = [r.id for r in rows]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(WindowResult)) == 5
        assert s.scalar(select(func.count()).select_from(FeatureResult)) == 5 * 4
        names = set(s.scalars(select(MetricValue.name)))
        assert {"take_rate", "n_events", "events_per_second", "joined_outcomes"} <= names
        assert s.scalar(select(func.count()).select_from(WindowSample)) == 5
        w = s.get(WindowResult, ids[-1])
        assert w is not None and w.reference_version == 1 and w.report["signals"]
        assert {a.signal for a in s.scalars(select(Alert))} >= {"feature_drift"}
        assert load_checkpoint(s, GROUP, KEY) == p.snapshot()
        assert load_offsets(s, GROUP) == {("preds", 0): 2000, ("outs", 0): 2000}
    # the same window again: refused loudly, and nothing of that transaction is kept
    with pytest.raises(IntegrityError), sessions.begin() as s:
        persist(s, closed[:1], KEY, b"{}", {("preds", 0): 9999}, service, group_id=GROUP)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(WindowResult)) == 5
        assert load_offsets(s, GROUP)[("preds", 0)] == 2000
        assert load_checkpoint(s, GROUP, KEY) == p.snapshot()


def test_offsets_never_move_backwards(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        save_offsets(s, GROUP, {("t", 0): 10, ("t", 1): 5})
    with sessions.begin() as s:
        save_offsets(s, GROUP, {("t", 0): 7, ("t", 1): 6})
    with sessions() as s:
        assert load_offsets(s, GROUP) == {("t", 0): 10, ("t", 1): 6}
        assert load_offsets(s, "other-group") == {}


def db_rows(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions() as s:
        windows = [(w.window_key, w.n_events, w.dataset_drift, round(w.drift_share, 9))
                   for w in s.scalars(select(WindowResult).order_by(WindowResult.window_key))]
        metrics = sorted((m.name, m.numerator, m.denominator) for m in s.scalars(select(MetricValue))
                         if m.name == "take_rate")
        alerts = sorted((a.dedup_key, a.status, a.windows_count) for a in s.scalars(select(Alert)))
    return [windows, metrics, alerts]


def crash_run(sessions: sessionmaker[Session], events: list[Any], crash_at: set[int]) -> None:
    """Persist every 300 messages; at each index in ``crash_at`` throw the pipeline away (unpersisted work
    lost) and resume from the database like a restarted consumer: restore the snapshot, seek to offsets."""
    service = AlertService()
    with sessions() as s:
        blob = load_checkpoint(s, GROUP, KEY)
        offsets = load_offsets(s, GROUP)
    pipeline = Pipeline.restore(blob, config(), {"rec": PROFILE}) if blob else Pipeline(config(), {"rec": PROFILE})
    next_offsets = dict(offsets)
    i = 0
    while i < len(events):
        if i in crash_at:
            crash_at.discard(i)
            with sessions() as s:
                blob = load_checkpoint(s, GROUP, KEY)
                offsets = load_offsets(s, GROUP)
            next_offsets = dict(offsets)
            pipeline = (Pipeline.restore(blob, config(), {"rec": PROFILE}) if blob
                        else Pipeline(config(), {"rec": PROFILE}))
            # seek: first unread message per topic
            i = next(j for j, (_, _, pos) in enumerate(events)
                     if pos.offset >= offsets.get((pos.topic, pos.partition), 0))
            continue
        kind, event, pos = events[i]
        if pos.offset >= offsets.get((pos.topic, pos.partition), 0):
            (pipeline.on_prediction if kind == "p" else pipeline.on_outcome)(event)
            next_offsets[(pos.topic, pos.partition)] = pos.offset + 1
        i += 1
        if i % 300 == 0 or i == len(events):
            closed = pipeline.advance() + (pipeline.flush() if i == len(events) else [])
            with sessions.begin() as s:
                persist(s, closed, KEY, pipeline.snapshot(), next_offsets, service, group_id=GROUP)


def test_crash_and_resume_from_the_database_writes_exactly_once(request: pytest.FixtureRequest,
                                                                 sessions: sessionmaker[Session]) -> None:
    events = stream(1600, drift_from=600, take_from=(1000, 0.05))
    crash_run(sessions, events, crash_at={450, 1301, 1302, 2999})
    got = db_rows(sessions)
    # reference: the same events without crashes, in a fresh SQLite database
    url = f"sqlite:///{request.getfixturevalue('tmp_path')}/reference.db"
    upgrade(url)
    engine = make_engine(url)
    try:
        clean = session_factory(engine)
        crash_run(clean, events, crash_at=set())
        assert got == db_rows(clean)
    finally:
        engine.dispose()
    assert len(got[0]) == 4 and sum(n for _, n, _, _ in got[0]) == 1600


def test_a_damaged_stored_profile_is_a_clear_error(sessions: sessionmaker[Session]) -> None:
    from monitor.db.models import ReferenceRow
    from monitor.store.references import ReferenceLoadError

    with sessions.begin() as s:
        row, _ = register_reference(s, "rec", PROFILE)
        blob = bytearray(row.profile)
        blob[len(blob) // 2] ^= 0xFF
        s.get(ReferenceRow, row.id).profile = bytes(blob)  # type: ignore[union-attr]
    with pytest.raises(ReferenceLoadError, match=r"v1 of model 'rec'.*driftwarden reference build rec"), \
            sessions() as s:
        load_profiles(s, ["rec"])
