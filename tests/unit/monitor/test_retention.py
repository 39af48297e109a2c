"""Retention: the watcher prunes in small batches inside its persist transactions, so the database stops
growing under a long stream; ``driftwarden prune`` applies the same policy; bad values stop at start.

The stream is the scenario generator's (a recommender, labels arriving late), watched from its file into
SQLite with 6-hour windows: 40 windows over 10 days. Bounds come from the policy, not from the code.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config.settings import Settings
from monitor.db import make_engine, upgrade

DAYS = 10
POLICY = {"samples": "1d", "feature_results": "2d", "window_results": "4d", "interval": 0, "batch_size": 500}


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                    for t in ("window_results", "feature_results", "window_samples", "alerts",
                              "metric_values")}
    finally:
        engine.dispose()


def _cited(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM window_results WHERE id IN (SELECT first_window_id FROM alerts "
                "UNION SELECT last_window_id FROM alerts)")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from scenario import generate_scenario

    out = tmp_path_factory.mktemp("retention")
    return generate_scenario(out / "scenario", seed=5, days=DAYS, events_per_hour=40, reference_rows=2000,
                             validation_rows=2000)


def _config(stream: Any, out: Path, retention: dict[str, Any] | None) -> Path:
    raw = yaml.safe_load(stream.config.read_text())
    model = raw["models"]["recommender"]
    model["window"] = {"type": "time", "size": "6h", "allowed_lateness": "30m"}
    model["reference"]["path"] = str(stream.reference)
    model["performance"]["reference"]["path"] = str(stream.validation)
    model["label_ttl"] = "2d"
    model["outcome_join_ttl"] = "1h"
    if retention is not None:
        raw["retention"] = retention
    path = out / f"watch-{'on' if retention else 'off'}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _watch(stream: Any, config: Path, url: str) -> None:
    from scenario.runner import build_scenario_reference, watch_scenario

    files = dataclasses.replace(stream, config=config)
    upgrade(url)
    build_scenario_reference(files, url)
    result = watch_scenario(files, url, Settings(database_url=url))
    assert result.clean, result


def test_database_stops_growing_under_a_long_stream(stream: Any, tmp_path: Path) -> None:
    kept_url, all_url = f"sqlite:///{tmp_path}/kept.db", f"sqlite:///{tmp_path}/all.db"
    _watch(stream, _config(stream, tmp_path, POLICY), kept_url)
    _watch(stream, _config(stream, tmp_path, None), all_url)
    everything, kept = _counts(all_url), _counts(kept_url)
    windows_per_day = 4
    assert everything["window_results"] >= DAYS * windows_per_day - 1  # the stream made ~40 windows
    per_window = everything["feature_results"] / everything["window_results"]
    # Within the policy (+1 window at each boundary), whatever the stream's length:
    assert kept["window_samples"] <= 1 * windows_per_day + 1
    assert kept["feature_results"] <= (2 * windows_per_day + 1) * per_window
    assert kept["window_results"] <= 4 * windows_per_day + 1 + _cited(kept_url)
    assert kept["alerts"] == everything["alerts"]  # alerts are kept, and the windows they cite
    assert _cited(kept_url) == _cited(all_url)

    # The policy applied afterwards by the command: the same bounds, then nothing more to do.
    runner = CliRunner()
    done = runner.invoke(app, ["prune", "--config", str(_config(stream, tmp_path, POLICY)), "--db", all_url,
                               "--dry-run", "--json"])
    assert done.exit_code == 0, done.stderr
    due = json.loads(done.stdout)["rows"]
    assert due["window_results"] > 0 and due["dead_letters"] == 0
    assert _counts(all_url) == everything  # a dry run deletes nothing
    done = runner.invoke(app, ["prune", "--config", str(_config(stream, tmp_path, POLICY)), "--db", all_url,
                               "--json"])
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == due
    pruned = _counts(all_url)
    assert pruned["window_samples"] <= 1 * windows_per_day + 1
    assert pruned["window_results"] == everything["window_results"] - due["window_results"]


@pytest.mark.parametrize(("retention", "words"), [
    ({"samples": "soon"}, ["retention.samples", "'soon' is not a duration"]),
    ({"sample": "14d"}, ["retention.sample"]),
    ({"batch_size": 0}, ["retention.batch_size"]),
    ({"window_results": "1d"}, ["retention.window_results", "label_ttl"]),
])
def test_bad_retention_is_one_line_naming_the_key(stream: Any, tmp_path: Path, retention: dict[str, Any],
                                                   words: list[str]) -> None:
    config = _config(stream, tmp_path, retention)
    done = CliRunner().invoke(app, ["prune", "--config", str(config), "--db", f"sqlite:///{tmp_path}/x.db"])
    assert done.exit_code == 2
    assert done.stderr.count("\n") == 1, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
