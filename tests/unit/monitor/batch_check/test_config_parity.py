"""``check --config FILE --model NAME`` judges a batch as the watcher judges a window of the same rows.

The watcher side is the real pipeline: ``ModelState`` + ``OpenWindow.add`` row by row + ``finish_window``,
with the profile that ``reference build --config`` registers (``build_profile``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.commands.reference import build_profile
from monitor.config import load_config
from monitor.pipeline.finish import finish_window
from monitor.pipeline.model_state import ModelState
from monitor.pipeline.windower import Span

from .conftest import N_ROWS, issue_frames

Run = Callable[..., tuple[int, str, str]]

CONFIG = """
models:
  rec:
    features: {age: numeric, income: numeric, city: categorical}
    prediction: {kind: score, column: score}
    window: {size: %d}
    tests: {city: psi}
    thresholds: {city: 0.1}
    alpha: 0.001
    alerts: {missing_rate_jump: %s}
"""


def _files(tmp_path: Path, jump: str = "0.03") -> tuple[Path, Path, Path]:
    ref, cur = issue_frames()
    ref.to_parquet(tmp_path / "train.parquet")
    cur.to_parquet(tmp_path / "today.parquet")
    (tmp_path / "monitor.yaml").write_text(CONFIG % (N_ROWS, jump))
    return tmp_path / "train.parquet", tmp_path / "today.parquet", tmp_path / "monitor.yaml"


def _watcher(train: Path, today: Path, config: Path) -> tuple[dict, list[tuple[str, str | None, str]]]:  # type: ignore[type-arg]
    import pandas as pd

    cfg = load_config(config).models["rec"]
    profile = build_profile("rec", train, config, progress=False)
    state = ModelState(cfg, profile)
    window = state.open_window(Span("count:0", 0, N_ROWS))
    frame = pd.read_parquet(today)
    columns = tuple(cfg.columns)
    for i, values in enumerate(frame[list(columns)].itertuples(index=False, name=None)):
        row = tuple(None if isinstance(v, float) and math.isnan(v) else v for v in values)
        window.add(row, columns, float(i), f"e{i}", "v1", row[-1], {})
    closed = finish_window(state, window)
    return closed.report, sorted((s.signal, s.feature, s.severity) for s in closed.signals)


def test_gate_and_watcher_judge_alike(run: Run, tmp_path: Path) -> None:
    train, today, config = _files(tmp_path)
    code, out, err = run(train, today, "--config", config, "--model", "rec", "--format", "json",
                         "--fail-on", "column", "--fail-on", "quality")
    assert code == 1, err
    gate = json.loads(out)
    watcher, signals = _watcher(train, today, config)
    assert gate["profile_hash"] == watcher["profile_hash"]  # the same reference profile
    assert [(c["name"], c["test"], c["drifted"], c["threshold"]) for c in gate["columns"]] == [
        (c["name"], c["test"], c["drifted"], c["threshold"]) for c in watcher["columns"]]
    assert next(c for c in gate["columns"] if c["name"] == "city")["test"] == "psi"  # the model's test
    for mine, theirs in zip(gate["columns"], watcher["columns"], strict=True):
        for key in ("statistic", "p_value", "p_value_adjusted", "effect_size"):
            if theirs[key] is None:
                assert mine[key] is None
            else:  # one batch update vs 512-row buffers: summation order may differ in the last bits
                assert mine[key] == pytest.approx(theirs[key], rel=1e-9), (mine["name"], key)
    assert gate["dataset_drift"] == watcher["dataset_drift"]
    assert gate["multivariate"]["drifted"] == watcher["multivariate"]["drifted"]
    assert sorted((s["signal"], s["feature"], s["severity"]) for s in gate["signals"]) == signals
    assert signals == [("data_quality", "income:missing_rate", "warning"), ("feature_drift", "age", "warning")]
    assert [(f["category"], f["column"], f["check"]) for f in gate["findings"]] == [
        ("column", "age", "feature_drift"), ("quality", "income", "missing_rate")]
    assert gate["rules"] == "model 'rec'" and gate["gate"]["failed"] == ["column", "quality"]


def test_model_alert_policy_decides_quality(run: Run, tmp_path: Path) -> None:
    """With the watcher's default jump (0.10) a 4-point rise of the missing rate is no alert: nor a gate failure."""
    train, today, config = _files(tmp_path, jump="0.10")
    code, out, _ = run(train, today, "--config", config, "--model", "rec", "--fail-on", "quality")
    assert code == 0, out
    assert "quality: no finding (model 'rec' rules)" in out
    _, signals = _watcher(train, today, config)
    assert not [s for s in signals if s[0] == "data_quality"]


def test_config_errors_exit_2(run: Run, tmp_path: Path) -> None:
    train, today, config = _files(tmp_path)
    code, _, err = run(train, today, "--config", config)
    assert code == 2 and "--config and --model go together" in err
    code, _, err = run(train, today, "--config", config, "--model", "nope")
    assert code == 2 and "monitor.yaml: model 'nope' is not in the file (models: rec)" in err
    import pandas as pd

    pd.read_parquet(train).drop(columns=["city"]).to_parquet(tmp_path / "nocity.parquet")
    code, _, err = run(tmp_path / "nocity.parquet", today, "--config", config, "--model", "rec")
    assert code == 2 and "nocity.parquet: column 'city' (a feature of model 'rec') is absent" in err
