"""The whole scenario through the real pipeline: each incident raises the right alert in time, quiet days none.

Runs ``driftwarden reference build`` (profile and labelled validation reference) + ``driftwarden run --source
<events>`` (their Python API) into SQLite and into PostgreSQL, then scores the alerts against
``ground_truth.json`` (:func:`scenario.evaluate_alerts`: an incident is caught when each expected (signal,
feature) is raised with ``first_seen`` from the window holding its start to one window after it; in time when
that is at most one window late, plus the label horizon for alerts computed from labels; any other alert is a
false alarm). Two incidents are about model quality: a covariate shift the estimate (CBPE) catches when the
window closes, and a quality decay with no drift at all that only the realized quality catches once the
labels arrive. Two are confined to part of the traffic: a playback outage in one country that only that
country's segment alert catches (the population's take-rate stays inside its threshold), and a fairness
drift between age bands that ``fairness_gap`` catches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config.settings import Settings
from monitor.db import upgrade
from scenario import Evaluation, ScenarioFiles, format_evaluation, generate_scenario
from scenario.runner import build_scenario_reference, raised_alerts, score_run, watch_scenario

pytestmark = pytest.mark.integration

EVENTS_PER_HOUR = 600.0
INCIDENTS = ["new_device_category", "covariate_shift_quality", "feature_pipeline_break", "model_degenerates",
             "quality_decay_no_drift", "concept_drift", "playback_outage_one_country", "fairness_drift_age"]
DAYS = 21


def _run(files: ScenarioFiles, url: str) -> Evaluation:
    upgrade(url)
    build_scenario_reference(files, url)
    watched = watch_scenario(files, url, Settings(database_url=url, metrics_port=0))
    assert watched.clean and watched.stopped_by == "end_of_source"
    assert watched.messages == files.n_events == files.n_predictions + files.n_outcomes + files.n_labels
    assert watched.dead_letters == 0
    assert watched.windows == DAYS
    return score_run(files, url)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFiles:
    return generate_scenario(tmp_path_factory.mktemp("scenario"), seed=7, events_per_hour=EVENTS_PER_HOUR)


@pytest.fixture(scope="module")
def sqlite_run(files: ScenarioFiles, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Evaluation]:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'driftwarden.db'}"
    return url, _run(files, url)


@pytest.mark.parametrize("incident", INCIDENTS)
def test_each_incident_raises_the_right_alert_in_time(sqlite_run: tuple[str, Evaluation], incident: str) -> None:
    _, ev = sqlite_run
    result = ev.incident(incident)
    summary = "\n".join(format_evaluation(ev))
    assert result.caught, f"{incident} missed ({[e.what for e in result.missing]}):\n{summary}"
    assert result.in_time, f"{incident} caught too late (deadline {result.deadline}):\n{summary}"


@pytest.mark.parametrize("incident", INCIDENTS)
def test_each_incident_is_one_incident_with_the_scripted_cause_first(sqlite_run: tuple[str, Evaluation],
                                                                     incident: str) -> None:
    """The alerts a scripted incident raised are grouped into exactly one incident of the watcher (holding no
    alert of another scripted incident), whose top-ranked alert is the scripted cause."""
    _, ev = sqlite_run
    result = ev.incident(incident)
    summary = "\n".join(format_evaluation(ev))
    assert result.one_incident, f"{incident}: incidents {result.incidents} (shared: {result.merged}):\n{summary}"
    assert result.cause_first, f"{incident}: top cause is not {result.phase.cause}:\n{summary}"
    assert result.incidents[0].alerts >= len(result.met)


def test_quality_incidents_are_caught_by_the_right_kind_of_quality_signal(sqlite_run: tuple[str, Evaluation]) -> None:
    """The covariate shift: the estimate at window close (no label needed); the decay without drift: the
    realized quality from the labels, and nothing about the inputs or the scores fires for it."""
    _, ev = sqlite_run
    shift = ev.incident("covariate_shift_quality")
    estimated = shift.met["estimated ROC AUC drops (CBPE, at window close)"]
    assert (estimated.signal, estimated.feature) == ("estimated_performance_drop", "roc_auc")
    assert estimated.first_seen == shift.phase.end  # the close of the window holding the shift
    decay = ev.incident("quality_decay_no_drift")
    assert [(a.signal, a.feature) for a in decay.met.values()] == [("performance_drop", "roc_auc")]
    during = {(a.signal, a.feature) for name, a in ev.explained if name == "quality_decay_no_drift"}
    assert during <= {("performance_drop", "roc_auc"), ("performance_estimate_unreliable", "roc_auc")}, during


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def test_the_outage_is_one_countrys_and_the_fairness_drift_the_age_bands(sqlite_run: tuple[str, Evaluation]) -> None:
    """The outage: BR's segment alert, and nothing of the population's (its take-rate stays above the rule's
    threshold); the stored rows say why. The fairness drift: the demographic parity difference over age bands
    has its interval above ``max_gap`` on the incident's day only."""
    from monitor.store.segments_store import fairness_series, segment_series
    from monitor.store.sessions import in_session

    url, ev = sqlite_run
    outage = ev.incident("playback_outage_one_country")
    [met] = outage.met.values()
    assert (met.signal, met.feature, met.segment) == ("business_metric_drop", "take_rate", "country=BR")
    during = [(a.signal, a.segment) for name, a in ev.explained if name == "playback_outage_one_country"]
    assert all(segment is not None or signal == "performance_estimate_unreliable" for signal, segment in during)
    day_end = outage.phase.end
    rows = in_session(url, lambda s: segment_series(s, "recommender"))
    br = {_utc(r.window_end): r.metrics.get("take_rate") for r in rows if r.segment == "country=BR"}
    assert len(br) == DAYS and br[day_end] < 0.16, br
    fair = [r for r in in_session(url, lambda s: fairness_series(s, "recommender"))
            if r.attribute == "age_band" and r.metric == "demographic_parity_difference"]
    assert len(fair) == DAYS
    gap_end = ev.incident("fairness_drift_age").phase.end
    assert [_utc(r.window_end) for r in fair if r.violated] == [gap_end]
    [gap] = [r for r in fair if r.violated]
    assert 0.15 < gap.value < 0.3 and gap.lower > 0.1


