"""Plotly figures of the pages (pure: frames of :mod:`monitor.store.queries` in, figures out).

Every time axis is UTC. Alert colours follow severity everywhere: critical red, warning orange, info blue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.summaries import (
    business_metric_names,
    describe_test,
    drift_score,
    format_duration,
    metric_label,
    window_step,
)

__all__ = [
    "SEVERITY_COLORS",
    "distribution_figure",
    "drift_heatmap",
    "incident_timeline",
    "prediction_band",
    "quality_figure",
    "timeline_figure",
    "week_over_week",
]

SEVERITY_COLORS = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4"}
_BLUE, _GREY, _ORANGE = "#1f77b4", "#9e9e9e", "#ff7f0e"
_LAYOUT: dict[str, Any] = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "hovermode": "x unified",
                           "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}}
SCORE_CAP = 5.0
_TITLED: dict[str, Any] = {**_LAYOUT, "margin": {"l": 10, "r": 10, "t": 78, "b": 10}}


def _title(text: str) -> dict[str, Any]:
    return {"text": text, "x": 0, "xanchor": "left", "y": 0.985, "yanchor": "top", "font": {"size": 15}}


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": _GREY})
    fig.update_layout(title=_title(title), xaxis_visible=False, yaxis_visible=False, height=220, **_LAYOUT)
    return fig


def _shade_alerts(fig: go.Figure, alerts: pd.DataFrame, rows: int, step: pd.Timedelta) -> None:
    """A band over the windows each alert fired in (the window before first seen up to last seen)."""
    for a in alerts.itertuples(index=False):
        color = SEVERITY_COLORS.get(a.severity, _GREY)
        for row in range(1, rows + 1):
            fig.add_vrect(x0=a.first_seen - step, x1=a.last_seen, fillcolor=color, opacity=0.08, line_width=0,
                          row=row, col=1)


def timeline_figure(
    metrics: pd.DataFrame, windows: pd.DataFrame, alerts: pd.DataFrame, features: pd.DataFrame | None = None,
    names: Sequence[str] | None = None, versions: pd.DataFrame | None = None,
    x_range: tuple[Any, Any] | None = None,
) -> go.Figure:
    """Business metrics with alert markers, drift share, worst missing rate and traffic on one time axis.

    ``names``: the metrics of the top row (default: every business metric, see ``business_metric_names``);
    ``versions`` (``window_end, version, events``): when the model version changes, traffic is stacked by it;
    ``x_range``: pins the time axis (the model page gives its other time panels the same range).
    """
    names = list(names) if names is not None else business_metric_names(metrics["name"].unique())
    metrics = metrics[metrics["name"].isin(names)]
    titles = [", ".join(metric_label(n) for n in names) or "Business metrics (none recorded)",
              "Share of drifted columns", "Worst missing rate across columns",
              "Traffic (events per window, by model version)"]
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=titles,
                        row_heights=[0.37, 0.21, 0.21, 0.21])
    _add_business_lines(fig, metrics, names)
    if not alerts.empty:
        _shade_alerts(fig, alerts, 4, window_step(windows))
        _add_alert_markers(fig, alerts, float(metrics["value"].max()) if not metrics.empty else 1.0)
    if not windows.empty:
        _add_drift_share(fig, windows)
        _add_traffic(fig, windows, versions)
    if features is not None and not features.empty:
        _add_worst_missing_rate(fig, features)
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1], row=2, col=1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=3, col=1)
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    fig.update_layout(height=760, bargap=0.05, **_LAYOUT)
    return fig


def _add_business_lines(fig: go.Figure, metrics: pd.DataFrame, names: Sequence[str]) -> None:
    """Row 1: one line per business metric of ``names``."""
    palette = ["#2ca02c", "#9467bd", "#8c564b", "#17becf"]
    for i, name in enumerate(names):
        rows = metrics[metrics["name"] == name]
        fig.add_trace(go.Scatter(x=rows["ts"], y=rows["value"], name=metric_label(name), mode="lines",
                                 line={"color": palette[i % len(palette)], "width": 1.8}), row=1, col=1)


def _add_alert_markers(fig: go.Figure, alerts: pd.DataFrame, y_top: float) -> None:
    """Row 1: a triangle per alert just above the highest metric value, one trace per severity."""
    for severity, group in alerts.groupby("severity"):
        fig.add_trace(go.Scatter(
            x=group["first_seen"], y=[y_top * 1.04] * len(group), mode="markers", name=f"{severity} alert",
            marker={"symbol": "triangle-down", "size": 12, "color": SEVERITY_COLORS.get(str(severity), _GREY),
                    "line": {"width": 1, "color": "white"}},
            text=[f"#{r.alert_id} {r.signal} {r.feature or ''}: {r.message}" for r in group.itertuples()],
            hovertemplate="%{text}<extra></extra>",
        ), row=1, col=1)


def _add_drift_share(fig: go.Figure, windows: pd.DataFrame) -> None:
    """Row 2: the share of drifted columns per window, with the windows of dataset drift marked."""
    fig.add_trace(go.Scatter(x=windows["window_end"], y=windows["drift_share"], name="drift share",
                             mode="lines", line={"color": _ORANGE, "width": 1.5}, fill="tozeroy",
                             showlegend=False), row=2, col=1)
    drifted = windows[windows["dataset_drift"]]
    fig.add_trace(go.Scatter(x=drifted["window_end"], y=drifted["drift_share"], mode="markers",
                             name="dataset drift", marker={"color": SEVERITY_COLORS["critical"], "size": 5},
                             showlegend=False), row=2, col=1)


def _add_traffic(fig: go.Figure, windows: pd.DataFrame, versions: pd.DataFrame | None) -> None:
    """Row 4: events per window, stacked by model version when there is more than one."""
    if versions is not None and versions["version"].nunique() > 1:
        palette_v = [_BLUE, "#9467bd", "#17becf", "#bcbd22", "#7f7f7f"]
        for i, (version, part) in enumerate(versions.groupby("version", sort=True)):
            fig.add_trace(go.Bar(x=part["window_end"], y=part["events"], name=f"model {version}",
                                 marker_color=palette_v[i % len(palette_v)]), row=4, col=1)
        fig.update_layout(barmode="stack")
    else:
        fig.add_trace(go.Bar(x=windows["window_end"], y=windows["n_events"], name="events",
                             marker_color=_BLUE, showlegend=False), row=4, col=1)


def _add_worst_missing_rate(fig: go.Figure, features: pd.DataFrame) -> None:
    """Row 3: the highest missing rate across columns per window."""
    worst = features.groupby("window_end")["missing_rate_current"].max().reset_index()
    fig.add_trace(go.Scatter(x=worst["window_end"], y=worst["missing_rate_current"], name="missing rate",
                             mode="lines", line={"color": "#8c564b", "width": 1.5}, showlegend=False),
                  row=3, col=1)


def multivariate_figure(series: pd.DataFrame) -> go.Figure:
    """The joint test's statistic per window inside its reference band; windows outside it marked."""
    title = "Joint drift: PCA reconstruction error of all features together"
    if series.empty:
        return _empty(title, "No multivariate result in this range")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=series["window_end"], y=series["upper"], mode="lines", line={"width": 0},
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=series["window_end"], y=series["lower"], mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor="rgba(127,127,127,0.18)", name="reference band",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=series["window_end"], y=series["statistic"], mode="lines+markers",
                             name="reconstruction error", line={"color": _BLUE, "width": 1.6},
                             marker={"size": 4}))
    drifted = series[series["drifted"]]
    fig.add_trace(go.Scatter(x=drifted["window_end"], y=drifted["statistic"], mode="markers",
                             name="outside the band (drifted)",
                             marker={"color": SEVERITY_COLORS["critical"], "size": 9, "symbol": "diamond"}))
    fig.update_layout(height=300, title=_title(title), **_TITLED)
    return fig


