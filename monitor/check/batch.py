"""One batch check: read the two files, validate them against each other, evaluate, list the findings.

Validation, in this order, each failure a :class:`CheckInputError` naming the file and the column:
the reference is read (data file or saved profile) and profiled; every tested column must be in the
current file, hold a non-null value, and be of the same kind as in the reference (a numeric reference
column whose current values are text, or a categorical reference column of labels whose current values are
numbers, is a kind mismatch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
from detectors.kinds import infer_kind
from monitor.check.errors import CheckInputError
from monitor.check.findings import Finding, report_findings, signal_findings
from monitor.check.model import model_overrides, profile_for_model
from monitor.check.readers import is_profile, read_table
from monitor.config import ModelConfig

__all__ = ["BatchCheck", "kind_mismatch", "load_reference", "run_batch_check"]


@dataclass
class BatchCheck:
    """The outcome of :func:`run_batch_check`: the report, what the gate reads, and what the reports draw."""

    report: DriftReport
    profile: ReferenceProfile
    current: pd.DataFrame
    columns: list[str]
    findings: list[Finding]
    model: ModelConfig | None = None
    signals: list[Any] = field(default_factory=list)
    reference_frame: pd.DataFrame | None = None
    """The reference rows (None when the reference is a saved profile)."""

    @property
    def rules(self) -> str:
        """Whose rules judged: ``detectors`` or ``model <name>``."""
        return "detectors" if self.model is None else f"model {self.model.name!r}"


def load_reference(path: Path, columns: Sequence[str] | None, model: ModelConfig | None,
                   progress: bool = False) -> tuple[ReferenceProfile, pd.DataFrame | None]:
    """The reference profile and rows: a saved profile file as it is (no rows), or a data file profiled (by
    the model's columns and kinds with ``model``; else the ``columns``, or all, with inferred kinds)."""
    if is_profile(path):
        try:
            return ReferenceProfile.load(path), None
        except ProfileFormatError as exc:
            raise CheckInputError(f"{path}: {' '.join(str(exc).split())}") from exc
    frame = read_table(path, progress=progress)
    if model is not None:
        return profile_for_model(frame, model, source=str(path), progress=progress), frame
    for name in columns or ():
        if name not in frame.columns:
            raise CheckInputError(f"{path}: column {name!r} (from --columns) is absent")
    try:
        return ReferenceProfile.build(frame, columns=list(columns) if columns else None, progress=progress), frame
    except ColumnError as exc:
        raise CheckInputError(f"{path}: column {exc.column!r}: {exc.problem}") from exc
    except DetectorError as exc:
        raise CheckInputError(f"{path}: {' '.join(str(exc).split())}") from exc


def kind_mismatch(reference_kind: str, categories: Sequence[str], series: pd.Series) -> str | None:
    """How ``series`` (current values) disagrees with a reference column of ``reference_kind``, or None.

    Rule: a ``numeric`` reference column mismatches when some non-null current value is not a number
    (text); a ``categorical`` one mismatches when the current values are numeric (``infer_kind`` says
    ``numeric``) while none of the reference labels reads as a number. Binary columns are not judged
    (``0/1``, ``true/false`` and two labels are all binary).

    >>> kind_mismatch("numeric", (), pd.Series(["1.5", "n/a", "x"]))
    "numeric in the reference but text here (e.g. 'n/a')"
    >>> kind_mismatch("categorical", ("tv", "web"), pd.Series([0.5, 1.7, 2.25, 3.1]))
    'categorical in the reference but numeric here (e.g. 0.5)'
    >>> kind_mismatch("numeric", (), pd.Series([1, 2, None]))
    """
    values = series.dropna()
    if values.empty or pd.api.types.is_bool_dtype(series.dtype):
        return None
    if reference_kind == "numeric":
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
            return None
        parsed = pd.to_numeric(values, errors="coerce")
        bad = values[parsed.isna()]
        if bad.empty:
            return None
        return f"numeric in the reference but text here (e.g. {bad.iloc[0]!r})"
    if reference_kind == "categorical" and infer_kind(series) == "numeric":
        numeric_labels = pd.to_numeric(pd.Series(list(categories), dtype=object), errors="coerce").notna()
        if len(categories) and not numeric_labels.any():
            first = values.iloc[0]
            shown = float(first) if isinstance(first, float | np.floating) else first
            return f"categorical in the reference but numeric here (e.g. {shown!r})"
    return None


def _validate_current(path: Path, frame: pd.DataFrame, profile: ReferenceProfile, names: Sequence[str],
                      reference: Path) -> None:
    for name in names:
        if name not in frame.columns:
            raise CheckInputError(f"{path}: column {name!r} of the reference is absent")
        if frame[name].isna().all():
            raise CheckInputError(f"{path}: column {name!r} has no non-null value")
        col = profile[name]
        problem = kind_mismatch(col.kind, getattr(col, "categories", ()), frame[name])
        if problem:
            raise CheckInputError(f"{path}: column {name!r} is {problem} (reference: {reference.name})")


def run_batch_check(reference: Path, current: Path, *, preset: str | None = None,
                    columns: Sequence[str] | None = None, model: ModelConfig | None = None,
                    progress: bool = False) -> BatchCheck:
    """Read, validate, evaluate and judge (see the module docstring); every bad input raises
    :class:`CheckInputError`.

    ``preset`` defaults to the model's (with ``model``) or ``"default"``. With ``model`` the columns are the
    model's (those in the profile), the tests, thresholds and ``alpha``/``drift_share``/``min_effect`` are
    the model's (:func:`~monitor.check.model.model_overrides`) and the findings are the watcher's signals.
    """
    chosen = preset or (model.preset if model is not None else "default")
    if chosen not in PRESETS:
        raise CheckInputError(f"--preset {chosen!r}: unknown preset; valid: {', '.join(PRESETS)}")
    profile, reference_frame = load_reference(reference, columns, model, progress)
    if columns:
        names = list(columns)
    elif model is not None:
        names = [c for c in model.columns if c in profile.names]
    else:
        names = list(profile.names)
    for name in names:
        if name not in profile.names:
            raise CheckInputError(f"{reference}: column {name!r} is absent (reference columns: "
                                  f"{', '.join(profile.names)})")
    if not names:
        raise CheckInputError(f"{reference}: none of the model's columns is in the reference")
    frame = read_table(current)
    _validate_current(current, frame, profile, names, reference)
    try:
        state = WindowState.from_frame(profile, frame, columns=names, source=str(current))
        for name in names:
            col = profile[name]
            win = state.numeric(name) if isinstance(col, NumericProfile) else state.categorical(name)
            if (win.n_finite if isinstance(col, NumericProfile) else win.n_valid) == 0:  # type: ignore[union-attr]
                raise CheckInputError(f"{current}: column {name!r} has no finite value")
        overrides = model_overrides(model, profile) if model is not None else None
        report = evaluate(profile, state, preset=chosen, columns=names, overrides=overrides)
    except ColumnError as exc:
        raise CheckInputError(f"{current}: column {exc.column!r}: {exc.problem}") from exc
    except DetectorError as exc:
        raise CheckInputError(f"{current}: {' '.join(str(exc).split())}") from exc
    if model is None:
        return BatchCheck(report, profile, frame, names, report_findings(report), reference_frame=reference_frame)
    from monitor.pipeline.alert_signals import drift_signals

    signals = drift_signals(model, report, state.n_rows)
    return BatchCheck(report, profile, frame, names, signal_findings(signals), model, signals, reference_frame)
