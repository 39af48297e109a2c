"""Derived numbers and plain sentences for the pages (pure: DataFrames in, values and strings out).

>>> metric_label("take_rate"), format_value(0.3104), format_duration(pd.Timedelta(hours=5))
('Take-rate', '31.0%', '5 h')
>>> change_sentence("take_rate", 0.310, 0.273)
'Take-rate fell 12% week over week, from 31.0% to 27.3%.'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd

__all__ = [
    "STATUS_STYLE",
    "MetricChange",
    "WeekSummary",
    "change_sentence",
    "contribution_sentence",
    "format_duration",
    "format_value",
    "health_status",
    "incident_sentence",
    "metric_label",
    "on_call_line",
    "week_summary",
]

_ACRONYMS = {"ctr": "CTR", "auc": "AUC", "rmse": "RMSE", "mae": "MAE"}
BadgeColor = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "grey", "primary"]
STATUS_STYLE: dict[str, tuple[str, BadgeColor]] = {
    "critical": (":material/error:", "red"),
    "warning": (":material/warning:", "orange"),
    "acknowledged": (":material/visibility:", "violet"),
    "healthy": (":material/check_circle:", "green"),
    "no data": (":material/hourglass_empty:", "gray"),
}


def metric_label(name: str) -> str:
    """Display name of a metric: ``take_rate`` -> ``Take-rate``, ``ctr`` -> ``CTR``."""
    if name.lower() in _ACRONYMS:
        return _ACRONYMS[name.lower()]
    text = name.replace("_", "-")
    return text[:1].upper() + text[1:]


def format_value(value: float | None, ratio: bool = True) -> str:
    """A metric value: ratios in [0, 1] as a percentage with one decimal, others with 3 significant digits."""
    if value is None or pd.isna(value):
        return "–"
    if ratio and 0.0 <= value <= 1.0:
        return f"{value:.1%}"
    return f"{value:,.3g}"


def format_duration(delta: timedelta | pd.Timedelta | None) -> str:
    """``45 min``, ``5 h``, ``2.1 d`` (minutes under an hour, hours under two days)."""
    if delta is None or pd.isna(delta):
        return "–"
    hours = pd.Timedelta(delta).total_seconds() / 3600
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.0f} h" if hours >= 10 or hours == round(hours) else f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def health_status(open_critical: int, open_warning: int, acknowledged: int, windows: int) -> str:
    """``critical`` / ``warning`` (unacknowledged alerts), ``acknowledged``, ``healthy`` or ``no data``."""
    if windows == 0:
        return "no data"
    if open_critical:
        return "critical"
    if open_warning:
        return "warning"
    if acknowledged:
        return "acknowledged"
    return "healthy"


@dataclass(frozen=True)
class MetricChange:
    """A metric's value over the week and the week before (ratio of sums when numerator/denominator exist)."""

    name: str
    previous: float | None
    current: float | None

    @property
    def relative(self) -> float | None:
        if self.previous in (None, 0) or self.current is None:
            return None
        return (self.current - self.previous) / abs(self.previous)

    def sentence(self) -> str:
        return change_sentence(self.name, self.previous, self.current)


def change_sentence(name: str, previous: float | None, current: float | None) -> str:
    """``Take-rate fell 12% week over week, from 31.0% to 27.3%.`` (or rose / held steady / no data)."""
    label = metric_label(name)
    if current is None or pd.isna(current):
        return f"{label}: no data this week."
    if previous is None or pd.isna(previous) or previous == 0:
        return f"{label} was {format_value(current)} this week (no data the week before)."
    rel = (current - previous) / abs(previous)
    if abs(rel) < 0.005:
        return f"{label} held steady week over week at {format_value(current)}."
    verb = "rose" if rel > 0 else "fell"
    return (f"{label} {verb} {abs(rel):.0%} week over week, from {format_value(previous)} "
            f"to {format_value(current)}.")


def _period_value(frame: pd.DataFrame) -> float | None:
    if frame.empty:
        return None
    num, den = frame["numerator"], frame["denominator"]
    if num.notna().all() and den.notna().all() and den.sum() > 0:
        return float(num.sum() / den.sum())
    values = frame["value"].dropna()
    return float(values.mean()) if not values.empty else None