def drift_heatmap(features: pd.DataFrame, mode: str = "statistic") -> go.Figure:
    """Columns x windows: ``statistic / threshold`` (``mode="statistic"``) or the drifted verdict."""
    if features.empty:
        return _empty("Feature drift", "No feature test results in this range")
    f = features.copy()
    f["ratio"] = drift_score(f)
    order = f.groupby("feature")["ratio"].max().sort_values(ascending=False).index.tolist()
    if mode == "verdict":
        z = f.pivot_table(index="feature", columns="window_end", values="drifted", aggfunc="max").astype(float)
        colorscale: Any = [[0, "#e8f5e9"], [0.5, "#e8f5e9"], [0.5, "#d62728"], [1, "#d62728"]]
        zmin, zmax, cbar = 0.0, 1.0, {"tickvals": [0.25, 0.75], "ticktext": ["ok", "drifted"]}
    else:
        z = f.pivot_table(index="feature", columns="window_end", values="ratio", aggfunc="max")
        colorscale = [[0, "#f7fbff"], [0.35, "#c6dbef"], [0.5, "#fdd49e"], [0.75, "#fc8d59"], [1, "#b30000"]]
        zmin, zmax, cbar = 0.0, 2.0, {"title": "drift<br>score", "tickvals": [0, 1, 2],
                                       "ticktext": ["0", "1 = threshold", "≥2"]}
    z = z.reindex(order)
    f["detail"] = [describe_test(r) + (" · drifted" if r["drifted"] else "") for _, r in f.iterrows()]
    detail = f.pivot_table(index="feature", columns="window_end", values="detail", aggfunc="first").reindex(order)
    custom = detail.reindex(columns=z.columns).to_numpy(dtype=object)
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(dtype=float), x=z.columns, y=z.index, zmin=zmin, zmax=zmax, colorscale=colorscale,
        colorbar=cbar, customdata=custom, xgap=0, ygap=2,
        hovertemplate="%{y} at %{x|%Y-%m-%d %H:%M}<br>%{customdata}<extra></extra>",
    ))
    fig.update_layout(height=max(220, 40 * len(order) + 90), **{**_LAYOUT, "hovermode": "closest"})
    return fig


