"""Calibration study of the ``default`` preset (and, for comparison, the ``evidently`` preset).

50 columns like ``bench/detectors.py`` (40 numeric: normal, lognormal, uniform, rounded normal; 10
categorical with 20 levels), reference and current windows of the same size n = 1k, 10k, 100k.

- **Stationary windows**: reference and current drawn from the same distributions. Reported: the share
  of column tests that alarm, the share of windows with at least one alarm, the share of windows with
  dataset drift.
- **Mixed windows**: in each window, some columns get a drift, the rest stay stationary:
  numeric mean shift 0.25 σ (material, KS D ≈ 0.1), numeric scale × 1.3 (material), numeric mean shift
  0.02 σ (immaterial: should *not* alarm), 10% of categorical mass moved between levels (material,
  TVD = 0.1), 1% moved (immaterial). Reported: alarm rate per scenario, and the false-alarm rate of the
  stationary columns of those windows.

Prints the Markdown table pasted into ``docs/detectors.md``.
Run: ``.venv/bin/python bench/calibration.py columns [--reps 200 100 20] [--seed 0]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from detectors import ReferenceProfile, evaluate  # noqa: E402

N_NUMERIC, N_CATEGORICAL, LEVELS = 40, 10, 20
LEVEL_NAMES = np.array([f"level_{j:02d}" for j in range(LEVELS)], dtype=object)
# scenario of each column in the mixed windows
NUMERIC_SCENARIOS = ["shift 0.25σ"] * 8 + ["scale ×1.3"] * 8 + ["shift 0.02σ (immaterial)"] * 8 + ["stationary"] * 16
CATEGORICAL_SCENARIOS = ["10% mass moved"] * 3 + ["1% mass moved (immaterial)"] * 3 + ["stationary"] * 4
MATERIAL = ("shift 0.25σ", "scale ×1.3", "10% mass moved")
#: column label -> (preset, overrides); "p-only" is the default's tests without the effect floor at
#: alpha 0.05 (still Benjamini–Hochberg): what a significance-only detector does.
PRESETS: dict[str, tuple[str, dict[str, float] | None]] = {
    "default": ("default", None),
    "evidently": ("evidently", None),
    "p-only": ("default", {"min_effect": 0.0, "alpha": 0.05}),
}


class Population:
    """Fixed column distributions (drawn once from ``seed``); ``sample`` draws a frame, drifted or not."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.cat_p = [rng.dirichlet(np.full(LEVELS, 2.0)) for _ in range(N_CATEGORICAL)]

    def sample(self, n: int, rng: np.random.Generator, *, drifted: bool) -> pd.DataFrame:
        data: dict[str, object] = {}
        for i in range(N_NUMERIC):
            scenario = NUMERIC_SCENARIOS[i] if drifted else "stationary"
            shift = {"shift 0.25σ": 0.25, "shift 0.02σ (immaterial)": 0.02}.get(scenario, 0.0)
            scale = 1.3 if scenario == "scale ×1.3" else 1.0
            z = rng.normal(size=n) * scale + shift  # in units of the reference σ
            family = i % 4
            if family == 0:
                data[f"num{i}"] = z
            elif family == 1:
                data[f"num{i}"] = np.exp(0.5 * z)  # lognormal: the shift is in log space
            elif family == 2:
                data[f"num{i}"] = 5 + 10 * _norm_cdf(z)  # uniform on [5, 15] when stationary
            else:
                data[f"num{i}"] = np.round(50 + 10 * z)
        for i in range(N_CATEGORICAL):
            p = self.cat_p[i].copy()
            scenario = CATEGORICAL_SCENARIOS[i] if drifted else "stationary"
            move = {"10% mass moved": 0.10, "1% mass moved (immaterial)": 0.01}.get(scenario, 0.0)
            if move:
                order = np.argsort(p)
                taken = np.minimum(p[order[-5:]], move / 5)  # take from the 5 largest levels
                p[order[-5:]] -= taken
                p[order[:5]] += taken.sum() / 5  # give to the 5 smallest
            data[f"cat{i}"] = rng.choice(LEVEL_NAMES, size=n, p=p / p.sum())
        return pd.DataFrame(data)


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return np.asarray(ndtr(z))


def run(n: int, reps: int, seed: int) -> dict[str, dict[str, float]]:
    pop = Population(seed)
    rng = np.random.default_rng(seed + n)
    counts: dict[str, dict[str, list[float]]] = {p: defaultdict(list) for p in PRESETS}
    for _ in range(reps):
        ref = pop.sample(n, rng, drifted=False)
        profile = ReferenceProfile.build(ref)
        stationary = pop.sample(n, rng, drifted=False)
        mixed = pop.sample(n, rng, drifted=True)
        for preset, (name, overrides) in PRESETS.items():
            rep = evaluate(profile, stationary, preset=name, overrides=overrides)
            flags = [c.drifted for c in rep.columns]
            c = counts[preset]
            c["column false alarms (stationary windows)"].append(float(np.mean(flags)))
            c["windows with any false alarm"].append(float(any(flags)))
            c["windows with dataset drift"].append(float(rep.dataset_drift))
            num_cat = {f"num{i}": NUMERIC_SCENARIOS[i] for i in range(N_NUMERIC)}
            num_cat.update({f"cat{i}": CATEGORICAL_SCENARIOS[i] for i in range(N_CATEGORICAL)})
            mixed_rep = evaluate(profile, mixed, preset=name, overrides=overrides)
            per: dict[str, list[bool]] = defaultdict(list)
            for col in mixed_rep.columns:
                per[num_cat[col.name]].append(col.drifted)
            for scenario, vals in per.items():
                key = "stationary columns of mixed windows" if scenario == "stationary" else scenario
                c[key].append(float(np.mean(vals)))
            cat_flags = [col.drifted for col in rep.columns if col.kind != "numeric"]
            c["categorical false alarms (stationary)"].append(float(np.mean(cat_flags)))
    return {p: {k: float(np.mean(v)) for k, v in c.items()} for p, c in counts.items()}


ROWS = [
    "column false alarms (stationary windows)",
    "categorical false alarms (stationary)",
    "windows with any false alarm",
    "windows with dataset drift",
    "stationary columns of mixed windows",
    "shift 0.02σ (immaterial)",
    "1% mass moved (immaterial)",
    "shift 0.25σ",
    "scale ×1.3",
    "10% mass moved",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--reps", type=int, nargs="+", default=[200, 100, 20], help="windows per size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    reps = dict(zip(args.sizes, args.reps, strict=True))
    results = {}
    t0 = time.perf_counter()
    for n in args.sizes:
        results[n] = run(n, reps[n], args.seed)
    header = "| alarm rate (share) | " + " | ".join(f"{n // 1000}k {p}" for n in args.sizes for p in PRESETS) + " |"
    print(header)
    print("|" + "---|" * (1 + len(PRESETS) * len(args.sizes)))
    for row in ROWS:
        kind = "power" if row in MATERIAL else "false alarm"
        cells = []
        for n in args.sizes:
            for preset in PRESETS:
                cells.append(f"{results[n][preset].get(row, float('nan')):.3f}")
        print(f"| {row} ({kind}) | " + " | ".join(cells) + " |")
    print(f"\nwindows per size: {reps}; reference rows = window rows; seed {args.seed}; "
          f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
