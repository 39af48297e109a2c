"""``driftwarden check --fail-on``: each condition's exit code (0/1/2) and the issue's case (#18) in the table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

Run = Callable[..., tuple[int, str, str]]


def test_issue_case_table_shows_what_to_act_on(run: Run, issue_files: dict[str, Path]) -> None:
    code, out, _ = run(issue_files["ref"], issue_files["cur"])
    assert code == 0  # no --fail-on: report only
    lines = out.splitlines()
    assert lines[0].split() == ["column", "kind", "test", "test", "statistic", "p_value", "p_adj", "effect",
                                "drifted", "if", "verdict"]
    age = next(line.split() for line in lines if line.startswith("age "))
    assert age[-1] == "DRIFT" and age[2] == "cramer_von_mises"
    # effect (KS D) and p_adj of age, as in the JSON
    data = json.loads(run(issue_files["ref"], issue_files["cur"], "--format", "json")[1])
    col = next(c for c in data["columns"] if c["name"] == "age")
    assert age[6] == f"{col['effect_size']:.4g}" and age[5] == f"{col['p_value_adjusted']:.4g}"
    assert age[3] == f"{col['statistic']:.4g}"  # the test statistic (CvM T), not the effect
    assert col["effect_size"] == pytest.approx(0.13, abs=0.03)
    income = next(line for line in lines if line.strip().startswith("income  missing_rate"))
    assert "0.04" in income and "200 of 5000" in income
    assert any(line.startswith("multivariate: ok: PCA reconstruction error") for line in lines)
    assert any(line.startswith("dataset: ok: 1/4 columns drifted") for line in lines)
    assert lines[-1] == ("checked (no --fail-on: exit 0): 1/4 columns drifted (age); 1 quality finding "
                         "(income: missing_rate); no multivariate drift; no dataset drift")


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        ([], 0),
        (["--fail-on-drift"], 0),  # 1/4 columns < the dataset share 0.5
        (["--fail-on", "dataset"], 0),
        (["--fail-on", "multivariate"], 0),
        (["--fail-on", "column"], 1),
        (["--fail-on", "quality"], 1),
        (["--fail-on", "any"], 1),
        (["--fail-on", "dataset,column"], 1),
        (["--fail-on", "dataset", "--fail-on", "quality"], 1),
    ],
)
def test_issue_case_exit_codes(run: Run, issue_files: dict[str, Path], fail_on: list[str], expected: int) -> None:
    code, out, _ = run(issue_files["ref"], issue_files["cur"], *fail_on)
    assert code == expected, out
    last = out.splitlines()[-1]
    if fail_on:
        assert last.startswith("FAIL" if expected else "PASS")


def test_unchanged_data_passes_every_condition(run: Run, issue_files: dict[str, Path]) -> None:
    code, out, _ = run(issue_files["ref"], issue_files["same"], "--fail-on", "any")
    assert code == 0, out
    assert out.splitlines()[-1].startswith("PASS (--fail-on dataset, column, multivariate, quality): 0/4 columns")


def test_dataset_and_multivariate_conditions_fail_when_they_hold(run: Run, tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    z = rng.normal(size=(4000, 2))
    pd.DataFrame({"a": z[:, 0], "b": z[:, 0] + 0.1 * z[:, 1]}).to_parquet(tmp_path / "ref.parquet")
    w = rng.normal(size=(2000, 2))  # same marginals, the correlation gone: joint drift only
    pd.DataFrame({"a": w[:, 0], "b": w[:, 1] * np.sqrt(1.01)}).to_parquet(tmp_path / "decor.parquet")
    pd.DataFrame({"a": w[:, 0] + 1, "b": w[:, 0] + 1}).to_parquet(tmp_path / "shift.parquet")
    code, out, _ = run(tmp_path / "ref.parquet", tmp_path / "decor.parquet", "--fail-on", "multivariate")
    assert code == 1 and "multivariate: DRIFT" in out, out
    assert run(tmp_path / "ref.parquet", tmp_path / "decor.parquet", "--fail-on", "dataset")[0] == 0
    code, out, _ = run(tmp_path / "ref.parquet", tmp_path / "shift.parquet", "--fail-on", "dataset")
    assert code == 1 and "dataset: DRIFT" in out


def test_json_carries_findings_and_gate(run: Run, issue_files: dict[str, Path]) -> None:
    code, out, _ = run(issue_files["ref"], issue_files["cur"], "--format", "json", "--fail-on", "quality")
    data = json.loads(out)
    assert code == 1 and data["gate"] == {"fail_on": ["quality"], "failed": ["quality"], "exit_code": 1}
    assert [(f["category"], f["column"], f["check"]) for f in data["findings"]] == [
        ("column", "age", "cramer_von_mises"), ("quality", "income", "missing_rate")]
    assert data["rules"] == "detectors"


def test_bad_fail_on_exits_2(run: Run, issue_files: dict[str, Path]) -> None:
    code, _, err = run(issue_files["ref"], issue_files["cur"], "--fail-on", "drift")
    assert code == 2
    assert "--fail-on 'drift': unknown condition; valid: dataset, column, multivariate, quality, any" in err


def test_help_documents_the_default(app) -> None:  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(app, ["check", "--help"], env={"COLUMNS": "200"})
    text = " ".join(res.stdout.replace("│", " ").split())  # the help is boxed
    assert res.exit_code == 0 and "--fail-on" in text and "Default: none, the check only reports and exits 0" in text
