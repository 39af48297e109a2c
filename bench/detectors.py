"""Speed and agreement: Evidently 0.7's ``DataDriftPreset`` vs driftwarden's ``evidently`` preset.

Same frames for both (50 columns: 40 numeric, 10 categorical with 20 levels; drift injected in some
columns so that the verdicts are mixed), at 1k, 10k and 100k rows on each side. For each size it prints
Evidently's time, driftwarden's time (evaluation against a profile built once: drift tests alone, which is
what Evidently's preset computes, then with our data-quality checks too; and the profile build
separately), the ratios, and whether every column verdict and the dataset verdict agree.

Run: ``.venv/bin/python bench/detectors.py [--sizes 1000 10000 100000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

# This file is named like the package it measures: drop bench/ from the path so `detectors` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from detectors import ReferenceProfile, evaluate  # noqa: E402

N_NUMERIC = 40
N_CATEGORICAL = 10
LEVELS = 20
METHODS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare_gof",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}


def make_frames(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current frames; columns i % 4 == 0 stay identical in distribution, others drift."""
    rng = np.random.default_rng(seed)
    ref: dict[str, Any] = {}
    cur: dict[str, Any] = {}
    shifts = [0.0, 0.02, 0.05, 0.08, 0.1, 0.12, 0.2, 0.5]
    for i in range(N_NUMERIC):
        shift = shifts[i % len(shifts)]
        kind = i % 4
        if kind == 0:
            ref[f"num{i}"], cur[f"num{i}"] = rng.normal(size=n), rng.normal(shift, 1.0, size=n)
        elif kind == 1:
            ref[f"num{i}"] = rng.lognormal(size=n)
            cur[f"num{i}"] = rng.lognormal(shift, 1.0, size=n)
        elif kind == 2:
            ref[f"num{i}"] = rng.uniform(0, 10, size=n)
            cur[f"num{i}"] = rng.uniform(10 * shift, 10 + 10 * shift, size=n)
        else:
            ref[f"num{i}"] = np.round(rng.normal(50, 10, size=n))
            cur[f"num{i}"] = np.round(rng.normal(50 + 10 * shift, 10, size=n))
    levels = np.array([f"level_{j:02d}" for j in range(LEVELS)], dtype=object)
    for i in range(N_CATEGORICAL):
        p = rng.dirichlet(np.full(LEVELS, 2.0))
        q = p.copy()
        move = [0.0, 0.0, 0.02, 0.05, 0.1][i % 5]
        q[0] += move
        q[-1] = max(q[-1] - move, 0.001)
        q /= q.sum()
        ref[f"cat{i}"] = rng.choice(levels, size=n, p=p)
        cur[f"cat{i}"] = rng.choice(levels, size=n, p=q)
    return pd.DataFrame(ref), pd.DataFrame(cur)


def run_evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[float, dict[str, tuple[str, bool]], bool]:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        snap = Report([DataDriftPreset()], include_tests=True).run(current_data=cur, reference_data=ref)
        elapsed = time.perf_counter() - t0
    d = snap.dict()
    methods = {
        m["config"]["column"]: METHODS.get(m["config"]["method"], m["config"]["method"])
        for m in d["metrics"]
        if m["config"]["type"].endswith("ValueDrift")
    }
    verdicts: dict[str, tuple[str, bool]] = {}
    dataset = False
    for t in d["tests"]:
        status = str(getattr(t["status"], "value", t["status"]))
        if t["name"].startswith("Value Drift for column "):
            col = t["name"].removeprefix("Value Drift for column ")
            verdicts[col] = (methods[col], status == "FAIL")
        elif t["name"].startswith("Share of Drifted Columns"):
            dataset = status == "FAIL"
    return elapsed, verdicts, dataset


def run_driftwarden(
    ref: pd.DataFrame, cur: pd.DataFrame, repeat: int
) -> tuple[float, float, float, dict[str, tuple[str, bool]], bool]:
    """(drift-only time, time with data-quality checks, profile build time, verdicts, dataset verdict); the
    times are medians over ``repeat`` runs."""
    builds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        profile = ReferenceProfile.build(ref)
        builds.append(time.perf_counter() - t0)
    build = statistics.median(builds)
    times: dict[bool, list[float]] = {False: [], True: []}
    report = None
    for _ in range(repeat):
        for quality in (False, True):
            t0 = time.perf_counter()
            report = evaluate(profile, cur, preset="evidently", quality=quality)
            times[quality].append(time.perf_counter() - t0)
    assert report is not None
    verdicts = {c.name: (c.test, c.drifted) for c in report.columns}
    return statistics.median(times[False]), statistics.median(times[True]), build, verdicts, report.dataset_drift


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="driftwarden runs per size (median reported)")
    args = parser.parse_args()
    header = (
        f"{'rows/side':>9} | {'Evidently s':>11} | {'driftwarden s':>13} | {'ratio':>7} | "
        f"{'+quality s':>10} | {'ratio':>7} | {'profile build s':>15} | {'ratio incl. build':>17} | "
        f"{'drifted (E/dw)':>14} | verdicts agree"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        ref, cur = make_frames(n)
        t_ev, v_ev, ds_ev = run_evidently(ref, cur)
        t_dw, t_dq, t_build, v_dw, ds_dw = run_driftwarden(ref, cur, args.repeat)
        disagree = [c for c in v_ev if v_ev[c] != v_dw.get(c)]
        agree = not disagree and ds_ev == ds_dw and set(v_ev) == set(v_dw)
        n_ev = sum(v for _, v in v_ev.values())
        n_dw = sum(v for _, v in v_dw.values())
        print(
            f"{n:>9,} | {t_ev:>11.3f} | {t_dw:>13.4f} | {t_ev / t_dw:>6.0f}x | {t_dq:>10.4f} | {t_ev / t_dq:>6.0f}x | "
            f"{t_build:>15.3f} | "
            f"{t_ev / (t_dw + t_build):>16.1f}x | {f'{n_ev}/{n_dw}':>14} | "
            + ("yes (50 columns + dataset)" if agree else f"NO: {disagree} dataset {ds_ev}/{ds_dw}")
        )


if __name__ == "__main__":
    main()
