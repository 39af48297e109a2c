"""Segment and fairness panels (pure: frames of :mod:`dashboard.data` in, figures and sentences out).

Frames: ``segments`` (one row per window and segment: ``window_end, segment, n_events, drift_share,
drifted_columns, metrics, alerted``), ``fairness`` (one row per window, attribute and metric: ``window_end,
attribute, metric, value, lower, upper, threshold, violated``), ``slices`` (the worst slices of each window).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.summaries import metric_label

__all__ = ["DRIFT_SHARE", "SegmentDrop", "clicked_window", "fairness_figure", "segment_colour_values",
           "segment_drop_sentence", "segment_heatmap", "segment_metric_names", "weekly_segment_drop"]

DRIFT_SHARE = "drift_share"
"""The heatmap's default colour: the share of the segment's columns that drifted."""
_LAYOUT: dict[str, Any] = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "hovermode": "closest",
                           "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}}
_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def segment_metric_names(segments: pd.DataFrame) -> list[str]:
    """The business metrics the segment rows carry, sorted."""
    names: set[str] = set()
    for metrics in segments.get("metrics", pd.Series(dtype=object)):
        names.update(k for k, v in (metrics or {}).items() if v is not None)
    return sorted(names)


def segment_colour_values(segments: pd.DataFrame, colour: str) -> pd.Series:
    """Per row, the value the heatmap colours by: the drift share, or the business metric ``colour``."""
    if colour == DRIFT_SHARE:
        return pd.to_numeric(segments["drift_share"], errors="coerce").astype(float)
    return pd.to_numeric(segments["metrics"].map(lambda m: (m or {}).get(colour)), errors="coerce").astype(float)


def clicked_window(points: list[dict[str, Any]], ends: list[pd.Timestamp]) -> pd.Timestamp | None:
    """The window end of the first clicked heatmap cell (its ``x``; naive times are UTC), or ``None``.

    >>> ends = [pd.Timestamp("2026-11-03", tz="UTC"), pd.Timestamp("2026-11-04", tz="UTC")]
    >>> clicked_window([{"x": "2026-11-04 00:00", "y": "platform=ios"}], ends)
    Timestamp('2026-11-04 00:00:00+0000', tz='UTC')
    >>> clicked_window([], ends) is None
    True
    """
    if not points or points[0].get("x") is None:
        return None
    try:
        ts = pd.Timestamp(points[0]["x"])
    except (TypeError, ValueError):
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts if ts in ends else None


def segment_heatmap(segments: pd.DataFrame, colour: str = DRIFT_SHARE) -> go.Figure:
    """Segments x windows coloured by ``colour``; a cell whose segment raised an alert is marked ``!``.

    Drift share runs from 0 (white) to 1 (red); a business metric on a scale centred on its median over the
    shown cells (lower = red), so a segment whose metric fell stands out. Blank cells: the segment had fewer
    than ``segments.min_events`` events in that window.
    """
    f = segments.assign(value=segment_colour_values(segments, colour))
    z = f.pivot_table(index="segment", columns="window_end", values="value", aggfunc="first", dropna=False)
    alerted = f.pivot_table(index="segment", columns="window_end", values="alerted", aggfunc="max")
    alerted = alerted.reindex(index=z.index, columns=z.columns).astype(float).fillna(0.0) > 0
    events = f.pivot_table(index="segment", columns="window_end", values="n_events", aggfunc="first")
    events = events.reindex(index=z.index, columns=z.columns)
    custom = np.dstack([events.to_numpy(dtype=float), alerted.to_numpy(dtype=float)])
    text = np.where(alerted.to_numpy(), "!", "")
    if colour == DRIFT_SHARE:
        scale: Any = [[0, "#f7fbff"], [0.25, "#fdd49e"], [0.5, "#fc8d59"], [1, "#b30000"]]
        zmin, zmax, label, fmt = 0.0, 1.0, "drift share", "%{z:.0%}"
    else:
        values = z.to_numpy(dtype=float)
        mid = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
        spread = float(np.nanmax(np.abs(values - mid))) if np.isfinite(values).any() else 1.0
        scale = "RdBu"
        zmin, zmax, label, fmt = mid - (spread or 1.0), mid + (spread or 1.0), metric_label(colour), "%{z:.1%}"
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(dtype=float), x=list(z.columns), y=list(z.index), zmin=zmin, zmax=zmax, colorscale=scale,
        colorbar={"title": label}, customdata=custom, text=text, texttemplate="%{text}", xgap=1, ygap=2,
        hovertemplate=f"%{{y}} in the window ending %{{x|%Y-%m-%d %H:%M}}<br>{label} {fmt}"
                      "<br>%{customdata[0]:,.0f} events<extra></extra>",
    ))
    fig.update_layout(height=max(220, 36 * len(z.index) + 110), title={"text": f"Segments by {label}", "x": 0},
                      xaxis_title="window end (UTC)", **_LAYOUT)
    return fig


def fairness_figure(fairness: pd.DataFrame) -> go.Figure:
    """One panel per fairness metric: each attribute's gap over time with its interval, the metric's
    threshold dashed, violated windows as red markers."""
    metrics = sorted(fairness["metric"].unique())
    fig = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=[metric_label(m).replace("-", " ") for m in metrics])
    for row, metric in enumerate(metrics, start=1):
        rows = fairness[fairness["metric"] == metric]
        for i, (attribute, g) in enumerate(rows.groupby("attribute", sort=True)):
            colour = _COLOURS[i % len(_COLOURS)]
            g = g.sort_values("window_end")
            fig.add_trace(go.Scatter(x=g["window_end"], y=g["upper"], mode="lines", line={"width": 0},
                                     showlegend=False, hoverinfo="skip"), row=row, col=1)
            fig.add_trace(go.Scatter(x=g["window_end"], y=g["lower"], mode="lines", line={"width": 0},
                                     fill="tonexty", fillcolor="rgba(31,119,180,0.15)", showlegend=False,
                                     hoverinfo="skip"), row=row, col=1)
            fig.add_trace(go.Scatter(
                x=g["window_end"], y=g["value"], mode="lines+markers", name=str(attribute),
                legendgroup=str(attribute), showlegend=row == 1, line={"color": colour},
                customdata=np.column_stack([g["lower"], g["upper"]]),
                hovertemplate=f"{attribute} %{{y:.3f}} [%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}]"
                              "<extra></extra>"), row=row, col=1)
            bad = g[g["violated"]]
            if not bad.empty:
                fig.add_trace(go.Scatter(x=bad["window_end"], y=bad["value"], mode="markers", name="violated",
                                         showlegend=False, marker={"color": "#d62728", "size": 11,
                                                                   "symbol": "x"}, hoverinfo="skip"),
                              row=row, col=1)
        threshold = rows["threshold"].dropna()
        if not threshold.empty:
            fig.add_hline(y=float(threshold.iloc[-1]), line={"dash": "dash", "color": "#d62728", "width": 1},
                          annotation_text=f"threshold {float(threshold.iloc[-1]):g}", row=row, col=1)
    fig.update_layout(height=220 * len(metrics) + 60, **_LAYOUT)
    return fig


@dataclass(frozen=True)
class SegmentDrop:
    """The segment whose business metric fell most from one week to the next (values are event-weighted
    means of the segment's window values)."""

    metric: str
    segment: str
    previous: float
    current: float

    @property
    def points(self) -> float:
        return 100.0 * (self.current - self.previous)


def _weighted(rows: pd.DataFrame) -> pd.Series:
    ok = rows.dropna(subset=["value"])
    weights = ok["n_events"].astype(float)
    sums = (ok["value"] * weights).groupby(ok["segment"]).sum()
    return sums / weights.groupby(ok["segment"]).sum()


def weekly_segment_drop(segments: pd.DataFrame, metric: str, end: pd.Timestamp) -> SegmentDrop | None:
    """The segment of largest fall of ``metric`` between the 7 days before ``end`` and the 7 before those
    (windows assigned by their end, ``(start, end]``), or ``None`` when none fell or no segment has windows
    in both weeks. Each week's value is the mean of the segment's window values weighted by its events."""
    start, before = end - pd.Timedelta(days=7), end - pd.Timedelta(days=14)
    f = segments.assign(value=segment_colour_values(segments, metric))
    this = _weighted(f[(f["window_end"] > start) & (f["window_end"] <= end)])
    last = _weighted(f[(f["window_end"] > before) & (f["window_end"] <= start)])
    change = (this - last).dropna()
    if change.empty or change.min() >= 0:
        return None
    segment = str(change.idxmin())
    return SegmentDrop(metric, segment, float(last[segment]), float(this[segment]))


def segment_drop_sentence(drop: SegmentDrop) -> str:
    """``Take-rate fell most on platform=ios (−6.1 pts, 40.0% → 33.9%).``"""
    return (f"{metric_label(drop.metric)} fell most on {drop.segment} ({drop.points:.1f} pts, "
            f"{drop.previous:.1%} → {drop.current:.1%}).").replace("(-", "(−")
