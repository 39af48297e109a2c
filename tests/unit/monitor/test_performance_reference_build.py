"""``driftwarden reference build --config`` registers the model's quality reference from its labelled
validation file: metric values equal detectors.performance on the same rows, the stored CBPE is the one
fitted on them, multiclass reads one column per class, regression has no CBPE, bad input exits 2 naming the
file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from detectors.performance import CBPE, binary_metrics, multiclass_metrics, regression_metrics
from monitor.cli import app
from monitor.db import make_engine, session_factory
from monitor.store.references import load_performance_references

BINARY = """
version: 1
models:
  m:
    features: {x: numeric}
    performance:
      task: binary_classification
      reference: {path: validation.parquet, prediction_column: score, label_column: y}
"""
MULTICLASS = """
version: 1
models:
  m:
    features: {x: numeric}
    prediction: {kind: probabilities}
    performance:
      task: multiclass_classification
      classes: [a, b, c]
      reference: {path: validation.parquet}
"""
REGRESSION = """
version: 1
models:
  m:
    features: {x: numeric}
    performance:
      task: regression
      reference: {path: validation.csv}
"""


def _build(tmp_path: Path, config: str) -> tuple[int, str]:
    (tmp_path / "watch.yaml").write_text(config)
    pd.DataFrame({"x": np.linspace(0, 1, 200), "prediction": np.linspace(0, 1, 200)}).to_parquet(
        tmp_path / "train.parquet")
    url = f"sqlite:///{tmp_path}/dw.db"
    out = CliRunner().invoke(app, ["reference", "build", "m", "--from", str(tmp_path / "train.parquet"),
                                   "--config", str(tmp_path / "watch.yaml"), "--db", url, "-q"])
    return out.exit_code, out.output


def _stored(tmp_path: Path) -> object:
    engine = make_engine(f"sqlite:///{tmp_path}/dw.db")
    with session_factory(engine)() as session:
        found = load_performance_references(session, ["m"])
    engine.dispose()
    return found["m"]


def test_binary_reference_is_registered_from_the_validation_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    score = rng.uniform(size=1500)
    y = (rng.uniform(size=1500) < score).astype(int)
    pd.DataFrame({"score": score, "y": y}).to_parquet(tmp_path / "validation.parquet")
    code, output = _build(tmp_path, BINARY)
    assert code == 0, output
    assert "performance reference of m registered version 1: 1500 labelled rows (roc_auc" in output
    ref = _stored(tmp_path)
    # labels 1/0 reach the metrics as True/False (positive class 1): the same rows through the same function
    want = binary_metrics((y == 1).tolist(), score.tolist(), positive_class=True, threshold=0.5,
                          metrics=list(ref.values), confidence=0.95)
    assert {m: v.to_dict() for m, v in ref.values.items()} == {m: v.to_dict() for m, v in want.items()}
    fitted = CBPE("binary_classification", positive_class=True, threshold=0.5,
                  metrics=[m for m in ref.values if m in ("roc_auc", "accuracy", "precision", "recall", "f1")]
                  ).fit(score.tolist(), (y == 1).tolist())
    assert ref.cbpe is not None and ref.cbpe.to_dict() == fitted.to_dict()
    # building again registers nothing new
    code, output = _build(tmp_path, BINARY)
    assert code == 0 and "unchanged, already registered as version 1" in output


def test_multiclass_reads_one_column_per_class(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    p = rng.dirichlet([2, 2, 2], size=900)
    y = np.array(["a", "b", "c"])[[rng.choice(3, p=row) for row in p]]
    frame = pd.DataFrame({"prediction_a": p[:, 0], "prediction_b": p[:, 1], "prediction_c": p[:, 2], "label": y})
    frame.to_parquet(tmp_path / "validation.parquet")
    code, output = _build(tmp_path, MULTICLASS)
    assert code == 0, output
    ref = _stored(tmp_path)
    want = multiclass_metrics(y.tolist(), p.tolist(), ["a", "b", "c"], metrics=list(ref.values), confidence=0.95)
    assert {m: v.to_dict() for m, v in ref.values.items()} == {m: v.to_dict() for m, v in want.items()}
    assert ref.cbpe is not None


def test_regression_has_no_cbpe(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    truth = rng.normal(size=400)
    pred = truth + rng.normal(scale=0.3, size=400)
    pd.DataFrame({"prediction": pred, "label": truth}).to_csv(tmp_path / "validation.csv", index=False)
    code, output = _build(tmp_path, REGRESSION)
    assert code == 0, output
    assert "no CBPE estimate for this task" in output
    ref = _stored(tmp_path)
    want = regression_metrics(truth.tolist(), pred.tolist(), metrics=list(ref.values), confidence=0.95)
    assert ref.cbpe is None
    assert {m: v.to_dict() for m, v in ref.values.items()} == {m: v.to_dict() for m, v in want.items()}


def test_bad_validation_data_exits_2_naming_the_file(tmp_path: Path) -> None:
    pd.DataFrame({"score": [0.2, 0.8], "y": [0, 7]}).to_parquet(tmp_path / "validation.parquet")
    code, output = _build(tmp_path, BINARY)
    assert code == 2
    assert "validation.parquet: label 7 of model 'm': unknown class" in output
    pd.DataFrame({"score": [0.2, 0.8]}).to_parquet(tmp_path / "validation.parquet")
    code, output = _build(tmp_path, BINARY)
    assert code == 2 and "column 'y'" in output and "absent" in output
    assert not (tmp_path / "dw.db").exists()  # bad input leaves the database untouched (not even created)
