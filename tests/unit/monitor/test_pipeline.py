"""The pure pipeline with the real detectors: windows close, drift and metric signals, exactly-once restore."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from detectors import ReferenceProfile
from monitor.config import MonitorConfig, parse_config
from monitor.events import OutcomeEvent, prediction_event
from monitor.pipeline import ClosedWindow, Pipeline, SnapshotError

T0 = datetime(2026, 11, 1, tzinfo=UTC)

CONFIG = """
models:
  rec:
    features: {tenure: numeric, genre: categorical, premium: binary}
    prediction: {kind: score, column: score}
    window: {type: count, size: 400}
    outcome_join_ttl: 2m
    alerts: {min_window_events: 50, volume: {enabled: false}}
    business_metrics:
      - name: take_rate
        kind: take_rate
        reference_value: 0.3
        min_denominator: 50
        sequential: {detector: page_hinkley, params: {threshold: 0.2, min_instances: 3}}
"""


@dataclass(frozen=True)
class Pos:
    topic: str
    partition: int
    offset: int


def reference_profile(seed: int = 0, n: int = 6000) -> ReferenceProfile:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "tenure": rng.normal(10, 2, n),
        "genre": rng.choice(list("abc"), n),
        "premium": rng.choice([True, False], n),
        "score": rng.uniform(size=n),
    })
    return ReferenceProfile.build(frame, {"tenure": "numeric", "genre": "categorical", "premium": "binary",
                                          "score": "numeric"}).with_version(1)


PROFILE = reference_profile()


def stream(n: int, *, seed: int = 1, drift_from: int | None = None, take_from: tuple[int, float] | None = None,
           flat_from: int | None = None) -> list[tuple[str, Any, Pos]]:
    """Interleaved predictions and outcomes (outcome 20 s after its prediction), with scripted incidents."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, Any, Pos]] = []
    for i in range(n):
        shift = 4.0 if drift_from is not None and i >= drift_from else 0.0
        score = 0.5 if flat_from is not None and i >= flat_from else float(rng.uniform())
        event = prediction_event(
            model="rec", model_version="7", event_id=f"e{i}", ts=T0 + timedelta(seconds=i),
            features={"tenure": float(rng.normal(10 + shift, 2)), "genre": str(rng.choice(list("abc"))),
                      "premium": bool(rng.uniform() < 0.5)},
            prediction=score,
        )
        out.append(("p", event, Pos("preds", 0, i)))
        rate = take_from[1] if take_from is not None and i >= take_from[0] else 0.3
        played = bool(rng.uniform() < rate)
        outcome = OutcomeEvent(event_id=f"e{i}", ts=T0 + timedelta(seconds=i + 20),
                               outcomes={"shown": True, "played": played, "play_seconds": 60.0 if played else 1.0})
        out.append(("o", outcome, Pos("outs", 0, i)))
    return out


def feed(p: Pipeline, events: list[tuple[str, Any, Pos]], every: int = 50) -> list[ClosedWindow]:
    closed: list[ClosedWindow] = []
    for i, (kind, event, _) in enumerate(events):
        if kind == "p":
            p.on_prediction(event)
        else:
            p.on_outcome(event)
        if i % every == every - 1:
            closed += p.advance()
    return closed


def settle(p: Pipeline, closed: list[ClosedWindow]) -> list[ClosedWindow]:
    """The windows as they stand once their updates are in: the final business metrics and the signals of
    the label lifecycle (business_metric_drop is judged when the outcome TTL has passed)."""
    import dataclasses

    updates = p.take_updates()
    out = []
    for w in closed:
        signals, metrics = list(w.signals), w.metrics
        for u in updates:
            if (u.model, u.window_key) == (w.model, w.window_key):
                signals += u.signals
                metrics = u.metrics if u.metrics is not None else metrics
        out.append(dataclasses.replace(w, signals=signals, metrics=metrics))
    return out


def config(text: str = CONFIG) -> MonitorConfig:
    return parse_config(text)


