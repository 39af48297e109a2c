"""False alarms and detection delay of ``performance.sequential: {detector: page_hinkley}`` with its defaults.

The detector runs over the final realized value of a metric per window, with the parameters the watcher
derives from the metric's ``max_drop`` (:func:`monitor.pipeline.performance.sequential_params`:
threshold ``2 x max_drop``, delta ``max_drop / 4``, at least 5 windows). Each window's accuracy is
simulated as ``Binomial(n_labelled, 0.78) / n_labelled``:

- **false alarms per 100 windows**: steady accuracy, ``--series`` series of ``--windows`` windows each;
- **median delay**: after 10 steady windows the accuracy decays by ``max_drop / 10`` per window (it is
  ``max_drop`` below the start 10 windows into the decay); the windows from the decay's start to the
  first alarm (``never`` if none within 50).

Run: ``.venv/bin/python bench/calibration_performance_sequential.py [--series 200] [--windows 100] [--seed 0]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from detectors.sequential import DETECTORS, SequentialDetector  # noqa: E402
from monitor.pipeline.performance import sequential_params  # noqa: E402

ACCURACY = 0.78
STEADY = 10
DECAY_WINDOWS = 50


def _detector(max_drop: float) -> SequentialDetector:
    return DETECTORS["page_hinkley"](**sequential_params("page_hinkley", {}, "accuracy", max_drop))


def false_alarms(rng: np.random.Generator, n: int, max_drop: float, series: int, windows: int) -> float:
    alarms = 0
    for _ in range(series):
        detector = _detector(max_drop)
        alarms += sum(bool(detector.update(x)) for x in rng.binomial(n, ACCURACY, size=windows) / n)
    return 100 * alarms / (series * windows)


def delay(rng: np.random.Generator, n: int, max_drop: float, series: int) -> str:
    steps = np.arange(STEADY + DECAY_WINDOWS)
    mean = np.clip(ACCURACY - max_drop / 10 * np.maximum(0, steps - STEADY), 0, 1)
    delays = []
    for _ in range(series):
        detector = _detector(max_drop)
        values = rng.binomial(n, mean) / n
        fired = [i for i, x in enumerate(values) if detector.update(x) and i >= STEADY]
        delays.append(fired[0] - STEADY if fired else DECAY_WINDOWS + 1)
    median = statistics.median(delays)
    return "never" if median > DECAY_WINDOWS else f"{median:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print("| labelled rows per window | max_drop | false alarms per 100 windows | median delay (windows) |")
    print("| ---: | ---: | ---: | ---: |")
    for n in (200, 1000, 5000):
        for max_drop in (0.03, 0.05, 0.1):
            fa = false_alarms(rng, n, max_drop, args.series, args.windows)
            print(f"| {n:,} | {max_drop:g} | {fa:.2f} | {delay(rng, n, max_drop, args.series)} |")


if __name__ == "__main__":
    main()
