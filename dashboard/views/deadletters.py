"""Dead letters: what input the watcher rejected, by kind of reason over time, and the latest examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import plotly.express as px
import streamlit as st

from dashboard import context, data

settings = context.settings()
url = settings.database_url

st.title("Dead letters")
st.caption("Messages the watcher could not use (undecodable, wrong types, unknown model, ...), kept with their "
           "raw bytes. `driftwarden deadletters list|show|export|requeue` reads, exports and re-produces them.")
SPANS = {"Last 24 h": timedelta(days=1), "Last 7 days": timedelta(days=7), "Last 30 days": timedelta(days=30)}
span = st.segmented_control("Time range", list(SPANS), default="Last 7 days", key="dead_page.span") or "Last 7 days"
start = datetime.now(UTC) - SPANS[span]
counts = data.dead_letter_counts(url, start, "1h" if SPANS[span] <= timedelta(days=1) else "1D")
if counts.empty:
    st.success(f"No dead letters in the {span.lower()}.")
    st.stop()

total = int(counts["count"].sum())
st.markdown(f"**{total:,} dead letters** in the {span.lower()}, "
            f"{counts['reason_kind'].nunique()} kinds of reason.")
fig = px.bar(counts, x="bucket", y="count", color="reason_kind",
             labels={"bucket": "stored (UTC)", "count": "dead letters", "reason_kind": "reason"})
fig.update_layout(legend={"orientation": "h", "y": -0.3}, margin={"t": 30}, height=380)
st.plotly_chart(fig, key="dead_counts")
by_kind = counts.groupby("reason_kind", as_index=False)["count"].sum().sort_values("count", ascending=False)
st.dataframe(by_kind, hide_index=True, column_config={"reason_kind": st.column_config.TextColumn("reason")})

st.subheader("Latest examples", anchor=False)
reason = st.text_input("Reason contains", key="dead_page.reason") or None
examples = data.dead_letter_examples(url, None, reason)
st.dataframe(examples, hide_index=True, column_config={
    "created_at": st.column_config.DatetimeColumn("stored (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "reason": st.column_config.TextColumn(width="large"),
    "raw": st.column_config.TextColumn("raw (start)", width="medium"),
})