def test_quality_is_stored_per_window_with_the_reference(sqlite_run: tuple[str, Evaluation]) -> None:
    """Every window has its ROC AUC, realized (final: the run's end finalises every window) and estimated,
    against the reference computed on the labelled validation data."""
    from monitor.db import make_engine, session_factory
    from monitor.store.queries import performance_series

    url, _ = sqlite_run
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            rows = performance_series(session, "recommender")
    finally:
        engine.dispose()
    assert [r.metric for r in rows] == ["roc_auc"] * DAYS
    assert all(r.reference is not None and 0.7 < r.reference < 0.8 for r in rows)
    assert all(r.estimated is not None and r.realized is not None for r in rows)
    assert all(0 < r.n_labelled < r.n_predictions for r in rows)
    quiet = [r for r in rows if r.window_end.day == 3]  # the first day: quiet
    assert abs(quiet[0].realized - quiet[0].reference) < 0.05  # type: ignore[operator]


def test_quiet_periods_raise_no_alert(sqlite_run: tuple[str, Evaluation]) -> None:
    _, ev = sqlite_run
    assert ev.false_alarms == (), "\n".join(format_evaluation(ev))


def test_incident_alerts_resolve_by_the_end(sqlite_run: tuple[str, Evaluation], files: ScenarioFiles) -> None:
    """Recovery: one clean day-long window resolves an incident (the scenario's ``auto_resolve_after: 1``)."""
    from monitor.db import make_engine, session_factory
    from monitor.db.models import Alert

    url, _ = sqlite_run
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            statuses = {(a.signal, a.feature): a.status for a in session.query(Alert).all()}
    finally:
        engine.dispose()
    assert statuses, "no alert at all"
    assert set(statuses.values()) == {"resolved"}, statuses


def test_postgres_gives_the_same_alerts(
    sqlite_run: tuple[str, Evaluation], files: ScenarioFiles, migrated_pg_url: str
) -> None:
    sqlite_url, _ = sqlite_run
    ev = _run(files, migrated_pg_url)
    summary = "\n".join(format_evaluation(ev))
    assert raised_alerts(migrated_pg_url, "recommender") == raised_alerts(sqlite_url, "recommender"), summary
    for result in ev.incidents:
        assert result.caught and result.in_time, f"PostgreSQL: {result.name}:\n{summary}"
    assert ev.false_alarms == (), summary


def test_the_scenario_files_exist(files: ScenarioFiles) -> None:
    for path in (files.events, files.reference, files.ground_truth, files.config):
        assert Path(path).is_file()