def summary(windows: list[ClosedWindow]) -> list[tuple[Any, ...]]:
    return [
        (w.window_key, w.n_events, w.reference_version, w.dataset_drift, round(w.drift_share, 9),
         [(m.name, m.numerator, m.denominator) for m in w.metrics],
         sorted((s.signal, s.feature or "", s.severity) for s in w.signals), w.sample)
        for w in windows
    ]


def test_stable_stream_raises_nothing_and_windows_are_complete() -> None:
    p = Pipeline(config(), {"rec": PROFILE})
    closed = settle(p, feed(p, stream(2000)) + p.flush())  # (the last outcome of a window comes after it closed)
    assert [w.window_key for w in closed] == [f"count:{k}" for k in range(0, 2000, 400)]
    assert sum(w.n_events for w in closed) == 2000
    assert all(w.reference_version == 1 and w.preset == "default" for w in closed)
    assert [s for w in closed for s in w.signals] == []
    for w in closed:
        take = w.metrics[0]
        assert take.denominator == 400  # every prediction joined with its outcome exactly once
        assert take.value is not None and 0.2 < take.value < 0.4


def test_incidents_raise_the_right_signals() -> None:
    p = Pipeline(config(), {"rec": PROFILE})
    closed = settle(p, feed(p, stream(2400, drift_from=800, take_from=(1600, 0.05), flat_from=2000)) + p.flush())
    by_key = {w.window_key: {(s.signal, s.feature) for s in w.signals} for w in closed}
    assert by_key["count:0"] == set() and by_key["count:400"] == set()
    assert ("feature_drift", "tenure") in by_key["count:800"]
    assert ("business_metric_drop", "take_rate") in by_key["count:1600"]
    assert {("prediction_near_constant", "score"), ("prediction_drift", "score")} <= by_key["count:2000"]
    sev = {(s.signal, s.feature): s.severity for s in closed[-1].signals}
    assert sev[("business_metric_drop", "take_rate")] == "critical"  # 0.05 < 0.3 * 0.6
    assert closed[-1].report["signals"] and closed[-1].report["model_versions"] == {"7": 400}


def test_snapshot_restore_at_any_point_gives_identical_results() -> None:
    events = stream(1300, drift_from=500, take_from=(900, 0.05))
    whole = Pipeline(config(), {"rec": PROFILE})
    expected = summary(settle(whole, feed(whole, events) + whole.flush()))
    for cut in (1, 399, 800, 801, 1777, 2599):
        first = Pipeline(config(), {"rec": PROFILE})
        got = feed(first, events[:cut])
        blob = first.snapshot()
        resumed = Pipeline.restore(blob, config(), {"rec": PROFILE})
        # the source re-reads from the stored offsets: exactly the events after the cut
        got += feed(resumed, events[cut:]) + resumed.flush()
        assert summary(settle(resumed, got)) == expected, cut


def test_restore_needs_the_open_windows_reference() -> None:
    p = Pipeline(config(), {"rec": PROFILE})
    feed(p, stream(100))
    blob = p.snapshot()
    other = reference_profile(seed=5).with_version(2)
    with pytest.raises(SnapshotError, match="not available"):
        Pipeline.restore(blob, config(), {"rec": other})
    resumed = Pipeline.restore(blob, config(), {"rec": other},
                               profile_loader=lambda model, h: PROFILE if h == PROFILE.content_hash else None)
    closed = feed(resumed, stream(500)[200:]) + resumed.flush()
    assert closed[0].reference_version == 1  # the open window keeps the reference it started with
    assert closed[-1].reference_version == 2
    for bad in (b"", b"{}", b'{"format": "driftwarden-pipeline", "version": 99}'):
        with pytest.raises(SnapshotError):
            Pipeline.restore(bad, config(), {"rec": PROFILE})


