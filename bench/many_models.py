"""Many models in one watcher: peak memory and events per second for M models.

For each M (``--models``, default 1, 100 and 1,000) it writes a config of M models of 50 features (40
numeric, 10 categorical with 20 levels; a score prediction), count windows of ``--window`` events (1,000),
registers one reference of ``--rows`` rows (20,000) per model in a SQLite database, each model with its
own data (its own seed, means, spreads and category shares: identical references would share one decoded
profile and hide the per-model cost), and writes a JSONL file of events drawn from each model's reference
distribution, interleaved across the models (``--windows`` full windows per model, at least
``--min-events`` events in all). Then it runs ``driftwarden run --source FILE`` in a child process twice:
on an empty file (start-up: config, database, reference profiles; the *empty watcher*) and on the events.
It prints, per M, the peak RSS of both runs (the child's own ``ru_maxrss``) and the events per second:
events / (wall time of the run - wall time of the empty run), and end to end (events / wall time).

Run: ``.venv/bin/python bench/many_models.py [--models 1 100 1000] [--window 1000] [--rows 20000]``
(references are built once for the largest M and reused; ``--keep DIR`` keeps the database and files).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# This directory holds a script named like the `detectors` package: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import msgspec  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

N_NUMERIC = 40
N_CATEGORICAL = 10
LEVELS = np.array([f"level_{j:02d}" for j in range(20)], dtype=object)
ROOT = Path(__file__).resolve().parent.parent


def kinds() -> dict[str, str]:
    out = {f"num{i:02d}": "numeric" for i in range(N_NUMERIC)}
    out.update({f"cat{i}": "categorical" for i in range(N_CATEGORICAL)})
    return out


def model_name(i: int) -> str:
    return f"m{i:04d}"


def model_params(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model i's numeric means and spreads and its category shares (its own, from seed i)."""
    rng = np.random.default_rng(1000 + i)
    return rng.normal(0, 1, N_NUMERIC), np.exp(rng.normal(0, 0.3, N_NUMERIC)), rng.dirichlet(np.full(20, 2.0),
                                                                                             N_CATEGORICAL)


