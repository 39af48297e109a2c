"""Model: drift, data quality, predictions and business metrics of one model on the same time axis."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, context, data
from dashboard.performance import format_perf, headline, headline_metric, perf_label
from dashboard.performance_chart import model_quality_figure
from dashboard.segments import (
    DRIFT_SHARE,
    clicked_window,
    fairness_figure,
    segment_heatmap,
    segment_metric_names,
)
from dashboard.summaries import (
    business_metric_names,
    contribution_sentence,
    describe_test,
    drift_score,
    format_value,
    guess_prediction_column,
    metric_label,
    window_step,
)

settings = context.settings()
url = settings.database_url

catalog = data.models(url)
if catalog.empty:
    st.title("Model")
    st.info("No models yet: they appear once the watcher closes their first window.")
    st.stop()

names = catalog["model"].tolist()
if st.session_state.get("model_page.model") not in names:
    st.session_state["model_page.model"] = names[0]
top_left, top_right = st.columns([2, 3], vertical_alignment="bottom")
model = top_left.selectbox("Model", names, key="model_page.model")
model_id = int(catalog.loc[catalog["model"] == model, "model_id"].iloc[0])
SPANS = {"Last 24 h": 1, "Last 3 days": 3, "Last 7 days": 7, "Last 30 days": 30, "Everything": None}
DEFAULT_SPAN = "Last 30 days"  # bounded: a long-running watcher's history is not read on every visit
span = top_right.segmented_control("Time range", list(SPANS), default=DEFAULT_SPAN,
                                   key="model_page.span") or DEFAULT_SPAN

all_windows = data.windows(url, model_id)
st.title(model)
if all_windows.empty:
    st.info("No closed windows for this model yet.")
    st.stop()
end = all_windows["window_end"].max()
days = SPANS[span]
start = None if days is None else (end - pd.Timedelta(days=days)).to_pydatetime()
win = data.windows(url, model_id, start)
features = data.feature_results(url, model_id, start)
metrics = data.metric_series(url, model_id, start)
model_alerts = data.alerts(url, (model_id,), start=start)

last = win.iloc[-1]
cols = st.columns(5)
cols[0].metric("Windows", f"{len(win):,}", help="Closed windows in the selected range")
cols[1].metric("Events in last window", f"{int(last['n_events']):,}")
cols[2].metric("Drifted columns (last window)", f"{last['drift_share']:.0%}")
unresolved = model_alerts[model_alerts["status"] != "resolved"]
n_crit = int((unresolved["severity"] == "critical").sum())
cols[3].metric("Unresolved alerts", len(unresolved),
               delta=f"{n_crit} critical" if n_crit else None,
               delta_color="inverse", delta_arrow="off")
business = business_metric_names(metrics["name"].unique())
for name in business[:1]:
    rows = metrics[metrics["name"] == name]
    cols[4].metric(f"{metric_label(name)} (last window)", format_value(rows["value"].iloc[-1]))
st.caption(f"{win['window_start'].min():%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC · reference "
           f"v{int(last['reference_version'])} · preset {last['preset']}. Shaded bands: alerts, from first seen "
           "to resolved; ▼ marks when each opened.")

st.subheader("Business metrics and silent-failure signals", anchor=False)
other = [n for n in sorted(metrics["name"].unique()) if n not in business]
shown = st.multiselect("Metrics in the top row", business + other, default=business[:1] or other[:1],
                       format_func=metric_label, key=f"model_page.metrics.{model_id}")
findings, versions = data.report_details(url, model_id, start)
step = window_step(win)
x_range = (win["window_end"].min() - step / 2, end + step / 2)
st.plotly_chart(charts.timeline_figure(metrics, win, model_alerts, features, shown, versions, x_range=x_range),
                key="timeline")

st.subheader("Model quality", anchor=False)
perf = data.performance(url, model, start)
if perf.empty:
    st.info("No model-quality results for this model: give it a `performance:` block (task, labelled "
            "validation data) and send labels in its outcome events; see docs/performance-quality.md.")
else:
    names = sorted(set(perf["metric"]), key=lambda m: (m != headline_metric(perf["metric"]), m))
    st.plotly_chart(model_quality_figure(perf, model_alerts, names[:4], x_range=x_range, step=step),
                    key="model_quality")
    head = headline(perf)
    latest = ""
    if head is not None:
        how = "estimated from the scores (no labels yet)" if head.estimated else (
            f"realized on {head.coverage:.0%} of its predictions labelled so far" if head.coverage is not None
            else "realized")
        versus = "" if head.reference is None else f" (reference {format_perf(head.reference)})"
        latest = (f" Window ending {head.window_end:%Y-%m-%d %H:%M}: {perf_label(head.metric)} "
                  f"{format_perf(head.value)}{versus}, {how}.")
    st.caption("Realized (solid, 95% interval shaded) from the labels joined so far, open circles while the "
               "window's labels may still come (its label_ttl has not passed); estimated (dashed, CBPE band) "
               "from the scores alone, from the moment the window closes; dotted: the value on the labelled "
               "validation data. ▼ marks model-quality alerts." + latest)

st.subheader("Feature drift", anchor=False)
mode = st.segmented_control("Colour by", ["statistic", "verdict"], default="statistic",
                            format_func=lambda m: {"statistic": "drift score", "verdict": "drifted?"}[m],
                            key="model_page.heatmap_mode") or "statistic"
st.plotly_chart(charts.drift_heatmap(features, mode), key="heatmap")

multi = data.multivariate_series(url, model_id, start)
if not multi.empty:
    n_out = int(multi["drifted"].sum())
    st.plotly_chart(charts.multivariate_figure(multi), key="multivariate")
    st.caption(f"Changes in how the features move together, which no single column's test may show: "
               f"{n_out} of {len(multi)} windows outside the band the reference's own chunks span.")
    behind = contribution_sentence(multi)
    if behind is not None:
        st.caption(behind)

st.subheader("Segments", anchor=False)
seg = data.segments(url, model, start)
if seg.empty:
    st.info("No per-segment results for this model: name segment keys in its config (`segments: [country, "
            "platform]`) and send them in the events' `segments`; see docs/segments-fairness.md.")
else:
    colours = [DRIFT_SHARE, *segment_metric_names(seg)]
    colour = st.segmented_control("Colour segments by", colours, default=DRIFT_SHARE,
                                  format_func=lambda c: "drift share" if c == DRIFT_SHARE else metric_label(c),
                                  key="model_page.segment_colour") or DRIFT_SHARE
    ends = sorted(seg["window_end"].unique(), reverse=True)
    pick_key = f"model_page.segment_window.{model_id}"
    clicked = st.plotly_chart(segment_heatmap(seg, colour), key="segment_heatmap", on_select="rerun",
                              selection_mode="points")
    picked = clicked_window(list(clicked.selection.points) if clicked is not None else [], ends)
    if picked is not None:
        st.session_state[pick_key] = picked
    by_alerts = seg.groupby("window_end")["alerted"].sum()
    default_end = by_alerts.idxmax() if by_alerts.max() > 0 else ends[0]
    if st.session_state.get(pick_key) not in ends:
        st.session_state[pick_key] = default_end
    chosen = st.selectbox("Window", ends, key=pick_key, format_func=lambda t: f"{t:%Y-%m-%d %H:%M} UTC",
                          help="Click a cell of the heatmap, or pick a window here")
    st.caption("! marks a segment that raised an alert in that window; blank cells had fewer events than "
               "`segments.min_events`. Every segment's columns are tested in one Benjamini–Hochberg family "
               "per window.")
    slices = data.worst_slices(url, model, start)
    shown_slices = slices[slices["window_end"] == chosen]
    st.markdown(f"**Worst slices of the window ending {pd.Timestamp(chosen):%Y-%m-%d %H:%M} UTC**")
    if shown_slices.empty:
        st.caption("No slice was ranked for this window.")
    else:
        st.dataframe(shown_slices[["rank", "metric", "name", "n", "rate", "rest_rate", "difference", "q_value",
                                   "significant"]], hide_index=True,
                     column_config={"name": "slice", "n": "events", "rest_rate": "rest of the window",
                                    "q_value": st.column_config.NumberColumn("q (BH)", format="%.2g")})
    in_window = seg[seg["window_end"] == chosen]
    st.dataframe(in_window[["segment", "n_events", "drift_share", "drifted_columns", "metrics", "alerted"]],
                 hide_index=True,
                 column_config={"drift_share": st.column_config.NumberColumn("drift share", format="percent")})

st.subheader("Fairness", anchor=False)
fair = data.fairness(url, model, start)
if fair.empty:
    st.info("No fairness results for this model: give it a `fairness:` block (attributes, threshold, "
            "max_gap); see docs/segments-fairness.md.")
else:
    st.plotly_chart(fairness_figure(fair), key="fairness")
    violated = fair[fair["violated"]]
    st.caption("Gap between groups per window with its simultaneous confidence interval (shaded); dashed: the "
               f"threshold; ✕: violated (the interval lies beyond it). {violated['window_end'].nunique()} of "
               f"{fair['window_end'].nunique()} windows violated a threshold"
               + (f" ({', '.join(sorted(set(violated['attribute'] + ': ' + violated['metric'])))})."
                  if not violated.empty else "."))

st.subheader("Feature drill-down", anchor=False)
kinds = features.drop_duplicates("feature").set_index("feature")["kind"].to_dict() if not features.empty else {}
if not kinds:
    st.info("No per-feature results in this range.")
else:
    worst = features.assign(score=drift_score(features)).sort_values("score", ascending=False)
    ordered = list(dict.fromkeys(worst["feature"]))
    pick_col, pick_win = st.columns(2)
    column = pick_col.selectbox("Column", ordered, key="model_page.feature",
                                help="Ordered by the largest drift seen in the range")
    rows = features[features["feature"] == column]
    sampled = win[win["has_sample"]]
    if sampled.empty:
        st.info("No samples are stored for this model's windows (sampling is off), so only the test "
                "statistic is shown.")
        st.plotly_chart(charts.statistic_over_time(features, column), key="stat")
    else:
        top = (rows.assign(score=drift_score(rows)).merge(sampled[["window_id"]], on="window_id")
               .sort_values("score", ascending=False))
        options = sampled["window_id"].tolist()[::-1]
        labels = dict(zip(sampled["window_id"], sampled["window_end"], strict=True))
        default = int(top["window_id"].iloc[0]) if not top.empty else options[0]
        window_id = pick_win.selectbox(
            "Window", options, index=options.index(default),
            format_func=lambda w: f"{labels[w]:%Y-%m-%d %H:%M} UTC" + (" (largest drift)" if w == default else ""),
            key=f"model_page.window.{model_id}.{column}",
        )
        current = data.sample(url, int(window_id))
        reference, why = data.reference_or_reason(url, model_id, int(last["reference_version"]))
        if why:
            st.warning(f"Showing the window without the reference: {why}.")
        left, right = st.columns(2)
        with left:
            if current is not None and column in current.columns:
                ref_col = reference.columns.get(column) if reference is not None else None
                st.plotly_chart(charts.distribution_figure(column, kinds[column], current[column], ref_col,
                                                           f"window {labels[window_id]:%m-%d %H:%M}"),
                                key="dist")
            else:
                st.info(f"The stored sample of this window has no column {column!r}.")
        with right:
            st.plotly_chart(charts.statistic_over_time(features, column), key="stat")
        hit = rows[rows["window_id"] == window_id]
        if not hit.empty:
            h = hit.iloc[0]
            verdict = "drifted" if h["drifted"] else "did not drift"
            st.caption(f"In this window {column} {verdict}: {describe_test(h)}; missing "
                       f"{h['missing_rate_current'] or 0:.1%} vs {h['missing_rate_reference'] or 0:.1%} "
                       "in the reference.")

st.subheader("Prediction distribution over time", anchor=False)
guess = guess_prediction_column(kinds)
numeric = [c for c, k in kinds.items() if k == "numeric"]
if not numeric:
    st.info("No numeric prediction column to show.")
else:
    pred = st.selectbox("Prediction column", numeric, index=numeric.index(guess) if guess in numeric else 0,
                        key="model_page.prediction")
    quantiles = data.column_quantiles(url, model_id, pred, start)
    reference, _why = data.reference_or_reason(url, model_id, int(last["reference_version"]))
    ref_col = reference.columns.get(pred) if reference is not None else None
    st.plotly_chart(charts.prediction_band(quantiles, pred, ref_col), key="prediction")

st.subheader("Data quality", anchor=False)
dead = data.dead_letters(url, model, start)
st.plotly_chart(charts.quality_figure(features, dead), key="quality")
if findings.empty:
    st.caption("No data-quality check fired in this range (missing rate, unseen categories, out of range, "
               "constant columns).")
else:
    st.markdown(f"**Data-quality findings** ({len(findings)} in the range)")
    st.dataframe(findings, hide_index=True, column_config={
        "window_end": st.column_config.DatetimeColumn("window end (UTC)", format="YYYY-MM-DD HH:mm"),
        "value": st.column_config.NumberColumn("share", format="percent"),
        "message": st.column_config.TextColumn(width="large"),
    })
if not dead.empty:
    st.caption(f"{len(dead):,} messages dead-lettered in the range; most common: "
               f"{dead['error_class'].value_counts().index[0]}.")
