"""monitor.store.queries and monitor.reports against the scenario's database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detectors.profile import ReferenceProfile
from monitor.db import make_engine
from monitor.reports import ReportError, decode_sample, reference_frame, window_report_html
from monitor.store import queries as q


@pytest.fixture
def conn(scenario_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(scenario_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_overview_and_windows(conn, scenario_db_file) -> None:  # type: ignore[no-untyped-def]
    overview = q.model_overview(conn)
    assert overview["model"].tolist() == ["recommender"]
    row = overview.iloc[0]
    assert row["windows"] == scenario_db_file.windows
    assert str(row["last_window_end"].tz) == "UTC"
    windows = q.windows(conn, int(row["model_id"]))
    assert len(windows) == scenario_db_file.windows
    assert windows["window_end"].is_monotonic_increasing
    assert windows["has_sample"].all()
    last_two = q.windows(conn, int(row["model_id"]), start=row["last_window_end"] - timedelta(days=1))
    assert len(last_two) == 2


def test_feature_results_and_metrics(conn) -> None:  # type: ignore[no-untyped-def]
    features = q.feature_results(conn, 1)
    assert {"device", "country", "tenure_days", "prediction"} <= set(features["feature"])
    assert features["drifted"].any() and not features["drifted"].all()
    only = q.feature_results(conn, 1, features=["device"])
    assert set(only["feature"]) == {"device"}
    assert "take_rate" in q.metric_names(conn, 1)
    take = q.metric_series(conn, 1, ["take_rate"])
    assert take["value"].between(0, 1).all() and take["ts"].is_monotonic_increasing


def test_alert_filters_and_detail(conn) -> None:  # type: ignore[no-untyped-def]
    every = q.alerts(conn)
    assert len(every) > 0 and set(every["status"]) == {"resolved"}
    assert q.alerts(conn, statuses=["open", "acknowledged"]).empty
    critical = q.alerts(conn, severities=["critical"])
    assert set(critical["severity"]) == {"critical"}
    late = q.alerts(conn, start=every["first_seen"].max())
    assert len(late) < len(every)
    assert q.alerts(conn, model_ids=[999]).empty
    detail = q.alert_detail(conn, int(every["alert_id"].iloc[0]))
    assert detail is not None and detail.events["action"].iloc[0] == "opened"
    assert q.alert_detail(conn, 10_000) is None


def test_sample_reference_and_report(conn) -> None:  # type: ignore[no-untyped-def]
    window_id = int(q.windows(conn, 1)["window_id"].iloc[-1])
    blob = q.window_sample(conn, window_id)
    assert blob is not None and blob.n_rows > 0
    sample = decode_sample(blob.data, blob.format)
    assert len(sample) == blob.n_rows and "prediction" in sample.columns
    ref = q.reference_profile(conn, 1)
    assert ref is not None and ref.version == 1
    profile = ReferenceProfile.from_bytes(ref.profile)
    rebuilt = reference_frame(profile, n_rows=2000)
    assert len(rebuilt) == 2000 and set(rebuilt.columns) == set(profile.names)
    html = window_report_html(sample, profile, title="test window")
    assert html.lstrip().lower().startswith("<") and "Drift" in html
    assert q.window_sample(conn, 10_000) is None
    assert q.reference_profile(conn, 1, version=99) is None


def test_report_errors_name_the_problem(conn) -> None:  # type: ignore[no-untyped-def]
    ref = q.reference_profile(conn, 1)
    assert ref is not None
    profile = ReferenceProfile.from_bytes(ref.profile)
    import pandas as pd

    with pytest.raises(ReportError, match="share none"):
        window_report_html(pd.DataFrame({"other": [1, 2]}), profile)
    with pytest.raises(ReportError, match="unknown sample format 'csv'"):
        decode_sample(b"x", "csv")
    with pytest.raises(ReportError, match="cannot decode parquet"):
        decode_sample(b"not parquet")


def test_drift_score_agrees_with_every_stored_verdict(scenario_url: str) -> None:
    """Preset ``default`` stores effect size, adjusted p and alpha (migration 0002); the dashboard's drift score
    is >= 1 exactly where the watcher said drifted, so the heatmap never paints an undrifted column red."""
    from dashboard import data
    from dashboard.summaries import drift_score

    features = data.feature_results(scenario_url, 1)
    tested = features[features["test"] != "all_null"]  # a column with no value has no effect size
    assert tested["effect_size"].notna().all() and tested["alpha"].notna().all() and len(tested) > 50
    scored = features.assign(score=drift_score(features))
    assert scored["drifted"].any() and not scored["drifted"].all()
    disagree = scored[(scored["score"] >= 1) != scored["drifted"]]
    assert disagree.empty, disagree[["window_end", "feature", "test", "p_value_adjusted", "effect_size", "score"]]