def test_reload_keeps_open_windows_and_flushes_removed_models() -> None:
    two = CONFIG + "  other:\n    features: {x: numeric}\n    window: {type: count, size: 1000}\n"
    p = Pipeline(config(two), {"rec": PROFILE})
    feed(p, stream(300))
    p.on_prediction(prediction_event(model="other", model_version="1", event_id="x1", ts=T0, features={"x": 1.0},
                                    prediction=0.1))
    closed = p.reload(config(CONFIG.replace("reference_value: 0.3", "reference_value: 0.9")))
    assert [(w.model, w.n_events, w.reference_version) for w in closed] == [("other", 1, 0)]
    closed = settle(p, feed(p, stream(400)[600:]) + p.flush())
    assert closed[0].window_key == "count:0" and closed[0].n_events == 400  # state kept across the reload
    sev = {s.signal for s in closed[0].signals}
    assert "business_metric_drop" in sev  # the new reference value applies at close


def test_bad_input_never_crashes_and_is_counted() -> None:
    p = Pipeline(config(), {"rec": PROFILE})
    weird: list[Any] = [
        {"tenure": "ten", "genre": 3, "premium": "maybe"},
        {"tenure": None},
        {},
        {"tenure": 1e308, "genre": None, "premium": 1, "unknown": "x"},
    ]
    for i in range(400):
        feats = weird[i % len(weird)]
        pred: Any = [0.1, "class", {"a": 0.3, "b": 0.7}, 0.2][i % 4]
        p.on_prediction(prediction_event(model="rec", model_version="1", event_id=f"w{i}", ts=T0 + timedelta(i),
                                        features=feats, prediction=pred))
    p.on_prediction(prediction_event(model="nope", model_version="1", event_id="n", ts=T0, features={},
                                    prediction=1.0))
    p.on_outcome(OutcomeEvent(event_id="zzz", ts=T0, model="nope", label=1.0))
    closed = p.advance()  # emitted at close: nothing waits for the outcomes' TTL
    assert p.flush() == []
    assert len(closed) == 1 and closed[0].n_events == 400
    stats = p.stats()
    assert stats["unknown_model"] == 1 and stats["unrouted_outcomes"] == 1
    assert stats["models"]["rec"]["coerced"]["tenure"] == 100
    assert "columns" in closed[0].report or "error" in closed[0].report


def test_time_windows_wait_for_lateness_and_join_ttl() -> None:
    text = CONFIG.replace("window: {type: count, size: 400}",
                          "window: {type: time, size: 10m, allowed_lateness: 1m, idle_timeout: 1h}")
    p = Pipeline(config(text), {"rec": PROFILE})
    events = stream(1500)  # 25 minutes, one prediction per second
    closed = feed(p, events)
    # window [0, 10m) closes at watermark 10m (event time 11m) and is emitted once the join clock passed
    # its last prediction + TTL (9m59s + 2m)
    assert [w.window_key for w in closed] == ["time:2026-11-01T00:00:00Z", "time:2026-11-01T00:10:00Z"]
    assert closed[0].window_start == T0 and closed[0].window_end == T0 + timedelta(minutes=10)
    assert closed[0].metrics[0].denominator == 600
    # late event for a closed window: counted, ignored
    p.on_prediction(prediction_event(model="rec", model_version="7", event_id="late", ts=T0 + timedelta(seconds=5),
                                    features={"tenure": 1.0}, prediction=0.5))
    assert p.stats()["models"]["rec"]["late_events"] == 1
    now = T0 + timedelta(days=1)
    assert p.advance(now) == []  # first advance with a clock: the idle timer starts
    rest = p.advance(now + timedelta(hours=2))  # idle for 2 h: the last window closes
    assert rest[0].window_key == "time:2026-11-01T00:20:00Z" and rest[0].n_events == 300
    assert rest[1].window_key == "time:2026-11-01T00:30:00Z" and {w.n_events for w in rest[1:]} == {0}


