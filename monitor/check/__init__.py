"""The batch check behind ``driftwarden check``: readers, validation, findings, the gate, text and HTML reports.

:func:`run_batch_check` reads a reference (Parquet, CSV, JSON Lines or a saved profile) and a current file,
validates them against each other, evaluates and lists the :class:`Finding` s a person must act on;
:mod:`monitor.check.gate` turns them into an exit code, :func:`render_table` and :func:`render_html` into
reports. Every bad input raises :class:`CheckInputError` naming the file and the column.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.check.batch import BatchCheck, load_reference, run_batch_check
    from monitor.check.errors import CheckInputError
    from monitor.check.findings import Finding
    from monitor.check.gate import exit_code, failed, parse_fail_on
    from monitor.check.html_report import render_html
    from monitor.check.model import load_model, model_overrides, profile_for_model
    from monitor.check.readers import read_table
    from monitor.check.table import render_table

# Each name's module, imported at first use (PEP 562): the watcher imports `monitor.check.errors` and the CLI
# `monitor.check.gate` without loading pandas, pyarrow and the detectors with the batch check.
_HOME = {
    "BatchCheck": "batch", "load_reference": "batch", "run_batch_check": "batch", "CheckInputError": "errors",
    "Finding": "findings", "exit_code": "gate", "failed": "gate", "parse_fail_on": "gate",
    "render_html": "html_report", "load_model": "model", "model_overrides": "model",
    "profile_for_model": "model", "read_table": "readers", "render_table": "table",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'monitor.check' has no attribute {name!r}")
    return getattr(importlib.import_module(f"monitor.check.{_HOME[name]}"), name)


__all__ = [
    "BatchCheck",
    "CheckInputError",
    "Finding",
    "exit_code",
    "failed",
    "load_model",
    "load_reference",
    "model_overrides",
    "parse_fail_on",
    "profile_for_model",
    "read_table",
    "render_html",
    "render_table",
    "run_batch_check",
]
