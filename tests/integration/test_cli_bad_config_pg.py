"""On PostgreSQL: a bad configuration leaves a fresh database without a single table; ``reference build``
migrates a new database by default and, with ``--no-migrate``, refuses it without creating anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect

from monitor.db.migrate import current_revision, head_revision


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    env["DRIFTWARDEN_METRICS_PORT"] = "0"
    env["DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:1"  # the broker must not be needed either
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize(("text", "key"), [
    ("models: {m: {features: {x: numeric}, window: {size: -1}}}\n", "models.m.window.size"),
    ("models: {m: {features: {x: numeric}, reference: {path: gone.parquet}}}\n", "models.m.reference.path"),
])
def test_bad_config_leaves_postgres_without_tables(pg_url: str, tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    done = _cli("run", "--config", "bad.yaml", "--source", "kafka", "--db", pg_url, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"driftwarden: error: bad.yaml: {key}: "), lines
    assert _tables(pg_url) == []


def test_reference_build_on_a_new_postgres_database(pg_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    pd.DataFrame({"x": rng.normal(size=300), "prediction": rng.uniform(size=300)}).to_parquet(
        tmp_path / "train.parquet")
    (tmp_path / "m.yaml").write_text("models: {m: {features: {x: numeric}, reference: {path: train.parquet}}}\n")
    refused = _cli("reference", "build", "m", "--config", "m.yaml", "-q", "--db", pg_url, "--no-migrate",
                   cwd=tmp_path)
    assert refused.returncode == 2
    assert "schema revision none (empty)" in refused.stderr and "driftwarden db upgrade" in refused.stderr
    assert _tables(pg_url) == []
    built = _cli("reference", "build", "m", "--config", "m.yaml", "-q", "--db", pg_url, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "registered version 1" in built.stdout and "300 rows" in built.stdout
    assert current_revision(pg_url) == head_revision()
