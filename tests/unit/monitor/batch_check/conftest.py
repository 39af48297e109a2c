"""Fixtures of the ``driftwarden check`` tests: the issue's case (#18) as files, and the CLI app.

The issue's case: a reference and a current file of 5,000 rows each with ``age`` (normal, sd 10), ``income``
(log-normal) and ``city`` (three labels); in the current file ``age`` is shifted by 0.3 sd and 4% of
``income`` is null. ``score`` is a model's prediction column (unchanged), for the ``--config`` tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from monitor.commands.check import register

N_ROWS = 5000


def issue_frames(n: int = N_ROWS, seed: int = 18) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference and current frames of the issue's case (seeded)."""
    rng = np.random.default_rng(seed)

    def frame(age_mean: float) -> pd.DataFrame:
        return pd.DataFrame({
            "age": rng.normal(age_mean, 10, n),
            "income": rng.lognormal(10, 0.5, n),
            "city": rng.choice(["paris", "rome", "oslo"], n),
            "score": rng.uniform(size=n),
        })

    ref, cur = frame(40.0), frame(43.0)  # +0.3 sd
    cur.loc[rng.choice(n, int(0.04 * n), replace=False), "income"] = np.nan
    return ref, cur


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """Test root (so that ``check`` stays a subcommand)."""

    register(app)
    return app


@pytest.fixture
def issue_files(tmp_path: Path) -> dict[str, Path]:
    """``ref.csv`` / ``cur.csv`` of the issue's case, and ``same.csv`` (the reference's distribution, new draw)."""
    ref, cur = issue_frames()
    same, _ = issue_frames(seed=99)
    out = {"ref": tmp_path / "ref.csv", "cur": tmp_path / "cur.csv", "same": tmp_path / "same.csv"}
    ref.to_csv(out["ref"], index=False)
    cur.to_csv(out["cur"], index=False)
    same.to_csv(out["same"], index=False)
    return out


@pytest.fixture
def run(app: typer.Typer) -> Callable[..., tuple[int, str, str]]:
    def invoke(*args: str) -> tuple[int, str, str]:
        res = CliRunner().invoke(app, ["check", *map(str, args)])
        return res.exit_code, res.stdout, res.stderr

    return invoke
