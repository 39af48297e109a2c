"""Model quality in numbers and plain words (pure: the frame of :func:`dashboard.data.performance` in).

The frame has one row per window and metric (the fields of :class:`monitor.store.queries.PerformanceRow`):
``realized`` with its interval once labels are joined, ``estimated`` (CBPE) with its band from the moment
the window closes, ``reference`` (the metric on the labelled validation data), ``n_predictions`` and
``n_labelled``.

>>> perf_label("roc_auc"), perf_label("accuracy"), format_perf(0.8134)
('ROC AUC', 'Accuracy', '0.81')
>>> rows = pd.DataFrame({"window_end": pd.to_datetime(["2026-11-09", "2026-11-10"], utc=True),
...     "metric": "roc_auc", "n_predictions": [1000, 1000], "n_labelled": [700, 540],
...     "realized": [0.80, 0.82], "estimated": [0.84, 0.85], "reference": 0.85})
>>> week_quality_sentence(rows, pd.Timestamp("2026-11-10", tz="UTC"))
"ROC AUC 0.81, down 0.04 from the reference, on 62% of the week's predictions labelled so far."
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "LOWER_IS_BETTER",
    "PERFORMANCE_SIGNALS",
    "Headline",
    "format_perf",
    "headline",
    "headline_metric",
    "perf_label",
    "week_quality_sentence",
]

PERFORMANCE_SIGNALS = ("performance_drop", "estimated_performance_drop", "performance_estimate_unreliable")
"""The alert signals about model quality (their ``feature`` is the metric name)."""

_LABELS = {
    "roc_auc": "ROC AUC", "roc_auc_macro": "ROC AUC (macro)", "roc_auc_weighted": "ROC AUC (weighted)",
    "f1": "F1", "f1_macro": "F1 (macro)", "f1_weighted": "F1 (weighted)", "average_precision": "Average precision",
    "log_loss": "Log loss", "brier": "Brier score", "ece": "ECE", "mae": "MAE", "rmse": "RMSE", "mape": "MAPE",
    "r2": "R²",
}
_HEADLINE_ORDER = ("roc_auc", "roc_auc_macro", "f1_macro", "accuracy", "f1", "average_precision", "rmse", "mae",
                   "r2")
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece", "mae", "rmse", "mape"})
"""Loss-like metrics: a rise is a degradation (as ``detectors.performance.LOWER_IS_BETTER``)."""
_LEVEL = 0.005
"""Differences from the reference smaller than this (after rounding to two decimals) read as "level"."""


def perf_label(metric: str) -> str:
    """Display name of a performance metric: ``roc_auc`` -> ``ROC AUC``, ``precision_macro`` ->
    ``Precision (macro)``."""
    if metric in _LABELS:
        return _LABELS[metric]
    base, _, avg = metric.partition("_")
    text = base[:1].upper() + base[1:]
    return f"{text} ({avg})" if avg in ("macro", "weighted") else metric.replace("_", " ").capitalize()


def format_perf(value: float | None) -> str:
    """A metric value with two decimals (``–`` when missing)."""
    return "–" if value is None or pd.isna(value) else f"{value:.2f}"


def headline_metric(metrics: Iterable[str]) -> str | None:
    """The metric a card shows: ROC AUC first, then accuracy/F1, regression errors; else the first by name.

    >>> headline_metric(["accuracy", "roc_auc"]), headline_metric(["precision"]), headline_metric([])
    ('roc_auc', 'precision', None)
    """
    names = sorted(set(metrics))
    preferred = [m for m in _HEADLINE_ORDER if m in names] or names
    return preferred[0] if preferred else None


@dataclass(frozen=True)
class Headline:
    """The latest value of a model's headline metric: realized when the window has any, else the estimate."""

    metric: str
    value: float
    estimated: bool
    reference: float | None
    window_end: pd.Timestamp
    coverage: float | None  # n_labelled / n_predictions of that window

    @property
    def versus_reference(self) -> str | None:
        """``-0.04 vs reference`` (``None`` without a reference)."""
        if self.reference is None or pd.isna(self.reference):
            return None
        return f"{self.value - self.reference:+.2f} vs reference {format_perf(self.reference)}"


