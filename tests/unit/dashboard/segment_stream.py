"""A real database with segment and fairness results, for the dashboard's segment panels.

Fourteen day-long windows of a score model ``seg`` with ``segments: [platform]``, a take-rate and a
fairness block on ``gender``, watched by the real pipeline and persisted by the real writer (the alerts
through the ``AlertService``). What is scripted (the tests' ground truth):

- day ``DRIFT_DAY``: half of ``platform=web``'s ``genre`` turns ``c`` (total variation 1/3: a segment alert;
  in the population, 10% web, 1/30, below the 0.05 effect threshold);
- days ``FAIR_DAYS``: the scores of ``gender=f`` are scaled by 0.6, so their positive share falls from 0.5 to
  about 0.17 (``fairness_gap`` on ``demographic_parity_difference``);
- the second week: the take-rate of ``platform=ios`` falls from 0.40 to 0.34 (six points), the others'
  stays at 0.40.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from detectors import ReferenceProfile
from monitor.alerts.service import AlertService
from monitor.config import parse_config
from monitor.db import make_engine, session_factory, upgrade
from monitor.events import OutcomeEvent, prediction_event
from monitor.pipeline import Pipeline
from monitor.store.writer import persist

MODEL = "seg"
T0 = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 14
EVENTS_PER_DAY = 1200
DRIFT_DAY = 9
FAIR_DAYS = (11, 12)
PLATFORMS = ("ios", "android", "web")
PLATFORM_WEIGHTS = (0.45, 0.45, 0.10)
TAKE_RATE = 0.40
IOS_TAKE_RATE_WEEK2 = 0.34

CONFIG = f"""
models:
  {MODEL}:
    features: {{tenure: numeric, genre: categorical, gender: categorical}}
    prediction: {{kind: score, column: score}}
    window: {{type: time, size: 1d}}
    outcome_join_ttl: 1h
    early_warning: {{enabled: false}}
    alerts: {{min_window_events: 50, volume: {{enabled: false}}, auto_resolve_after: 1}}
    business_metrics:
      - {{name: take_rate, kind: take_rate, reference_value: {TAKE_RATE}, max_relative_drop: 0.5}}
    segments: {{keys: [platform], min_events: 100, max_segments: 10}}
    fairness: {{attributes: [gender], threshold: 0.5, max_gap: 0.1,
               metrics: [demographic_parity_difference, demographic_parity_ratio]}}
"""


def _profile() -> ReferenceProfile:
    rng = np.random.default_rng(0)
    n = 8000
    frame = pd.DataFrame({"tenure": rng.normal(10, 2, n), "genre": rng.choice(list("abc"), n),
                          "gender": rng.choice(["f", "m"], n), "score": rng.uniform(size=n)})
    return ReferenceProfile.build(frame, {"tenure": "numeric", "genre": "categorical", "gender": "categorical",
                                          "score": "numeric"}).with_version(1)


def _day(pipe: Pipeline, day: int, rng: np.random.Generator) -> None:
    n = EVENTS_PER_DAY
    start = T0 + timedelta(days=day)
    seconds = np.sort(rng.uniform(0, 86_400 - 600, n))
    platform = rng.choice(len(PLATFORMS), n, p=PLATFORM_WEIGHTS)
    female = rng.uniform(size=n) < 0.5
    tenure = rng.normal(10, 2, n)
    genre = rng.choice(list("abc"), n)
    broken = (platform == 2) & (day == DRIFT_DAY) & (rng.uniform(size=n) < 0.5)
    genre[broken] = "c"
    score = rng.uniform(size=n) * np.where(female & (day in FAIR_DAYS), 0.6, 1.0)
    take = np.where((platform == 0) & (day >= 7), IOS_TAKE_RATE_WEEK2, TAKE_RATE)
    quality = rng.uniform(size=n) < take
    for i in range(n):
        ts = start + timedelta(seconds=float(seconds[i]))
        event_id = f"d{day}-{i}"
        pipe.on_prediction(prediction_event(
            model=MODEL, model_version="1", event_id=event_id, ts=ts,
            features={"tenure": float(tenure[i]), "genre": str(genre[i]), "gender": "f" if female[i] else "m"},
            prediction=float(score[i]), segments={"platform": PLATFORMS[int(platform[i])]}))
        pipe.on_outcome(OutcomeEvent(
            model=MODEL, event_id=event_id, ts=ts + timedelta(seconds=60),
            outcomes={"shown": True, "played": bool(quality[i]), "play_seconds": 90.0 if quality[i] else 5.0}))


def build_segment_db(path: Path) -> str:
    """Write the database at ``path`` and return its URL."""
    url = f"sqlite:///{path}"
    upgrade(url)
    pipe = Pipeline(parse_config(CONFIG), {MODEL: _profile()})
    rng = np.random.default_rng(15)
    for day in range(DAYS):
        _day(pipe, day, rng)
    windows = pipe.flush()
    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as session:
            persist(session, windows, "segments-test", pipe.snapshot(), {}, AlertService())
    finally:
        engine.dispose()
    return url
