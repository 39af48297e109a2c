"""The demo scenario: a recommender's simulated three weeks with scripted incidents and their ground truth.

``generate_scenario(out_dir, seed=..., days=21, events_per_hour=...)`` writes the events (JSONL), the
training reference (Parquet), the watcher's config and ``ground_truth.json``; ``evaluate_alerts`` scores the
alerts of a run against that ground truth. Modules: :mod:`~scenario.timeline` (when, and what should
fire), :mod:`~scenario.truth` (the ground truth's types), :mod:`~scenario.world` (the generative
process), :mod:`~scenario.encode` (files), :mod:`~scenario.config`, :mod:`~scenario.generate`,
:mod:`~scenario.evaluate`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scenario.config import WINDOW_SECONDS, scenario_config
    from scenario.errors import ScenarioError
    from scenario.evaluate import Evaluation, RaisedAlert, RaisedIncident, evaluate_alerts, format_evaluation
    from scenario.generate import DEFAULT_START, ScenarioFiles, generate_scenario
    from scenario.timeline import MODEL_NAME, build_ground_truth
    from scenario.truth import Expectation, GroundTruth, Phase
    from scenario.world import FEATURES, World

# Each name's module, imported at first use (PEP 562): `driftwarden run` imports `scenario.timeline` for a
# default and must not load pandas and pyarrow with the generator.
_HOME = {
    "WINDOW_SECONDS": "config", "scenario_config": "config", "ScenarioError": "errors",
    "Evaluation": "evaluate", "RaisedAlert": "evaluate", "RaisedIncident": "evaluate", "evaluate_alerts": "evaluate",
    "format_evaluation": "evaluate", "DEFAULT_START": "generate", "ScenarioFiles": "generate",
    "generate_scenario": "generate", "MODEL_NAME": "timeline", "Expectation": "truth",
    "GroundTruth": "truth", "Phase": "truth", "build_ground_truth": "timeline",
    "FEATURES": "world", "World": "world",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'scenario' has no attribute {name!r}")
    return getattr(importlib.import_module(f"scenario.{_HOME[name]}"), name)


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
    "RaisedIncident",
    "ScenarioError",
    "ScenarioFiles",
    "World",
    "build_ground_truth",
    "evaluate_alerts",
    "format_evaluation",
    "generate_scenario",
    "scenario_config",
]
