"""Calibration study of high-cardinality categorical columns (issue #21): driftwarden's ``default`` preset
against Evidently 0.7's own default test on the same data.

One categorical column ``item`` drawn from a Zipf distribution (``p_i ∝ i^-s`` over ``levels`` ids),
reference and window of the same size ``rows``, a fresh reference per repetition. Per grid cell
(exponent s × levels × rows) and window:

- **unchanged**: the window from the reference's distribution. Reported: the share of windows whose drift
  test alarms (``default``: ``drifted``), whose unseen-category check triggers (``default``), and whose
  Evidently verdict is drift; and the mean and largest effect of the default test (the TVD over the
  top-20 + other buckets minus its expected value under no change, floored at 0);
- **head ×2**: the most frequent id's share doubled (the other ids scaled down in proportion);
- **flood 10%**: 10% of the window's rows replaced by ids never seen before, all different.

Evidently's verdict is its legacy default stattest for a categorical column
(``_get_default_stattest``: ``chisquare`` goodness-of-fit p < 0.05 for a reference of at most 1000 rows,
else Jensen–Shannon distance >= 0.1 over every value), run on the raw labels. One column per window, so
there is no Benjamini–Hochberg sharing across columns: the drift test's false-alarm share is bounded by
``alpha`` = 0.01 per window, not by ``alpha / n_columns``.

``--memory`` instead builds the profile of a 1,000,000-row column with 100,000 distinct ids and prints the
peak memory (tracemalloc) and the profile's size on disk.

Prints Markdown tables (the ones in ``docs/detectors.md``).
Run: ``.venv/bin/python bench/calibration_highcard.py [--reps 100 20 4] [--seed 0] [--no-evidently] [--memory]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections import defaultdict
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from detectors import ReferenceProfile, evaluate  # noqa: E402

EXPONENTS = (1.1, 1.3, 1.5)
LEVELS = (1_000, 10_000, 100_000)
ROWS = (1_000, 10_000, 100_000)
FLOOD = 0.10
SCENARIOS = ("unchanged", "head ×2", "flood 10%")
LABELS = np.array([f"item_{i}" for i in range(max(LEVELS))], dtype=object)
EVIDENTLY = True  # --no-evidently: skip Evidently's verdicts (cells show nan), for more windows per minute


def zipf_p(exponent: float, levels: int) -> np.ndarray:
    w = np.arange(1, levels + 1, dtype=np.float64) ** -exponent
    return w / w.sum()


def head_doubled(p: np.ndarray) -> np.ndarray:
    q = p * (1 - 2 * p[0]) / (1 - p[0])
    q[0] = 2 * p[0]
    return q


def draw_ids(p: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    cdf = np.cumsum(p)
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), p.size - 1)


def draw(p: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return LABELS[draw_ids(p, n, rng)]


def evidently_verdict(ref: np.ndarray, cur: np.ndarray) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently.legacy.calculations.stattests.registry import _get_default_stattest
        from evidently.legacy.core import ColumnType

        r, c = pd.Series(ref), pd.Series(cur)
        test = _get_default_stattest(r, c, ColumnType.Categorical)
        _, drifted = test.func(r, c, ColumnType.Categorical, test.default_threshold)
    return bool(drifted)


def window(scenario: str, p: np.ndarray, n: int, rng: np.random.Generator, tag: str) -> np.ndarray:
    if scenario == "head ×2":
        return draw(head_doubled(p), n, rng)
    items = draw(p, n, rng)
    if scenario == "flood 10%":
        k = round(FLOOD * n)
        items[rng.choice(n, size=k, replace=False)] = [f"new_{tag}_{j}" for j in range(k)]
    return items


def run_cell(exponent: float, levels: int, rows: int, reps: int, rng: np.random.Generator) -> dict[str, float]:
    p = zipf_p(exponent, levels)
    tally: dict[str, list[float]] = defaultdict(list)
    for rep in range(reps):
        ref = draw(p, rows, rng)
        profile = ReferenceProfile.build(pd.DataFrame({"item": ref}), multivariate=False)
        for scenario in SCENARIOS:
            cur = window(scenario, p, rows, rng, f"{rep}")
            report = evaluate(profile, pd.DataFrame({"item": cur}))
            col = report.column("item")
            unseen = any(f.check == "unseen_categories" for f in report.quality)
            tally[f"{scenario}|drift"].append(float(col.drifted))
            tally[f"{scenario}|unseen"].append(float(unseen))
            tally[f"{scenario}|any"].append(float(col.drifted or unseen))
            tally[f"{scenario}|evidently"].append(float(evidently_verdict(ref, cur)) if EVIDENTLY else np.nan)
            if scenario == "unchanged":
                tally["unchanged|tvd"].append(float(col.effect_size or 0.0))
                tally["unchanged|tvd_max"].append(float(col.effect_size or 0.0))
    out = {k: float(np.mean(v)) for k, v in tally.items()}
    out["unchanged|tvd_max"] = float(np.max(tally["unchanged|tvd_max"]))
    return out


COLUMNS = [
    ("unchanged|drift", "unchanged: drift"),
    ("unchanged|unseen", "unchanged: unseen"),
    ("unchanged|evidently", "unchanged: Evidently"),
    ("unchanged|tvd", "unchanged: effect mean"),
    ("unchanged|tvd_max", "unchanged: effect max"),
    ("head ×2|drift", "head ×2: drift"),
    ("head ×2|evidently", "head ×2: Evidently"),
    ("flood 10%|drift", "flood: drift"),
    ("flood 10%|unseen", "flood: unseen"),
    ("flood 10%|any", "flood: drift or unseen"),
    ("flood 10%|evidently", "flood: Evidently"),
]


def study(reps: dict[int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    pooled: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    print("| Zipf s | levels | rows | " + " | ".join(label for _, label in COLUMNS) + " |")
    print("|" + "---|" * (3 + len(COLUMNS)))
    for rows in ROWS:
        for exponent in EXPONENTS:
            for levels in LEVELS:
                res = run_cell(exponent, levels, rows, reps[rows], rng)
                for key, _ in COLUMNS:
                    pooled[rows][key].append(res[key])
                cells = " | ".join(f"{res[key]:.3f}" for key, _ in COLUMNS)
                print(f"| {exponent} | {levels:,} | {rows:,} | {cells} |", flush=True)
    print()
    print("| rows | windows per scenario | " + " | ".join(label for _, label in COLUMNS) + " |")
    print("|" + "---|" * (2 + len(COLUMNS)))
    for rows in ROWS:
        n = reps[rows] * len(EXPONENTS) * len(LEVELS)
        cells = " | ".join(
            f"{(np.max if key.endswith('max') else np.mean)(pooled[rows][key]):.4f}" for key, _ in COLUMNS
        )
        print(f"| {rows:,} | {n} | {cells} |")
    flag = "" if EVIDENTLY else " --no-evidently"
    print(f"\nreps per cell: {reps}; seed {seed}; {time.perf_counter() - start:.0f} s "
          f"(`.venv/bin/python bench/calibration_highcard.py --reps {' '.join(map(str, reps.values()))} "
          f"--seed {seed}{flag}`)")


def memory(seed: int) -> None:
    """Peak memory of profiling 1,000,000 rows with 100,000 distinct ids (every id once, the rest drawn
    from Zipf 1.1), and the file's size."""
    rng = np.random.default_rng(seed)
    levels, rows = 100_000, 1_000_000
    # every id once, the rest Zipf(1.1)
    idx = np.concatenate([np.arange(levels), draw_ids(zipf_p(1.1, levels), rows - levels, rng)])
    frame = pd.DataFrame({"item": LABELS[rng.permutation(idx)]})
    frame_mb = frame.memory_usage(deep=True).sum() / 1e6
    tracemalloc.start()
    t0 = time.perf_counter()
    profile = ReferenceProfile.build(frame, multivariate=False)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    col = profile["item"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "p.profile")
        profile.save(path)
        size = os.path.getsize(path)
    print(f"| rows | distinct ids | frame in memory | peak allocated while building | build time | "
          f"kept levels | profile on disk |\n|---|---|---|---|---|---|---|\n"
          f"| {rows:,} | {col.n_levels:,} | {frame_mb:.0f} MB | {peak / 1e6:.1f} MB | {elapsed:.2f} s | "
          f"{len(col.categories):,} | {size / 1e6:.2f} MB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, nargs=3, default=[100, 20, 4], metavar=("R1K", "R10K", "R100K"),
                        help="repetitions per grid cell at 1k, 10k and 100k rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory", action="store_true", help="measure the profile of a 100k-level column")
    parser.add_argument("--no-evidently", action="store_true", help="skip Evidently's verdicts")
    args = parser.parse_args()
    global EVIDENTLY
    EVIDENTLY = not args.no_evidently
    if args.memory:
        memory(args.seed)
    else:
        study(dict(zip(ROWS, args.reps, strict=True)), args.seed)


if __name__ == "__main__":
    main()
