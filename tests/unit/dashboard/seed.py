"""Seed a database with a realistic fortnight through the ORM models (for the dashboard's tests).

Two models: ``recommender`` (the scenario's recommender: device, country, tenure_days, hour_of_day,
item_popularity, premium -> a score; business metric ``take_rate``) with four incidents and their alerts,
and ``search-ranker`` (healthy, one small resolved alert; metric ``ctr``). Hourly windows, a bounded parquet
sample of every ``recommender`` window, and a reference profile built with :mod:`detectors`.

Incidents of ``recommender`` (day offsets from ``start``):

* 2.4-4   a new device category ``smart_tv`` appears      -> feature_drift + data_quality (unseen), resolved
* 5.6-7   the tenure_days pipeline breaks (60 % missing)  -> data_quality missing_rate + prediction_drift
* 8.25-10 the model degenerates (near-constant score)     -> prediction_near_constant + business_metric_drop
* 11-14   concept drift: take-rate sinks, features do not -> business_metric_drop (acknowledged, still open)
* 13.8    a traffic dip                                    -> traffic_volume (open)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from monitor.db.models import (
    Alert,
    AlertEvent,
    FeatureResult,
    MetricValue,
    Model,
    ReferenceProfile,
    WindowResult,
    WindowSample,
)

START = datetime(2026, 11, 9, tzinfo=UTC)
DAYS = 14
DEVICES = ("android", "ios", "web", "tv")
DEVICE_P = (0.46, 0.34, 0.12, 0.08)
COUNTRIES = ("US", "BR", "GB", "DE", "FR", "IN", "JP", "MX")
COUNTRY_P = (0.30, 0.14, 0.10, 0.10, 0.08, 0.12, 0.08, 0.08)
FEATURE_KINDS = {
    "device": "categorical", "country": "categorical", "tenure_days": "numeric", "hour_of_day": "numeric",
    "item_popularity": "numeric", "premium": "binary", "score": "numeric",
}
SAMPLE_ROWS = 200


@dataclass(frozen=True)
class Seeded:
    """What the seed wrote (for assertions)."""

    start: datetime
    end: datetime
    model_ids: dict[str, int]
    alert_ids: dict[str, int]


def _phase(day: float) -> str:
    if 2.4 <= day < 4:
        return "new_device"
    if 5.6 <= day < 7:
        return "pipeline_break"
    if 8.25 <= day < 10:
        return "degenerate"
    if day >= 11:
        return "concept_drift"
    return "quiet"


def draw(rng: np.random.Generator, n: int, phase: str = "quiet") -> pd.DataFrame:
    """``n`` rows of the recommender's features and score under ``phase``."""
    devices = np.array([*DEVICES, "smart_tv"], dtype=object)
    p = np.array([*DEVICE_P, 0.0])
    if phase == "new_device":
        p = np.array([0.40, 0.30, 0.10, 0.05, 0.15])
    frame = pd.DataFrame({
        "device": rng.choice(devices, size=n, p=p / p.sum()),
        "country": rng.choice(np.array(COUNTRIES, dtype=object), size=n, p=COUNTRY_P),
        "tenure_days": rng.lognormal(np.log(150.0), 1.1, size=n).round(1),
        "hour_of_day": rng.integers(0, 24, size=n).astype(float),
        "item_popularity": rng.beta(1.6, 4.0, size=n).round(4),
        "premium": np.where(rng.random(n) < 0.3, "True", "False").astype(object),
    })
    logit = -0.9 + 0.25 * np.log1p(frame["tenure_days"]) / 5 + 1.5 * frame["item_popularity"] + rng.normal(0, 0.8, n)
    score = 1 / (1 + np.exp(-logit))
    if phase == "pipeline_break":
        frame.loc[rng.random(n) < 0.6, "tenure_days"] = np.nan
        score = np.clip(score + 0.12, 0, 1)
    if phase == "degenerate":
        score = 0.41 + rng.normal(0, 0.005, n)
    frame["score"] = score.round(4)
    return frame


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _profile_bytes(rng: np.random.Generator) -> tuple[bytes, str, int, list[str]]:
    from detectors.profile import ReferenceProfile as Profile

    reference = draw(rng, 5000)
    profile = Profile.build(reference, kinds=FEATURE_KINDS).with_version(1)
    return profile.to_bytes(), profile.content_hash, len(reference), list(reference.columns)


