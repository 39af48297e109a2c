"""``driftwarden check REFERENCE CURRENT``: batch drift and data-quality check of two files (a CI gate).

A thin CLI over :mod:`monitor.check`: reading, validation, findings, the gate and the reports live there.
Exit codes: 0 (checked; no chosen ``--fail-on`` condition holds), 1 (a chosen condition holds), 2 (bad input:
one line naming the file and the column).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from monitor.check.gate import CHOICES
from monitor.commands.support import fail

if TYPE_CHECKING:
    from monitor.check import BatchCheck

__all__ = ["json_report", "register"]

FAIL_ON_HELP = (
    "Exit 1 when this condition holds (repeat, or comma-separated): dataset (the share of drifted columns "
    "reaches the dataset threshold, 0.5 by default), column (any column drifted), multivariate (the joint PCA "
    "verdict drifted), quality (any triggered data-quality finding: missing rate, out of range, unseen "
    "categories, constant, type), any (all four). Default: none, the check only reports and exits 0."
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _run_check(
    reference: Path, current: Path, *, preset: str | None, columns: list[str] | None, fail_on: list[str] | None,
    fail_on_drift: bool, config: Path | None, model: str | None,
) -> tuple[BatchCheck, tuple[str, ...]]:
    """The batch check of CURRENT against REFERENCE and the chosen --fail-on conditions (exits 2 with one line
    on bad input)."""
    from monitor.check import (  # pandas and the detectors: loaded by this command only
        CheckInputError,
        load_model,
        parse_fail_on,
        run_batch_check,
    )

    try:
        conditions = parse_fail_on(fail_on or [], fail_on_drift=fail_on_drift)
        if (config is None) != (model is None):
            raise CheckInputError("--config and --model go together (a model of the watcher's YAML)")
        model_cfg = load_model(config, model) if config is not None and model is not None else None
        names = [c.strip() for item in columns or [] for c in item.split(",") if c.strip()] or None
        result = run_batch_check(reference, current, preset=preset, columns=names, model=model_cfg)
    except CheckInputError as exc:
        fail(str(exc))
    return result, conditions


def _write_reports(result: BatchCheck, title: str, failing: list[str], conditions: tuple[str, ...], html: Path | None,
                   html_evidently: Path | None) -> None:
    """The HTML reports asked for: driftwarden's (--html) and Evidently's (--html-evidently)."""
    from monitor.check import render_html

    if html is not None:
        _write(html, lambda: render_html(result, title=title, failed=failing, conditions=conditions))
    if html_evidently is not None:
        _write(html_evidently, lambda: _evidently(result, title))


def _check_command(
    reference: Annotated[Path, typer.Argument(
        help="Reference data (Parquet, CSV or JSON Lines) or a profile saved by `reference build --out`.",
        show_default=False)],
    current: Annotated[Path, typer.Argument(help="Current data (Parquet, CSV or JSON Lines).",
                                            show_default=False)],
    preset: Annotated[str | None, typer.Option(
        "--preset", help="Test selection: default | evidently (default: the model's with --config, "
                         "else default).", show_default=False)] = None,
    columns: Annotated[list[str] | None, typer.Option(
        "--columns", help="Columns to test (repeat, or comma-separated; default: all, or the model's).")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    fail_on: Annotated[list[str] | None, typer.Option(
        "--fail-on", help=FAIL_ON_HELP, metavar="|".join(CHOICES), show_default=False)] = None,
    fail_on_drift: Annotated[bool, typer.Option(
        "--fail-on-drift", help="Same as --fail-on dataset.")] = False,
    config: Annotated[Path | None, typer.Option(
        "--config", help="The watcher's YAML: with --model, test with the model's column kinds, tests, "
                         "thresholds and alert policy (quality rules), as the watcher would.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name in --config.")] = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Write a self-contained HTML report (distributions, verdicts, findings).")] = None,
    html_evidently: Annotated[Path | None, typer.Option(
        "--html-evidently", help="Write Evidently's data-drift + data-summary HTML report.")] = None,
) -> None:
    """Test CURRENT against REFERENCE column by column, check its data quality and the joint distribution,
    print what must be acted on, and exit 1 when a --fail-on condition holds (0 otherwise, 2 on bad input).
    """
    from monitor.check import exit_code, failed, render_table

    result, conditions = _run_check(reference, current, preset=preset, columns=columns, fail_on=fail_on,
                                    fail_on_drift=fail_on_drift, config=config, model=model)
    failing = failed(result.findings, conditions)
    _write_reports(result, f"{current.name} vs {reference.name}", failing, conditions, html, html_evidently)
    if output is OutputFormat.json:
        typer.echo(json.dumps(json_report(result, conditions), indent=2))
    else:
        typer.echo(render_table(result, failing, conditions))
    raise typer.Exit(exit_code(result.findings, conditions))


def register(app: typer.Typer) -> None:
    app.command("check")(_check_command)


def json_report(result: BatchCheck, conditions: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The drift report's dict (``DriftReport.to_dict``) plus ``rules``, ``findings`` and ``gate``
    (``fail_on``, ``failed``, ``exit_code``)."""
    from monitor.check import exit_code, failed

    out = result.report.to_dict()
    out["rules"] = result.rules
    out["findings"] = [f.to_dict() for f in result.findings]
    out["gate"] = {"fail_on": list(conditions), "failed": failed(result.findings, conditions),
                   "exit_code": exit_code(result.findings, conditions)}
    if result.model is not None:
        out["signals"] = [s.to_dict() for s in result.signals]
    return out


def _evidently(result: BatchCheck, title: str) -> str:
    from monitor.reports import ReportError, evidently_report_html, reference_frame

    kinds = {c: result.profile[c].kind for c in result.columns}
    reference = result.reference_frame
    if reference is None:  # a saved profile: its marginals, rebuilt as rows
        reference = reference_frame(result.profile, columns=result.columns)
    try:
        return evidently_report_html(reference, result.current, kinds, title=title)
    except ReportError as exc:
        fail(str(exc))


def _write(path: Path, render: Any) -> None:
    text = render()
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot write the report: {exc.strerror or exc}")
