"""Cached data access for the pages: the engine is a cached resource per URL, queries are cached for ``TTL``.

Every cached function takes the database URL as its first argument, so two databases never share a cache
entry (tests run several apps in one process). Pages call these, never :mod:`monitor.store.queries`
directly, and never SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from monitor.db import make_engine
from monitor.reports import ReportError, decode_sample, window_report_html
from monitor.store import dead_letters as dead_letter_store
from monitor.store import incident_queries, queries, segments_store

TTL = 60
"""Seconds a query result is reused (the watcher closes windows far less often)."""
ALERT_TTL = 15
"""Alerts are re-read sooner: an on-call engineer waits for them."""


@st.cache_resource(show_spinner=False)
def engine(url: str) -> Engine:
    return make_engine(url)


@st.cache_data(ttl=TTL, show_spinner=False)
def models(url: str) -> pd.DataFrame:
    with engine(url).connect() as conn:
        return queries.models(conn)


@st.cache_data(ttl=ALERT_TTL, show_spinner=False)
def model_overview(url: str) -> pd.DataFrame:
    """:func:`monitor.store.queries.model_overview` plus each model's unresolved incidents (``incidents_open``,
    ``incidents_critical``, ``incidents_acknowledged``; 0 when none)."""
    with engine(url).connect() as conn:
        overview = queries.model_overview(conn)
        counts = incident_queries.open_incident_counts(conn)
    merged = overview.merge(counts, on="model_id", how="left")
    for col in ("incidents_open", "incidents_critical", "incidents_acknowledged"):
        merged[col] = pd.to_numeric(merged[col], errors="coerce").fillna(0).astype(int)
    return merged


@st.cache_data(ttl=TTL, show_spinner=False)
def windows(url: str, model_id: int, start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
    with engine(url).connect() as conn:
        return queries.windows(conn, model_id, start, end)


@st.cache_data(ttl=TTL, show_spinner=False)
def feature_results(url: str, model_id: int, start: datetime | None = None, end: datetime | None = None
                    ) -> pd.DataFrame:
    with engine(url).connect() as conn:
        return queries.feature_results(conn, model_id, start, end)


@st.cache_data(ttl=TTL, show_spinner=False)
def metric_series(url: str, model_id: int | None = None, start: datetime | None = None,
                  end: datetime | None = None) -> pd.DataFrame:
    with engine(url).connect() as conn:
        return queries.metric_series(conn, model_id, None, start, end)


PERFORMANCE_COLUMNS = (*queries.PERFORMANCE_FIELDS, "window_id", "error", "estimate_reliable", "reason")
"""Columns of :func:`performance` (the fields of :class:`monitor.store.queries.PerformanceRow`)."""


@st.cache_data(ttl=TTL, show_spinner=False)
def performance(url: str, model: str, start: datetime | None = None) -> pd.DataFrame:
    """Model quality per window and metric (:func:`monitor.store.queries.performance_series` as a frame).

    Realized values change as late labels arrive, so this is re-read every ``TTL`` seconds like the rest.
    """
    # a Session: the query selects an ORM entity beside a column (with a bare Connection its rows come flat)
    with Session(engine(url)) as session:
        rows = queries.performance_series(session, model, since=start)
    frame = pd.DataFrame([{c: getattr(r, c) for c in PERFORMANCE_COLUMNS} for r in rows],
                         columns=list(PERFORMANCE_COLUMNS))
    for col in ("window_start", "window_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    for col in ("realized", "realized_lower", "realized_upper", "estimated", "estimated_lower", "estimated_upper",
                "reference", "error"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


@st.cache_data(ttl=ALERT_TTL, show_spinner=False)
def alerts(url: str, model_ids: tuple[int, ...] | None = None, severities: tuple[str, ...] | None = None,
           statuses: tuple[str, ...] | None = None, start: datetime | None = None, end: datetime | None = None
           ) -> pd.DataFrame:
    with engine(url).connect() as conn:
        return queries.alerts(conn, model_ids, severities, statuses, start, end)


@st.cache_data(ttl=ALERT_TTL, show_spinner=False)
def incidents(url: str, model_ids: tuple[int, ...] | None = None, severities: tuple[str, ...] | None = None,
              statuses: tuple[str, ...] | None = None, start: datetime | None = None, end: datetime | None = None
              ) -> pd.DataFrame:
    with engine(url).connect() as conn:
        return incident_queries.incidents(conn, model_ids, severities, statuses, start, end)


@st.cache_data(ttl=ALERT_TTL, show_spinner=False)
def incident_alerts(url: str, incident_id: int) -> pd.DataFrame:
    with engine(url).connect() as conn:
        return incident_queries.incident_alerts(conn, incident_id)


@st.cache_data(ttl=ALERT_TTL, show_spinner=False)
def alert_detail(url: str, alert_id: int) -> queries.AlertDetail | None:
    with engine(url).connect() as conn:
        return queries.alert_detail(conn, alert_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def dead_letters(url: str, model: str | None, start: datetime | None = None, end: datetime | None = None
                 ) -> pd.DataFrame:
    with engine(url).connect() as conn:
        return queries.dead_letters(conn, model, start, end)


@st.cache_data(ttl=TTL, show_spinner=False)
def dead_letter_counts(url: str, start: datetime | None = None, freq: str = "1D") -> pd.DataFrame:
    """Dead letters per ``freq`` and reason kind since ``start`` (``bucket, reason_kind, count``)."""
    with engine(url).connect() as conn:
        return dead_letter_store.reason_counts(conn, start, freq=freq)


@st.cache_data(ttl=TTL, show_spinner=False)
def dead_letter_examples(url: str, model: str | None = None, reason: str | None = None, limit: int = 50
                         ) -> pd.DataFrame:
    """The latest dead letters (with the start of their raw bytes as text), newest first."""
    which = dead_letter_store.DeadLetterFilter(model=model, reason=reason, limit=limit)
    with Session(engine(url)) as session:
        items = dead_letter_store.find(session, which)
    rows = [{**item.to_json(with_raw=False), "created_at": item.created_at,
             "raw": item.raw[:300].decode("utf-8", "backslashreplace")} for item in items]
    return pd.DataFrame(rows, columns=["id", "created_at", "model", "source", "partition", "offset", "reason",
                                       "error_class", "raw_size", "raw", "requeue_count"])


@st.cache_data(ttl=3600, show_spinner=False, max_entries=64)
def sample(url: str, window_id: int) -> pd.DataFrame | None:
    """The window's stored sample as a frame, or ``None`` when none is kept."""
    with engine(url).connect() as conn:
        blob = queries.window_sample(conn, window_id)
    if blob is None:
        return None
    return decode_sample(blob.data, blob.format, where=f"sample of window {window_id}")


