"""A model of the watcher's YAML applied to batch data: the same profile and the same test settings.

``reference build --config`` and ``check --config --model`` both profile training data through
:func:`profile_for_model`, and ``check`` tests with :func:`model_overrides`, which is the watcher's own
``usable_overrides(model.overrides(), profile)`` (``monitor.pipeline.finish``), so a CI gate and the watcher
judge the same data alike (the quality and alert rules then come from
``monitor.pipeline.alert_signals.drift_signals`` with the model's alert policy, see :mod:`monitor.check.findings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from detectors import ColumnError, DetectorError, ReferenceProfile
from monitor.check.errors import CheckInputError
from monitor.config import ConfigError, ModelConfig, load_config

__all__ = ["load_model", "model_overrides", "profile_for_model"]


def load_model(config_path: Path, model: str) -> ModelConfig:
    """Model ``model`` of the config file; :class:`CheckInputError` naming the file if either is wrong."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise CheckInputError(" ".join(str(exc).split())) from exc
    found = config.model(model)
    if found is None:
        raise CheckInputError(f"{config_path}: model {model!r} is not in the file (models: {', '.join(config.models)})")
    return found


def profile_for_model(frame: pd.DataFrame, model: ModelConfig, *, source: str, progress: bool = False
                      ) -> ReferenceProfile:
    """The reference profile of ``model`` from training ``frame``.

    Rule: the model's columns (features, then prediction columns) present in ``frame`` are profiled with
    their configured kinds; every feature must be present (:class:`CheckInputError` naming ``source`` and the
    column otherwise), a prediction column may be absent; the multivariate detector is fitted on the features
    only.
    """
    missing = [c for c in model.features if c not in frame.columns]
    if missing:
        raise CheckInputError(f"{source}: column {missing[0]!r} (a feature of model {model.name!r}) is absent")
    kinds = {c: k for c, k in model.columns.items() if c in frame.columns}
    try:
        return ReferenceProfile.build(frame, kinds, columns=list(kinds), progress=progress,
                                      multivariate_columns=[c for c in kinds if c in model.features])
    except ColumnError as exc:
        raise CheckInputError(f"{source}: column {exc.column!r}: {exc.problem}") from exc
    except DetectorError as exc:
        raise CheckInputError(f"{source}: {' '.join(str(exc).split())}") from exc


def model_overrides(model: ModelConfig, profile: ReferenceProfile) -> dict[str, Any]:
    """``detectors.evaluate(overrides=...)`` for ``model``: exactly what the watcher passes for a window."""
    from monitor.pipeline.finish import usable_overrides

    return usable_overrides(model.overrides(), profile)