def _feature_rows(window: WindowResult, sample: pd.DataFrame, phase: str, rng: np.random.Generator) -> int:
    drifted_count = 0
    for feature, kind in FEATURE_KINDS.items():
        base = abs(rng.normal(0.03, 0.015))
        if phase == "new_device" and feature == "device":
            base = 0.22 + rng.normal(0, 0.02)
        elif phase == "pipeline_break" and feature in ("tenure_days", "score"):
            base = 0.18 + rng.normal(0, 0.03)
        elif phase == "degenerate" and feature == "score":
            base = 0.45 + rng.normal(0, 0.03)
        threshold = 0.1
        drifted = bool(base >= threshold)
        drifted_count += drifted
        current_missing = float(sample[feature].isna().mean())
        window.features.append(FeatureResult(
            feature=feature, kind=kind, test="psi" if kind == "numeric" else "jensen_shannon",
            statistic=float(base), p_value=None, threshold=threshold, drifted=drifted,
            missing_rate_reference=0.0, missing_rate_current=current_missing,
        ))
    return drifted_count


def _alert(
    session: Session, model: Model, signal: str, feature: str | None, severity: str, message: str,
    first: WindowResult, last: WindowResult, lifecycle: list[tuple[str, datetime, str | None, str | None]],
) -> Alert:
    alert = Alert(
        model_id=model.id, dedup_key=f"{model.name}|{signal}|{feature or '-'}", signal=signal, feature=feature,
        severity=severity, status="open", message=message, first_seen=first.window_end, last_seen=last.window_end,
        windows_count=max(1, int((last.window_end - first.window_end) / timedelta(hours=1)) + 1),
        first_window_id=first.id, last_window_id=last.id,
    )
    alert.events.append(AlertEvent(ts=first.window_end, action="opened", actor=None, note=message))
    for action, ts, actor, note in lifecycle:
        alert.events.append(AlertEvent(ts=ts, action=action, actor=actor, note=note))
        if action == "acknowledged":
            alert.status, alert.acknowledged_by, alert.acknowledged_at, alert.ack_note = action, actor, ts, note
        elif action == "resolved":
            alert.status, alert.resolved_by, alert.resolved_at, alert.resolve_note = action, actor, ts, note
    session.add(alert)
    session.flush()
    return alert


