"""``driftwarden check REFERENCE CURRENT``: batch drift check of two Parquet/CSV files (a CI gate).

REFERENCE may also be a profile file saved by ``ReferenceProfile.save``. Exit codes: 0 (checked),
1 (``--fail-on-drift`` and dataset drift found), 2 (bad input: one line naming the file and the problem).
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from detectors import (
    PRESETS,
    ColumnError,
    DetectorError,
    DriftReport,
    ProfileFormatError,
    ReferenceProfile,
    WindowState,
    evaluate,
)
from detectors.columns import NumericProfile
from monitor.cli_support import fail

__all__ = ["register", "run_check"]

EXIT_DRIFT = 1
PROFILE_MAGIC = b"PK\x03\x04"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        reference: Annotated[
            Path, typer.Argument(help="Reference data (Parquet or CSV) or a saved profile.", show_default=False)
        ],
        current: Annotated[Path, typer.Argument(help="Current data (Parquet or CSV).", show_default=False)],
        preset: Annotated[str, typer.Option("--preset", help=f"Test selection: {' | '.join(PRESETS)}.")] = "default",
        columns: Annotated[
            list[str] | None,
            typer.Option("--columns", help="Columns to test (repeat, or comma-separated; default: all)."),
        ] = None,
        output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
        fail_on_drift: Annotated[
            bool, typer.Option("--fail-on-drift", help="Exit 1 when dataset drift is found (a CI gate).")
        ] = False,
    ) -> None:
        """Test every column of CURRENT against REFERENCE and print the per-column verdicts."""
        names = [c.strip() for item in columns or [] for c in item.split(",") if c.strip()] or None
        report = run_check(reference, current, preset=preset, columns=names)
        typer.echo(json.dumps(_json_report(report), indent=2) if output is OutputFormat.json else _table(report))
        if fail_on_drift and report.dataset_drift:
            raise typer.Exit(EXIT_DRIFT)


def run_check(reference: Path, current: Path, *, preset: str, columns: list[str] | None) -> DriftReport:
    """Load, validate and evaluate; every bad input ends in :func:`fail` (exit 2) naming the file."""
    if preset not in PRESETS:
        fail(f"--preset {preset!r}: unknown preset; valid: {', '.join(PRESETS)}")
    profile = _load_reference(reference, columns)
    names = list(profile.names if columns is None else columns)
    for name in names:
        if name not in profile.names:
            fail(f"{reference}: column {name!r} (from --columns) is absent")
    frame = _read_frame(current)
    for name in names:
        if name not in frame.columns:
            fail(f"{current}: column {name!r} of the reference is absent")
        if frame[name].isna().all():
            fail(f"{current}: column {name!r} has no non-null value")
    try:
        state = WindowState.from_frame(profile, frame, columns=names, source=str(current))
        for name in names:
            col = profile[name]
            win = state.numeric(name) if isinstance(col, NumericProfile) else state.categorical(name)
            if (win.n_finite if isinstance(col, NumericProfile) else win.n_valid) == 0:  # type: ignore[union-attr]
                fail(f"{current}: column {name!r} has no finite value")
        return evaluate(profile, state, preset=preset, columns=names)
    except ColumnError as exc:
        fail(f"{current}: column {exc.column!r}: {exc.problem}")
    except DetectorError as exc:
        fail(f"{current}: {exc}")


def _load_reference(path: Path, columns: list[str] | None) -> ReferenceProfile:
    if path.is_file():
        with path.open("rb") as fh:
            head = fh.read(4)
        if head == PROFILE_MAGIC:
            try:
                return ReferenceProfile.load(path)
            except ProfileFormatError as exc:
                fail(str(exc))
    frame = _read_frame(path)
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            fail(f"{path}: column {missing[0]!r} (from --columns) is absent")
    try:
        return ReferenceProfile.build(frame, columns=columns)
    except ColumnError as exc:
        fail(f"{path}: column {exc.column!r}: {exc.problem}")
    except DetectorError as exc:
        fail(f"{path}: {exc}")


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.exists():
        fail(f"{path}: no such file")
    if not path.is_file():
        fail(f"{path}: not a file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt") or suffix == "":
            frame = pd.read_csv(path)
        else:
            fail(f"{path}: unsupported file type {suffix!r} (expected .parquet or .csv)")
    except (OSError, ValueError, ImportError) as exc:
        fail(f"{path}: unreadable: {type(exc).__name__}: {exc}")
    if frame.shape[1] == 0 or len(frame) == 0:
        fail(f"{path}: no rows or no columns")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _json_report(report: DriftReport) -> dict[str, Any]:
    """``dataset_drift``, ``drift_share`` and per column the fields of the issue, plus the extras."""
    return report.to_dict()


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-" if value is None else str(value)
    return f"{value:.4g}"


def _table(report: DriftReport) -> str:
    rows = [("column", "kind", "test", "statistic", "p_value", "threshold", "drifted")]
    for c in report.columns:
        shown = c.effect_size if c.effect_size is not None else c.statistic
        rows.append((c.name, c.kind, c.test, _fmt(shown), _fmt(c.p_value_adjusted if c.p_value_adjusted is not None
                                                             else c.p_value), _fmt(c.threshold),
                     "DRIFT" if c.drifted else "ok"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    verdict = "DATASET DRIFT" if report.dataset_drift else "no dataset drift"
    lines.append("")
    lines.append(
        f"{verdict}: {sum(c.drifted for c in report.columns)}/{len(report.columns)} columns drifted "
        f"(share {report.drift_share:.2f}, threshold {report.drift_share_threshold:.2f}; preset {report.preset})"
    )
    if report.preset == "default":
        lines.append("default preset: statistic = effect size (KS D / TVD), p_value = Benjamini–Hochberg adjusted")
    return "\n".join(lines)
