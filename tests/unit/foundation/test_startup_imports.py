"""The watcher's start-up memory: `driftwarden run` on a file source, before its first window closes, loads
none of the libraries only other commands or later code paths need (each costs tens of MB of RSS per
process; `bench/many_models.py` prints the empty watcher's peak RSS)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

NOT_AT_STARTUP = ("scipy.stats", "scipy.optimize", "scipy.spatial", "sklearn", "evidently", "kafka",
                  "scenario.generate", "monitor.check.batch", "jinja2")

PROBE = """
import json, runpy, sys
sys.argv = ["driftwarden", "run", "--config", sys.argv[1], "--source", sys.argv[2], "--db", sys.argv[3],
            "--no-progress", "--metrics-port", "0"]
try:
    runpy.run_module("monitor.cli", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def test_empty_file_watcher_loads_no_heavy_library(tmp_path: Path) -> None:
    config = tmp_path / "models.yaml"
    config.write_text("version: 1\nmodels:\n  m:\n    features: {a: numeric, b: categorical}\n"
                      "    prediction: {kind: score, column: prediction}\n    window: {type: count, size: 10}\n")
    source = tmp_path / "events.jsonl"
    source.write_text("")
    out = subprocess.run([sys.executable, "-c", PROBE, str(config), str(source), f"sqlite:///{tmp_path / 'db'}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not [m for m in NOT_AT_STARTUP if m in loaded]
