"""Soak: a long replay through the real broker into PostgreSQL, the watcher killed with SIGKILL again and again.

    .venv/bin/python bench/soak.py [--events 1000000] [--kills 20] [--seed N]

Needs the real services (``eval "$(scripts/postgres-local start)"; eval "$(scripts/kafka-local start)"``); not
part of ``make test``. It uses the replay and the comparison of ``tests/integration/test_crash_sigkill.py``
(three models on two co-partitioned 3-partition topics, bad messages mixed in), at soak size:

1. generates about ``--events`` events (predictions and outcomes; the days are ``--days``) and produces them;
2. runs ``driftwarden run`` uninterrupted to the end into a fresh database (in one process);
3. runs it again, in a second database and consumer group, killing it with SIGKILL ``--kills`` times at
   random points of the stream (each kill after a random stretch of stored progress plus 0-0.4 s), every
   other watcher with its consumer in a child process (``--fetch-process``), then lets one finish;
4. prints, per kind of stored row (windows, feature results, metric values, model quality, samples, alerts
   and their events, incidents, dead letters, offsets, open-window checkpoints, and the notifications written
   to the outbox), whether the killed run's rows equal the uninterrupted run's, and exits 1 if any differs.

Notifications are compared without the database ids they carry (alert, window and notification ids come
from sequences, which a rolled-back transaction advances): their kind, model, cause kind and every alert's
content must be equal, notification by notification (sorted by content, and so are the alerts of each: they
come in the order of their ids).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# bench/detectors.py is named like the package: drop bench/ from the path; the repository root gives `tests`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from tests.integration import test_crash_sigkill as crash  # noqa: E402

IDS = {"id", "key", "alert_id", "window_id", "first_window_id", "last_window_id", "incident_id", "url",
       "dashboard_url"}


WINDOW_ID = re.compile(r"(window:|labels:|#)\d+")  # "window:41", "labels:41", "alert #7"


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in IDS}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    if isinstance(value, str):
        return WINDOW_ID.sub(r"\1", value)  # a cause, and a title, name windows and alerts by their ids
    return value


def notifications(url: str) -> list[Any]:
    """The outbox's notifications (one row each before routing), sorted by content: models on different
    partitions persist in an order of their own, so the order of writing is not compared."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT payload FROM notifications WHERE destination = '*' ORDER BY id")).all()
    finally:
        engine.dispose()
    found = [_without_ids(row[0]) for row in rows]
    for notification in found:  # its alerts come in the order of their ids
        notification["alerts"] = sorted(notification.get("alerts", []), key=_canonical)
    return sorted(found, key=_canonical)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def watch_to_end(config: Path, url: str, bootstrap: str, topics: tuple[str, str], group: str, log: Path,
                 ends: dict[tuple[str, int], int], kind: str) -> None:
    mark = log.stat().st_size if log.exists() else 0
    proc = crash.start_watcher(config, url, bootstrap, topics, group, log, kind)
    crash.wait_assigned(log, mark, proc)
    crash.wait_consumed(url, group, ends, proc, log, timeout=6 * 3600)
    crash.stop_watcher(proc, log)


