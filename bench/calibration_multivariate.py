"""Calibration of the multivariate test (PCA reconstruction error) next to NannyML's data reconstruction drift.

Three kinds of data, a 20,000-row reference, current data from the same distributions (false alarms) or
with one correlation reversed and every marginal unchanged (power):

- ``independent``: 40 independent N(0, 1) columns;
- ``correlated``: 20 pairs of N(0, 1) columns, pair ``i`` with correlation ``0.8 - 0.6 i / 19``;
  the change reverses the correlation of pair 0 (0.8 -> -0.8);
- ``mixed``: 40 N(0, 1) columns, of which columns 0 and 1 have correlation 0.8, and 10 categorical
  columns of 20 levels (level shares drawn once from Dirichlet(2)); the change reverses the pair's
  correlation.

False alarms: for each of ``--reps`` references, ``--rows`` rows of unchanged data are scored once and
cut into consecutive disjoint windows of 200, 1k, 10k and 100k rows; the share of windows whose verdict
is ``drifted`` (target: at most 0.1%, the detector's ``alpha``). NannyML's
``DataReconstructionDriftCalculator`` is fitted on the same reference with ``chunk_size`` = the window
size (its band: mean ± 3 standard deviations of the reference chunks' statistics, chunks scored by the
PCA fitted on them) and run on ``--nannyml-windows`` windows per size for the first
``--nannyml-reps`` references; with a 20,000-row reference it has no chunk of 100k rows (``n/a``).
Power: share of 5,000-row windows with the reversed correlation that alarm (``--power-windows`` per
reference), for both. Each cell shows ``alarms / windows``.

Prints the Markdown table pasted into ``docs/detectors.md``.
Run: ``.venv/bin/python bench/calibration_multivariate.py [--reps 5] [--rows 500000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML would otherwise try to send usage data

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from detectors.multivariate import PCAReconstruction  # noqa: E402

KINDS = ("independent", "correlated", "mixed")
SIZES = (200, 1_000, 10_000, 100_000)
POWER_SIZE = 5_000
N_REFERENCE = 20_000
LEVELS = 20
BLOCK = 100_000  # rows scored at once


class Population:
    """One kind of data (module docstring): ``sample(n, rng, changed)`` -> ``(rows, columns)`` float matrix,
    categorical columns as level codes ``0..19`` at :attr:`categorical`."""

    def __init__(self, kind: str, seed: int) -> None:
        self.kind = kind
        rng = np.random.default_rng(seed)
        self.categorical: tuple[int, ...] = tuple(range(40, 50)) if kind == "mixed" else ()
        self.level_p = [rng.dirichlet(np.full(LEVELS, 2.0)) for _ in self.categorical]

    def sample(self, n: int, rng: np.random.Generator, *, changed: bool = False) -> np.ndarray:
        x = rng.normal(size=(n, 40))
        if self.kind == "correlated":
            rho = np.linspace(0.8, 0.2, 20)
            if changed:
                rho[0] = -rho[0]
            x[:, 1::2] = rho * x[:, 0::2] + np.sqrt(1 - rho**2) * x[:, 1::2]
        elif self.kind == "mixed":
            r = -0.8 if changed else 0.8
            x[:, 1] = r * x[:, 0] + np.sqrt(1 - r * r) * x[:, 1]
        if not self.categorical:
            return x
        codes = [rng.choice(LEVELS, size=n, p=p).astype(np.float64) for p in self.level_p]
        return np.column_stack([x, *codes])

    def frame(self, x: np.ndarray) -> pd.DataFrame:
        """The matrix as NannyML takes it: categorical columns as strings."""
        cols = {}
        for j in range(x.shape[1]):
            cols[f"c{j}"] = x[:, j].astype(int).astype(str) if j in self.categorical else x[:, j]
        return pd.DataFrame(cols)


def driftwarden_cells(pop: Population, reps: int, rows: int, power_windows: int, seed: int) -> dict[str, list[int]]:
    """``{column: [alarms, windows]}`` for every window size and ``power``."""
    out = {str(n): [0, 0] for n in SIZES} | {"power": [0, 0]}
    for r in range(reps):
        rng = np.random.default_rng([seed, r])
        det = PCAReconstruction.fit(pop.sample(N_REFERENCE, rng), categorical_columns=pop.categorical)
        errors = np.concatenate([det.reconstruction_errors(pop.sample(min(BLOCK, rows - s), rng))
                                 for s in range(0, rows, BLOCK)])
        for n in SIZES:
            means = errors[: rows // n * n].reshape(-1, n).mean(axis=1)
            out[str(n)][0] += sum(bool(det.result(m, n).drifted) for m in means)
            out[str(n)][1] += means.size
        if pop.kind != "independent":
            for _ in range(power_windows):
                out["power"][0] += bool(det.score(pop.sample(POWER_SIZE, rng, changed=True)).drifted)
                out["power"][1] += 1
    return out


def nannyml_cells(pop: Population, reps: int, windows: int, power_windows: int, seed: int) -> dict[str, list[int]]:
    """The same cells for NannyML (``[0, 0]`` where it cannot run)."""
    import nannyml as nml

    out = {str(n): [0, 0] for n in SIZES} | {"power": [0, 0]}

    def run(size: int, analysis: np.ndarray, ref: pd.DataFrame) -> list[int]:
        calc = nml.DataReconstructionDriftCalculator(column_names=list(ref.columns), chunk_size=size)
        calc.fit(ref)
        res = calc.calculate(pop.frame(analysis)).filter(period="analysis").to_df()
        alerts = res[("reconstruction_error", "alert")].to_numpy(dtype=bool)
        return [int(alerts.sum()), int(alerts.size)]

    for r in range(reps):
        rng = np.random.default_rng([seed, r, 1])
        ref = pop.frame(pop.sample(N_REFERENCE, rng))
        for n in SIZES:
            if n * 2 > N_REFERENCE:
                continue  # fewer than two reference chunks: no band
            a, w = run(n, pop.sample(n * windows, rng), ref)
            out[str(n)][0] += a
            out[str(n)][1] += w
        if pop.kind != "independent":
            a, w = run(POWER_SIZE, pop.sample(POWER_SIZE * power_windows, rng, changed=True), ref)
            out["power"][0] += a
            out["power"][1] += w
    return out


def _cell(counts: list[int]) -> str:
    alarms, windows = counts
    return "n/a" if windows == 0 else f"{alarms / windows:.2%} ({alarms}/{windows})"


def table(results: dict[str, dict[str, dict[str, list[int]]]]) -> str:
    head = ["data", "method", *(f"false alarms, {n:,} rows" for n in SIZES), f"power, {POWER_SIZE:,} rows"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind, by_method in results.items():
        for method, cells in by_method.items():
            row = [kind, method, *(_cell(cells[str(n)]) for n in SIZES), _cell(cells["power"])]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="references per kind (driftwarden)")
    parser.add_argument("--rows", type=int, default=500_000, help="unchanged rows scored per reference")
    parser.add_argument("--power-windows", type=int, default=20, help="changed 5k windows per reference")
    parser.add_argument("--nannyml-reps", type=int, default=2, help="references per kind for NannyML (0: skip)")
    parser.add_argument("--nannyml-windows", type=int, default=50, help="NannyML windows per size and reference")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    results: dict[str, dict[str, dict[str, list[int]]]] = {}
    started = time.perf_counter()
    for i, kind in enumerate(args.kinds):
        pop = Population(kind, args.seed + 1000 * i)
        methods: dict[str, Callable[[Population], dict[str, list[int]]]] = {
            "driftwarden": lambda p: driftwarden_cells(p, args.reps, args.rows, args.power_windows, args.seed)}
        if args.nannyml_reps:
            methods["NannyML"] = lambda p: nannyml_cells(p, args.nannyml_reps, args.nannyml_windows,
                                                        args.power_windows, args.seed)
        results[kind] = {}
        for name, fn in methods.items():
            t0 = time.perf_counter()
            results[kind][name] = fn(pop)
            print(f"# {kind} {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print(table(results))
    print(f"\n{N_REFERENCE:,}-row references; seed {args.seed}; {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
