"""False alarms on unchanged data of the signals that compare a window with a reference threshold.

For each check, windows of 30 (the default ``min_window_events``), 200, 1k and 10k rows are drawn from
the reference distribution itself, and the share of windows that trigger is printed with ``alarms /
windows``:

- ``missing_rate`` quality check (``detectors.quality.missing``: Fisher's exact test below 100 expected
  cells, else the two-proportion z-test, at ``alpha = 0.001``, and a 1-point floor), reference of 20,000
  rows with a missing rate of 0.5%, 2% and 10%;
- the ``data_quality`` missing-rate signal of ``monitor.pipeline.alert_signals`` (``current - reference >=
  missing_rate_jump``, 0.10 by default), same rates;
- ``out_of_range`` (``detectors.quality.range``: exact exchangeability test at ``alpha = 0.001``),
  normal data, and its signal's share floor (``out_of_range_share`` 5%);
- ``constant`` (``detectors.quality.constant``: fires on a single-valued window only when unchanged data
  gives one with probability below ``alpha = 0.001``): a binary column with 1% and 5% positives, 20,000
  reference rows;
- ``traffic_volume`` (``monitor.pipeline.alert_signals.volume_signal``): Poisson event counts per window with a
  constant rate, event rate against the median of the 3 previous windows (drop 0.5x, spike 3x).

Run: ``.venv/bin/python bench/calibration_signals.py [--windows 20000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402

from detectors.quality.constant import constant_from_counts  # noqa: E402
from detectors.quality.missing import missing_rate_from_counts  # noqa: E402
from detectors.quality.range import out_of_range_from_counts  # noqa: E402
from monitor.config import ModelConfig  # noqa: E402
from monitor.pipeline.alert_signals import drift_signals, volume_signal  # noqa: E402

MODEL = ModelConfig(name="m", features={"x": "numeric"})  # the default alert policy

SIZES = (30, 200, 1_000, 10_000)
N_REFERENCE = 20_000


def missing_check(rate: float) -> Callable[[int, np.random.Generator], bool]:
    ref_missing = round(rate * N_REFERENCE)

    def check(n: int, rng: np.random.Generator) -> bool:
        k = int(rng.binomial(n, rate))
        return missing_rate_from_counts("x", k, n, reference_missing=ref_missing, reference_rows=N_REFERENCE).triggered

    return check


def missing_signal(rate: float) -> Callable[[int, np.random.Generator], bool]:
    """The watcher's ``data_quality`` missing-rate signal (``drift_signals``, default jump 0.10) on the report
    of a window whose missing count is drawn at the reference rate, with the quality check's verdict."""
    ref_missing = round(rate * N_REFERENCE)

    def check(n: int, rng: np.random.Generator) -> bool:
        k = int(rng.binomial(n, rate))
        finding = missing_rate_from_counts("x", k, n, reference_missing=ref_missing, reference_rows=N_REFERENCE)
        report = {"columns": [{"name": "x", "missing_rate_reference": rate, "missing_rate_current": k / n}],
                  "quality": [finding.to_dict()] if finding.triggered else []}
        return any(s.signal == "data_quality" for s in drift_signals(MODEL, report, n))

    return check


def range_check(share_floor: float | None) -> Callable[[int, np.random.Generator], bool]:
    def check(n: int, rng: np.random.Generator) -> bool:
        # under no change, the count outside the range of N reference values: Beta-binomial(n, 2, N - 1)
        p_out = rng.beta(2, N_REFERENCE - 1)
        count = int(rng.binomial(n, p_out))
        result = out_of_range_from_counts("x", count, n, reference_min=0.0, reference_max=1.0,
                                          reference_count=N_REFERENCE)
        return result.triggered and (share_floor is None or count / n >= share_floor)

    return check


def constant_check(p: float) -> Callable[[int, np.random.Generator], bool]:
    positives = round(p * N_REFERENCE)
    counts = np.array([N_REFERENCE - positives, positives])

    def check(n: int, rng: np.random.Generator) -> bool:
        k = int(rng.binomial(n, p))
        distinct = 1 if k in (0, n) else 2
        return constant_from_counts("x", distinct, n, reference_distinct=2, reference_counts=counts).triggered

    return check


def volume_check() -> Callable[[int, np.random.Generator], bool]:
    """The watcher's ``traffic_volume`` signal on time windows of 1 s whose event counts are Poisson with a
    constant rate of ``n`` events per window (rates of the 3 previous windows as its history)."""
    def check(n: int, rng: np.random.Generator) -> bool:
        counts = rng.poisson(n, size=4).astype(float)
        return volume_signal(MODEL, int(counts[3]), 1.0, list(counts[:3])) is not None

    return check


CHECKS: dict[str, Callable[[int, np.random.Generator], bool]] = {
    "missing_rate check, ref 0.5%": missing_check(0.005),
    "missing_rate check, ref 2%": missing_check(0.02),
    "missing_rate check, ref 10%": missing_check(0.10),
    "missing_rate signal (jump 0.10 and the check), ref 2%": missing_signal(0.02),
    "missing_rate signal (jump 0.10 and the check), ref 10%": missing_signal(0.10),
    "out_of_range check": range_check(None),
    "out_of_range signal (share >= 5%)": range_check(0.05),
    "constant, binary 1% positives": constant_check(0.01),
    "constant, binary 5% positives": constant_check(0.05),
    "traffic_volume (n events per window)": volume_check(),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--windows", type=int, default=20_000, help="windows per check and size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    head = ["check", *(f"{n:,} rows" for n in SIZES)]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for i, (name, check) in enumerate(CHECKS.items()):
        cells = []
        for n in SIZES:
            rng = np.random.default_rng([args.seed, i, n])
            alarms = sum(check(n, rng) for _ in range(args.windows))
            cells.append(f"{alarms / args.windows:.3%} ({alarms}/{args.windows})")
        print("| " + " | ".join([name, *cells]) + " |")


if __name__ == "__main__":
    main()
