"""``driftwarden reference build --all --config FILE`` on an embedded SQLite: every model in one process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from monitor.cli import app
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import ModelRow, ReferenceRow

CONFIG = """
models:
  a:
    features: {tenure: numeric, genre: categorical}
    reference: {path: a.parquet}
  b:
    features: {tenure: numeric, genre: categorical}
    reference: {path: b.parquet}
  broken:
    features: {tenure: numeric, absent: numeric}
    reference: {path: a.parquet}
  nopath:
    features: {tenure: numeric}
"""


def _registered(db: str) -> dict[str, list[int]]:
    engine = make_engine(db)
    try:
        with session_factory(engine)() as s:
            rows = s.query(ModelRow.name, ReferenceRow.version).join(ReferenceRow).all()
    finally:
        engine.dispose()
    out: dict[str, list[int]] = {}
    for name, version in rows:
        out.setdefault(name, []).append(version)
    return out


def test_build_all_registers_every_good_model_and_reports_each_failure(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name, loc in (("a", 0.0), ("b", 1.0)):
        pd.DataFrame({"tenure": rng.normal(loc, 1, 800), "genre": rng.choice(list("xyz"), 800)}).to_parquet(
            tmp_path / f"{name}.parquet")
    (tmp_path / "monitor.yaml").write_text(CONFIG)
    db = f"sqlite:///{tmp_path}/dw.db"
    upgrade(db)
    args = ["reference", "build", "--all", "--config", str(tmp_path / "monitor.yaml"), "-q"]
    result = CliRunner().invoke(app, args, env={"DRIFTWARDEN_DATABASE_URL": db})
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("driftwarden: error:")]
    assert len(errors) == 2, result.output
    assert "'absent'" in errors[0] and "'nopath'" in errors[1]
    assert "references of 2 of 4 models built (2 new versions, 2 failed)" in result.output
    assert _registered(db) == {"a": [1], "b": [1]}
    # again without the bad models: nothing new, exit 0
    (tmp_path / "good.yaml").write_text(CONFIG.split("  broken:")[0])
    args[4] = str(tmp_path / "good.yaml")
    result = CliRunner().invoke(app, args, env={"DRIFTWARDEN_DATABASE_URL": db})
    assert result.exit_code == 0 and "(0 new versions, 0 failed)" in result.output, result.output


def test_build_all_needs_a_config_and_no_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["reference", "build", "--all", "rec", "--config", "x.yaml"],
                                env={"DRIFTWARDEN_DATABASE_URL": f"sqlite:///{tmp_path}/dw.db"})
    assert result.exit_code == 2 and "--all builds every model of --config" in result.output