def kill_repeatedly(config: Path, url: str, bootstrap: str, topics: tuple[str, str], group: str, log: Path,
                    total: int, kills: int, rng: random.Random) -> list[int]:
    """SIGKILL ``kills`` watchers, the i-th after a random point of the i-th of ``kills`` stretches of the stream
    (as in the crash test); returns the stored offsets after each kill."""
    progress: list[int] = []
    targets = [int(total * 0.95 * (i + rng.random()) / kills) for i in range(kills)]
    watch = create_engine(url)
    try:
        for i, target in enumerate(targets):
            mark = log.stat().st_size if log.exists() else 0
            proc = crash.start_watcher(config, url, bootstrap, topics, group, log,
                                       "--fetch-process" if i % 2 else "--no-fetch-process")
            crash.wait_assigned(log, mark, proc)
            before = sum(crash.stored_offsets(url, group).values())
            crash.wait_progress(watch, group, max(target, before + 1), proc, timeout=3600)
            time.sleep(rng.uniform(0.0, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            progress.append(sum(crash.stored_offsets(url, group).values()))
            print(f"  kill {i + 1}/{kills} ({'fetch process' if i % 2 else 'one process'}): stored offsets "
                  f"{progress[-1]:,} of {total:,}", flush=True)
    finally:
        watch.dispose()
    return progress


def compare(expected: dict[str, list[Any]], got: dict[str, list[Any]]) -> bool:
    same_everywhere = True
    for name in expected:
        same = expected[name] == got[name]
        same_everywhere &= same
        print(f"{name:>14}: {len(expected[name]):>8,} rows uninterrupted, {len(got[name]):>8,} killed: "
              f"{'equal' if same else 'DIFFERENT'}")
        for want, have in zip(expected[name], got[name], strict=False):
            if want != have:
                print(f"{'':>16}first difference: expected {str(want)[:1500]}\n{'':>16}got      {str(have)[:1500]}")
                break
    return same_everywhere


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="about this many events (default 1,000,000)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--bootstrap", default=os.environ.get("DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--database-url", default=os.environ.get("DRIFTWARDEN_DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.bootstrap or not (args.database_url or "").startswith("postgresql"):
        parser.error("needs DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS and a postgresql DRIFTWARDEN_DATABASE_URL "
                     "(eval \"$(scripts/postgres-local start)\"; eval \"$(scripts/kafka-local start)\")")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    rng = random.Random(seed)
    # The scenario makes about 2.55 events (predictions, outcomes) per recommendation.
    per_hour = args.events / (args.days * 24 * 2.55)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dw-soak-") as tmp:
        out = Path(tmp)
        events, config = crash.prepare_replay(out, days=args.days, per_hour=per_hour)
        topics = crash.create_topics(args.bootstrap, f"dw-soak-{uuid.uuid4().hex[:8]}")
        ends = crash.replay(args.bootstrap, events, *topics)
        total = sum(ends.values())
        print(f"soak seed={seed}: {total:,} events ({args.days} days, 3 models, 3 partitions) produced in "
              f"{time.monotonic() - started:.0f}s", flush=True)
        with crash.extra_database(args.database_url) as clean_url, \
                crash.extra_database(args.database_url) as killed_url:
            for url in (clean_url, killed_url):
                crash.register_references(config, out / "scenario" / "reference.parquet", url)
            run_id = uuid.uuid4().hex[:8]
            t0 = time.monotonic()
            watch_to_end(config, clean_url, args.bootstrap, topics, f"clean-{run_id}", out / "clean.log", ends,
                         "--no-fetch-process")
            print(f"uninterrupted run: {time.monotonic() - t0:.0f}s", flush=True)
            t0 = time.monotonic()
            log = out / "killed.log"
            progress = kill_repeatedly(config, killed_url, args.bootstrap, topics, f"killed-{run_id}", log, total,
                                       args.kills, rng)
            watch_to_end(config, killed_url, args.bootstrap, topics, f"killed-{run_id}", log, ends,
                         "--fetch-process")
            print(f"killed run: {len(progress)} SIGKILLs ({sum(0 < p < total for p in progress)} mid-stream), "
                  f"{time.monotonic() - t0:.0f}s", flush=True)
            for name in ("clean.log", "killed.log"):  # a timed merge release makes the order depend on timing
                silent = (out / name).read_text(errors="replace").count("a stream stayed silent")
                print(f"{name}: {silent} merge release(s) without a silent stream", flush=True)
            expected = {**crash.dump(clean_url), "notifications": notifications(clean_url)}
            got = {**crash.dump(killed_url), "notifications": notifications(killed_url)}
    equal = compare(expected, got)
    print(f"final windows, alerts, dead letters and notifications equal an uninterrupted run's: {equal} "
          f"(seed {seed}, {time.monotonic() - started:.0f}s in all)")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