def prediction_band(quantiles: pd.DataFrame, column: str, reference: Any | None = None) -> go.Figure:
    """Median and p10-p90 / p25-p75 bands of a score per window (from the stored samples)."""
    title = f"{column}: median and spread per window"
    if quantiles.empty:
        return _empty(title, "No stored samples to show the distribution (sampling may be off)")
    q = quantiles
    fig = go.Figure()
    for lo, hi, alpha, label in (("p10", "p90", 0.15, "p10–p90"), ("p25", "p75", 0.3, "p25–p75")):
        fig.add_trace(go.Scatter(x=q["window_end"], y=q[hi], mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=q["window_end"], y=q[lo], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor=f"rgba(31,119,180,{alpha})", name=label, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=q["window_end"], y=q["p50"], mode="lines", name="median",
                             line={"color": _BLUE, "width": 2}))
    if reference is not None and getattr(reference, "kind", "") == "numeric" and len(reference.values):
        ref_median = float(np.median(reference.values))
        fig.add_hline(y=ref_median, line_dash="dash", line_color=_GREY,
                      annotation_text=f"reference median {ref_median:.3g}", annotation_position="top left")
    fig.update_layout(title=_title(title), height=320, **_TITLED)
    return fig


def distribution_figure(column: str, kind: str, current: pd.Series, reference: Any | None,
                        current_label: str = "current window") -> go.Figure:
    """Reference vs current distribution of one column (shares, so sizes compare)."""
    title = f"{column}: reference vs {current_label}"
    if kind == "numeric":
        cur = pd.to_numeric(current, errors="coerce").dropna().to_numpy()
        ref = np.asarray(reference.values, dtype=float) if reference is not None else np.array([])
        both = np.concatenate([cur, ref])
        if both.size == 0:
            return _empty(title, "No values")
        lo, hi = np.quantile(both, [0.005, 0.995])
        edges = np.linspace(lo, hi if hi > lo else lo + 1, 41)
        fig = go.Figure()
        for values, name, color in ((ref, "reference", _GREY), (cur, current_label, _BLUE)):
            if values.size:
                counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
                fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts / counts.sum(), name=name,
                                     marker_color=color, opacity=0.6, width=float(edges[1] - edges[0])))
        fig.update_layout(barmode="overlay")
    else:
        labels = current.map(lambda v: "(missing)" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        cur_share = labels.value_counts(normalize=True)
        ref_share = pd.Series(dtype=float)
        if reference is not None:
            counts = pd.Series(np.asarray(reference.counts, dtype=float), index=list(reference.categories))
            if getattr(reference, "n_null", 0):
                counts["(missing)"] = float(reference.n_null)
            ref_share = counts / counts.sum()
        cats = sorted(set(cur_share.index) | set(ref_share.index),
                      key=lambda c: -max(cur_share.get(c, 0.0), ref_share.get(c, 0.0)))
        fig = go.Figure([
            go.Bar(x=cats, y=[ref_share.get(c, 0.0) for c in cats], name="reference", marker_color=_GREY),
            go.Bar(x=cats, y=[cur_share.get(c, 0.0) for c in cats], name=current_label, marker_color=_BLUE),
        ])
        fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", title="share")
    fig.update_layout(title=_title(title), height=340, **{**_TITLED, "hovermode": "x"})
    return fig


def statistic_over_time(features: pd.DataFrame, column: str) -> go.Figure:
    """One column's drift score per window (1 = the test's threshold; see ``summaries.drift_score``)."""
    rows = features[features["feature"] == column]
    if rows.empty:
        return _empty(column, "No test results for this column")
    rows = rows.assign(score=drift_score(rows).clip(upper=SCORE_CAP),
                       detail=[describe_test(r) for _, r in rows.iterrows()])
    test = str(rows["test"].iloc[0])
    fig = go.Figure(go.Scatter(x=rows["window_end"], y=rows["score"], mode="lines+markers", name=f"{test} score",
                               line={"color": _BLUE}, marker={"size": 4}, customdata=rows["detail"],
                               hovertemplate="%{customdata}<extra></extra>"))
    drifted = rows[rows["drifted"]]
    fig.add_trace(go.Scatter(x=drifted["window_end"], y=drifted["score"], mode="markers", name="drifted",
                             marker={"color": SEVERITY_COLORS["critical"], "size": 8}, hoverinfo="skip"))
    fig.add_hline(y=1.0, line_dash="dash", line_color=SEVERITY_COLORS["critical"], line_width=1,
                  annotation_text="threshold", annotation_position="top left")
    fig.update_yaxes(rangemode="tozero", title=f"drift score (capped at {SCORE_CAP:g})")
    fig.update_layout(title=_title(f"{column}: drift score per window ({test})"), height=340, **_TITLED)
    return fig


def quality_figure(features: pd.DataFrame, dead: pd.DataFrame, freq: str = "1h") -> go.Figure:
    """Missing rate per column over time (columns that ever miss values), and dead-lettered input if any."""
    rows = 2 if not dead.empty else 1
    titles = ["Missing rate by column", "Dead-lettered messages per hour"][:rows]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.14, subplot_titles=titles)
    shown = 0
    if not features.empty:
        missing = features.dropna(subset=["missing_rate_current"])
        for column, part in missing.groupby("feature"):
            if part["missing_rate_current"].max() > 0:
                shown += 1
                fig.add_trace(go.Scatter(x=part["window_end"], y=part["missing_rate_current"], mode="lines",
                                         name=f"{column} missing", showlegend=True), row=1, col=1)
    if not shown:
        fig.add_annotation(text="no missing values in any column", showarrow=False, xref="x domain",
                           yref="y domain", x=0.5, y=0.5, font={"color": _GREY})
    if rows == 2:
        counts = dead.set_index("created_at").resample(freq)["error_class"].count()
        fig.add_trace(go.Bar(x=counts.index, y=counts.to_numpy(), name="dead letters", marker_color=_GREY),
                      row=2, col=1)
    fig.update_xaxes(type="date")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=1, col=1)
    fig.update_layout(height=260 + 160 * (rows - 1), **_LAYOUT)
    return fig