@dataclass(frozen=True)
class WeekSummary:
    """The manager's week: metric changes, incidents opened/resolved and how long they stayed open."""

    start: datetime
    end: datetime
    metrics: list[MetricChange]
    opened: int
    resolved: int
    still_open: int
    critical_opened: int
    median_open: pd.Timedelta | None
    longest_open: pd.Timedelta | None
    incidents: pd.DataFrame

    def incident_sentence(self) -> str:
        return incident_sentence(self.opened, self.resolved, self.median_open, self.still_open,
                                 self.critical_opened)

    def sentences(self) -> list[str]:
        return [m.sentence() for m in self.metrics] + [self.incident_sentence()]


def incident_sentence(opened: int, resolved: int, median_open: pd.Timedelta | None, still_open: int = 0,
                      critical: int = 0) -> str:
    """``3 incidents opened (1 critical), 2 resolved, median time open 5 h; 1 still open.``"""
    noun = "incident" if opened == 1 else "incidents"
    text = f"{opened} {noun} opened"
    if critical:
        text += f" ({critical} critical)"
    text += f", {resolved} resolved"
    if median_open is not None:
        text += f", median time open {format_duration(median_open)}"
    if still_open:
        text += f"; {still_open} still open"
    return text + "."


def week_summary(metrics: pd.DataFrame, alerts: pd.DataFrame, end: datetime,
                 step: pd.Timedelta | None = None, data_now: datetime | None = None) -> WeekSummary:
    """Summarise the 7 days before ``end`` against the 7 days before those.

    ``metrics``: rows of ``queries.metric_series`` (one model or all; values are pooled per name);
    ``alerts``: rows of ``incident_queries.incidents`` (the weekly page) or of ``queries.alerts``, each one
    incident. An incident counts as opened in the week of its ``first_seen``
    and resolved in the week of its ``resolved_at``; time open is ``resolved_at - first_seen`` of those
    resolved this week, and ``end - first_seen`` for those still open at ``end``. With ``step`` and
    ``data_now``, ``resolved_at`` is first put on the data's clock (:func:`incident_end`).
    """
    end_ts = pd.Timestamp(end)
    start_ts = end_ts - pd.Timedelta(days=7)
    prev_ts = start_ts - pd.Timedelta(days=7)
    changes = []
    for name, rows in metrics.groupby("name", sort=True):
        this = rows[(rows["ts"] > start_ts) & (rows["ts"] <= end_ts)]
        last = rows[(rows["ts"] > prev_ts) & (rows["ts"] <= start_ts)]
        changes.append(MetricChange(str(name), _period_value(last), _period_value(this)))
    a = alerts.copy()
    if step is not None and data_now is not None:
        a["resolved_at"] = incident_end(a, pd.Timestamp(data_now), step)
    opened = a[(a["first_seen"] > start_ts) & (a["first_seen"] <= end_ts)]
    resolved = a[a["resolved_at"].notna() & (a["resolved_at"] > start_ts) & (a["resolved_at"] <= end_ts)]
    open_at_end = a[(a["first_seen"] <= end_ts) & (a["resolved_at"].isna() | (a["resolved_at"] > end_ts))]
    durations = resolved["resolved_at"] - resolved["first_seen"]
    in_week = a[(a["first_seen"] <= end_ts) & (a["resolved_at"].isna() | (a["resolved_at"] > start_ts))].copy()
    in_week["until"] = in_week["resolved_at"].where(in_week["resolved_at"].notna() & (in_week["resolved_at"] <= end_ts),
                                                    end_ts)
    in_week["time_open"] = in_week["until"] - in_week["first_seen"]
    return WeekSummary(
        start=start_ts.to_pydatetime(), end=end_ts.to_pydatetime(), metrics=changes,
        opened=len(opened), resolved=len(resolved), still_open=len(open_at_end),
        critical_opened=int((opened["severity"] == "critical").sum()),
        median_open=durations.median() if not durations.empty else None,
        longest_open=durations.max() if not durations.empty else None,
        incidents=in_week.sort_values("first_seen").reset_index(drop=True),
    )


