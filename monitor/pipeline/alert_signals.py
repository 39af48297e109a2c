"""What raises an alert, and how severe it is (pure). One :class:`Signal` per (signal, feature) of a window.

Severity rules (``policy`` = the model's :class:`~monitor.config.AlertPolicy`; ``info < warning < critical``):

``dataset_drift``
    The drift report says ``dataset_drift``. critical if ``drift_share >= policy.critical_drift_share``,
    else warning. The message lists the drifted columns (:func:`name_list`).
``feature_drift`` (feature = column)
    A feature column's test says drifted: warning. A column with no usable value in the window (test
    ``all_null``) is not a drift: when its ``missing_rate`` quality signal is raised (below), that signal
    says it and no ``feature_drift`` is raised; otherwise the message says the column has no value.
``prediction_drift`` (feature = prediction column)
    A prediction column's test says drifted: critical (the model's output moved).
``multivariate_drift``
    The drift report's joint PCA-reconstruction verdict (``detectors.joint``) says drifted, i.e. the
    window's mean reconstruction error is outside the band ``[lower, upper]`` set out of sample on the
    reference for the window's row count (no verdict below 200 rows):
    warning (a change in how features move together, possibly with no single column drifting). The
    message says how far below or above the band the error is, with digits enough to tell them apart
    (:func:`band_phrase`), and the columns with the largest share of the window's squared reconstruction
    error when the report has them (``multivariate.contributions``).
``prediction_near_constant`` (feature = score column)
    The window's score std < ``prediction.near_constant_std_ratio`` x the reference std (with at least
    ``policy.min_window_events`` scores): critical.
``data_quality`` (feature = ``<column>:<check>``)
    ``missing_rate``: current - reference missing rate >= ``policy.missing_rate_jump`` and the drift
    report's ``missing_rate`` quality check of the column triggered (its exact test at its ``alpha``, so a
    small window's noise does not alarm; when the report ran no quality checks, the jump alone):
    warning, critical when the current rate >= 0.5. ``constant``: a feature that varied in the reference is constant:
    warning. ``unseen_categories`` / ``out_of_range``: share >= ``policy.out_of_range_share``: warning
    (critical at 5x that share). Other findings of the drift report: their own severity, else warning.
``business_metric_drop`` (feature = metric name)
    value < ``reference_value x (1 - max_relative_drop)``: warning; < ``reference_value x (1 - 2 x
    max_relative_drop)``: critical. The sequential detector firing on a downward move: warning, critical
    when the threshold rule fires too. Needs ``denominator >= min_denominator``.
``traffic_volume``
    With ``r`` the median event rate of the ``m`` previous windows and ``h = round(m x r x duration)`` the
    events those windows would hold at that rate over this window's duration, a window of ``n_events``
    is compared with them by the exact conditional test of two Poisson counts: under an unchanged rate,
    ``n_events ~ Binomial(n_events + h, 1 / (m + 1))``. Drop: the window's rate < ``volume.drop_ratio`` x
    ``r`` and the lower tail < ``volume.alpha / 2``: warning, critical below half of that ratio. Spike: the
    rate > ``volume.spike_ratio`` x ``r`` and the upper tail < ``volume.alpha / 2``: warning. (The ratios
    say how large a change matters; the test keeps a small window's noise, and the noise of the median
    itself, from alarming: ``bench/calibration.py signals``.)

``performance_drop``, ``estimated_performance_drop``, ``performance_estimate_unreliable`` (feature = metric)
    Model quality: see :mod:`monitor.pipeline.performance`.

Drift and quality signals need ``n_events >= policy.min_window_events``. A signal listed in
``policy.disabled_signals`` is never raised.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from monitor.config import AlertPolicy, ModelConfig

__all__ = [
    "SEVERITY_RANK",
    "SIGNALS",
    "Signal",
    "band_phrase",
    "drift_signals",
    "max_severity",
    "metric_signal",
    "name_list",
    "near_constant_signal",
    "volume_signal",
]

SIGNALS = (
    "dataset_drift",
    "feature_drift",
    "prediction_drift",
    "multivariate_drift",
    "prediction_near_constant",
    "data_quality",
    "business_metric_drop",
    "traffic_volume",
    "performance_drop",
    "estimated_performance_drop",
    "performance_estimate_unreliable",
    "fairness_gap",
)
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class Signal:
    """One reason to alert, raised by one window."""

    signal: str
    severity: str
    message: str
    feature: str | None = None
    value: float | None = None
    segment: str | None = None
    """``key=value`` of a per-segment signal (:mod:`monitor.pipeline.segment_finish`), else None."""

    def dedup_key(self, model: str) -> str:
        """``model|signal|feature`` (``-`` without a feature), then ``|key=value`` for a segment's signal:
        one open incident per key."""
        base = f"{model}|{self.signal}|{self.feature or '-'}"
        return base if self.segment is None else f"{base}|{self.segment}"

    def to_dict(self) -> dict[str, Any]:
        value = self.value if self.value is None or math.isfinite(self.value) else None
        out = {"signal": self.signal, "severity": self.severity, "message": self.message,
               "feature": self.feature, "value": value}
        if self.segment is not None:
            out["segment"] = self.segment
        return out


def max_severity(a: str, b: str) -> str:
    """The more severe of two severities.

    >>> max_severity("warning", "critical"), max_severity("info", "warning")
    ('critical', 'warning')
    """
    return a if SEVERITY_RANK.get(a, 0) >= SEVERITY_RANK.get(b, 0) else b


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def drift_signals(model: ModelConfig, report: Any, n_events: int) -> list[Signal]:
    """Signals of a drift report (``detectors.DriftReport``): dataset, feature, prediction drift, quality."""
    policy = model.alerts
    if report is None or n_events < policy.min_window_events:
        return []
    out: list[Signal] = []
    share = float(_get(report, "drift_share", 0.0) or 0.0)
    if _get(report, "dataset_drift", False):
        sev = "critical" if share >= policy.critical_drift_share else "warning"
        drifted = [str(_get(c, "name")) for c in _get(report, "columns", None) or [] if _get(c, "drifted", False)]
        out.append(Signal("dataset_drift", sev, f"dataset drift: {share:.0%} of the columns drifted"
                          + (f" ({name_list(drifted)})" if drifted else ""), None, share))
    prediction_cols = set(model.prediction_columns)
    quality = _get(report, "quality", None)
    significant_missing = None if quality is None else {
        str(_get(f, "column", _get(f, "name", "?"))) for f in quality
        if str(_get(f, "check", _get(f, "kind", ""))) == "missing_rate" and _get(f, "triggered", True)}
    for col in _get(report, "columns", None) or []:
        name = str(_get(col, "name"))
        missing = _missing_signal(policy, col, significant_missing)
        if missing is not None:
            out.append(missing)
        if _get(col, "drifted", False):
            drift = _drift_signal(name, name in prediction_cols, col)
            if drift is not None and (missing is None or _get(col, "test") != "all_null"):
                out.append(drift)
    multi = _get(report, "multivariate", None)
    if multi is not None and _get(multi, "drifted", False):
        out.append(_multivariate_signal(multi))
    out.extend(_quality_signals(model, _get(report, "quality", None) or []))
    return [s for s in _dedupe(out) if s.signal not in policy.disabled_signals]


def _drift_signal(name: str, is_prediction: bool, col: Any) -> Signal | None:
    test, stat = _get(col, "test", "?"), _get(col, "statistic")
    what = f"prediction column {name!r}" if is_prediction else f"feature {name!r}"
    if test == "all_null":
        message = f"{what} has no value in this window (every value null or not a number)"
    else:
        message = f"{what} drifted ({test} = {_fmt(stat)})"
    if is_prediction:
        return Signal("prediction_drift", "critical", message, name, _f(stat))
    return Signal("feature_drift", "warning", message, name, _f(stat))


def _missing_signal(policy: AlertPolicy, col: Any, significant: set[str] | None) -> Signal | None:
    name = str(_get(col, "name"))
    ref_missing = _f(_get(col, "missing_rate_reference"))
    cur_missing = _f(_get(col, "missing_rate_current"))
    if (ref_missing is None or cur_missing is None or cur_missing - ref_missing < policy.missing_rate_jump
            or (significant is not None and name not in significant)):
        return None
    sev = "critical" if cur_missing >= 0.5 else "warning"
    return Signal("data_quality", sev, f"missing rate of {name!r} jumped from {ref_missing:.1%} to {cur_missing:.1%}",
                  f"{name}:missing_rate", cur_missing)


def _multivariate_signal(multi: Any) -> Signal:
    stat = _f(_get(multi, "statistic"))
    band = band_phrase(stat, _f(_get(multi, "lower")), _f(_get(multi, "upper")))
    message = f"joint feature distribution drifted: PCA reconstruction error {band}"
    contributions = _get(multi, "contributions", None) or {}
    top = sorted(((str(k), float(v)) for k, v in dict(contributions).items() if _f(v) is not None),
                 key=lambda kv: -kv[1])[:_TOP_CONTRIBUTIONS]
    if top:
        message += "; most of it from " + ", ".join(f"{k} ({v:.0%})" for k, v in top)
    return Signal("multivariate_drift", "warning", message, None, stat)


_TOP_CONTRIBUTIONS = 3


def name_list(names: list[str], limit: int = 8) -> str:
    """Names joined by commas, the ones past ``limit`` counted.

    >>> name_list(["a", "b"]), name_list(list("abcdef"), limit=3)
    ('a, b', 'a, b, c and 3 more')
    """
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def band_phrase(value: float | None, lower: float | None, upper: float | None) -> str:
    """``value`` against the band ``[lower, upper]``: below or above it, by how much. The three numbers share
    one count of decimals: the fewest that give the largest of them 4 significant digits and print the value
    apart from the bound it crossed (at most 12).

    >>> band_phrase(1.18262, 1.18301, 1.273)
    '1.1826 below the band [1.1830, 1.2730] by 0.00039'
    >>> band_phrase(1.9, 1.0, 1.2)
    '1.900 above the band [1.000, 1.200] by 0.7'
    """
    if value is None or lower is None or upper is None:
        return f"{_fmt(value)} outside the band [{_fmt(lower)}, {_fmt(upper)}]"
    below = value < lower
    bound = lower if below else upper
    largest = max(abs(value), abs(lower), abs(upper))
    first = max(0, 3 - math.floor(math.log10(largest))) if largest > 0 else 0
    decimals = next((d for d in range(first, 13) if f"{value:.{d}f}" != f"{bound:.{d}f}"), 12)
    v, lo, up = (f"{x:.{decimals}f}" for x in (value, lower, upper))
    return f"{v} {'below' if below else 'above'} the band [{lo}, {up}] by {abs(value - bound):.2g}"


def _quality_signals(model: ModelConfig, findings: Iterable[Any]) -> list[Signal]:
    policy = model.alerts
    out: list[Signal] = []
    for finding in findings:
        if not _get(finding, "triggered", True):
            continue
        column = str(_get(finding, "column", _get(finding, "name", "?")))
        check = str(_get(finding, "check", _get(finding, "kind", "finding")))
        value = _f(_get(finding, "value", _get(finding, "share")))
        message = str(_get(finding, "message", "") or f"{check} on {column!r}")
        if check == "missing_rate":
            continue  # judged above from the column's missing rates, with the configured jump
        if check in ("unseen_categories", "out_of_range"):
            if value is not None and value < policy.out_of_range_share:
                continue
            sev = "critical" if value is not None and value >= 5 * policy.out_of_range_share else "warning"
        else:
            sev = str(_get(finding, "severity", "warning") or "warning")
            if sev not in SEVERITY_RANK:
                sev = "warning"
        out.append(Signal("data_quality", sev, message, f"{column}:{check}", value))
    return out


def _dedupe(signals: list[Signal]) -> list[Signal]:
    best: dict[tuple[str, str | None], Signal] = {}
    for s in signals:
        key = (s.signal, s.feature)
        if key not in best or SEVERITY_RANK[s.severity] > SEVERITY_RANK[best[key].severity]:
            best[key] = s
    return list(best.values())


def _f(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _fmt(x: Any) -> str:
    value = _f(x)
    return "n/a" if value is None else f"{value:.4g}"


def near_constant_signal(model: ModelConfig, column: str, std: float | None, reference_std: float | None,
                         n: int) -> Signal | None:
    """``prediction_near_constant`` when the window's score std collapsed vs the reference std.

    >>> from monitor.config import AlertPolicy, ModelConfig
    >>> m = ModelConfig(name="m", features={"x": "numeric"})
    >>> near_constant_signal(m, "prediction", 0.001, 0.2, 500).severity
    'critical'
    >>> near_constant_signal(m, "prediction", 0.15, 0.2, 500) is None
    True
    """
    if std is None or reference_std is None or reference_std <= 0 or n < model.alerts.min_window_events:
        return None
    if "prediction_near_constant" in model.alerts.disabled_signals:
        return None
    ratio = model.prediction.near_constant_std_ratio
    if std >= ratio * reference_std:
        return None
    return Signal("prediction_near_constant", "critical",
                  f"scores of {column!r} are near-constant: std {std:.3g} vs {reference_std:.3g} in the reference",
                  column, std)


def metric_signal(model: ModelConfig, name: str, value: float | None, denominator: int,
                  sequential_drop: bool) -> Signal | None:
    """``business_metric_drop`` of metric ``name`` (threshold rule and/or sequential detector)."""
    metric = next((m for m in model.business_metrics if m.name == name), None)
    if metric is None or value is None or denominator < metric.min_denominator:
        return None
    if "business_metric_drop" in model.alerts.disabled_signals:
        return None
    ref = metric.reference_value
    level = None
    if ref is not None and ref > 0:
        if value < ref * (1 - 2 * metric.max_relative_drop):
            level = "critical"
        elif value < ref * (1 - metric.max_relative_drop):
            level = "warning"
    if sequential_drop:
        level = "critical" if level is not None else "warning"
    if level is None:
        return None
    parts = [f"{name} = {value:.4g} over {denominator}"]
    if ref is not None:
        parts.append(f"reference {ref:.4g}")
    if sequential_drop:
        parts.append(f"{metric.sequential.detector if metric.sequential else 'sequential'} detected a drop")
    return Signal("business_metric_drop", level, "; ".join(parts), name, value)


def volume_signal(model: ModelConfig, n_events: int, duration: float, history: list[float]) -> Signal | None:
    """``traffic_volume`` when this window's event rate leaves the band around the recent median rate and
    the conditional test of two Poisson counts says it is more than noise (rule in the module docstring).

    >>> from monitor.config import AlertPolicy, ModelConfig
    >>> m = ModelConfig(name="m", features={"x": "numeric"})
    >>> volume_signal(m, 31, 100.0, [0.1, 0.1, 0.1]).message      # 31 events where 10 were due
    'traffic spiked to 0.31/s (median 0.1/s)'
    >>> volume_signal(m, 4, 10.0, [0.1, 0.1, 0.1]) is None          # 4 events where 1 was due: noise
    True
    """
    vol = model.alerts.volume
    if not vol.enabled or duration <= 0 or len(history) < vol.min_history:
        return None
    if "traffic_volume" in model.alerts.disabled_signals:
        return None
    rate = n_events / duration
    ordered = sorted(history)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    if median <= 0:
        return None
    previous = round(len(history) * median * duration)
    total, share = n_events + previous, 1.0 / (len(history) + 1)
    from scipy.stats import binom  # loaded at the first volume judgement, not at the watcher's start

    if rate < vol.drop_ratio * median and float(binom.cdf(n_events, total, share)) < vol.alpha / 2:
        sev = "critical" if rate < vol.drop_ratio * median / 2 else "warning"
        return Signal("traffic_volume", sev, f"traffic dropped to {rate:.3g}/s (median {median:.3g}/s)", None, rate)
    if rate > vol.spike_ratio * median and float(binom.sf(n_events - 1, total, share)) < vol.alpha / 2:
        return Signal("traffic_volume", "warning", f"traffic spiked to {rate:.3g}/s (median {median:.3g}/s)",
                      None, rate)
    return None