def week_over_week(metrics: pd.DataFrame, name: str, end: pd.Timestamp) -> go.Figure:
    """Daily value of a metric this week vs last week, overlaid on the days of the week."""
    rows = metrics[metrics["name"] == name].copy()
    label = metric_label(name)
    start, prev = end - pd.Timedelta(days=7), end - pd.Timedelta(days=14)
    fig = go.Figure()
    for lo, hi, title, color, dash in ((prev, start, "previous week", _GREY, "dot"),
                                        (start, end, "this week", _BLUE, "solid")):
        part = rows[(rows["ts"] > lo) & (rows["ts"] <= hi)].copy()
        if part.empty:
            continue
        part["day"] = ((part["ts"] - lo) / pd.Timedelta(days=1)).astype(int).clip(upper=6)
        daily = part.groupby("day").apply(_daily_value, include_groups=False)
        x = [(lo + pd.Timedelta(days=int(d) + 1)).strftime("%a %d") if title == "this week"
             else (start + pd.Timedelta(days=int(d) + 1)).strftime("%a %d") for d in daily.index]
        fig.add_trace(go.Scatter(x=x, y=daily.to_numpy(), mode="lines+markers", name=title,
                                 line={"color": color, "dash": dash, "width": 2.5}))
    fig.update_yaxes(tickformat=".1%" if rows["value"].between(0, 1).all() else None)
    fig.update_layout(title=_title(f"{label}: this week vs the week before (daily)"), height=320, **_TITLED)
    return fig


