"""``driftwarden run`` / ``replay`` as a user types them: file sources (JSONL and Parquet), exit codes, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor.cli import app

runner = CliRunner()

CONFIG = {"version": 1, "models": {"m": {"features": {"x": "numeric", "c": "categorical"},
                                         "window": {"type": "count", "size": 10}}}}


def _events(n: int) -> list[dict[str, object]]:
    return [{"model": "m", "model_version": "1", "event_id": f"e{i}",
             "ts": f"2026-11-02T00:{i // 60:02d}:{i % 60:02d}Z",
             "features": {"x": i * 0.5, "c": "ab"[i % 2]}, "prediction": (i % 10) / 10} for i in range(n)]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "watch.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
    engine.dispose()
    return n


def test_run_jsonl_to_the_end(tmp_path: Path, config: Path, sqlite_url: str) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in _events(35)) + "\n{broken\n")
    result = runner.invoke(app, ["run", "--config", str(config), "--source", str(events), "--db", sqlite_url,
                                 "--metrics-port", "0"])
    assert result.exit_code == 0, result.output
    assert "36 messages, 4 windows, 1 dead letters, stopped by end_of_source" in result.output
    assert _count(sqlite_url, "window_results") == 4 and _count(sqlite_url, "dead_letters") == 1


def test_run_shows_a_progress_bar_over_a_file(tmp_path: Path, config: Path, sqlite_url: str) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in _events(35)) + "\n")
    result = runner.invoke(app, ["run", "--config", str(config), "--source", str(events), "--db", sqlite_url,
                                 "--metrics-port", "0", "--progress"])
    assert result.exit_code == 0, result.output
    assert "events.jsonl: 100%" in result.output and re.search(r"35(\.0)?/35(\.0)? ", result.output), result.output
    result = runner.invoke(app, ["run", "--config", str(config), "--source", str(events), "--db", f"{sqlite_url}2",
                                 "--metrics-port", "0", "--no-progress"])
    assert result.exit_code == 0 and "events.jsonl:" not in result.output, result.output


def test_file_event_count_of_parquet_and_jsonl(tmp_path: Path) -> None:
    from monitor.sources.progress import file_event_count

    pq.write_table(pa.table({"a": list(range(1234))}), tmp_path / "e.parquet")
    assert file_event_count(tmp_path / "e.parquet") == 1234
    (tmp_path / "e.jsonl").write_bytes(b"{}\n" * 7)
    assert file_event_count(tmp_path / "e.jsonl") == 7
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert file_event_count(tmp_path / "empty.jsonl") == 0


def test_run_parquet_to_the_end(tmp_path: Path, config: Path, sqlite_url: str) -> None:
    rows = _events(20)
    table = pa.table({
        "model": [r["model"] for r in rows], "model_version": [r["model_version"] for r in rows],
        "event_id": [r["event_id"] for r in rows], "ts": [r["ts"] for r in rows],
        "features.x": [r["features"]["x"] for r in rows],  # type: ignore[index]
        "features.c": [r["features"]["c"] for r in rows],  # type: ignore[index]
        "prediction": [r["prediction"] for r in rows],
    })
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    result = runner.invoke(app, ["run", "--config", str(config), "--source", str(path), "--db", sqlite_url,
                                 "--metrics-port", "0"])
    assert result.exit_code == 0, result.output
    assert _count(sqlite_url, "window_results") == 2 and _count(sqlite_url, "dead_letters") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "nope.jsonl"], "--source: 'nope.jsonl' is neither 'kafka' nor an existing file"),
        (["--config", "missing.yaml"], "missing.yaml: cannot be read"),
    ],
)
def test_run_bad_input_is_one_line_exit_2(tmp_path: Path, config: Path, sqlite_url: str, args: list[str],
                                          message: str) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps(_events(1)[0]) + "\n")
    base = {"--config": str(config), "--source": str(events), "--db": sqlite_url, "--metrics-port": "0"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = runner.invoke(app, ["run", *[x for kv in base.items() for x in kv]])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("driftwarden: error:") == 1


def test_replay_rejects_same_topics_and_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", str(tmp_path / "none.jsonl"), "--to-kafka", "t"])
    assert result.exit_code == 2 and "does not exist" in result.output
    events = tmp_path / "e.jsonl"
    events.write_text("{}\n")
    result = runner.invoke(app, ["replay", str(events), "--to-kafka", "t", "--outcomes-topic", "t"])
    assert result.exit_code == 2 and "must differ" in result.output


def test_help_of_both_commands() -> None:
    for command in ("run", "replay"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
