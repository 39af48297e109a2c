from __future__ import annotations

import scenario as scenario


def test_exported_names() -> None:
    assert set(scenario.__all__) == {
        "DEFAULT_START", "FEATURES", "MODEL_NAME", "WINDOW_SECONDS", "Evaluation", "Expectation", "GroundTruth",
        "Phase", "RaisedAlert", "RaisedIncident", "ScenarioError", "ScenarioFiles", "World", "build_ground_truth",
        "evaluate_alerts", "format_evaluation", "generate_scenario", "scenario_config",
    }
    for name in scenario.__all__:
        assert hasattr(scenario, name)
