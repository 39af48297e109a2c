"""The pure helpers behind the pages: sentences, durations, drift score, week summary, incident ends."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from dashboard import summaries as s

T0 = pd.Timestamp("2026-11-02", tz="UTC")


def test_change_sentence_matches_the_manager_wording() -> None:
    assert s.change_sentence("take_rate", 0.310, 0.273) == "Take-rate fell 12% week over week, from 31.0% to 27.3%."
    assert s.change_sentence("ctr", 0.10, 0.12) == "CTR rose 20% week over week, from 10.0% to 12.0%."
    assert s.change_sentence("take_rate", 0.300, 0.301) == "Take-rate held steady week over week at 30.1%."
    assert s.change_sentence("take_rate", None, 0.3) == "Take-rate was 30.0% this week (no data the week before)."
    assert s.change_sentence("take_rate", 0.3, None) == "Take-rate: no data this week."


@pytest.mark.parametrize(
    ("hours", "text"), [(0.5, "30 min"), (5, "5 h"), (2.5, "2.5 h"), (30, "30 h"), (72, "3.0 d")]
)
def test_format_duration(hours: float, text: str) -> None:
    assert s.format_duration(pd.Timedelta(hours=hours)) == text


def test_incident_sentence() -> None:
    assert (s.incident_sentence(3, 2, pd.Timedelta(hours=5))
            == "3 incidents opened, 2 resolved, median time open 5 h.")
    assert (s.incident_sentence(1, 0, None, still_open=1, critical=1)
            == "1 incident opened (1 critical), 0 resolved; 1 still open.")


def test_health_status_order() -> None:
    assert s.health_status(1, 1, 1, 10) == "critical"
    assert s.health_status(0, 2, 0, 10) == "warning"
    assert s.health_status(0, 0, 1, 10) == "acknowledged"
    assert s.health_status(0, 0, 0, 10) == "healthy"
    assert s.health_status(0, 0, 0, 0) == "no data"


def test_drift_score_puts_p_value_and_distance_tests_on_one_scale() -> None:
    frame = pd.DataFrame({"statistic": [0.3, 0.05, 0.2], "p_value": [0.05, None, 1.0], "threshold": [0.05, 0.1, 0.05]})
    assert s.drift_score(frame).round(6).tolist() == [1.0, 0.5, 0.0]


def test_business_metrics_leave_out_counters() -> None:
    names = ["events_per_second", "joined_outcomes", "n_events", "score_std", "take_rate", "revenue", "ctr"]
    assert s.business_metric_names(names) == ["take_rate", "ctr", "revenue"]


def test_guess_prediction_column() -> None:
    assert s.guess_prediction_column({"device": "categorical", "prediction": "numeric"}) == "prediction"
    assert s.guess_prediction_column({"x": "numeric"}) is None


def _alerts(rows: list[tuple[str, str, pd.Timestamp, pd.Timestamp, pd.Timestamp | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"alert_id": i + 1, "model": "m", "signal": sig, "feature": None, "severity": sev, "status":
          "resolved" if res is not None else "open", "first_seen": first, "last_seen": last, "resolved_at": res}
         for i, (sig, sev, first, last, res) in enumerate(rows)]
    ).astype({"resolved_at": "datetime64[ns, UTC]"})


def test_week_summary_counts_and_sentences() -> None:
    end = T0 + pd.Timedelta(days=14)
    days = [T0 + pd.Timedelta(days=d) for d in range(1, 15)]
    metrics = pd.DataFrame({"name": "take_rate", "ts": days, "value": [0.31] * 7 + [0.273] * 7,
                            "numerator": [None] * 14, "denominator": [None] * 14})
    h = pd.Timedelta(hours=1)

    def day(n: float) -> pd.Timestamp:
        return T0 + pd.Timedelta(days=n)

    alerts = _alerts([
        ("feature_drift", "warning", day(3), day(3), day(3) + 2 * h),
        ("data_quality", "critical", day(8), day(8), day(8) + 5 * h),
        ("business_metric_drop", "warning", day(9), day(9), day(9) + 7 * h),
        ("traffic_volume", "warning", day(13), day(13), None),
    ])
    summary = s.week_summary(metrics, alerts, end.to_pydatetime())
    assert summary.sentences() == [
        "Take-rate fell 12% week over week, from 31.0% to 27.3%.",
        "3 incidents opened (1 critical), 2 resolved, median time open 6 h; 1 still open.",
    ]
    assert summary.longest_open == 7 * h
    assert summary.incidents["alert_id"].tolist() == [2, 3, 4]


def test_incident_end_puts_replayed_resolutions_on_the_data_clock() -> None:
    now = datetime(2026, 11, 16, tzinfo=UTC)
    alerts = _alerts([
        ("a", "warning", T0, T0 + pd.Timedelta(days=2), pd.Timestamp("2026-11-23 10:00", tz="UTC")),  # replay
        ("b", "warning", T0, T0 + pd.Timedelta(days=1), T0 + pd.Timedelta(days=1, hours=3)),  # live
        ("c", "warning", T0, T0, None),
    ])
    ends = s.incident_end(alerts, pd.Timestamp(now), pd.Timedelta(days=1))
    assert ends.iloc[0] == T0 + pd.Timedelta(days=3)
    assert ends.iloc[1] == T0 + pd.Timedelta(days=1, hours=3)
    assert pd.isna(ends.iloc[2])


def test_login_mode_follows_the_settings() -> None:
    from dashboard import auth
    from monitor.config.settings import Settings

    assert auth.mode(Settings(database_url="sqlite://", dashboard_password="pw")) == "password"
    assert auth.mode(Settings(database_url="sqlite://", dashboard_password=None)) == "open"
    assert auth.check_password("pw", "pw") and not auth.check_password("pW", "pw")
