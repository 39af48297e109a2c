"""Exactly which rows a persist point writes (PostgreSQL and SQLite), and its behaviour on errors.

The windows are hand-made so every rule of the writer shows in the stored rows: duplicate / unnamed
columns, ``name`` vs ``column``, non-finite numbers, an extra metric shadowed by a metric, a window without
sample, report keys that are not strings. The expected rows are spelled out here, not derived from the
writer. Also: a replayed window is refused and leaves nothing behind (not even the model it created), a
model created in a rolled-back savepoint is created again, a lost model-insert race is not an error, and
checkpoints / offsets already held by the session are changed through their objects.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.service import AlertService
from monitor.consumer.contracts import SaveItem, StoreConflict
from monitor.consumer.deadletter import DeadLetterRecord
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import ConsumerOffset, ModelRow, WindowCheckpoint, WindowResult
from monitor.pipeline.alert_signals import Signal
from monitor.pipeline.business_metrics import MetricResult
from monitor.pipeline.closed import ClosedWindow
from monitor.store import models_repo
from monitor.store.checkpoints import load_checkpoint, load_offsets, save_checkpoint, save_offsets
from monitor.store.models_repo import get_or_create_model
from monitor.store.partition_store import SqlPartitionStore
from monitor.store.writer import persist

GROUP = "g-exact"
T0 = datetime(2024, 3, 1, tzinfo=UTC)
CLOCK = datetime(2024, 3, 2, tzinfo=UTC)
NAN, INF = float("nan"), float("inf")


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("migrated_pg_url"))
    else:
        url = str(request.getfixturevalue("sqlite_url"))
        upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_engine(migrated_pg_url: str) -> Iterator[Engine]:
    """PostgreSQL only: the races need a second writer at the same time, which SQLite serialises."""
    eng = make_engine(migrated_pg_url)
    yield eng
    eng.dispose()


def window(model: str, i: int, *, signals: tuple[Signal, ...] = (), sample: bool = True) -> ClosedWindow:
    """Window ``i`` of ``model`` (one minute long, starting ``i`` minutes after T0)."""
    return ClosedWindow(
        model=model, window_key=f"count:{i * 100}", window_start=T0 + timedelta(minutes=i),
        window_end=T0 + timedelta(minutes=i + 1), n_events=100 + i, reference_version=1, preset="default",
        dataset_drift=bool(i % 2), drift_share=i / 4, multivariate_statistic=None if i % 2 else 1.25,
        report={"i": i, "nan": NAN, 3: (1, INF), "nested": {"k": [NAN, 2.5], None: True}},
        metrics=[MetricResult("take_rate", 0.25, 1, 4), MetricResult("nan_rate", NAN, 0, 0)],
        extra_metrics={"n_events": 100.0 + i, "take_rate": 9.0, "eps": INF},
        signals=list(signals),
        columns=[
            {"name": "f1", "kind": "numeric", "test": "ks", "statistic": 0.5 * i, "p_value": 0.5,
             "threshold": 0.05, "drifted": True, "missing_rate_reference": 0.0, "missing_rate_current": 0.1,
             "effect_size": -INF, "p_value_adjusted": 0.75, "alpha": 0.01},
            {"column": "f2", "statistic": "nan", "p_value": None, "threshold": NAN},
            {"name": "f1", "kind": "dup", "statistic": 99.0},
            {"kind": "unnamed"},
        ],
        sample=bytes([80, 65, 82, i]) if sample else None, sample_rows=7 + i,
    )


def expected_window(wid: int, model_id: int, i: int, *, sample: bool = True) -> dict[str, Any]:
    """The rows window ``i`` must have produced (``wid``: its id), by table."""
    end = T0 + timedelta(minutes=i + 1)
    return {
        "window_results": [(wid, model_id, f"count:{i * 100}", T0 + timedelta(minutes=i), end, 100 + i, 1,
                            "default", bool(i % 2), i / 4, None if i % 2 else 1.25,
                            {"i": i, "nan": None, "3": [1, None], "nested": {"k": [None, 2.5], "None": True}})],
        "feature_results": [
            (wid, "f1", "numeric", "ks", 0.5 * i, 0.5, 0.05, True, 0.0, 0.1, None, 0.75, 0.01),
            (wid, "f2", "?", "?", None, None, 0.0, False, None, None, None, None, None),
        ],
        "metric_values": [
            (wid, model_id, "take_rate", end, 0.25, 1.0, 4.0),
            (wid, model_id, "nan_rate", end, None, 0.0, 0.0),
            (wid, model_id, "n_events", end, 100.0 + i, None, None),
            (wid, model_id, "eps", end, None, None, None),
        ],
        "window_samples": [(wid, "parquet", 7 + i, bytes([80, 65, 82, i]))] if sample else [],
    }


def stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the window tables, in id order (ids of children left out: they must increase).

    A failed transaction uses up ids on PostgreSQL (sequences do not roll back), so ids are not 1..n."""
    queries = {
        "window_results": "SELECT id, model_id, window_key, window_start, window_end, n_events, reference_version,"
                          " preset, dataset_drift, drift_share, multivariate_statistic, report FROM window_results"
                          " ORDER BY id",
        "feature_results": "SELECT id, window_id, feature, kind, test, statistic, p_value, threshold, drifted,"
                           " missing_rate_reference, missing_rate_current, effect_size, p_value_adjusted, alpha"
                           " FROM feature_results ORDER BY id",
        "metric_values": "SELECT id, window_id, model_id, name, ts, value, numerator, denominator"
                         " FROM metric_values ORDER BY id",
        "window_samples": "SELECT window_id, format, n_rows, data FROM window_samples ORDER BY window_id",
    }
    with session_factory(engine)() as s:
        w = s.scalars(select(WindowResult).order_by(WindowResult.id)).all()
        out: dict[str, list[tuple[Any, ...]]] = {
            "window_results": [(r.id, r.model_id, r.window_key, r.window_start, r.window_end, r.n_events,
                                r.reference_version, r.preset, r.dataset_drift, r.drift_share,
                                r.multivariate_statistic, r.report) for r in w]}
        for table in ("feature_results", "metric_values"):
            rows = [tuple(r) for r in s.execute(text(queries[table])).all()]
            assert [r[0] for r in rows] == sorted({r[0] for r in rows}), table
            out[table] = [_normal(r[1:]) for r in rows]
        out["window_samples"] = [(r[0], r[1], r[2], bytes(r[3]))
                                 for r in s.execute(text(queries["window_samples"])).all()]
    return out


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """SQLite hands back booleans as 0/1 and timestamps as naive text: make rows comparable."""
    out: list[Any] = []
    for v in row:
        if isinstance(v, str) and len(v) >= 19 and v[4] == "-" and v[10] == " ":
            v = datetime.fromisoformat(v).replace(tzinfo=UTC) if "+" not in v[10:] else datetime.fromisoformat(v)
        out.append(v)
    return tuple(out)