def _daily_value(frame: pd.DataFrame) -> float:
    if frame["denominator"].notna().all() and frame["denominator"].sum() > 0:
        return float(frame["numerator"].sum() / frame["denominator"].sum())
    return float(frame["value"].mean())


def incident_timeline(incidents: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> go.Figure:
    """One bar per incident of the week (rows of ``incident_queries.incidents``, or of alerts), from first seen to
    resolved (or to the end of the week)."""
    if incidents.empty:
        return _empty("Incidents", "No incidents this week")
    inc = incidents.copy()
    if "incident_id" in inc.columns:  # incidents (else alerts)
        inc["label"] = [f"#{r.incident_id} {r.model}: " + (r.title if len(r.title) <= 60 else r.title[:59] + "…")
                        for r in inc.itertuples()]
    else:
        inc["label"] = [f"#{r.alert_id} {r.model}: {r.signal}" + (f" ({r.feature})" if r.feature else "")
                        for r in inc.itertuples()]
    fig = go.Figure()
    for severity, rows in inc.groupby("severity"):
        min_width = (end - start) * 0.012  # an incident of one window stays visible, even at the very end
        x0 = rows["first_seen"].clip(lower=start, upper=end - min_width)
        width_ms = ((rows["until"] - x0).dt.total_seconds() * 1000).clip(lower=min_width.total_seconds() * 1000)
        fig.add_trace(go.Bar(
            y=rows["label"], x=width_ms, base=x0, orientation="h", name=str(severity),
            marker_color=SEVERITY_COLORS.get(str(severity), _GREY),
            text=[format_duration(t) + (" (open)" if pd.isna(r) else "") for t, r in
                  zip(rows["time_open"], rows["resolved_at"], strict=True)],
            textposition="auto", hovertemplate="%{y}<br>%{text}<extra></extra>",
        ))
    fig.update_xaxes(type="date", range=[start, end])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=_title("Incidents and how long they stayed open"), height=max(220, 34 * len(inc) + 100),
                      **{**_TITLED, "hovermode": "closest"})
    return fig


def sparkline_values(metrics: pd.DataFrame, name: str, points: int = 48) -> Sequence[float]:
    """The last ``points`` values of a metric (for ``st.metric(chart_data=...)``)."""
    rows = metrics[metrics["name"] == name].dropna(subset=["value"])
    return [float(v) for v in rows["value"].tail(points)]
