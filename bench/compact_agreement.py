"""Compact references: verdicts of the ``default`` preset on a quantile grid against the exact computation.

Over ``bench/calibration_columns.py``'s streams (50 columns: 40 numeric of four families, 10 categorical;
stationary windows and mixed windows where some columns drift), each repetition builds a reference of
``--ref-rows`` rows, evaluates a stationary and a mixed window of each ``--windows`` size with the full
profile and with its compact copy (``ReferenceProfile.compacted(size=K)`` for each ``--sizes`` K), and
counts the feature-windows whose verdict differs, the largest ``|D_grid - D|`` over its bound ``eps`` and
the largest ``|T_grid - T|`` over its bound (:mod:`detectors.stattests.cvm_grid`).

Run: ``.venv/bin/python bench/compact_agreement.py [--reps 100] [--sizes 256 1024] [--windows 1000 10000]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from calibration_columns import Population  # noqa: E402

from detectors import ReferenceProfile, evaluate  # noqa: E402
from detectors.columns import NumericProfile  # noqa: E402
from detectors.stattests.cvm_grid import t_error_bound  # noqa: E402


def compare(reps: int, sizes: list[int], windows: list[int], ref_rows: int, seed: int
            ) -> dict[tuple[int, int], list[float]]:
    """``{(K, window): [feature-windows, disagreements, max dD/eps, max dT/bound, bytes per numeric column]}``."""
    pop = Population(seed)
    rng = np.random.default_rng(seed + 1)
    out: dict[tuple[int, int], list[float]] = {(k, w): [0, 0, 0.0, 0.0, 0.0] for k in sizes for w in windows}
    for _ in range(reps):
        profile = ReferenceProfile.build(pop.sample(ref_rows, rng, drifted=False), multivariate=False)
        compact = {k: profile.compacted(size=k) for k in sizes}
        for w in windows:
            for drifted in (False, True):
                frame = pop.sample(w, rng, drifted=drifted)
                exact = evaluate(profile, frame, preset="default")
                for k in sizes:
                    approx = evaluate(compact[k], frame, preset="default")
                    row = out[(k, w)]
                    for e, a in zip(exact.columns, approx.columns, strict=True):
                        row[0] += 1
                        row[1] += e.drifted != a.drifted
                        col = compact[k][e.name]
                        if isinstance(col, NumericProfile) and col.grid is not None and col.grid.max_gap:
                            eps = col.grid.eps
                            d = float(e.effect_size or 0.0)
                            row[2] = max(row[2], abs(float(a.effect_size or 0.0) - d) / eps)
                            bound = t_error_bound(col.grid.n, e.n_current, eps, d)
                            row[3] = max(row[3], abs(a.statistic - e.statistic) / bound)
                            row[4] = max(row[4], col.grid.nbytes)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--windows", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--ref-rows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    res = compare(args.reps, args.sizes, args.windows, args.ref_rows, args.seed)
    print(f"reference {args.ref_rows:,} rows, {args.reps} repetitions x (stationary + mixed window)\n")
    print("| grid atoms K | window rows | feature-windows | verdicts agree | max abs(D_grid - D) / eps "
          "| max abs(T_grid - T) / bound | grid bytes per numeric column |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (k, w), (total, differ, dd, dt, nbytes) in sorted(res.items()):
        print(f"| {k:,} | {w:,} | {int(total):,} | {100 * (1 - differ / total):.3f}% ({int(differ)} differ) "
              f"| {dd:.3f} | {dt:.4f} | {int(nbytes):,} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