def merged(*parts: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"window_results": [], "feature_results": [], "metric_values": [],
                                 "window_samples": []}
    for part in parts:
        for table, rows in part.items():
            out[table].extend(rows)
    return out


def assert_rows(engine: Engine, expected: dict[str, list[Any]]) -> None:
    got = stored(engine)
    for table in ("feature_results",):  # SQLite returns 0/1 for booleans
        got[table] = [(*r[:7], bool(r[7]), *r[8:]) for r in got[table]]
    got["window_results"] = [(*r[:8], bool(r[8]), *r[9:]) for r in got["window_results"]]
    for table, rows in expected.items():
        assert got[table] == rows, table
    nan_free = [x for r in got["metric_values"] for x in r if isinstance(x, float)]
    assert not any(math.isnan(x) for x in nan_free)


def window_ids(engine: Engine) -> list[int]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(WindowResult.id).order_by(WindowResult.id)))


def model_ids(engine: Engine) -> dict[str, int]:
    with session_factory(engine)() as s:
        return {m.name: m.id for m in s.scalars(select(ModelRow))}


def test_store_save_writes_exactly_these_rows(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        s.add(ModelRow(name="known"))
    store = SqlPartitionStore(engine, GROUP, AlertService(clock=lambda: CLOCK))
    drift = Signal("feature_drift", "warning", "f1 drifted", feature="f1")
    dead = DeadLetterRecord(source="topic", partition=0, offset=3, model="known", reason="bad", category="malformed",
                            error_class="ValueError", raw=b"{", raw_size=1)
    first = [
        SaveItem("k0", [window("known", 0, signals=(drift,)), window("fresh", 1)], b"snap-0",
                 {("preds", 0): 10, ("outs", 0): 4}, [dead]),
        SaveItem("k1", [window("fresh", 2, signals=(drift,), sample=False)], b"snap-1", {("preds", 1): 7}, []),
    ]
    result = store.save(first)
    assert result.windows == {"known": 1, "fresh": 2}
    assert result.alerts_opened == {"known": 1, "fresh": 1}
    ids = model_ids(engine)
    assert ids == {"known": 1, "fresh": 2}
    expected = merged(expected_window(1, 1, 0), expected_window(2, 2, 1), expected_window(3, 2, 2, sample=False))
    assert_rows(engine, expected)

    # a replayed window in a later save: refused, and nothing of that transaction stays (nor its new model)
    replay = [SaveItem("k0", [window("later", 5), window("known", 0)], b"snap-x", {("preds", 0): 99}, [])]
    with pytest.raises(StoreConflict, match="IntegrityError"):
        store.save(replay)
    assert model_ids(engine) == ids
    assert_rows(engine, expected)

    # the next save: offsets only move forward, the checkpoint is replaced, alerts are updated / resolved
    store.save([SaveItem("k0", [window("known", 3, signals=(drift,)), window("later", 4)], b"snap-2",
                         {("preds", 0): 8, ("outs", 0): 6}, [])])
    ids = model_ids(engine)
    assert ids == {"known": 1, "fresh": 2, "later": ids["later"]} and ids["later"] > 2
    w = window_ids(engine)
    assert w[:3] == [1, 2, 3] and len(w) == 5
    expected = merged(expected, expected_window(w[3], 1, 3), expected_window(w[4], ids["later"], 4))
    assert_rows(engine, expected)
    with sessions() as s:
        assert load_offsets(s, GROUP) == {("preds", 0): 10, ("outs", 0): 6, ("preds", 1): 7}
        assert load_checkpoint(s, GROUP, "k0") == b"snap-2" and load_checkpoint(s, GROUP, "k1") == b"snap-1"
        alerts = s.execute(text("SELECT id, model_id, dedup_key, status, windows_count, first_window_id,"
                                " last_window_id FROM alerts ORDER BY id")).all()
        assert [tuple(a) for a in alerts] == [(1, 1, "known|feature_drift|f1", "open", 2, 1, w[3]),
                                              (2, 2, "fresh|feature_drift|f1", "open", 1, 3, 3)]
        events = s.execute(text("SELECT id, alert_id, action FROM alert_events ORDER BY id")).all()
        assert [tuple(e) for e in events] == [(1, 1, "opened"), (2, 2, "opened")]
        dead_rows = s.execute(text("SELECT id, source, model, raw FROM dead_letters")).all()
        assert [(d[0], d[1], d[2], bytes(d[3])) for d in dead_rows] == [(1, "topic", "known", b"{")]


def test_persist_returns_the_persistent_window_objects(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        rows = persist(s, [window("m", 0), window("m", 1)], "k", b"s", {("t", 0): 1}, AlertService(),
                       group_id=GROUP)
        assert [r.id for r in rows] == [1, 2]
        for r, i in zip(rows, (0, 1), strict=True):
            assert inspect(r).persistent and s.get(WindowResult, r.id) is r
            assert (r.window_key, r.window_end, r.n_events, r.report["nan"]) == (
                f"count:{i * 100}", T0 + timedelta(minutes=i + 1), 100 + i, None)
            assert r.created_at is not None and r.created_at.tzinfo is not None
    with pytest.raises(IntegrityError), sessions.begin() as s:
        persist(s, [window("m", 2), window("m", 1)], "k", b"s2", {("t", 0): 5}, None, group_id=GROUP)
    assert_rows(engine, merged(expected_window(1, 1, 0), expected_window(2, 1, 1)))
    with sessions() as s:
        assert load_offsets(s, GROUP) == {("t", 0): 1} and load_checkpoint(s, GROUP, "k") == b"s"


def test_a_model_created_in_a_rolled_back_savepoint_is_created_again(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        nested = s.begin_nested()
        persist(s, [window("m", 0)], None, None, {}, None)
        gone = get_or_create_model(s, "m")
        nested.rollback()
        again = get_or_create_model(s, "m")
        assert again is not gone and inspect(again).persistent
        persist(s, [window("m", 0)], None, None, {}, None)
    ids = model_ids(engine)
    assert list(ids) == ["m"]
    with sessions() as s:
        assert s.execute(text("SELECT model_id FROM window_results")).scalars().all() == [ids["m"]]


def test_a_new_transaction_does_not_trust_the_previous_ones_models(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions() as s:
        with s.begin():
            first = get_or_create_model(s, "m")
        with engine.begin() as conn:  # someone else deletes and recreates the model between transactions
            conn.execute(text("DELETE FROM models"))
            conn.execute(insert(ModelRow.__table__).values(id=first.id + 10, name="m", created_at=CLOCK))
        with s.begin():
            assert get_or_create_model(s, "m").id == first.id + 10


def test_a_lost_race_to_create_the_model_uses_the_winners_row(pg_engine: Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    engine = pg_engine
    real = models_repo.get_model
    calls: list[str] = []

    def racing(session: Session, name: str) -> ModelRow | None:
        if not calls:  # the other writer inserts and commits just after our miss
            with engine.begin() as conn:
                conn.execute(insert(ModelRow.__table__).values(name=name, created_at=CLOCK))
            calls.append(name)
            return None
        return real(session, name)

    monkeypatch.setattr(models_repo, "get_model", racing)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        persist(s, [window("m", 0), window("m", 1)], None, None, {}, AlertService())
    ids = model_ids(engine)
    assert list(ids) == ["m"]
    assert_rows(engine, merged(expected_window(1, ids["m"], 0), expected_window(2, ids["m"], 1)))


def test_checkpoint_and_offsets_held_by_the_session_are_changed_through_their_objects(engine: Engine) -> None:
    sessions: sessionmaker[Session] = session_factory(engine)
    with sessions.begin() as s:
        save_checkpoint(s, GROUP, "k", b"a")
        save_offsets(s, GROUP, {("t", 0): 5})
    with sessions.begin() as s:
        assert load_checkpoint(s, GROUP, "k") == b"a" and load_offsets(s, GROUP) == {("t", 0): 5}
        held = s.get(WindowCheckpoint, (GROUP, "k"))
        offset = s.get(ConsumerOffset, (GROUP, "t", 0))
        assert held is not None and offset is not None
        save_checkpoint(s, GROUP, "k", b"b")
        save_offsets(s, GROUP, {("t", 0): 9, ("t", 1): 2})
        save_offsets(s, GROUP, {("t", 0): 3})
        assert held.state == b"b" and offset.next_offset == 9
    with sessions() as s:
        assert load_checkpoint(s, GROUP, "k") == b"b"
        assert load_offsets(s, GROUP) == {("t", 0): 9, ("t", 1): 2}


def test_racing_first_checkpoints_still_collide(pg_engine: Engine) -> None:
    engine = pg_engine
    sessions = session_factory(engine)
    with engine.connect() as other:
        theirs = other.begin()  # the other writer inserts the same key first and commits a moment later
        other.execute(insert(WindowCheckpoint.__table__).values(group_id=GROUP, key="k", state=b"theirs",
                                                                updated_at=CLOCK))
        timer = threading.Timer(0.5, theirs.commit)
        timer.start()
        try:
            with pytest.raises(IntegrityError), sessions.begin() as s:
                save_checkpoint(s, GROUP, "k", b"mine")  # sees no row, INSERTs, waits for theirs, collides
                s.flush()
        finally:
            timer.join()
    with sessions() as s:
        assert load_checkpoint(s, GROUP, "k") == b"theirs"