def guess_prediction_column(columns: dict[str, str]) -> str | None:
    """The likely prediction column among ``{column: kind}``: ``prediction``/``score``/``*_score``, numeric first.

    >>> guess_prediction_column({"device": "categorical", "score": "numeric"})
    'score'
    """
    def rank(item: tuple[str, str]) -> tuple[int, int]:
        name, kind = item
        low = name.lower()
        named = 0 if low in ("prediction", "score") else 1 if low.endswith("_score") or "predict" in low else 2
        return named, 0 if kind == "numeric" else 1

    candidates = sorted(columns.items(), key=rank)
    return candidates[0][0] if candidates and rank(candidates[0])[0] < 2 else None


def drift_score(features: pd.DataFrame) -> pd.Series:
    """A comparable drift score per feature result: 1 at the drift threshold, higher = more drift.

    p-value tests (``p_value`` present): ``log(p) / log(alpha)`` (``p == alpha`` -> 1, ``p == alpha**2`` -> 2);
    distance tests: ``statistic / threshold``. Preset ``default`` (``effect_size`` and ``alpha`` present)
    drifts only when both parts pass (``p_value_adjusted < alpha and effect_size >= threshold``), so its
    score is the smaller of ``log(p_adj) / log(alpha)`` and ``effect_size / threshold``: a large window
    whose p-value is tiny but whose effect is immaterial scores below 1, as its verdict says.

    >>> frame = pd.DataFrame({"statistic": [0.2, 0.3], "p_value": [0.0025, None], "threshold": [0.05, 0.1]})
    >>> [round(x, 2) for x in drift_score(frame)]
    [2.0, 3.0]
    >>> default = pd.DataFrame({"statistic": [9.1, 9.1], "p_value": [1e-9, 1e-9], "threshold": [0.05, 0.05],
    ...                         "effect_size": [0.02, 0.10], "p_value_adjusted": [1e-8, 1e-8], "alpha": [0.01, 0.01]})
    >>> [round(x, 2) for x in drift_score(default)]
    [0.4, 2.0]
    """
    import numpy as np

    def num(name: str) -> pd.Series:
        if name not in features:
            return pd.Series(np.nan, index=features.index, dtype=float)
        return pd.to_numeric(features[name], errors="coerce").astype(float)

    p = num("p_value").clip(lower=1e-300)
    threshold = num("threshold")
    by_p = np.log(p) / np.log(threshold.where((threshold > 0) & (threshold < 1)))
    by_stat = num("statistic") / threshold.where(threshold != 0)
    score = by_p.where(p.notna(), by_stat)
    effect, alpha, p_adj = num("effect_size"), num("alpha"), num("p_value_adjusted").clip(lower=1e-300)
    two_part = effect.notna() & alpha.notna() & p_adj.notna() & (alpha > 0) & (alpha < 1)
    by_both = np.minimum(np.log(p_adj) / np.log(alpha.where(two_part)), effect / threshold.where(threshold != 0))
    return by_both.where(two_part, score).astype(float)


def describe_test(row: pd.Series | dict[str, object]) -> str:
    """``ks = 0.210, p = 1.2e-05 (alpha 0.05)``, ``psi = 0.512 (threshold 0.100)``, or for preset ``default``
    ``cramer_von_mises = 9.100, adjusted p = 1e-08 (alpha 0.01), effect 0.020 (min 0.050)``."""
    test, stat, p, thr = row["test"], row["statistic"], row["p_value"], row["threshold"]
    stat_text = "–" if stat is None or pd.isna(stat) else f"{stat:.3f}"
    effect, alpha, p_adj = (row.get(k) for k in ("effect_size", "alpha", "p_value_adjusted"))
    if not any(v is None or pd.isna(v) for v in (effect, alpha, p_adj)):
        return (f"{test} = {stat_text}, adjusted p = {p_adj:.2g} (alpha {alpha:g}), "
                f"effect {effect:.3f} (min {thr:.3f})")
    if p is not None and not pd.isna(p):
        return f"{test} = {stat_text}, p = {p:.2g} (alpha {thr:g})"
    return f"{test} = {stat_text} (threshold {thr:.3f})"


#: Per-window counters the watcher records next to business metrics; not business metrics themselves.
OPERATIONAL_METRICS = frozenset({"events_per_second", "n_events", "joined_outcomes", "score_std", "late_events",
                                 "dead_letters", "coerced_values"})
_PREFERRED = ("take_rate", "ctr", "conversion_rate")


