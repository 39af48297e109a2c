"""``driftwarden check``: output formats, exit codes (0, 1 with --fail-on-drift, 2 on bad input).

The --fail-on gate, the table, --config/--model, the HTML reports and the readers: tests/unit/monitor/check/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from monitor.commands.check import register


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """Test root (so that ``check`` stays a subcommand)."""

    register(app)
    return app


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(shift, 1, size=n),
        "y": rng.normal(shift, 1, size=n),
        "city": rng.choice(["paris", "rome", "oslo"], size=n),
    })


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {
        "ref": tmp_path / "ref.parquet",
        "same": tmp_path / "same.csv",
        "drift": tmp_path / "drift.parquet",
    }
    _frame(2000, 0).to_parquet(out["ref"])
    _frame(2000, 1).to_csv(out["same"], index=False)
    _frame(2000, 2, shift=1.0).to_parquet(out["drift"])
    return out


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["check", *args])
    return res.exit_code, res.stdout, res.stderr


def test_json_output_and_exit_zero(app: typer.Typer, files: dict[str, Path]) -> None:
    code, out, _ = run(app, str(files["ref"]), str(files["same"]), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["dataset_drift"] is False and data["drift_share"] == 0.0
    for col in data["columns"]:
        assert {"name", "kind", "test", "statistic", "p_value", "threshold", "drifted"} <= set(col)


def test_fail_on_drift_is_a_ci_gate(app: typer.Typer, files: dict[str, Path]) -> None:
    assert run(app, str(files["ref"]), str(files["drift"]))[0] == 0
    code, out, _ = run(app, str(files["ref"]), str(files["drift"]), "--fail-on-drift")
    assert code == 1 and "dataset: DRIFT" in out and out.splitlines()[-1].startswith("FAIL (--fail-on dataset)")
    assert run(app, str(files["ref"]), str(files["same"]), "--fail-on-drift")[0] == 0


def test_evidently_preset_and_columns(app: typer.Typer, files: dict[str, Path]) -> None:
    code, out, _ = run(app, str(files["ref"]), str(files["drift"]), "--preset", "evidently", "--columns", "x,city",
                       "--format", "json")
    data = json.loads(out)
    assert code == 0 and [c["name"] for c in data["columns"]] == ["x", "city"]
    assert [c["test"] for c in data["columns"]] == ["wasserstein", "jensenshannon"]
    assert data["columns"][0]["p_value"] is None  # undefined for a distance -> null


def test_saved_profile_as_reference(app: typer.Typer, files: dict[str, Path], tmp_path: Path) -> None:
    from detectors import ReferenceProfile

    path = tmp_path / "ref.profile"
    ReferenceProfile.build(pd.read_parquet(files["ref"])).save(path)
    code, _, _ = run(app, str(path), str(files["drift"]), "--fail-on-drift")
    assert code == 1


@pytest.mark.parametrize(
    ("make_bad", "message"),
    [
        (lambda p: p / "missing.csv", "missing.csv: no such file"),
        (lambda p: (p / "junk.parquet").write_bytes(b"nope") and p / "junk.parquet",
         "junk.parquet: the extension says Parquet but"),
        (lambda p: _frame(50, 3).drop(columns=["y"]).to_csv(p / "noy.csv", index=False) or p / "noy.csv",
         "noy.csv: column 'y' of the reference is absent"),
        (lambda p: _frame(50, 3).assign(x=np.nan).to_csv(p / "nullx.csv", index=False) or p / "nullx.csv",
         "nullx.csv: column 'x' has no non-null value"),
        (lambda p: _frame(50, 3).assign(x="text").to_csv(p / "textx.csv", index=False) or p / "textx.csv",
         "textx.csv: column 'x'"),
        (lambda p: (p / "data.xlsx").write_bytes(b"x") and p / "data.xlsx", "data.xlsx: unsupported file type '.xlsx'"),
    ],
)
def test_bad_current_exits_2_with_one_line(app: typer.Typer, files: dict[str, Path], tmp_path: Path,
                                           make_bad, message: str) -> None:  # type: ignore[no-untyped-def]
    bad = make_bad(tmp_path)
    code, _, err = run(app, str(files["ref"]), str(bad))
    assert code == 2
    assert message in err and err.count("\n") == 1, err


def test_bad_reference_and_options_exit_2(app: typer.Typer, files: dict[str, Path], tmp_path: Path) -> None:
    code, _, err = run(app, str(tmp_path / "nope.parquet"), str(files["same"]))
    assert code == 2 and "nope.parquet: no such file" in err
    code, _, err = run(app, str(files["ref"]), str(files["same"]), "--columns", "zzz")
    assert code == 2 and "column 'zzz'" in err
    code, _, err = run(app, str(files["ref"]), str(files["same"]), "--preset", "nannyml")
    assert code == 2 and "valid: default, evidently" in err
    broken = tmp_path / "broken.profile"
    broken.write_bytes(b"PK\x03\x04 definitely not a zip")
    code, _, err = run(app, str(broken), str(files["same"]))
    assert code == 2 and "broken.profile" in err
    allnull = tmp_path / "allnull.csv"
    _frame(50, 3).assign(y=np.nan).to_csv(allnull, index=False)
    code, _, err = run(app, str(allnull), str(files["same"]))
    assert code == 2 and "allnull.csv: column 'y'" in err


def test_table_output(app: typer.Typer, files: dict[str, Path]) -> None:
    code, out, _ = run(app, str(files["ref"]), str(files["drift"]))
    assert code == 0
    assert out.splitlines()[0].split() == ["column", "kind", "test", "test", "statistic", "p_value", "p_adj", "effect",
                                           "drifted", "if", "verdict"]
    assert "x" in out and "DRIFT" in out


def test_help(app: typer.Typer) -> None:
    res = CliRunner().invoke(app, ["check", "--help"])
    assert res.exit_code == 0 and "--fail-on-drift" in res.stdout and "--fail-on " in res.stdout
    assert "Default: none" in " ".join(res.stdout.replace("│", " ").split())
