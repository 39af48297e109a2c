"""The watcher and a second notification sender on one SQLite file (issue #17): lock errors, duplicate
deliveries, notifications left pending.

    .venv/bin/python bench/sqlite_notify.py [--events-per-hour 150] [--window 2h] [--checkpoint-interval 0.1]

In one run it:

1. generates the demo's scenario (``driftwarden scenario generate``) in a temporary directory, its config given
   ``--window`` windows and one route to three JSON destinations of a local receiver that keeps every
   (destination, ``Idempotency-Key``) it is posted;
2. builds the reference in a fresh SQLite file, then runs ``driftwarden notify --poll-interval 0.05`` beside
   ``driftwarden run`` over the scenario's events (``--checkpoint-interval``): the watcher's own sender thread
   and ``notify`` both deliver;
3. stops ``notify`` 3 s after the watcher ends.

It prints the ``database is locked`` lines of both logs, the posts received and the duplicates among them
(what a receiver deduplicating on the key drops), and the notification rows by status (``pending``: left
undelivered). ``PYTHONPATH=<another checkout>`` measures that checkout's code.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# This directory holds a script named like the `detectors` package: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _receiver() -> tuple[ThreadingHTTPServer, list[tuple[str, str]]]:
    posts: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append((self.path, str(self.headers.get("Idempotency-Key"))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, posts


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor.cli", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-hour", type=float, default=150.0)
    parser.add_argument("--window", default="2h", help="Window size of the scenario's config (its own: 1d).")
    parser.add_argument("--checkpoint-interval", type=float, default=0.1)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sqlite-notify-") as tmp:
        work = Path(tmp)
        subprocess.run(_cli("scenario", "generate", str(work), "--events-per-hour", str(opts.events_per_hour)),
                       check=True, capture_output=True)
        server, posts = _receiver()
        port = server.server_address[1]
        config = (work / "recommender.yaml").read_text().replace("size: 1d", f"size: {opts.window}")
        config += "notifications:\n  routes:\n    - name: all\n      destinations:\n" + "".join(
            f"        - {{type: json, url: http://127.0.0.1:{port}/{d}}}\n" for d in "abc")
        (work / "cfg.yaml").write_text(config)
        db = work / "dw.db"
        url = f"sqlite:///{db}"
        subprocess.run(_cli("reference", "build", "recommender", "--config", "cfg.yaml", "--db", url, "-q"),
                       check=True, capture_output=True, cwd=work)
        with open(work / "notify.log", "w") as notify_log, open(work / "run.log", "w") as run_log:
            notify = subprocess.Popen(_cli("notify", "--config", "cfg.yaml", "--db", url, "--poll-interval", "0.05"),
                                      stdout=notify_log, stderr=notify_log, cwd=work, env=os.environ)
            started = time.monotonic()
            done = subprocess.run(_cli("run", "--config", "cfg.yaml", "--source", "events.jsonl", "--db", url,
                                       "--checkpoint-interval", str(opts.checkpoint_interval), "--no-progress",
                                       "--metrics-port", "0"), stdout=run_log, stderr=run_log, cwd=work)
            seconds = time.monotonic() - started
            time.sleep(3)
            notify.send_signal(signal.SIGTERM)
            notify.wait(30)
        server.shutdown()
        locked = {name: (work / f"{name}.log").read_text().count("database is locked") for name in ("run", "notify")}
        with sqlite3.connect(db) as conn:
            statuses = dict(conn.execute("SELECT status, count(*) FROM notifications GROUP BY status").fetchall())
        print(f"watcher: exit {done.returncode} in {seconds:.0f} s; "
              f"lock errors: watcher {locked['run']}, notify {locked['notify']}")
        print(f"posts received {len(posts)}, distinct (destination, key) {len(set(posts))}, "
              f"duplicates {len(posts) - len(set(posts))}")
        print(f"notification rows by status: {statuses} (pending: {statuses.get('pending', 0)})")


if __name__ == "__main__":
    main()
