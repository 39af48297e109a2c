"""Weekly: the manager's page. Week-over-week business metrics and incidents, in plots and plain sentences."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, context, data
from dashboard.performance import week_quality_sentence
from dashboard.segments import segment_drop_sentence, segment_metric_names, weekly_segment_drop
from dashboard.summaries import (
    business_metric_names,
    format_duration,
    format_value,
    metric_label,
    week_summary,
    window_step,
)

settings = context.settings()
url = settings.database_url

st.title("Weekly check-in")
catalog = data.models(url)
overview = data.model_overview(url)
if overview.empty or overview["windows"].sum() == 0:
    st.info("No data yet: the weekly summary needs at least a few days of closed windows.")
    st.stop()

latest = overview["last_window_end"].max()
earliest = overview["first_window_end"].min()
c1, c2 = st.columns([2, 3])
choices = ["All models", *catalog["model"].tolist()]
scope = c1.selectbox("Models", choices, key="weekly_page.scope")
week_end_day = c2.date_input("Week ending", latest.date(), min_value=earliest.date(), max_value=latest.date(),
                             key="weekly_page.end", help="The 7 days up to the end of this day (UTC)")
end = min(datetime.combine(week_end_day, time.min, tzinfo=UTC) + timedelta(days=1), latest.to_pydatetime())
end_ts = pd.Timestamp(end)

model_id = None if scope == "All models" else int(catalog.loc[catalog["model"] == scope, "model_id"].iloc[0])
metrics = data.metric_series(url, model_id)
metrics = metrics[metrics["name"].isin(business_metric_names(metrics["name"].unique()))]
scope_ids = catalog["model_id"].tolist() if model_id is None else [model_id]
step = min(window_step(data.windows(url, int(i))) for i in scope_ids)
incidents = data.incidents(url, None if model_id is None else (model_id,))
if scope == "All models" and metrics["model_id"].nunique() > 1:
    metrics = metrics.assign(name=metrics["model"] + " " + metrics["name"])
summary = week_summary(metrics, incidents, end, step=step, data_now=latest)
st.caption(f"{summary.start:%a %d %b %H:%M} – {summary.end:%a %d %b %H:%M} UTC, compared with the 7 days before.")

with st.container(border=True):
    st.markdown("#### This week in plain words")
    for sentence in summary.sentences():
        st.markdown(f"- {sentence}")
    for name in ([scope] if model_id is not None else catalog["model"].tolist()):
        perf = data.performance(url, str(name))
        if not perf.empty:
            prefix = f"{name}: " if model_id is None and len(catalog) > 1 else ""
            st.markdown(f"- {prefix}{week_quality_sentence(perf, end_ts)}")
        seg = data.segments(url, str(name))
        for metric in segment_metric_names(seg):
            drop = weekly_segment_drop(seg, metric, end_ts)
            if drop is not None:
                prefix = f"{name}: " if model_id is None and len(catalog) > 1 else ""
                st.markdown(f"- {prefix}{segment_drop_sentence(drop)}")
    if summary.longest_open is not None:
        st.markdown(f"- The longest incident resolved this week stayed open {format_duration(summary.longest_open)}.")

cards = st.columns(max(1, min(4, len(summary.metrics) + 2)))
for i, change in enumerate(summary.metrics[: len(cards) - 2]):
    rel = change.relative
    cards[i].metric(metric_label(change.name), format_value(change.current),
                    delta=None if rel is None else f"{rel:+.1%} vs last week", border=True)
cards[-2].metric("Incidents opened", summary.opened,
                 delta=f"{summary.critical_opened} critical" if summary.critical_opened else None,
                 delta_color="inverse", delta_arrow="off", border=True)
cards[-1].metric("Median time open", format_duration(summary.median_open),
                 delta=f"{summary.resolved} resolved" if summary.resolved else None, delta_color="off",
                 delta_arrow="off", border=True)

for change in summary.metrics:
    st.plotly_chart(charts.week_over_week(metrics, change.name, end_ts), key=f"wow-{change.name}")
st.plotly_chart(charts.incident_timeline(summary.incidents, end_ts - pd.Timedelta(days=7), end_ts),
                key="incidents")
if not summary.incidents.empty:
    with st.expander("Incident list"):
        st.dataframe(
            summary.incidents[["incident_id", "model", "severity", "title", "alerts", "status", "first_seen",
                               "resolved_at"]].assign(
                time_open=summary.incidents["time_open"].map(format_duration)),
            hide_index=True,
            column_config={"incident_id": st.column_config.NumberColumn("#", width="small"),
                           "title": st.column_config.TextColumn("likely cause", width="large"),
                           "first_seen": st.column_config.DatetimeColumn("opened", format="ddd HH:mm"),
                           "resolved_at": st.column_config.DatetimeColumn("resolved", format="ddd HH:mm")},
        )