def business_metric_names(names: list[str] | pd.Index | pd.Series) -> list[str]:
    """Business metrics among ``names`` (operational counters left out), take-rate and CTR first.

    >>> business_metric_names(["n_events", "revenue", "take_rate", "score_std"])
    ['take_rate', 'revenue']
    """
    unique = sorted(set(map(str, names)))
    business = [n for n in unique if n not in OPERATIONAL_METRICS]
    return sorted(business, key=lambda n: (_PREFERRED.index(n) if n in _PREFERRED else len(_PREFERRED), n))


def window_step(windows: pd.DataFrame) -> pd.Timedelta:
    """The usual distance between consecutive window ends (the window length when they do not overlap)."""
    if len(windows) >= 2:
        step = windows["window_end"].sort_values().diff().median()
        if pd.notna(step) and step > pd.Timedelta(0):
            return pd.Timedelta(step)
    if not windows.empty:
        return pd.Timedelta(windows["window_end"].iloc[0] - windows["window_start"].iloc[0])
    return pd.Timedelta(hours=1)


def incident_end(alerts: pd.DataFrame, data_now: pd.Timestamp, step: pd.Timedelta) -> pd.Series:
    """When each resolved incident ended, on the data's clock (``NaT`` while unresolved).

    ``resolved_at`` is wall-clock time. Live, it is on the data's clock too; when data is replayed (the demo,
    a backfill) it can lie after every window, and then the incident is taken to end one window after it was
    last seen.
    """
    resolved = alerts["resolved_at"]
    fallback = alerts["last_seen"] + step
    usable = resolved.notna() & (resolved <= data_now)
    return resolved.where(usable, fallback).where(resolved.notna())


def on_call_line(alert: dict[str, object], now: datetime) -> str:
    """Who the alert is assigned to and, while a snooze lasts (``snoozed_until`` after ``now``), until when.

    >>> now = pd.Timestamp("2026-12-05 08:00", tz="UTC")
    >>> on_call_line({"assignee": "ada@x.org", "snoozed_until": now + pd.Timedelta(hours=4)}, now)
    'Assigned to **ada@x.org** · snoozed until 2026-12-05 12:00 UTC (window changes are not notified)'
    >>> on_call_line({"assignee": None, "snoozed_until": now - pd.Timedelta(hours=1)}, now)
    'Nobody is assigned'
    """
    assignee, until = alert.get("assignee"), alert.get("snoozed_until")
    line = f"Assigned to **{assignee}**" if isinstance(assignee, str) and assignee else "Nobody is assigned"
    if until is not None and not pd.isna(until) and pd.Timestamp(until) > pd.Timestamp(now):  # type: ignore[arg-type]
        line += f" · snoozed until {pd.Timestamp(until):%Y-%m-%d %H:%M} UTC (window changes are not notified)"  # type: ignore[arg-type]
    return line


def contribution_sentence(series: pd.DataFrame, top: int = 3) -> str | None:
    """Which columns the latest window outside the multivariate band is in (rows of
    ``data.multivariate_series``), or ``None`` when no such window has shares.

    >>> frame = pd.DataFrame({"window_end": pd.to_datetime(["2026-11-03", "2026-11-04"], utc=True),
    ...                       "drifted": [True, False], "contributions": [{"a": 0.61, "b": 0.3, "c": 0.09}, None]})
    >>> print(contribution_sentence(frame).replace(", most", ",\\nmost"))
    In the latest window outside the band (ending 2026-11-03 00:00 UTC),
    most of the reconstruction error is in a (61%), b (30%), c (9%).
    """
    if "contributions" not in series.columns:
        return None
    drifted = series[series["drifted"].astype(bool) & series["contributions"].map(lambda c: isinstance(c, dict))]
    if drifted.empty:
        return None
    last = drifted.sort_values("window_end").iloc[-1]
    shares = sorted(((str(k), float(v)) for k, v in dict(last["contributions"]).items()), key=lambda kv: -kv[1])
    columns = ", ".join(f"{k} ({v:.0%})" for k, v in shares[:top])
    return (f"In the latest window outside the band (ending {last['window_end']:%Y-%m-%d %H:%M} UTC), most of the "
            f"reconstruction error is in {columns}.")