def test_sample_bounded_or_off_and_readable() -> None:
    p = Pipeline(config(CONFIG + "    sample: {size: 37}\n"), {"rec": PROFILE})
    closed = feed(p, stream(400)) + p.flush()
    frame = pd.read_parquet(io.BytesIO(closed[0].sample or b""))
    assert len(frame) == closed[0].sample_rows == 37
    assert {"event_id", "ts", "tenure", "genre", "premium", "score"} <= set(frame.columns)
    off = Pipeline(config(CONFIG + "    sample: {enabled: false}\n"), {"rec": PROFILE})
    closed = feed(off, stream(400)) + off.flush()
    assert closed[0].sample is None and closed[0].sample_rows == 0


def test_model_without_reference_still_windows() -> None:
    p = Pipeline(config(), {})
    closed = settle(p, feed(p, stream(400)) + p.flush())
    assert closed[0].reference_version == 0 and "skipped" in closed[0].report
    assert closed[0].metrics[0].denominator == 400


def test_probabilities_and_class_predictions() -> None:
    text = """
models:
  clf:
    features: {x: numeric}
    prediction: {kind: probabilities, column: label}
    window: {type: count, size: 100}
    alerts: {min_window_events: 10}
"""
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(size=2000), "label": rng.choice(["a", "b"], 2000),
                        "label_score": rng.uniform(0.5, 1, 2000)})
    profile = ReferenceProfile.build(ref, {"x": "numeric", "label": "categorical", "label_score": "numeric"})
    p = Pipeline(config(text), {"clf": profile.with_version(3)})
    for i in range(100):
        p.on_prediction(prediction_event(model="clf", model_version="1", event_id=str(i), ts=T0,
                                        features={"x": float(rng.normal())}, prediction={"a": 0.9, "b": 0.1}))
    [w] = p.advance()
    assert ("prediction_drift", "label") in {(s.signal, s.feature) for s in w.signals}


def test_dead_stream_yields_empty_windows_with_a_traffic_alert() -> None:
    text = """
models:
  rec:
    features: {tenure: numeric}
    prediction: {kind: score, column: score}
    window: {type: time, size: 1m, idle_timeout: 10m}
    alerts: {min_window_events: 5, volume: {min_history: 3}}
"""
    p = Pipeline(config(text), {})
    for i in range(300):  # 5 minutes of traffic, 1 event per second
        p.on_prediction(prediction_event(model="rec", model_version="1", event_id=str(i),
                                        ts=T0 + timedelta(seconds=i), features={"tenure": 1.0}, prediction=0.5))
    now = T0 + timedelta(days=3)
    assert [w.n_events for w in p.advance(now)] == [60] * 4  # the 5th minute waits for the watermark
    assert p.advance(now + timedelta(minutes=5)) == []  # silent, but not for idle_timeout yet
    late = p.advance(now + timedelta(minutes=13))  # 13 min of silence: the open window + empty ones
    assert [w.n_events for w in late][:1] == [60] and all(w.n_events == 0 for w in late[1:])
    assert len(late) >= 10
    empty = late[1]
    assert empty.window_key == "time:2026-11-01T00:05:00Z" and "skipped" in empty.report
    assert ("traffic_volume", "critical") in {(s.signal, s.severity) for s in empty.signals}
    assert p.advance(now + timedelta(minutes=13)) == []  # nothing emitted twice
    blob = p.snapshot()
    again = Pipeline.restore(blob, config(text), {})
    assert again.advance(now + timedelta(days=1)) == []  # the idle timer restarts with the process


def test_outcomes_read_behind_predictions_still_join() -> None:
    """Blocks of 250 predictions, then their outcomes: the outcome stream lags 250 s > the 120 s TTL."""
    events = stream(2000)
    preds = [e for e in events if e[0] == "p"]
    outs = [e for e in events if e[0] == "o"]
    lagged: list[Any] = []
    for k in range(0, 2000, 250):
        lagged += preds[k:k + 250] + outs[k:k + 250]
    p = Pipeline(config(), {"rec": PROFILE})
    closed = settle(p, feed(p, lagged) + p.flush())
    assert [w.metrics[0].denominator for w in closed] == [400] * 5
    assert p.stats()["models"]["rec"]["join_late_or_unmatched"] == 0