@st.cache_data(ttl=TTL, show_spinner=False)
def column_quantiles(url: str, model_id: int, column: str, start: datetime | None = None,
                     end: datetime | None = None) -> pd.DataFrame:
    """Per window with a stored sample: p10/p25/p50/p75/p90 and mean of a numeric ``column``."""
    frame = windows(url, model_id, start, end)
    rows: list[dict[str, Any]] = []
    for wid, w_end in frame.loc[frame["has_sample"], ["window_id", "window_end"]].itertuples(index=False):
        values = sample(url, int(wid))
        if values is None or column not in values.columns:
            continue
        x = pd.to_numeric(values[column], errors="coerce").dropna().to_numpy()
        if x.size == 0:
            continue
        q = np.quantile(x, [0.1, 0.25, 0.5, 0.75, 0.9])
        rows.append({"window_end": w_end, "p10": q[0], "p25": q[1], "p50": q[2], "p75": q[3], "p90": q[4],
                     "mean": float(x.mean()), "n": int(x.size)})
    return pd.DataFrame(rows, columns=["window_end", "p10", "p25", "p50", "p75", "p90", "mean", "n"])


@st.cache_resource(show_spinner=False, max_entries=8)
def reference(url: str, model_id: int, version: int | None = None) -> Any:
    """The model's reference profile (a ``detectors.ReferenceProfile``), or ``None`` when none is stored."""
    from detectors.profile import ReferenceProfile

    with engine(url).connect() as conn:
        blob = queries.reference_profile(conn, model_id, version)
    if blob is None:
        return None
    return ReferenceProfile.from_bytes(blob.profile, source=f"reference v{blob.version} of model {model_id}")


def reference_or_reason(url: str, model_id: int, version: int | None = None) -> tuple[Any, str | None]:
    """``(profile, None)``, or ``(None, why)`` when none is stored or it cannot be loaded."""
    try:
        profile = reference(url, model_id, version)
    except Exception as exc:  # a damaged or foreign profile must not take the page down
        return None, f"the reference profile cannot be loaded: {exc}"
    if profile is None:
        return None, f"no reference profile v{version} is stored for this model"
    return profile, None


@st.cache_data(ttl=3600, show_spinner=False, max_entries=16)
def window_report(url: str, model_id: int, window_id: int, reference_version: int | None, title: str) -> str:
    """Evidently HTML of the window's sample vs the reference; raises :class:`ReportError` if it can't."""
    current = sample(url, window_id)
    if current is None:
        raise ReportError(f"window {window_id}: no sample is stored (sampling is off for this model, or it "
                          "was not kept for this window)")
    profile, why = reference_or_reason(url, model_id, reference_version)
    if profile is None:
        raise ReportError(f"model {model_id}: {why}")
    return window_report_html(current, profile, title=title)


