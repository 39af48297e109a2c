"""What a person must act on after a batch check, as a flat list of :class:`Finding` s.

Two sources, one shape:

- without a model (``check`` alone), :func:`report_findings` reads the drift report with the detectors' own
  rules: ``dataset`` when ``report.dataset_drift``; one ``column`` per column whose verdict is drifted; one
  ``multivariate`` when the joint verdict is drifted (``statistic`` outside ``[lower, upper]``); one ``quality``
  per triggered data-quality finding (missing rate, out of range, unseen categories, constant, type);
- with a model (``check --config FILE --model NAME``), :func:`signal_findings` reads the alert signals that
  the watcher would raise for the same report (``monitor.pipeline.alert_signals.drift_signals`` with the
  model's alert policy: its ``missing_rate_jump``, ``out_of_range_share``, ``min_window_events`` and
  ``disabled_signals``): ``dataset_drift`` -> ``dataset``, ``feature_drift``/``prediction_drift`` -> ``column``,
  ``multivariate_drift`` -> ``multivariate``, ``data_quality`` -> ``quality``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Final

from detectors import DriftReport

__all__ = ["CATEGORIES", "Finding", "report_findings", "signal_findings"]

CATEGORIES: Final = ("dataset", "column", "multivariate", "quality")
_SIGNAL_CATEGORY: Final = {"dataset_drift": "dataset", "feature_drift": "column", "prediction_drift": "column",
                           "multivariate_drift": "multivariate", "data_quality": "quality"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One triggered condition: its ``category`` (one of :data:`CATEGORIES`), the column it concerns
    (``None`` for dataset and multivariate), the ``check`` that triggered, the number that triggered it
    (``value``: the drift share, the column's effect size (test statistic when the test has none), the
    multivariate statistic, the quality finding's value) and a one-line ``message``."""

    category: str
    column: str | None
    check: str
    value: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.value is not None and not math.isfinite(self.value):
            out["value"] = None
        return out


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def report_findings(report: DriftReport) -> list[Finding]:
    """The findings of ``report`` by the detectors' rules (see the module docstring)."""
    out: list[Finding] = []
    n = len(report.columns)
    if report.dataset_drift:
        out.append(Finding("dataset", None, "dataset_drift", report.drift_share,
                           f"dataset drift: {sum(c.drifted for c in report.columns)}/{n} columns drifted "
                           f"(share {report.drift_share:.2f} >= {report.drift_share_threshold:.2f})"))
    for c in report.columns:
        if c.drifted:
            value = c.effect_size if c.effect_size is not None else c.statistic
            out.append(Finding("column", c.name, c.test, _num(value), f"column {c.name!r} drifted ({c.test})"))
    multi = report.multivariate
    if multi is not None and multi.drifted:
        out.append(Finding("multivariate", None, "pca_reconstruction", _num(multi.statistic),
                           f"joint distribution drifted: PCA reconstruction error {multi.statistic:.4g} outside "
                           f"[{multi.lower:.4g}, {multi.upper:.4g}]"))
    for q in report.quality:
        if _get(q, "triggered", True):
            column = _get(q, "column")
            out.append(Finding("quality", None if column is None else str(column), str(_get(q, "check", "quality")),
                               _num(_get(q, "value")), str(_get(q, "message", ""))))
    return out


def signal_findings(signals: Iterable[Any]) -> list[Finding]:
    """The findings of the watcher's alert signals for a report (see the module docstring)."""
    out: list[Finding] = []
    for s in signals:
        category = _SIGNAL_CATEGORY.get(str(_get(s, "signal")))
        if category is None:
            continue
        feature = _get(s, "feature")
        column, check = None, str(_get(s, "signal"))
        if category == "quality" and feature:
            column, _, check = str(feature).partition(":")
        elif category == "column":
            column = None if feature is None else str(feature)
        out.append(Finding(category, column, check, _num(_get(s, "value")), str(_get(s, "message", ""))))
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(out, key=lambda f: order[f.category])