def test_public_api_is_pinned() -> None:
    import monitor.alerts.service
    import monitor.config
    import monitor.pipeline
    import monitor.store.writer

    assert sorted(monitor.pipeline.__all__) == ["ClosedWindow", "Pipeline", "ProfileLoader", "SNAPSHOT_FORMAT",
                                                "SnapshotError"]
    assert {"ConfigError", "ConfigWatcher", "ModelConfig", "MonitorConfig", "load_config",
            "parse_config"} <= set(monitor.config.__all__)
    assert sorted(monitor.store.writer.__all__) == ["DEFAULT_GROUP_ID", "UpdateTargetMissing", "persist",
                                                    "write_update", "write_window"]
    assert sorted(monitor.alerts.service.__all__) == ["AlertChanges", "AlertService", "LABEL_SIGNALS", "Notifier",
                                                      "alert_payload", "change_cause", "list_alerts"]


def test_quiet_count_window_closes_on_idle_and_keys_stay_unique() -> None:
    text = CONFIG.replace("window: {type: count, size: 400}", "window: {type: count, size: 400, idle_timeout: 1m}")
    p = Pipeline(config(text), {"rec": PROFILE})
    events = stream(300)
    feed(p, events[:200])  # 100 predictions + their outcomes (the stream interleaves them)
    now = T0 + timedelta(days=1)
    assert p.advance(now) == []
    [partial] = p.advance(now + timedelta(minutes=2))
    assert (partial.window_key, partial.n_events, partial.metrics[0].denominator) == ("count:0", 100, 100)
    later = feed(p, events[200:]) + p.flush()
    assert [(w.window_key, w.n_events) for w in later] == [("count:400", 200)]


JOINT_CONFIG = """
models:
  joint:
    features: {x: numeric, y: numeric, z: numeric}
    prediction: {kind: score, column: score}
    window: {type: count, size: 1000}
    alerts: {min_window_events: 50, volume: {enabled: false}}
"""


def joint_rows(n: int, rho: float, rng: np.random.Generator) -> np.ndarray:
    f = rng.normal(size=(n, 1))
    return np.sqrt(rho) * f + np.sqrt(1 - rho) * rng.normal(size=(n, 3))  # marginals N(0, 1) for any rho


def test_closed_windows_carry_the_multivariate_statistic_and_signal() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame(joint_rows(10_000, 0.8, rng), columns=["x", "y", "z"]).assign(score=rng.uniform(size=10_000))
    profile = ReferenceProfile.build(ref).with_version(1)
    assert profile.multivariate is not None and profile.multivariate.min_rows <= 1000
    p = Pipeline(config(JOINT_CONFIG), {"joint": profile})
    cur = np.vstack([joint_rows(3000, 0.8, rng), joint_rows(2000, 0.0, rng)])  # correlation gone from row 3000
    for i, (x, y, z) in enumerate(cur):
        p.on_prediction(prediction_event(model="joint", model_version="1", event_id=f"j{i}",
                                        ts=T0 + timedelta(seconds=i), features={"x": x, "y": y, "z": z},
                                        prediction=float(rng.uniform())))
    closed = p.advance() + p.flush()
    assert [w.window_key for w in closed] == [f"count:{k}" for k in range(0, 5000, 1000)]
    for w in closed:
        multi = w.report["multivariate"]
        assert w.multivariate_statistic is not None and multi["n_rows"] == 1000
        assert w.multivariate_statistic == pytest.approx(multi["statistic"])
    signals = [{s.signal for s in w.signals} for w in closed]
    assert signals[:3] == [set(), set(), set()]
    assert signals[3] == signals[4] == {"multivariate_drift"}  # no single feature moved
    assert closed[3].multivariate_statistic > closed[3].report["multivariate"]["upper"]