def draw(i: int, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """``n`` rows of model i's distribution (numbers rounded to 4 decimals, as events carry them)."""
    loc, scale, shares = model_params(i)
    data: dict[str, Any] = {f"num{j:02d}": rng.normal(loc[j], scale[j], n).round(4) for j in range(N_NUMERIC)}
    for j in range(N_CATEGORICAL):
        data[f"cat{j}"] = rng.choice(LEVELS, n, p=shares[j])
    data["prediction"] = rng.random(n).round(4)
    return data


def write_config(path: Path, models: int, window: int, sample: bool = True) -> None:
    model: dict[str, Any] = {"features": kinds(), "prediction": {"kind": "score", "column": "prediction"},
                             "window": {"type": "count", "size": window}}
    if not sample:
        model["sample"] = {"enabled": False}
    path.write_text(yaml.safe_dump({"version": 1, "models": {model_name(i): model for i in range(models)}},
                                   sort_keys=False))


def register(url: str, models: int, rows: int, config: Path) -> float:
    """Build and register each model's reference (as ``reference build --config``); seconds taken."""
    from monitor.check import load_model, profile_for_model
    from monitor.db import make_engine, session_factory, upgrade
    from monitor.store.references import register_reference

    upgrade(url)
    engine = make_engine(url)
    start = time.perf_counter()
    for i in range(models):
        cfg = load_model(config, model_name(i))
        frame = pd.DataFrame(draw(i, rows, np.random.default_rng(i)))
        profile = profile_for_model(frame, cfg, source=f"model {i}")
        with session_factory(engine).begin() as session:
            register_reference(session, model_name(i), profile, source="bench")
        if (i + 1) % 100 == 0:
            print(f"  registered {i + 1}/{models} references", file=sys.stderr)
    engine.dispose()
    return time.perf_counter() - start


def write_events(path: Path, models: int, n: int, block: int = 200) -> None:
    """``n`` prediction events, model ``k % models`` for the k-th, each drawn from its model's reference
    distribution (blocks of ``block`` rows per model)."""
    encoder = msgspec.json.Encoder()
    rng = np.random.default_rng(12345)
    t0 = 1_767_225_600.0  # 2026-01-01
    blocks = {}
    names = list(kinds())
    with path.open("wb") as out:
        for k in range(n):
            i = k % models
            pos = (k // models) % block
            if pos == 0:
                data = draw(i, block, rng)
                blocks[i] = [data[c].tolist() for c in names], data["prediction"].tolist()
            cols, pred = blocks[i]
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + k // 1000)) + f".{k % 1000:03d}Z"
            event = {"model": model_name(i), "model_version": "1", "event_id": f"e{k:010d}", "ts": ts,
                     "features": {c: col[pos] for c, col in zip(names, cols, strict=True)},
                     "prediction": pred[pos]}
            out.write(encoder.encode(event) + b"\n")


def run_watcher(config: Path, source: Path, url: str) -> tuple[float, float, str]:
    """``(wall seconds, peak RSS in MiB, last stderr line)`` of ``driftwarden run`` in a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "monitor.cli", "run", "--config", str(config), "--source", str(source),
           "--db", url, "--no-progress", "--metrics-port", "0"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    last = err.strip().splitlines()[-1] if err.strip() else ""
    if proc.returncode not in (0,):
        raise SystemExit(f"driftwarden run exited {proc.returncode}: {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024, last


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, nargs="+", default=[1, 100, 1000])
    ap.add_argument("--window", type=int, default=1000, help="count window size (events)")
    ap.add_argument("--windows", type=int, default=1, help="full windows per model")
    ap.add_argument("--min-events", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=20_000, help="reference rows per model")
    ap.add_argument("--no-sample", action="store_true", help="models without the per-window drill-down sample")
    ap.add_argument("--keep", type=Path, default=None, help="directory for the database and files (kept)")
    args = ap.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="dw-many-"))
    workdir.mkdir(parents=True, exist_ok=True)
    top = max(args.models)
    url = f"sqlite:///{workdir / 'bench.sqlite'}"
    full_config = workdir / f"models-{top}.yaml"
    write_config(full_config, top, args.window)
    marker = workdir / f"registered-{top}-{args.rows}"
    if not marker.exists():
        seconds = register(url, top, args.rows, full_config)
        marker.write_text(f"{seconds:.1f}\n")
        print(f"registered {top} references of {args.rows} rows in {seconds:.1f} s", file=sys.stderr)
    empty = workdir / "empty.jsonl"
    empty.write_bytes(b"")
    rows = []
    for m in args.models:
        config = workdir / f"models-{m}.yaml"
        write_config(config, m, args.window, sample=not args.no_sample)
        n = max(m * args.window * args.windows, args.min_events)
        events = workdir / f"events-{m}-{n}.jsonl"
        if not events.exists():
            write_events(events, m, n)
        # a fresh copy of the database per M: window results are keyed by model and window
        run_db = workdir / "run.sqlite"
        shutil.copyfile(workdir / "bench.sqlite", run_db)
        run_url = f"sqlite:///{run_db}"
        try:
            idle_wall, idle_rss, _ = run_watcher(config, empty, run_url)
            wall, rss, last = run_watcher(config, events, run_url)
        finally:
            run_db.unlink()
        rate = n / max(wall - idle_wall, 1e-9)
        rows.append((m, n, idle_rss, idle_wall, rss, wall, rate, n / wall, last))
        print(f"  M={m}: {last}", file=sys.stderr)
    print(f"\n{N_NUMERIC + N_CATEGORICAL} features ({N_NUMERIC} numeric, {N_CATEGORICAL} categorical with 20 levels), "
          f"{args.rows:,}-row references (one per model), count windows of {args.window:,} events"
          f"{', no drill-down sample' if args.no_sample else ''}\n")
    print("| models | events | empty watcher: peak RSS, start-up | run: peak RSS | events/s (after start-up) "
          "| events/s (end to end) |")
    print("| --- | --- | --- | --- | --- | --- |")
    base = rows[0][6] if rows else 1.0
    for m, n, idle_rss, idle_wall, rss, _wall, rate, e2e, _ in rows:
        print(f"| {m:,} | {n:,} | {idle_rss:,.0f} MiB, {idle_wall:.1f} s | {rss:,.0f} MiB | {rate:,.0f} "
              f"({rate / base:.2f} of M={rows[0][0]}) | {e2e:,.0f} |")
    if args.keep is None:
        print(f"\n(files in {workdir}; remove it when done)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
