"""Bad configuration never reaches the database; every command that opens the database migrates it first
(``--no-migrate``: refuse a database not at the newest schema revision, without touching it).

``run`` is started as a user starts it (a subprocess), so stderr is exactly what a user sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import parse_config
from monitor.config.loader import check_reference_files
from monitor.db.migrate import current_revision, head_revision

GOOD = "models: {m: {features: {x: numeric}, window: {type: count, size: 10}, reference: {path: train.parquet}}}\n"
BAD_CONFIGS = {
    # name: (config text, words the one stderr line must hold besides the file name)
    "yaml": ("models: [\n", ["is not valid YAML", "line 2"]),
    "schema": ("models: {m: {features: {x: numeric}, window: {size: 0}}}\n", ["models.m.window", "size must be > 0"]),
    "missing_reference": ("models: {m: {features: {x: numeric}, reference: {path: nope.parquet}}}\n",
                          ["models.m.reference.path", "nope.parquet", "does not exist"]),
    "reference_not_parquet": ("models: {m: {features: {x: numeric}, reference: {path: mislabeled.parquet}}}\n",
                              ["models.m.reference.path", "mislabeled.parquet", "not a readable Parquet file",
                               "JSON Lines"]),
    "reference_unknown_format": ("models: {m: {features: {x: numeric}, reference: {path: train.xlsx}}}\n",
                                 ["models.m.reference.path", "train.xlsx", "unknown extension"]),
    "route_unknown_service": (GOOD.rstrip() + "\nnotifications: {routes: [{name: r, destinations: "
                              "[{type: apprise, url: 'nosuchservice://token'}]}]}\n",
                              ["notifications.routes.0.destinations.0.url", "Apprise", "nosuchservice"]),
    "route_bad_url": (GOOD.rstrip() + "\nnotifications: {routes: [{name: r, destinations: "
                      "[{type: slack, url: 'hooks.example.com/x'}]}]}\n",
                      ["notifications.routes.0.destinations.0.url", "http:// or https://"]),
    "route_unset_variable": (GOOD.rstrip() + "\nnotifications: {routes: [{name: r, destinations: "
                             "[{type: json, url_env: DW_TEST_UNSET_HOOK}]}]}\n",
                             ["notifications.routes.0.destinations.0.url_env", "DW_TEST_UNSET_HOOK", "not set"]),
    "route_unknown_type": (GOOD.rstrip() + "\nnotifications: {routes: [{name: r, destinations: "
                           "[{type: pager, url: 'https://x'}]}]}\n",
                           ["notifications.routes.0.destinations.0.type", "pager"]),
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    pd.DataFrame({"x": rng.normal(size=400), "prediction": rng.uniform(size=400)}).to_parquet(
        tmp_path / "train.parquet")
    events = [{"model": "m", "model_version": "1", "event_id": f"e{i}", "ts": f"2026-11-02T00:00:{i:02d}Z",
               "features": {"x": float(i)}, "prediction": 0.5} for i in range(12)]
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    (tmp_path / "mislabeled.parquet").write_text((tmp_path / "events.jsonl").read_text())
    (tmp_path / "train.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (tmp_path / "good.yaml").write_text(GOOD)
    return tmp_path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``driftwarden ARGS`` in a fresh interpreter, with no DRIFTWARDEN_* variable of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    env["DRIFTWARDEN_METRICS_PORT"] = "0"
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"DRIFTWARDEN_DATABASE_URL": "sqlite://"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_leaves_no_database_and_prints_one_line(workdir: Path, case: str) -> None:
    text, words = BAD_CONFIGS[case]
    (workdir / "bad.yaml").write_text(text)
    db = workdir / "fresh.db"
    done = run_cli("run", "--config", "bad.yaml", "--source", "events.jsonl", "--db", f"sqlite:///{db}",
                   cwd=workdir)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("driftwarden: error: bad.yaml: ")
    for word in words:
        assert word in lines[0]
    assert not list(workdir.glob("fresh.db*"))  # neither the file nor its -wal/-shm


def test_run_on_a_new_database_logs_one_migration_line(workdir: Path) -> None:
    db = f"sqlite:///{workdir / 'new.db'}"
    done = run_cli("run", "--config", "good.yaml", "--source", "events.jsonl", "--db", db, "--no-progress",
                   cwd=workdir)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    migration = [r for r in records if r["logger"].startswith(("alembic", "monitor.db"))]
    assert [(r["msg"], r["from"], r["to"]) for r in migration] == [("database schema upgraded", None,
                                                                    head_revision())]
    assert current_revision(db) == head_revision()
    again = run_cli("run", "--config", "good.yaml", "--source", "events.jsonl", "--db", db, "--no-progress",
                    cwd=workdir)
    assert again.returncode == 0 and "schema" not in again.stderr  # at head already: nothing logged


def test_reference_build_migrates_a_new_database(workdir: Path) -> None:
    db = f"sqlite:///{workdir / 'new.db'}"
    code, out = invoke("reference", "build", "m", "--config", str(workdir / "good.yaml"), "-q", "--db", db)
    assert code == 0, out
    assert "registered version 1" in out and "400 rows" in out
    assert current_revision(db) == head_revision()


def test_no_migrate_refuses_a_new_sqlite_file_without_creating_it(workdir: Path) -> None:
    db = workdir / "new.db"
    for args in (["reference", "build", "m", "--config", str(workdir / "good.yaml"), "-q"],
                 ["reference", "list", "m"], ["alerts", "list"],
                 ["run", "--config", str(workdir / "good.yaml"), "--source", str(workdir / "events.jsonl")]):
        code, out = invoke(*args, "--db", f"sqlite:///{db}", "--no-migrate")
        assert code == 2, (args, out)
        assert "does not exist (--no-migrate)" in out and "driftwarden db upgrade" in out, (args, out)
        assert not db.exists(), args


def test_no_migrate_refuses_an_empty_schema_without_changing_it(workdir: Path) -> None:
    db = workdir / "empty.db"
    create_engine(f"sqlite:///{db}").connect().close()  # an existing, empty SQLite file
    code, out = invoke("alerts", "list", "--db", f"sqlite:///{db}", "--no-migrate")
    assert code == 2
    assert f"is at schema revision none (empty), this driftwarden needs {head_revision()}" in out
    engine = create_engine(f"sqlite:///{db}")
    assert inspect(engine).get_table_names() == []
    engine.dispose()


@pytest.mark.parametrize("args", [["alerts", "list"], ["reference", "list", "m"]])
def test_every_database_command_migrates_by_default(workdir: Path, args: list[str]) -> None:
    db = f"sqlite:///{workdir / 'new.db'}"
    code, out = invoke(*args, "--db", db)
    assert code == 0, out
    assert current_revision(db) == head_revision()


@pytest.mark.parametrize("name", ["train.csv", "train.jsonl", "train.parquet"])
def test_a_reference_may_be_parquet_csv_or_json_lines(workdir: Path, name: str) -> None:
    frame = pd.read_parquet(workdir / "train.parquet")
    if name.endswith(".csv"):
        frame.to_csv(workdir / name, index=False)
    elif name.endswith(".jsonl"):
        frame.to_json(workdir / name, orient="records", lines=True)
    config = parse_config(f"models: {{m: {{features: {{x: numeric}}, reference: {{path: {name}}}}}}}\n",
                          source=workdir / "inline.yaml")
    check_reference_files(config)  # raises ConfigError otherwise