def seed(engine: Engine, start: datetime = START, days: int = DAYS, seed: int = 7) -> Seeded:
    """Write the fortnight into the (migrated, empty) database behind ``engine``."""
    rng = np.random.default_rng(seed)
    hours = days * 24
    with Session(engine) as session, session.begin():
        rec = Model(name="recommender", created_at=start)
        search = Model(name="search-ranker", created_at=start)
        session.add_all([rec, search])
        session.flush()
        profile, content_hash, n_rows, columns = _profile_bytes(rng)
        session.add(ReferenceProfile(
            model_id=rec.id, version=1, content_hash=content_hash, n_rows=n_rows, columns=columns,
            profile=profile, source="data/recommender-training.parquet", created_at=start,
        ))
        rec_windows: list[WindowResult] = []
        search_windows: list[WindowResult] = []
        samples: list[pd.DataFrame] = []
        for h in range(hours):
            w_start = start + timedelta(hours=h)
            w_end = w_start + timedelta(hours=1)
            day = h / 24
            phase = _phase(day)
            diurnal = 1.0 + 0.6 * np.sin((h % 24 - 8) / 24 * 2 * np.pi)
            n_events = int(rng.poisson(1200 * diurnal))
            if 13.75 <= day < 13.9:
                n_events = int(n_events * 0.3)
            sample = draw(rng, SAMPLE_ROWS, phase)
            window = WindowResult(
                model_id=rec.id, window_key=f"{w_start.isoformat()}/1h", window_start=w_start, window_end=w_end,
                n_events=n_events, reference_version=1, preset="default", dataset_drift=False, drift_share=0.0,
                multivariate_statistic=float(abs(rng.normal(0.05, 0.01))), report={"phase_hint": None},
            )
            drifted = _feature_rows(window, sample, phase, rng)
            window.drift_share = drifted / len(FEATURE_KINDS)
            window.dataset_drift = window.drift_share >= 0.5
            take = 0.31 + 0.02 * np.sin((h % 24) / 24 * 2 * np.pi) + rng.normal(0, 0.008)
            if phase == "degenerate":
                take -= 0.08
            elif phase == "concept_drift":
                take -= 0.045
            shown = int(n_events * 0.82)
            window.metrics.append(MetricValue(
                model_id=rec.id, name="take_rate", ts=w_end, value=float(take),
                numerator=round(shown * take), denominator=shown,
            ))
            session.add(window)
            samples.append(sample)
            rec_windows.append(window)

            s_window = WindowResult(
                model_id=search.id, window_key=f"{w_start.isoformat()}/1h", window_start=w_start, window_end=w_end,
                n_events=int(rng.poisson(400 * diurnal)), reference_version=1, preset="default",
                dataset_drift=False, drift_share=0.0, multivariate_statistic=None, report={},
            )
            for feature, kind in (("query_length", "numeric"), ("locale", "categorical"), ("score", "numeric")):
                s_window.features.append(FeatureResult(
                    feature=feature, kind=kind, test="ks" if kind == "numeric" else "chisquare",
                    statistic=float(abs(rng.normal(0.04, 0.02))), p_value=float(rng.uniform(0.1, 0.9)),
                    threshold=0.05, drifted=False, missing_rate_reference=0.0, missing_rate_current=0.0,
                ))
            ctr = 0.12 + rng.normal(0, 0.006)
            s_window.metrics.append(MetricValue(
                model_id=search.id, name="ctr", ts=w_end, value=float(ctr), numerator=round(300 * ctr), denominator=300,
            ))
            session.add(s_window)
            search_windows.append(s_window)
        session.flush()
        session.add_all(
            WindowSample(window_id=w.id, format="parquet", n_rows=len(f), data=_parquet(f))
            for w, f in zip(rec_windows, samples, strict=True)
        )

        def at(day: float) -> WindowResult:
            return rec_windows[min(int(day * 24), hours - 1)]

        def ts(day: float) -> datetime:
            return start + timedelta(hours=day * 24)

        ids: dict[str, int] = {}
        ids["unseen"] = _alert(session, rec, "data_quality", "device:unseen_categories", "warning",
                               "device: 15% of values are categories never seen in training (smart_tv)",
                               at(2.42), at(3.96), [
                                   ("acknowledged", ts(2.6), "maria", "New TV app shipped; retrain ticket ML-412"),
                                   ("resolved", ts(4.1), "maria", "smart_tv mapped to tv in the feature store"),
                               ]).id
        ids["device_drift"] = _alert(session, rec, "feature_drift", "device", "warning",
                                     "device drifted: jensen_shannon 0.22 >= 0.10", at(2.42), at(3.96), [
                                         ("resolved", ts(4.1), None, "auto-resolved after 3 clean windows"),
                                     ]).id
        ids["missing"] = _alert(session, rec, "data_quality", "tenure_days:missing_rate", "critical",
                                "tenure_days missing in 60% of events (reference 0%)", at(5.62), at(6.96), [
                                    ("acknowledged", ts(5.75), "sam", "Feature store job failed; paging data-eng"),
                                    ("resolved", ts(7.05), "sam", "Backfill done, missing rate back to 0%"),
                                ]).id
        ids["prediction"] = _alert(session, rec, "prediction_drift", "score", "critical",
                                   "score drifted: psi 0.18 >= 0.10", at(5.62), at(6.96), [
                                       ("resolved", ts(7.1), None, "auto-resolved after 3 clean windows"),
                                   ]).id
        ids["near_constant"] = _alert(session, rec, "prediction_near_constant", "score", "critical",
                                      "score std is 1% of the reference std", at(8.27), at(9.96), [
                                          ("acknowledged", ts(8.5), "lee", "Rolling back model 1.5.0"),
                                          ("resolved", ts(10.05), "lee", "Rolled back to 1.4.0"),
                                      ]).id
        ids["take_rate_drop"] = _alert(session, rec, "business_metric_drop", "take_rate", "critical",
                                       "take_rate 0.23 < 0.25 (reference 0.31, max drop 20%)", at(8.3), at(9.96), [
                                           ("resolved", ts(10.1), None, "auto-resolved after 3 clean windows"),
                                       ]).id
        ids["concept"] = _alert(session, rec, "business_metric_drop", "take_rate", "warning",
                                "take_rate sinking: page_hinkley fired (0.27 vs reference 0.31)", at(11.2),
                                at(13.99), [("acknowledged", ts(11.6), "maria", "No feature drift; looking at catalog")]
                                ).id
        ids["volume"] = _alert(session, rec, "traffic_volume", None, "warning",
                               "events per hour 30% of the median of the last 12 windows", at(13.76), at(13.88),
                               []).id
        s_first, s_last = search_windows[100], search_windows[102]
        ids["search_info"] = _alert(session, search, "data_quality", "query_length:out_of_range", "info",
                                    "query_length: 2% of values out of the reference range", s_first, s_last, [
                                        ("resolved", s_last.window_end + timedelta(hours=2), "priya", "Bot traffic"),
                                    ]).id
        model_ids = {"recommender": rec.id, "search-ranker": search.id}
    return Seeded(start=start, end=start + timedelta(days=days), model_ids=model_ids, alert_ids=ids)
