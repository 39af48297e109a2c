"""The demo scenario: a recommender's simulated fortnight with scripted incidents and their ground truth.

``generate_scenario(out_dir, seed=..., days=14, events_per_hour=...)`` writes the events (JSONL), the
training reference (Parquet), the watcher's config and ``ground_truth.json``; ``evaluate_alerts`` scores the
alerts of a run against that ground truth. Modules: :mod:`~scenario.timeline` (when, and what should
fire), :mod:`~scenario.world` (the generative process), :mod:`~scenario.encode` (files),
:mod:`~scenario.config`, :mod:`~scenario.generate`, :mod:`~scenario.evaluate`.
"""

from __future__ import annotations

from scenario.config import WINDOW_SECONDS, scenario_config
from scenario.errors import ScenarioError
from scenario.evaluate import Evaluation, RaisedAlert, evaluate_alerts, format_evaluation
from scenario.generate import DEFAULT_START, ScenarioFiles, generate_scenario
from scenario.timeline import MODEL_NAME, Expectation, GroundTruth, Phase, build_ground_truth
from scenario.world import FEATURES, World

__all__ = [
    "DEFAULT_START",
    "FEATURES",
    "MODEL_NAME",
    "WINDOW_SECONDS",
    "Evaluation",
    "Expectation",
    "GroundTruth",
    "Phase",
    "RaisedAlert",
    "ScenarioError",
    "ScenarioFiles",
    "World",
    "build_ground_truth",
    "evaluate_alerts",
    "format_evaluation",
    "generate_scenario",
    "scenario_config",
]
