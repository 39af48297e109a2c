"""Configuration: validation errors name file, key path and problem; defaults merge; reload watcher."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.config import ConfigError, ConfigWatcher, load_config, parse_config, parse_duration

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "recommender.yaml"

GOOD = """
version: 1
defaults:
  window: {type: time, size: 1h, allowed_lateness: 5m}
  outcome_join_ttl: 30m
models:
  rec:
    features: {tenure: numeric, genre: categorical, premium: boolean}
    prediction: {kind: score, column: score}
    reference: {path: data/train.parquet}
    tests: {tenure: psi}
    thresholds: {tenure: 0.2}
    business_metrics:
      - {name: take_rate, kind: take_rate, quality_play_seconds: 45, reference_value: 0.3}
      - {name: ctr, kind: ctr}
  churn:
    features: {plan: categorical}
    window: {type: count, size: 500, slide: 250}
"""


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert "recommender" in config.models
    assert config.models["recommender"].business_metrics


def test_good_config_with_defaults_and_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(GOOD)
    config = load_config(path)
    rec, churn = config.models["rec"], config.models["churn"]
    assert rec.window.type == "time" and rec.window.size == 3600 and rec.window.allowed_lateness == 300
    assert churn.window.type == "count" and churn.window.size == 500 and churn.window.step == 250
    assert churn.outcome_join_ttl == 1800  # from defaults
    assert rec.features["premium"] == "binary"  # alias
    assert rec.reference.path == (tmp_path / "data" / "train.parquet").resolve()
    assert rec.overrides() == {"per_column": {"tenure": {"test": "psi", "threshold": 0.2}}}
    take = rec.business_metrics[0]
    assert [(c.field, c.op, c.value) for c in take.numerator] == [
        ("shown", "truthy", None), ("played", "truthy", None), ("play_seconds", ">=", 45.0)]
    assert rec.business_metrics[1].numerator[1].field == "clicked"


@pytest.mark.parametrize(
    ("text", "key_path", "problem"),
    [
        ("models: {m: {features: {x: numeric}, window: {size: 0}}}", "models.m.window", "size must be > 0"),
        ("models: {m: {features: {x: numeric}, window: {size: -3}}}", "models.m.window.size", ">= 0 (got -3)"),
        ("models: {m: {features: {x: numeric}, window: {type: count, size: 10.5}}}", "models.m.window",
         "whole number"),
        ("models: {m: {features: {x: numeric}, window: {type: hourly}}}", "models.m.window.type", "hourly"),
        ("models: {m: {features: {x: numerik}}}", "models.m.features.x", "numerik"),
        ("models: {m: {features: {x: numeric}, outcome_join_ttl: soon}}", "models.m.outcome_join_ttl", "soon"),
        ("models: {m: {features: {x: numeric}, preset: fancy}}", "models.m.preset", "unknown preset 'fancy'"),
        ("models: {m: {features: {x: numeric}, tests: {x: magic}}}", "models.m.tests", "unknown test 'magic'"),
        ("models: {m: {features: {x: numeric}, tests: {y: ks}}}", "models.m", "'y' is not a feature"),
        ("models: {m: {features: {x: numeric}, thresholds: {x: 0.1}}}", "models.m", "needs its test"),
        ("models: {m: {features: {x: numeric}, windw: {size: 3}}}", "models.m.windw", "Extra inputs"),
        ("models: {m: {features: {}}}", "models.m.features", "at least one feature"),
        ("models: {m: {features: {x: numeric}, business_metrics: [{name: r, kind: ratio}]}}",
         "models.m.business_metrics.0", "needs a numerator"),
        ("models: {m: {features: {x: numeric}, business_metrics: [{name: t, kind: take_rate},"
         " {name: t, kind: ctr}]}}", "models.m", "duplicate metric"),
        ("models: {m: {features: {x: numeric}, alerts: {auto_resolve_after: 0}}}",
         "models.m.alerts.auto_resolve_after", "greater than or equal to 1"),
        ("models: {}", "models", "non-empty mapping"),
        ("- a\n- b", "", "must be a mapping"),
        ("models: {m: [1, 2]}", "models.m", "must be a mapping"),
    ],
)
def test_errors_name_file_key_path_and_problem(text: str, key_path: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="cfg.yaml")
    err = info.value
    assert err.file == "cfg.yaml"
    assert err.key_path == key_path
    assert problem in str(err)
    assert str(err).startswith(f"cfg.yaml: {key_path}" if key_path else "cfg.yaml: ")


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: {m: [\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: is not valid YAML: line \d+"):
        load_config(bad)


def test_durations() -> None:
    assert parse_duration("2d") == 172800 and parse_duration("1h30m") == 5400 and parse_duration("0.5") == 0.5
    for bad in ("-1", "1x", "", True, "h1"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_watcher_reports_changes_once_and_raises_on_invalid(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(GOOD)
    watcher = ConfigWatcher(path, current=load_config(path))
    assert watcher.poll() is None
    path.write_text(GOOD.replace("size: 500", "size: 800"))
    os.utime(path, ns=(1, 10**18))
    new = watcher.poll()
    assert new is not None and new.models["churn"].window.size == 800
    assert watcher.poll() is None
    path.write_text(GOOD.replace("size: 500", "size: -1"))
    os.utime(path, ns=(1, 2 * 10**18))
    with pytest.raises(ConfigError):
        watcher.poll()
    assert watcher.poll() is None  # reported once; the caller keeps the previous config
    with pytest.raises(ConfigError):
        watcher.poll(force=True)


def test_sequential_params_are_checked_on_load() -> None:
    base = "models: {m: {features: {x: numeric}, business_metrics: [{name: t, kind: take_rate, sequential: %s}]}}"
    parse_config(base % "{detector: cusum, params: {h: 4}}")
    with pytest.raises(ConfigError, match="threshold"):
        parse_config(base % "{detector: page_hinkley, params: {threshold: -1}}")
    with pytest.raises(ConfigError, match="unexpected keyword"):
        parse_config(base % "{detector: adwin, params: {bogus: 1}}")


FAIR = ("models: {m: {features: {g: categorical}, %s"
        "fairness: {attributes: [g], metrics: [demographic_parity_difference, %s]%s}}}")


@pytest.mark.parametrize(("performance", "has"), [
    ("", "no performance block"),
    ("performance: {task: regression}, ", "performance.task 'regression'"),
])
def test_fairness_performance_gaps_need_a_binary_performance_block(performance: str, has: str) -> None:
    """A performance gap in fairness.metrics without a binary performance block: the error names the key of
    the metric (its index in the list), the metric and what the model has instead."""
    with pytest.raises(ConfigError) as info:
        parse_config(FAIR % (performance, "roc_auc_ratio", ""), source="cfg.yaml")
    err = info.value
    assert err.key_path == "models.m.fairness.metrics.1"
    assert "roc_auc_ratio is a performance gap" in err.problem and has in err.problem
    assert "(got 'roc_auc_ratio')" in str(err)
    ok = parse_config(FAIR % ("performance: {task: binary_classification}, ", "roc_auc_ratio",
                              ", thresholds: {roc_auc_ratio: 0.9}"))
    fair = ok.models["m"].fairness
    assert fair is not None and fair.performance_metrics == ["roc_auc_ratio"]
    assert fair.threshold_of("roc_auc_ratio") == 0.9 and fair.threshold_of("demographic_parity_difference") == 0.1
    assert parse_config(FAIR % ("", "equal_opportunity_ratio", "")).models["m"].fairness is not None


@pytest.mark.parametrize(("metric", "extra", "problem"), [
    ("roc_auc_diference", "", "unknown metric 'roc_auc_diference'"),
    ("log_loss_ratio", "", "unknown metric 'log_loss_ratio'"),
    ("brier_difference", ", thresholds: {roc_auc_difference: 0.1}", "thresholds: 'roc_auc_difference' is not one"),
    ("roc_auc_ratio", ", thresholds: {roc_auc_ratio: 1.5}", "thresholds: roc_auc_ratio = 1.5 must be in [0, 1]"),
])
def test_fairness_metric_names_and_thresholds_are_checked(metric: str, extra: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(FAIR % ("performance: {task: binary_classification}, ", metric, extra))
    assert info.value.key_path == "models.m.fairness" and problem in info.value.problem
