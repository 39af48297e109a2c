"""Overview: every model's health at a glance."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, context, data
from dashboard.performance import LOWER_IS_BETTER, format_perf, headline, perf_label
from dashboard.summaries import STATUS_STYLE, business_metric_names, format_value, health_status, metric_label

settings = context.settings()
url = settings.database_url

st.title("Model health")
overview = data.model_overview(url)
if overview.empty:
    st.info("No models yet. Start the watcher (`driftwarden run`) or try `driftwarden demo`; "
            "models appear here once their first window closes.")
    st.stop()

overview["status"] = [health_status(r.open_critical, r.open_warning, r.acknowledged, r.windows)
                      for r in overview.itertuples()]
counts = overview["status"].value_counts()
summary = ", ".join(f"{counts[s]} {s}" for s in STATUS_STYLE if s in counts)
latest = overview["last_window_end"].max()
noun = "model" if len(overview) == 1 else "models"
st.caption(f"{len(overview)} {noun}: {summary}. Latest window closed "
           f"{latest:%Y-%m-%d %H:%M} UTC." if pd.notna(latest) else summary)

metrics = data.metric_series(url)
columns = st.columns(max(2, min(3, len(overview))))
for i, row in enumerate(overview.itertuples()):
    icon, color = STATUS_STYLE[row.status]
    with columns[i % len(columns)].container(border=True):
        head, badge = st.columns([3, 2], vertical_alignment="center")
        head.subheader(row.model, anchor=False)
        badge.badge(row.status.upper(), icon=icon, color=color)
        a, b, c = st.columns(3)
        a.metric("Incidents open", int(row.incidents_open) - int(row.incidents_acknowledged),
                 help="Unresolved incidents nobody acknowledged yet (an incident: the alerts of one cause)")
        b.metric("Critical", int(row.incidents_critical), help="Unresolved incidents with a critical alert")
        c.metric("Acknowledged", int(row.incidents_acknowledged), help="Incidents someone is working on")
        mine = metrics[metrics["model_id"] == row.model_id]
        for name in business_metric_names(mine["name"].unique())[:1]:
            values = charts.sparkline_values(mine, name)
            if values:
                st.metric(f"{metric_label(name)}, last window", format_value(values[-1]),
                          delta=f"{(values[-1] - values[0]) * 100:+.1f} pts over the last {len(values)} windows",
                          chart_data=values,
                          chart_type="area", border=False)
        perf = data.performance(url, row.model)
        quality = headline(perf)
        if quality is not None:
            mine_perf = perf[perf["metric"] == quality.metric]
            trend = mine_perf["realized"].fillna(mine_perf["estimated"]).dropna().tail(48).tolist()
            st.metric(f"{perf_label(quality.metric)}, last window" + (" (estimated)" if quality.estimated else ""),
                      format_perf(quality.value), delta=quality.versus_reference,
                      delta_color="inverse" if quality.metric in LOWER_IS_BETTER else "normal",
                      chart_data=trend or None, chart_type="line", border=False,
                      help="Realized from the labels joined so far; estimated (CBPE) from the scores while a "
                           "window has no label yet. Compared with the labelled validation data.")
        last = f"{row.last_window_end:%Y-%m-%d %H:%M} UTC" if pd.notna(row.last_window_end) else "never"
        st.caption(f"Last window: {last} · {int(row.windows)} windows")
        left, right = st.columns(2)
        if left.button("Open model", key=f"open-{row.model_id}", icon=":material/insights:",
                       use_container_width=True):
            context.open_model(row.model)
        if right.button("Alerts", key=f"alerts-{row.model_id}", icon=":material/notifications:",
                        use_container_width=True):
            st.session_state["alerts_page.models"] = [row.model]
            st.switch_page(context.page("alerts"))

unresolved = data.incidents(url, statuses=("open", "acknowledged"))
st.subheader("Unresolved incidents", anchor=False)
if unresolved.empty:
    st.success("No unresolved incidents.")
else:
    st.dataframe(
        unresolved[["incident_id", "model", "severity", "status", "title", "alerts", "first_seen", "last_seen"]],
        hide_index=True,
        column_config={
            "incident_id": st.column_config.NumberColumn("#", width="small"),
            "title": st.column_config.TextColumn("likely cause", width="large"),
            "alerts": st.column_config.NumberColumn("alerts", width="small"),
            "first_seen": st.column_config.DatetimeColumn("first seen", format="YYYY-MM-DD HH:mm"),
            "last_seen": st.column_config.DatetimeColumn("last seen", format="YYYY-MM-DD HH:mm"),
        },
    )
