"""Alerts: the incidents first (expand one: its alerts, likely cause first; acknowledge or resolve it with all its
alerts), then the alerts: filter, read the history, acknowledge, resolve, snooze or assign, and open the Evidently
report of a window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from dashboard import auth, context, data
from dashboard.actions import Action, ActionError, IncidentAction, change_alert, change_incident
from dashboard.roles import may
from dashboard.summaries import STATUS_STYLE, format_duration, incident_end, on_call_line, window_step
from monitor.reports import ReportError
from monitor.store.queries import ALERT_STATUSES, SEVERITIES

settings = context.settings()
url = settings.database_url
SNOOZE_HOURS = (1, 4, 12, 24, 72)
MAX_INCIDENTS = 25
SEVERITY_ICON = {"critical": ":material/error:", "warning": ":material/warning:", "info": ":material/info:"}


def acting_user(column: Any, identity: str | None, role: str, key: str) -> str:
    """The name an action is recorded under: typed in ``column`` without a login, else the logged-in user."""
    if identity is None:
        return str(column.text_input("Your name", key=key))
    column.caption(f"Acting as **{identity}** ({role})")
    return identity


def incident_actions(incident_id: int, status: str, identity: str | None, role: str) -> None:
    """Acknowledge / Resolve buttons of an unresolved incident (each of its unresolved alerts with it)."""
    if status == "resolved":
        return
    if not may(role, "acknowledge"):
        st.caption(f"Your role ({role}) can read incidents, not act on them.")
        return
    with st.form(f"incident-{incident_id}", clear_on_submit=True):
        n1, n2 = st.columns([1, 2])
        who = acting_user(n1, identity, role, f"alerts_page.incident_by.{incident_id}")
        note = n2.text_input("Note", placeholder="What you found or did (recorded on each of its alerts)",
                             key=f"alerts_page.incident_note.{incident_id}")
        b1, b2, _ = st.columns([1, 1, 3], vertical_alignment="bottom")
        ack = b1.form_submit_button("Acknowledge", icon=":material/visibility:", disabled=status == "acknowledged",
                                    help="Acknowledge the incident and each of its unresolved alerts")
        res = b2.form_submit_button("Resolve", type="primary", icon=":material/check_circle:",
                                    help="Resolve the incident and each of its unresolved alerts")
    if ack or res:
        action: IncidentAction = "acknowledge" if ack else "resolve"
        try:
            change_incident(settings, action, incident_id, who, note, role=role)
        except ActionError as exc:
            st.error(str(exc))
        else:
            st.toast(f"Incident #{incident_id} {action}d with its alerts by {who.strip()}.")
            st.rerun()


st.title("Alerts")
catalog = data.models(url)
everything = data.alerts(url)
if everything.empty:
    st.info("No alerts yet. They open when a window's drift, data-quality, volume or business-metric "
            "signal fires.")
    st.stop()

names = catalog["model"].tolist()
st.session_state.setdefault("alerts_page.models", names)
st.session_state["alerts_page.models"] = [m for m in st.session_state["alerts_page.models"] if m in names]
first_day = everything["first_seen"].min().date()
last_day = max(everything["last_seen"].max(), everything["resolved_at"].max()
               if everything["resolved_at"].notna().any() else everything["last_seen"].max()).date()

f1, f2, f3, f4 = st.columns([3, 2, 3, 2])
chosen_models = f1.multiselect("Model", names, key="alerts_page.models", placeholder="all models")
severities = f2.pills("Severity", list(SEVERITIES)[::-1], selection_mode="multi", default=list(SEVERITIES),
                      format_func=lambda s: f"{SEVERITY_ICON[s]} {s}", key="alerts_page.severities")
statuses = f3.pills("Status", list(ALERT_STATUSES), selection_mode="multi", default=["open", "acknowledged"],
                    key="alerts_page.statuses")
span = f4.date_input("Active between", (first_day, last_day), min_value=first_day, max_value=last_day,
                     key="alerts_page.span")
start = end = None
if isinstance(span, tuple | list) and len(span) == 2:
    start = datetime.combine(span[0], time.min, tzinfo=UTC)
    end = datetime.combine(span[1], time.min, tzinfo=UTC) + timedelta(days=1)

model_ids = tuple(int(i) for i in catalog.loc[catalog["model"].isin(chosen_models or names), "model_id"])
chosen = (model_ids, tuple(severities or SEVERITIES), tuple(statuses or ALERT_STATUSES), start, end)

st.subheader("Incidents", anchor=False)
matching = data.incidents(url, *chosen)
identity, role = auth.current_user(settings)
st.caption(f"{len(matching)} incidents match: the alerts of one model raised together, likely cause first"
           + (f" (the {MAX_INCIDENTS} newest shown)" if len(matching) > MAX_INCIDENTS else "")
           + ". Expand one to see its alerts.")
for inc in matching.head(MAX_INCIDENTS).itertuples():
    noun = "alert" if int(inc.alerts) == 1 else "alerts"
    with st.expander(f"#{inc.incident_id} {inc.model} · {inc.severity} · {inc.status} · {inc.title} "
                     f"({int(inc.alerts)} {noun})", icon=SEVERITY_ICON.get(str(inc.severity))):
        st.caption(f"First seen {inc.first_seen:%Y-%m-%d %H:%M} UTC, last seen {inc.last_seen:%Y-%m-%d %H:%M} UTC"
                   + (f"; acknowledged by {inc.acknowledged_by}" if inc.acknowledged_by else ""))
        for r in data.incident_alerts(url, int(inc.incident_id)).itertuples():
            feature = f" `{r.feature}`" if r.feature else ""
            why = f" (explained by #{int(r.explained_by)})" if pd.notna(r.explained_by) else ""
            st.markdown(f"{r.rank}. `{r.signal}`{feature} · #{r.alert_id} {r.severity}, {r.status}: "
                        f"{r.message}{why}")
        incident_actions(int(inc.incident_id), str(inc.status), identity, role)

st.subheader("Alerts", anchor=False)
found = data.alerts(url, *chosen)
st.caption(f"{len(found)} of {len(everything)} alerts match. Click a row to open it below.")
if found.empty:
    st.info("No alert matches these filters. Widen the status or time filters.")
    st.stop()

# Durations on the data's clock: a replayed fortnight is resolved "now" by wall clock (see incident_end).
data_now = data.model_overview(url)["last_window_end"].max()
step = min(window_step(data.windows(url, int(m))) for m in found["model_id"].unique())
ended = incident_end(found, data_now, step)
open_for = {int(i): (e if pd.notna(e) else data_now) - f
            for i, f, e in zip(found["alert_id"], found["first_seen"], ended, strict=True)}
table = found.assign(
    open_for=[format_duration(open_for[int(i)]) for i in found["alert_id"]],
    early=found["early"].fillna(False).astype(bool),
)
picked = st.dataframe(
    table[["alert_id", "model", "severity", "status", "assignee", "signal", "feature", "segment", "message",
           "detected_at", "early", "first_seen", "open_for", "acknowledged_by", "resolved_by"]],
    hide_index=True, height=min(38 * len(table) + 40, 360), key="alerts_page.table", on_select="rerun",
    selection_mode="single-row",
    column_config={
        "alert_id": st.column_config.NumberColumn("#", width="small"),
        "message": st.column_config.TextColumn(width="large"),
        "segment": st.column_config.TextColumn(
            "segment", help="The segment (key=value) the alert is confined to; empty for the whole population"),
        "detected_at": st.column_config.DatetimeColumn(
            "detected", format="YYYY-MM-DD HH:mm",
            help="Event time the alert was raised: inside its window for an early warning, else the window's end"),
        "early": st.column_config.CheckboxColumn(
            "early", help="Raised inside an open window by an early-warning test, before the window closed"),
        "first_seen": st.column_config.DatetimeColumn("first seen", format="YYYY-MM-DD HH:mm"),
        "open_for": "open for",
        "acknowledged_by": "acked by",
        "resolved_by": "resolved by",
    },
)

ids = found["alert_id"].astype(int).tolist()
focus = st.session_state.pop("alerts_page.focus", None)
rows = list(getattr(getattr(picked, "selection", None), "rows", []) or [])
clicked = ids[rows[0]] if rows and rows[0] < len(ids) else None
if clicked is not None and clicked != st.session_state.get("alerts_page.clicked"):
    focus = clicked  # a click on a table row opens that alert below (once per click)
st.session_state["alerts_page.clicked"] = clicked
if focus in ids:
    st.session_state["alerts_page.selected"] = focus
if st.session_state.get("alerts_page.selected") not in ids:
    st.session_state["alerts_page.selected"] = ids[0]
labels = {int(r.alert_id): f"#{r.alert_id} {r.model} · {r.signal}" + (f" · {r.feature}" if r.feature else "")
          + (f" · {r.segment}" if r.segment else "")
          + f" ({r.status})" for r in found.itertuples()}
selected = st.selectbox("Alert", ids, format_func=labels.__getitem__, key="alerts_page.selected")

detail = data.alert_detail(url, int(selected))
if detail is None:
    st.warning(f"Alert #{selected} no longer exists.")
    st.stop()
a = detail.alert
with st.container(border=True):
    head, badge = st.columns([5, 2], vertical_alignment="center")
    head.subheader(f"#{a['alert_id']} {a['model']}: {a['signal']}" + (f" on {a['feature']}" if a["feature"] else ""),
                   anchor=False)
    status_style = {"open": STATUS_STYLE["critical"] if a["severity"] == "critical" else STATUS_STYLE["warning"],
                    "acknowledged": STATUS_STYLE["acknowledged"], "resolved": STATUS_STYLE["healthy"]}
    icon, color = status_style.get(a["status"], STATUS_STYLE["no data"])
    badge.badge(f"{a['severity']} · {a['status']}", icon=icon, color=color)
    st.write(a["message"])
    st.caption(on_call_line(a, datetime.now(UTC)))
    c = st.columns(5)
    early = bool(a["early"]) if pd.notna(a["early"]) else False
    c[0].metric("Detected (UTC)", f"{a['detected_at']:%m-%d %H:%M}",
                delta=(f"early, on {int(a['detected_events'])} events" if early and pd.notna(a["detected_events"])
                       else "early" if early else None), delta_color="off",
                help="Event time the alert was raised: inside its window for an early warning, else the window's end")
    c[1].metric("First seen (UTC)", f"{a['first_seen']:%m-%d %H:%M}")
    c[2].metric("Last seen (UTC)", f"{a['last_seen']:%m-%d %H:%M}")
    c[3].metric("Windows", int(a["windows_count"]))
    c[4].metric("Open for" if a["status"] != "resolved" else "Was open for",
                format_duration(open_for.get(int(a["alert_id"]))),
                help="On the data's clock: from the first window that raised it to its resolution")
    st.markdown("**History**")
    st.dataframe(detail.events, hide_index=True,
                 column_config={"ts": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm"),
                                "note": st.column_config.TextColumn(width="large")})

    if a["status"] != "resolved" and not may(role, "acknowledge"):
        st.caption(f"Your role ({role}) can read alerts, not act on them.")
    elif a["status"] != "resolved":
        with st.form(f"act-{a['alert_id']}", clear_on_submit=True):
            n1, n2 = st.columns([1, 2])
            who = acting_user(n1, identity, role, f"alerts_page.by.{a['alert_id']}")
            note = n2.text_input("Note", placeholder="What you found or did",
                                 key=f"alerts_page.note.{a['alert_id']}")
            b1, b2, b3, b4 = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
            ack = b1.form_submit_button("Acknowledge", icon=":material/visibility:",
                                        disabled=a["status"] == "acknowledged")
            res = b2.form_submit_button("Resolve", type="primary", icon=":material/check_circle:")
            snooze = b3.form_submit_button("Snooze", icon=":material/snooze:")
            hours = b4.selectbox("Snooze for (hours)", SNOOZE_HOURS, key=f"alerts_page.snooze.{a['alert_id']}")
            g1, g2 = st.columns([3, 2], vertical_alignment="bottom")
            if may(role, "assign"):  # an admin assigns anyone (empty: nobody); a responder takes it
                assign_to = g1.text_input("Assign to", placeholder="a name or email (empty: nobody)",
                                          key=f"alerts_page.assignee.{a['alert_id']}")
                assign = g2.form_submit_button("Assign", icon=":material/person_add:")
            else:
                assign_to = who
                assign = g2.form_submit_button("Take it", icon=":material/person:", help="Assign it to yourself")
        if ack or res or snooze or assign:
            action: Action = "acknowledge" if ack else "resolve" if res else "snooze" if snooze else "assign"
            until = datetime.now(UTC) + timedelta(hours=int(hours))
            try:
                change_alert(settings, action, int(a["alert_id"]), who, note, role=role, until=until,
                             assignee=assign_to)
            except ActionError as exc:
                st.error(str(exc))
            else:
                done = {"acknowledge": "acknowledged", "resolve": "resolved", "snooze": "snoozed",
                        "assign": f"assigned to {assign_to.strip() or 'nobody'}"}[action]
                st.toast(f"Alert #{a['alert_id']} {done} by {who.strip()}.")
                st.rerun()

st.subheader("Evidently report", anchor=False)
windows = {"last window of the incident": a["last_window_id"], "first window of the incident": a["first_window_id"]}
windows = {k: v for k, v in windows.items() if pd.notna(v)}
if not windows:
    st.info("This alert is not tied to a stored window.")
    st.stop()
which = st.radio("Window", list(windows), horizontal=True, key=f"alerts_page.report_window.{a['alert_id']}")
window_id = int(windows[which])
model_windows = data.windows(url, int(a["model_id"]))
row = model_windows[model_windows["window_id"] == window_id]
if row.empty:
    st.info(f"Window {window_id} is no longer stored.")
    st.stop()
w = row.iloc[0]
st.caption(f"Window {w['window_start']:%Y-%m-%d %H:%M} – {w['window_end']:%Y-%m-%d %H:%M} UTC, {int(w['n_events']):,} "
           f"events, against reference v{int(w['reference_version'])}. The report uses the bounded sample kept "
           "for this window and a reference rebuilt from the stored profile.")
if not bool(w["has_sample"]):
    st.info("No sample was kept for this window (sampling is switched off for this model), so there is no "
            "report. The drift statistics on the Model page still apply.")
    st.stop()
key = f"alerts_page.report.{window_id}"
if st.button("Build report", icon=":material/description:", key=f"build-{window_id}") or st.session_state.get(key):
    st.session_state[key] = True
    try:
        with st.spinner("Running Evidently on the window sample…"):
            html = data.window_report(url, int(a["model_id"]), window_id, int(w["reference_version"]),
                                      f"{a['model']} window {w['window_end']:%Y-%m-%d %H:%M} vs reference")
    except ReportError as exc:
        st.error(str(exc))
    else:
        st.download_button("Download HTML", html, file_name=f"{a['model']}-window-{window_id}.html",
                           mime="text/html", icon=":material/download:")
        components.html(html, height=900, scrolling=True)
