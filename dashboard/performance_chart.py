"""The "Model quality" figure of the model page (pure: frames in, a Plotly figure out).

One row per metric: the realized value (solid, with its confidence interval as a band) once labels are
joined, the CBPE estimate (dashed, with its band) from the moment a window closes, the reference as a dotted
line, and the model-quality alerts as markers; beneath, the share of each window's predictions labelled so
far. The x axis is the window end (UTC), as in the drift and business-metric timeline, and ``x_range``
pins both figures to the same span.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts import SEVERITY_COLORS
from dashboard.performance import PERFORMANCE_SIGNALS, format_perf, perf_label

__all__ = ["model_quality_figure"]

_REALIZED, _ESTIMATED, _GREY, _COVERAGE = "#2ca02c", "#9467bd", "#9e9e9e", "#7f7f7f"
_SIGNAL_WORDS = {"performance_drop": "realized drop", "estimated_performance_drop": "estimated drop",
                 "performance_estimate_unreliable": "estimate unreliable"}
# the legend sits above the first row's title (make_subplots puts titles just above each row)
_LAYOUT: dict[str, Any] = {"margin": {"l": 10, "r": 10, "t": 80, "b": 10}, "hovermode": "x unified",
                           "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.1, "x": 0}}


def _band(fig: go.Figure, x: pd.Series, lower: pd.Series, upper: pd.Series, color: str, name: str, row: int,
          legend: bool) -> None:
    fig.add_trace(go.Scatter(x=x, y=upper, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip",
                             legendgroup=name), row=row, col=1)
    fig.add_trace(go.Scatter(x=x, y=lower, mode="lines", line={"width": 0}, fill="tonexty", fillcolor=color,
                             name=name, showlegend=legend, hoverinfo="skip", legendgroup=name), row=row, col=1)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _metric_row(fig: go.Figure, rows: pd.DataFrame, metric: str, row: int, first: bool) -> None:
    label = perf_label(metric)
    est = rows[rows["estimated"].notna()]
    if not est.empty:
        _band(fig, est["window_end"], est["estimated_lower"], est["estimated_upper"], _rgba(_ESTIMATED, 0.13),
              "estimate band", row, first)
        fig.add_trace(go.Scatter(
            x=est["window_end"], y=est["estimated"], mode="lines+markers", name="estimated (CBPE)",
            line={"color": _ESTIMATED, "dash": "dash", "width": 1.8}, marker={"size": 4}, showlegend=first,
            legendgroup="estimated", hovertemplate=f"estimated {label} %{{y:.3f}}<extra></extra>"), row=row, col=1)
    real = rows[rows["realized"].notna()]
    if not real.empty:
        _band(fig, real["window_end"], real["realized_lower"], real["realized_upper"], _rgba(_REALIZED, 0.2),
              "confidence interval", row, first)
        provisional = real["provisional"].astype(bool)
        fig.add_trace(go.Scatter(
            x=real["window_end"], y=real["realized"], mode="lines+markers", name="realized (labels)",
            line={"color": _REALIZED, "width": 2.2}, showlegend=first, legendgroup="realized",
            marker={"size": 7, "color": _REALIZED, "line": {"color": _REALIZED, "width": 1.5},
                    "symbol": ["circle-open" if p else "circle" for p in provisional]},
            customdata=[f"{n:,} labelled{' so far' if p else ''}" for n, p in
                        zip(real["n_labelled"], provisional, strict=True)],
            hovertemplate=f"realized {label} %{{y:.3f}} (%{{customdata}})<extra></extra>"), row=row, col=1)
    refs = rows["reference"].dropna()
    if not refs.empty:
        fig.add_hline(y=float(refs.iloc[-1]), line_dash="dot", line_color=_GREY, line_width=1.2, row=row, col=1,
                      annotation_text=f"reference {format_perf(float(refs.iloc[-1]))}",
                      annotation_position="bottom left", annotation_font={"color": _GREY, "size": 11})


def _alert_markers(fig: go.Figure, alerts: pd.DataFrame, rows_of: dict[str, int], tops: dict[str, float],
                   step: pd.Timedelta) -> None:
    mine = alerts[alerts["signal"].isin(PERFORMANCE_SIGNALS) & alerts["feature"].isin(list(rows_of))]
    shown: set[str] = set()
    for a in mine.itertuples(index=False):
        color = SEVERITY_COLORS.get(str(a.severity), _GREY)
        row = rows_of[str(a.feature)]
        fig.add_vrect(x0=a.first_seen - step, x1=a.last_seen, fillcolor=color, opacity=0.07, line_width=0,
                      row=row, col=1)
        name = f"{a.severity} alert"
        fig.add_trace(go.Scatter(
            x=[a.first_seen], y=[tops[str(a.feature)]], mode="markers", name=name, showlegend=name not in shown,
            legendgroup=name, marker={"symbol": "triangle-down", "size": 12, "color": color,
                                      "line": {"width": 1, "color": "white"}},
            text=[f"#{a.alert_id} {_SIGNAL_WORDS.get(str(a.signal), a.signal)}: {a.message}"],
            hovertemplate="%{text}<extra></extra>"), row=row, col=1)
        shown.add(name)


def model_quality_figure(perf: pd.DataFrame, alerts: pd.DataFrame, metrics: Sequence[str],
                         x_range: tuple[Any, Any] | None = None, step: pd.Timedelta | None = None) -> go.Figure:
    """Realized and estimated ``metrics`` per window with bands, reference, alert markers and label coverage.

    ``perf``: rows of :func:`dashboard.data.performance`; ``alerts``: rows of ``queries.alerts`` (only the
    model-quality signals on these metrics are drawn); ``step``: the window length (alert bands start one
    window before first seen, as on the timeline).
    """
    metrics = [m for m in metrics if m in set(perf["metric"])]
    n = len(metrics)
    titles = [perf_label(m) for m in metrics] + ["Labelled so far (share of each window's predictions)"]
    fig = make_subplots(rows=n + 1, cols=1, shared_xaxes=True, vertical_spacing=0.08 if n < 3 else 0.05,
                        subplot_titles=titles, row_heights=[1.0] * n + [0.45])
    tops: dict[str, float] = {}
    for i, metric in enumerate(metrics):
        rows = perf[perf["metric"] == metric].sort_values("window_end")
        _metric_row(fig, rows, metric, i + 1, first=i == 0)
        values = pd.concat([rows[c] for c in ("realized_upper", "estimated_upper", "realized", "estimated",
                                              "reference")]).dropna()
        tops[metric] = float(values.max()) + 0.02 if not values.empty else 1.0
    if not alerts.empty and metrics:
        _alert_markers(fig, alerts, {m: i + 1 for i, m in enumerate(metrics)}, tops, step or pd.Timedelta(0))
    windows = perf.drop_duplicates("window_end").sort_values("window_end")
    coverage = (windows["n_labelled"] / windows["n_predictions"].where(windows["n_predictions"] > 0)).fillna(0.0)
    fig.add_trace(go.Bar(x=windows["window_end"], y=coverage, name="labelled", marker_color=_COVERAGE,
                         showlegend=False, customdata=windows[["n_labelled", "n_predictions"]].to_numpy(),
                         hovertemplate="%{customdata[0]:,} of %{customdata[1]:,} predictions labelled"
                                       "<extra></extra>"), row=n + 1, col=1)
    for i in range(1, n + 1):
        fig.update_yaxes(tickformat=".2f", row=i, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1], row=n + 1, col=1)
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    fig.update_xaxes(type="date")
    fig.update_layout(height=200 + 190 * n, bargap=0.05, **_LAYOUT)
    return fig