def headline(frame: pd.DataFrame, metric: str | None = None) -> Headline | None:
    """The last window of ``metric`` (default :func:`headline_metric`) that has a realized or estimated value.

    The realized value is shown as soon as the window has one (``provisional`` until its ``label_ttl``
    passes), the estimate before that.
    """
    if frame.empty:
        return None
    metric = metric or headline_metric(frame["metric"])
    rows = frame[frame["metric"] == metric].sort_values("window_end")
    shown = rows[rows["realized"].notna() | rows["estimated"].notna()]
    if metric is None or shown.empty:
        return None
    last = shown.iloc[-1]
    estimated = pd.isna(last["realized"])
    value = float(last["estimated"] if estimated else last["realized"])
    reference = None if pd.isna(last["reference"]) else float(last["reference"])
    n = int(last["n_predictions"])
    return Headline(metric, value, bool(estimated), reference, last["window_end"],
                    int(last["n_labelled"]) / n if n else None)


def _direction(diff: float) -> str:
    """``down 0.04 from the reference`` / ``up ...`` / ``level with the reference`` (``diff`` = value -
    reference, both rounded to two decimals first, so the words match the numbers shown)."""
    if abs(diff) < _LEVEL:
        return "level with the reference"
    return f"{'down' if diff < 0 else 'up'} {abs(diff):.2f} from the reference"


def week_quality_sentence(frame: pd.DataFrame, end: pd.Timestamp, metric: str | None = None) -> str:
    """One sentence on the model quality of the 7 days before ``end`` (windows with ``end - 7 d < window_end
    <= end``).

    Rules: the week's value is the mean of the windows' realized values weighted by their labelled rows
    (``sum(realized x n_labelled) / sum(n_labelled)`` over windows with a realized value; a per-window
    summary, not the metric recomputed on the pooled week); the coverage is ``sum(n_labelled) /
    sum(n_predictions)`` over every window of the week; the reference is the latest window's. With no label
    yet, the same weighting (by predictions) of the estimates is reported as an estimate.

    >>> rows = pd.DataFrame({"window_end": pd.to_datetime(["2026-11-10"], utc=True), "metric": "roc_auc",
    ...     "n_predictions": [1000], "n_labelled": [0], "realized": [None], "estimated": [0.79],
    ...     "reference": [0.75]})
    >>> print(week_quality_sentence(rows, pd.Timestamp("2026-11-10", tz="UTC")))  # doctest: +NORMALIZE_WHITESPACE
    No labels yet this week; the estimated ROC AUC is 0.79, up 0.04 from the reference
    (from the scores of 1,000 predictions).
    """
    if frame.empty:
        return "Model quality: no data this week."
    metric = metric or headline_metric(frame["metric"])
    rows = frame[(frame["metric"] == metric) & (frame["window_end"] > end - pd.Timedelta(days=7))
                 & (frame["window_end"] <= end)].sort_values("window_end")
    label = perf_label(str(metric))
    if rows.empty:
        return f"{label}: no data this week."
    predictions = int(rows["n_predictions"].sum())
    labelled = rows[rows["realized"].notna() & (rows["n_labelled"] > 0)]
    refs = rows["reference"].dropna()
    reference = float(refs.iloc[-1]) if not refs.empty else None
    if not labelled.empty:
        weights = labelled["n_labelled"].astype(float)
        value = float((labelled["realized"].astype(float) * weights).sum() / weights.sum())
        coverage = int(rows["n_labelled"].sum()) / predictions if predictions else 0.0
        versus = "" if reference is None else f", {_direction(round(value, 2) - round(reference, 2))}"
        return f"{label} {format_perf(value)}{versus}, on {coverage:.0%} of the week's predictions labelled so far."
    estimated = rows[rows["estimated"].notna()]
    if estimated.empty:
        return f"{label}: no labels and no estimate this week."
    weights = estimated["n_predictions"].astype(float)
    value = float((estimated["estimated"].astype(float) * weights).sum() / weights.sum())
    versus = "" if reference is None else f", {_direction(round(value, 2) - round(reference, 2))}"
    return (f"No labels yet this week; the estimated {label} is {format_perf(value)}{versus} "
            f"(from the scores of {int(weights.sum()):,} predictions).")