def clear_alert_caches() -> None:
    """Forget cached alert reads (after an acknowledge or resolve)."""
    alerts.clear()
    alert_detail.clear()
    model_overview.clear()
    incidents.clear()
    incident_alerts.clear()


@st.cache_data(ttl=TTL, show_spinner=False)
def report_details(url: str, model_id: int, start: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From the windows' stored reports: triggered data-quality findings, and events per model version.

    ``(findings[window_end, check, column, value, message], versions[window_end, version, events])``.
    """
    frame = windows(url, model_id, start)
    with engine(url).connect() as conn:
        reports = queries.window_reports(conn, [int(w) for w in frame["window_id"]])
    ends = dict(zip(frame["window_id"], frame["window_end"], strict=True))
    findings: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    for wid, report in reports.items():
        for item in report.get("quality") or []:
            if isinstance(item, dict) and item.get("triggered", True):
                findings.append({"window_end": ends[wid], "check": item.get("check"), "column": item.get("column"),
                                 "value": item.get("value"), "message": item.get("message")})
        for version, count in (report.get("model_versions") or {}).items():
            versions.append({"window_end": ends[wid], "version": str(version), "events": int(count)})
    findings_frame = pd.DataFrame(findings, columns=["window_end", "check", "column", "value", "message"])
    versions_frame = pd.DataFrame(versions, columns=["window_end", "version", "events"])
    return findings_frame.sort_values("window_end"), versions_frame.sort_values("window_end")


@st.cache_data(ttl=TTL, show_spinner=False)
def multivariate_series(url: str, model_id: int, start: datetime | None = None) -> pd.DataFrame:
    """The joint (PCA reconstruction error) test per window: ``window_end, statistic, lower, upper, drifted,
    contributions`` (each column's share of the squared error, when the report has it).

    Empty when the model's windows carry no multivariate result (too few numeric columns, or an old profile).
    """
    frame = windows(url, model_id, start)
    with engine(url).connect() as conn:
        reports = queries.window_reports(conn, [int(w) for w in frame["window_id"]])
    ends = dict(zip(frame["window_id"], frame["window_end"], strict=True))
    rows: list[dict[str, Any]] = []
    for wid, report in reports.items():
        multi = report.get("multivariate")
        if isinstance(multi, dict) and multi.get("statistic") is not None:
            rows.append({"window_end": ends[wid], "statistic": multi["statistic"], "lower": multi.get("lower"),
                         "upper": multi.get("upper"), "drifted": bool(multi.get("drifted")),
                         "contributions": multi.get("contributions")})
    out = pd.DataFrame(rows, columns=["window_end", "statistic", "lower", "upper", "drifted", "contributions"])
    return out.sort_values("window_end").reset_index(drop=True)


def _frame_of(rows: list[Any], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame([{c: getattr(r, c) for c in columns} for r in rows], columns=list(columns))
    for col in ("window_start", "window_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def segments(url: str, model: str, start: datetime | None = None) -> pd.DataFrame:
    """One row per window and segment (:func:`monitor.store.segments_store.segment_series`), oldest first."""
    with Session(engine(url)) as session:
        rows = segments_store.segment_series(session, model, since=start)
    frame = _frame_of(rows, segments_store.SEGMENT_FIELDS)
    frame["drift_share"] = pd.to_numeric(frame["drift_share"], errors="coerce").astype(float)
    return frame


@st.cache_data(ttl=TTL, show_spinner=False)
def fairness(url: str, model: str, start: datetime | None = None) -> pd.DataFrame:
    """One row per window, attribute and metric (:func:`monitor.store.segments_store.fairness_series`)."""
    with Session(engine(url)) as session:
        rows = segments_store.fairness_series(session, model, since=start)
    frame = _frame_of(rows, segments_store.FAIRNESS_FIELDS)
    for col in ("value", "lower", "upper", "threshold"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


SLICE_COLUMNS = ("window_start", "window_end", "rank", "metric", "name", "n", "rate", "rest_rate", "difference",
                 "p_value", "q_value", "significant")


@st.cache_data(ttl=TTL, show_spinner=False)
def worst_slices(url: str, model: str, start: datetime | None = None) -> pd.DataFrame:
    """The worst slices kept with each window (:func:`monitor.store.segments_store.worst_slice_series`)."""
    with Session(engine(url)) as session:
        rows = segments_store.worst_slice_series(session, model, since=start)
    return _frame_of(rows, SLICE_COLUMNS)
