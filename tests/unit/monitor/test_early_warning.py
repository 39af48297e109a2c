"""Early warnings inside open windows: the pipeline raises them, the snapshot keeps them, the alert service
dedups them with the window-close alert, ``alerts list --json`` shows them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from typer.testing import CliRunner

from monitor.alerts.service import AlertService
from monitor.cli import app
from monitor.config import parse_config
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import Alert, WindowResult
from monitor.events import PredictionEvent, prediction_event
from monitor.pipeline import Pipeline
from monitor.pipeline.alert_signals import Signal
from monitor.pipeline.early import EarlyAlert
from tests.unit.monitor.test_pipeline import PROFILE

T0 = datetime(2026, 11, 1, tzinfo=UTC)
CONFIG = """
models:
  rec:
    features: {tenure: numeric, genre: categorical, premium: binary}
    prediction: {kind: score, column: score}
    window: {type: count, size: 100000}
    alerts: {volume: {enabled: false}}
    early_warning: {ert: 100000, min_events: 50}
"""


def events(n: int, *, seed: int = 1, flat_from: int | None = None, null_from: int | None = None,
           new_genre_from: int | None = None) -> list[PredictionEvent]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        genre = "zz" if new_genre_from is not None and i >= new_genre_from else str(rng.choice(list("abc")))
        tenure = None if null_from is not None and i >= null_from else float(rng.normal(10, 2))
        score = 0.5 if flat_from is not None and i >= flat_from else float(rng.uniform())
        out.append(prediction_event(model="rec", model_version="1", event_id=f"e{i}", ts=T0 + timedelta(seconds=i),
                                   features={"tenure": tenure, "genre": genre, "premium": bool(rng.uniform() < .5)},
                                   prediction=score))
    return out


def run(pipeline: Pipeline, evs: list[PredictionEvent]) -> list[EarlyAlert]:
    out = []
    for e in evs:
        pipeline.on_prediction(e)
        out += pipeline.take_early()
    return out


def test_stationary_stream_raises_no_early_alert() -> None:
    assert run(Pipeline(parse_config(CONFIG), {"rec": PROFILE}), events(20_000, seed=5)) == []


def test_collapse_null_feature_and_new_category_are_caught_within_two_blocks() -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"flat_from": 1000}, "prediction_near_constant", "score"),
        ({"null_from": 1000}, "data_quality", "tenure:missing_rate"),
        ({"new_genre_from": 1000}, "data_quality", "genre:unseen_categories"),
    ]
    for kwargs, signal, feature in cases:
        found = run(Pipeline(parse_config(CONFIG), {"rec": PROFILE}), events(2000, **kwargs))
        assert [(a.signal.signal, a.signal.feature) for a in found] == [(signal, feature)], kwargs
        alert = found[0]
        assert 1000 <= alert.detected_at - T0.timestamp() < 1100  # within two blocks of 50 events
        assert alert.detected_events in (50, 100) and alert.signal.severity == "critical"


def test_snapshot_restore_raises_the_unpersisted_alert_again_and_a_persisted_one_never() -> None:
    cfg = parse_config(CONFIG)
    evs = events(1500, flat_from=1000)
    p = Pipeline(cfg, {"rec": PROFILE})
    for e in evs[:1020]:
        p.on_prediction(e)
    snap = p.snapshot()  # mid-block: 20 rows of the block held in the snapshot
    rest = run(p, evs[1020:])
    again = run(Pipeline.restore(snap, cfg, {"rec": PROFILE}), evs[1020:])
    assert [a.to_dict() for a in again] == [a.to_dict() for a in rest] and len(rest) == 1
    p2 = Pipeline.restore(snap, cfg, {"rec": PROFILE})
    for e in evs[1020:1060]:
        p2.on_prediction(e)
    taken = p2.take_early()  # persisted with this snapshot: not raised again after a restore from it
    assert len(taken) == 1
    assert run(Pipeline.restore(p2.snapshot(), cfg, {"rec": PROFILE}), evs[1060:]) == []


def test_early_alert_and_window_close_alert_are_one_incident(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    service = AlertService()
    signal = Signal("prediction_near_constant", "critical", "flat", "score", 0.0)
    early = EarlyAlert("rec", signal, (T0 + timedelta(hours=3)).timestamp(), 50)
    with sessions.begin() as s:
        service.process_early(s, "rec", early)
    with sessions.begin() as s:
        from monitor.store.models_repo import get_or_create_model

        model = get_or_create_model(s, "rec")
        row = WindowResult(model_id=model.id, window_key="w0", window_start=T0, window_end=T0 + timedelta(days=1),
                           n_events=10,
                           reference_version=1, preset="default", dataset_drift=False, drift_share=0.0, report={})
        s.add(row)
        s.flush()
        service.process_window(s, "rec", row, [signal])
    with sessions.begin() as s:
        alerts = s.scalars(select(Alert)).all()
        assert len(alerts) == 1
        a = alerts[0]
        assert a.early and a.detected_events == 50 and a.windows_count == 1
        assert a.detected_at == T0 + timedelta(hours=3) and a.last_seen == T0 + timedelta(days=1)
    engine.dispose()
    out = CliRunner().invoke(app, ["alerts", "list", "--json", "--db", url])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.output.splitlines() if line.strip()]
    assert rows[0]["early"] is True and rows[0]["detected_events"] == 50
    assert datetime.fromisoformat(rows[0]["detected_at"]) == T0 + timedelta(hours=3)


TRAFFIC_CONFIG = CONFIG.replace("alerts: {volume: {enabled: false}}", "alerts: {}")


def timed_events(times: np.ndarray, *, seed: int = 2) -> list[PredictionEvent]:
    """Ordinary events (reference-like) at the event times ``times`` (seconds after T0)."""
    rng = np.random.default_rng(seed)
    return [prediction_event(model="rec", model_version="1", event_id=f"t{i}", ts=T0 + timedelta(seconds=float(t)),
                            features={"tenure": float(rng.normal(10, 2)), "genre": str(rng.choice(list("abc"))),
                                      "premium": bool(rng.uniform() < .5)}, prediction=float(rng.uniform()))
            for i, t in enumerate(times)]


def poisson_times(rate_per_hour: Any, hours: float, seed: int) -> np.ndarray:
    """A Poisson process on [0, hours) whose rate (per hour) is ``rate_per_hour(t)`` (thinning of 4x its max)."""
    rng = np.random.default_rng(seed)
    peak = 4 * float(max(rate_per_hour(h) for h in np.linspace(0, hours, 1000)))
    t = np.cumsum(rng.exponential(3600 / peak, size=int(peak * hours * 1.2)))
    t = t[t < hours * 3600]
    return t[rng.uniform(size=t.size) < np.array([rate_per_hour(x / 3600) for x in t]) / peak]


def test_traffic_drop_and_spike_caught_within_two_blocks_of_event_time() -> None:
    for factor, severity in ((0.1, "critical"), (8.0, "warning")):
        times = poisson_times(lambda h, f=factor: 1000.0 * (f if h >= 6 else 1.0), 8.0, seed=3)
        found = run(Pipeline(parse_config(TRAFFIC_CONFIG), {"rec": PROFILE}), timed_events(times))
        assert [(a.signal.signal, a.signal.feature, a.signal.severity) for a in found] == [
            ("traffic_volume", None, severity)], factor
        delay = found[0].detected_at - (T0.timestamp() + 6 * 3600)
        assert 900 <= delay <= 2 * 900 + 60, delay  # the first block after the change closes at +15 min


def test_daily_traffic_cycle_raises_no_traffic_alert() -> None:
    """Three days of a daily cycle (rate between 0.3x and 1.7x of 300 events/hour): the recent rate follows it."""
    times = poisson_times(lambda h: 300.0 * (1 + 0.7 * np.sin(2 * np.pi * h / 24)), 72.0, seed=4)
    assert run(Pipeline(parse_config(TRAFFIC_CONFIG), {"rec": PROFILE}), timed_events(times)) == []


def test_traffic_snapshot_mid_block_restores_the_same_alert() -> None:
    cfg = parse_config(TRAFFIC_CONFIG)
    evs = timed_events(poisson_times(lambda h: 1000.0 * (0.1 if h >= 6 else 1.0), 8.0, seed=6))
    cut = next(i for i, e in enumerate(evs) if e.ts >= T0 + timedelta(hours=5, minutes=50))
    p = Pipeline(cfg, {"rec": PROFILE})
    for e in evs[:cut]:
        p.on_prediction(e)
    snap = p.snapshot()
    rest = run(p, evs[cut:])
    again = run(Pipeline.restore(snap, cfg, {"rec": PROFILE}), evs[cut:])
    assert len(rest) == 1 and [a.to_dict() for a in again] == [a.to_dict() for a in rest]


BUSINESS_CONFIG = CONFIG.replace("    early_warning:", """    business_metrics:
      - {name: ctr, kind: ctr, reference_value: 0.3, max_relative_drop: 0.2}
    early_warning:""")


def with_outcomes(n: int, *, rate: Any, split: bool = False, seed: int = 8) -> list[Any]:
    """Predictions (one a second) each followed by its outcome: shown, clicked with probability ``rate(i)``;
    ``split``: ``shown`` and ``clicked`` arrive in two outcome events, the click 30 predictions later."""
    from monitor.events import OutcomeEvent

    rng = np.random.default_rng(seed)
    preds = events(n, seed=seed)
    out: list[Any] = []
    late: dict[int, list[Any]] = {}
    for i, p in enumerate(preds):
        out.append(p)
        clicked = bool(rng.uniform() < rate(i))
        ts = p.ts + timedelta(milliseconds=500)
        if split:
            out.append(OutcomeEvent(event_id=p.event_id, ts=ts, model="rec", outcomes={"shown": True}))
            late.setdefault(i + 30, []).append(OutcomeEvent(event_id=p.event_id, ts=ts + timedelta(seconds=30),
                                                            model="rec", outcomes={"clicked": clicked}))
        else:
            out.append(OutcomeEvent(event_id=p.event_id, ts=ts, model="rec",
                                    outcomes={"shown": True, "clicked": clicked}))
        out += late.pop(i, [])
    return out


def run_all(pipeline: Pipeline, stream: list[Any]) -> list[EarlyAlert]:
    found = []
    for e in stream:
        if isinstance(e, PredictionEvent):
            pipeline.on_prediction(e)
        else:
            pipeline.on_outcome(e)
        found += pipeline.take_early()
    return found


def test_business_metric_collapse_caught_within_three_blocks_of_joined_predictions() -> None:
    found = run_all(Pipeline(parse_config(BUSINESS_CONFIG), {"rec": PROFILE}),
                    with_outcomes(3000, rate=lambda i: 0.3 if i < 2000 else 0.03))
    assert [(a.signal.signal, a.signal.feature) for a in found] == [("business_metric_drop", "ctr")]
    # a block of 50 at 3% against p0 = 0.27, p1 = 0.18 has an LLR of about 5: three blocks pass log(1e5) = 11.5
    assert 2000 <= found[0].detected_at - T0.timestamp() < 2150 and found[0].signal.severity == "critical"


def test_business_metric_at_or_within_tolerance_of_its_reference_raises_nothing() -> None:
    """At the reference (outcomes whole or in pieces), and 15% below it (within the window-close rule's 20%)."""
    for split, rate in ((False, 0.3), (True, 0.3), (False, 0.255)):
        stream = with_outcomes(20_000, rate=lambda i, r=rate: r, split=split, seed=9)
        assert run_all(Pipeline(parse_config(BUSINESS_CONFIG), {"rec": PROFILE}), stream) == [], (split, rate)


CLASS_CONFIG = CONFIG.replace("prediction: {kind: score, column: score}", "prediction: {kind: class, column: label}")


def class_profile() -> Any:
    from detectors.profile import ReferenceProfile

    rng = np.random.default_rng(0)
    n = 6000
    frame = pd.DataFrame({"tenure": rng.normal(10, 2, n), "genre": rng.choice(list("abc"), n),
                          "premium": rng.choice([True, False], n),
                          "label": rng.choice(["cat", "dog", "fox"], n, p=[0.5, 0.3, 0.2])})
    return ReferenceProfile.build(frame, {"tenure": "numeric", "genre": "categorical", "premium": "binary",
                                          "label": "categorical"}).with_version(1)


def class_events(n: int, *, jump_from: int | None = None, seed: int = 12) -> list[PredictionEvent]:
    rng = np.random.default_rng(seed)
    out = []
    for i, e in enumerate(events(n, seed=seed)):
        share = [0.05, 0.05, 0.9] if jump_from is not None and i >= jump_from else [0.5, 0.3, 0.2]
        out.append(prediction_event(model="rec", model_version="1", event_id=e.event_id, ts=e.ts,
                                    features=e.feature_dict,
                                    prediction=str(rng.choice(["cat", "dog", "fox"], p=share))))
    return out


def test_class_share_jump_caught_within_two_blocks_and_quiet_at_reference_shares() -> None:
    profile = class_profile()
    found = run(Pipeline(parse_config(CLASS_CONFIG), {"rec": profile}), class_events(2000, jump_from=1000))
    assert [(a.signal.signal, a.signal.feature) for a in found] == [("prediction_drift", "label")]
    assert 1000 <= found[0].detected_at - T0.timestamp() < 1100 and "'fox'" in found[0].signal.message
    assert run(Pipeline(parse_config(CLASS_CONFIG), {"rec": profile}), class_events(20_000, seed=13)) == []
