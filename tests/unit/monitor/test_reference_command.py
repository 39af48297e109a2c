"""``driftwarden reference build|list`` and ``driftwarden alerts list|ack|resolve`` on an embedded SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from detectors import ReferenceProfile
from monitor.alerts.service import AlertService
from monitor.cli import app
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import ReferenceRow, WindowResult
from monitor.pipeline.alert_signals import Signal
from monitor.store.models_repo import get_or_create_model

CONFIG = """
models:
  rec:
    features: {tenure: numeric, genre: categorical, premium: binary}
    prediction: {kind: score, column: score}
    reference: {path: train.parquet}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    pd.DataFrame({
        "tenure": rng.normal(10, 2, 3000), "genre": rng.choice(list("abc"), 3000),
        "premium": rng.choice([0, 1], 3000), "score": rng.uniform(size=3000), "unused": 1.0,
    }).to_parquet(tmp_path / "train.parquet", row_group_size=500)
    (tmp_path / "monitor.yaml").write_text(CONFIG)
    return tmp_path


def invoke(*args: str, db: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"DRIFTWARDEN_DATABASE_URL": db})
    return result.exit_code, result.output


def test_build_registers_with_hash_and_version(workdir: Path) -> None:
    db = f"sqlite:///{workdir}/dw.db"
    upgrade(db)
    code, out = invoke("reference", "build", "rec", "--config", str(workdir / "monitor.yaml"), "-q", db=db)
    assert code == 0, out
    assert "registered version 1" in out and "3000 rows" in out
    code, out = invoke("reference", "build", "rec", "--from", str(workdir / "train.parquet"),
                       "--config", str(workdir / "monitor.yaml"), "-q", db=db)
    assert code == 0 and "unchanged" in out and "version 1" in out
    code, out = invoke("reference", "build", "rec", "--from", str(workdir / "train.parquet"), "-q", db=db)
    assert code == 0 and "version 2" in out  # no config: every column profiled, another content hash
    engine = make_engine(db)
    with session_factory(engine)() as s:
        rows = s.query(ReferenceRow).order_by(ReferenceRow.version).all()
        assert [r.version for r in rows] == [1, 2]
        first = ReferenceProfile.from_bytes(rows[0].profile)
        assert first.content_hash == rows[0].content_hash and first.version == 1
        assert first.kinds == {"tenure": "numeric", "genre": "categorical", "premium": "binary",
                               "score": "numeric"}
        assert rows[1].columns[-1] == "unused"
    engine.dispose()
    code, out = invoke("reference", "list", "rec", db=db)
    assert code == 0 and out.splitlines()[0].startswith("v1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "nope.parquet"], "nope.parquet: no such file"),
        (["--from", "{dir}/monitor.yaml"], "unsupported file type '.yaml'"),
        (["--config", "{dir}/missing.yaml"], "cannot be read"),
        ([], "no training data"),
    ],
)
def test_bad_input_exits_2_with_one_line(workdir: Path, args: list[str], message: str) -> None:
    db = f"sqlite:///{workdir}/dw.db"
    upgrade(db)
    code, out = invoke("reference", "build", "rec", "-q", *[a.format(dir=workdir) for a in args], db=db)
    assert code == 2 and message in out
    code, out = invoke("reference", "build", "other", "--config", str(workdir / "monitor.yaml"), "-q", db=db)
    assert code == 2 and "model 'other' is not in" in out


def test_without_schema_tells_to_upgrade(workdir: Path) -> None:
    code, out = invoke("reference", "build", "rec", "--from", str(workdir / "train.parquet"), "-q", "--no-migrate",
                       db=f"sqlite:///{workdir}/empty.db")
    assert code == 2 and "driftwarden db upgrade" in out


def test_alerts_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/dw.db"
    upgrade(db)
    engine = make_engine(db)
    sessions = session_factory(engine)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with sessions.begin() as s:
        m = get_or_create_model(s, "rec")
        w = WindowResult(model_id=m.id, window_key="count:0", window_start=now, window_end=now, n_events=1,
                         reference_version=1, preset="default", dataset_drift=False, drift_share=0.0, report={})
        s.add(w)
        s.flush()
        AlertService().process_window(s, "rec", w, [Signal("feature_drift", "warning", "x drifted", "x")])
    engine.dispose()
    code, out = invoke("alerts", "list", db=db)
    assert code == 0 and "#1" in out and "feature_drift [x]" in out and "open" in out
    code, out = invoke("alerts", "ack", "1", "--by", "ana", "--note", "on it", db=db)
    assert code == 0 and "acknowledged by ana" in out
    code, out = invoke("alerts", "resolve", "1", "--by", "ana", db=db)
    assert code == 0 and "resolved by ana" in out
    code, out = invoke("alerts", "list", db=db)
    assert "no alerts" in out
    code, out = invoke("alerts", "list", "--status", "all", "--json", db=db)
    assert '"ack_note": "on it"' in out and '"status": "resolved"' in out
    code, out = invoke("alerts", "ack", "1", "--by", "bob", db=db)
    assert code == 2 and "alert 1 is resolved" in out
    code, out = invoke("alerts", "resolve", "42", "--by", "bob", db=db)
    assert code == 2 and "alert 42 does not exist" in out
    code, out = invoke("alerts", "list", "--status", "weird", db=db)
    assert code == 2
