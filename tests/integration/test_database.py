"""Migrations and the app's engine against the real PostgreSQL server, and against embedded SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from monitor.db import downgrade, make_engine, session_factory, upgrade
from monitor.db.models import Alert, ConsumerOffset, DeadLetter, ModelRow, WindowResult

EXPECTED_TABLES = {
    "models",
    "reference_profiles",
    "window_results",
    "feature_results",
    "metric_values",
    "window_samples",
    "alerts",
    "alert_events",
    "dead_letters",
    "consumer_offsets",
    "window_checkpoints",
}


@pytest.fixture(params=["postgresql", "sqlite"])
def any_url(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(request.getfixturevalue("sqlite_url"))


def test_upgrade_then_downgrade_then_upgrade(any_url: str) -> None:
    upgrade(any_url)
    engine = make_engine(any_url)
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
    engine.dispose()

    downgrade(any_url, "base")
    engine = make_engine(any_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()

    upgrade(any_url)
    engine = make_engine(any_url)
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
    engine.dispose()


def test_rows_round_trip_through_the_apps_engine(any_url: str) -> None:
    upgrade(any_url)
    engine = make_engine(any_url)
    sessions = session_factory(engine)
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with sessions.begin() as session:
        model = ModelRow(name="recommender")
        session.add(model)
        session.flush()
        window = WindowResult(
            model_id=model.id, window_key="count:0", window_start=start, window_end=start + timedelta(hours=1),
            n_events=1000, reference_version=1, preset="default", dataset_drift=True, drift_share=0.6,
            report={"columns": [{"name": "tenure", "drifted": True}]},
        )
        session.add(window)
        session.add(ConsumerOffset(group_id="g", topic="t", partition=2, next_offset=10_001))
        session.add(DeadLetter(source="t", partition=2, offset=17, reason="bad json", error_class="DecodeError",
                               raw=b"\xff\xfe", raw_size=2))
    with sessions() as session:
        got = session.scalars(select(WindowResult)).one()
        assert got.window_start == start  # aware UTC back, on both backends
        assert got.report["columns"][0]["name"] == "tenure"
        assert session.get(ConsumerOffset, ("g", "t", 2)).next_offset == 10_001  # type: ignore[union-attr]
        assert session.scalars(select(DeadLetter.raw)).one() == b"\xff\xfe"
    engine.dispose()


def test_only_one_unresolved_alert_per_dedup_key(any_url: str) -> None:
    upgrade(any_url)
    engine = make_engine(any_url)
    sessions = session_factory(engine)
    now = datetime(2026, 11, 1, tzinfo=UTC)

    def alert(status: str) -> Alert:
        return Alert(model_id=1, dedup_key="recommender|drift|tenure", signal="drift", feature="tenure",
                     severity="warning", status=status, message="tenure drifted", first_seen=now, last_seen=now,
                     detected_at=now)  # NOT NULL since migration 0004

    with sessions.begin() as session:
        session.add(ModelRow(id=1, name="recommender"))
        session.flush()
        session.add(alert("resolved"))
        session.add(alert("open"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(alert("acknowledged"))
    engine.dispose()


def test_naive_datetimes_are_rejected(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    sessions = session_factory(engine)
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as session:
        session.add(ModelRow(name="m", created_at=datetime(2026, 1, 1)))
    engine.dispose()
