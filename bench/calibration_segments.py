"""False alarms of per-segment detection on unchanged data: does adding segments add alarms?

Each window is 4,000 events drawn from the reference distribution itself (5 normal, 2 categorical
features and a uniform score), each event in one of 20 segments (``country``, equal shares, 200 events
a segment), run through the watcher's own ``Pipeline`` with the ``default`` preset and
``segments: {keys: [country], min_events: 100, max_segments: 20}``. Per window the table counts:

- ``population``: a signal of the population (what a model without segments raises; the population's
  tests do not change when segments are added);
- ``segments, joint BH``: a signal of any segment, with one Benjamini–Hochberg over every column of every
  segment (the watcher's rule);
- ``segments, BH per segment``: the same with each segment's columns adjusted on their own (what testing
  20 segments as 20 models would do);
- ``any``: a population or a joint-BH segment signal (what the watcher raises with segments).

Shares are ``alarms / windows`` with a 95% Wilson interval.

Run: ``.venv/bin/python bench/calibration_segments.py [--windows 200] [--seed 0]`` (or
``.venv/bin/python bench/calibration.py segments ...``).
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from detectors import ReferenceProfile  # noqa: E402
from monitor.config import parse_config  # noqa: E402
from monitor.events import PredictionEvent, prediction_event  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=UTC)
N = 4000
SEGMENTS = [f"c{i:02d}" for i in range(20)]
NUMERIC = [f"x{i}" for i in range(5)]
CATEGORICAL = ["colour", "plan"]
CONFIG = """
models:
  m:
    features: {x0: numeric, x1: numeric, x2: numeric, x3: numeric, x4: numeric, colour: categorical,
               plan: categorical}
    prediction: {kind: score, column: score}
    window: {type: count, size: 4000}
    alerts: {min_window_events: 50, volume: {enabled: false}}
    segments: {keys: [country], min_events: 100, max_segments: 20}
"""


def _profile(rng: np.random.Generator) -> ReferenceProfile:
    n = 20_000
    frame = pd.DataFrame({**{c: rng.normal(size=n) for c in NUMERIC}, "colour": rng.choice(list("rgb"), n),
                          "plan": rng.choice(["free", "pro"], n, p=[0.7, 0.3]), "score": rng.uniform(size=n)})
    kinds = {**dict.fromkeys(NUMERIC, "numeric"), **dict.fromkeys(CATEGORICAL, "categorical"), "score": "numeric"}
    return ReferenceProfile.build(frame, kinds).with_version(1)


def _events(rng: np.random.Generator) -> list[PredictionEvent]:
    x = rng.normal(size=(N, 5))
    colour = rng.choice(list("rgb"), N)
    plan = rng.choice(["free", "pro"], N, p=[0.7, 0.3])
    score = rng.uniform(size=N)
    return [prediction_event(model="m", model_version="1", event_id=f"e{i}", ts=T0 + timedelta(seconds=i),
                            features={**{c: float(x[i, j]) for j, c in enumerate(NUMERIC)},
                                      "colour": str(colour[i]), "plan": str(plan[i])},
                            prediction=float(score[i]), segments={"country": SEGMENTS[i % 20]})
            for i in range(N)]


def _window(config: object, profile: ReferenceProfile, evs: list[PredictionEvent]) -> tuple[bool, bool]:
    pipe = Pipeline(config, {"m": profile})  # type: ignore[arg-type]
    for e in evs:
        pipe.on_prediction(e)
    [window] = pipe.flush()
    return (any(s.segment is None for s in window.signals), any(s.segment is not None for s in window.signals))


def _share(k: int, n: int) -> str:
    z = 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{p:.1%} ({k}/{n}; {max(0.0, centre - half):.1%}–{min(1.0, centre + half):.1%})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--windows", type=int, default=200, help="stationary windows of 4,000 events")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = parse_config(CONFIG)
    profile = _profile(np.random.default_rng([args.seed, 0]))
    population = joint = separate = either = 0
    for w in range(args.windows):
        evs = _events(np.random.default_rng([args.seed, 1, w]))
        pop, seg = _window(config, profile, evs)
        with mock.patch("monitor.pipeline.segment_finish.adjust_reports", lambda reports, **_: reports):
            _, seg_alone = _window(config, profile, evs)
        population += pop
        joint += seg
        separate += seg_alone
        either += pop or seg
    n = args.windows
    print(f"Stationary windows of {N:,} events, 20 segments of {N // 20} events, 8 columns each "
          f"(seed {args.seed}).\n")
    print("| windows with an alarm | share |\n|---|---|")
    print(f"| population (no segments) | {_share(population, n)} |")
    print(f"| segments, joint BH (the watcher) | {_share(joint, n)} |")
    print(f"| segments, BH per segment | {_share(separate, n)} |")
    print(f"| any (population or joint-BH segment) | {_share(either, n)} |")


if __name__ == "__main__":
    main()
