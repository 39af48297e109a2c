"""Tasks, metric names, their defaults per task, and the validated per-model configuration.

=========================== ====================================================================
task                        metrics (defaults first, in bold in the docs)
=========================== ====================================================================
binary_classification       roc_auc accuracy precision recall f1 | specificity average_precision
                            log_loss brier ece
multiclass_classification   accuracy f1_macro roc_auc_macro | precision_macro precision_weighted
                            recall_macro recall_weighted f1_weighted roc_auc_weighted log_loss
regression                  mae rmse r2 | mape
=========================== ====================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from detectors.errors import InvalidParameterError, UnknownNameError

__all__ = [
    "CBPE_METRICS",
    "DEFAULT_METRICS",
    "LOWER_IS_BETTER",
    "METRICS",
    "TASKS",
    "PerformanceConfig",
    "check_metrics",
    "check_task",
]

BINARY: Final = "binary_classification"
MULTICLASS: Final = "multiclass_classification"
REGRESSION: Final = "regression"
TASKS: Final = (BINARY, MULTICLASS, REGRESSION)

METRICS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        BINARY: (
            "accuracy",
            "precision",
            "recall",
            "f1",
            "specificity",
            "roc_auc",
            "average_precision",
            "log_loss",
            "brier",
            "ece",
        ),
        MULTICLASS: (
            "accuracy",
            "precision_macro",
            "precision_weighted",
            "recall_macro",
            "recall_weighted",
            "f1_macro",
            "f1_weighted",
            "roc_auc_macro",
            "roc_auc_weighted",
            "log_loss",
        ),
        REGRESSION: ("mae", "rmse", "mape", "r2"),
    }
)
"""Every realized metric by task."""

DEFAULT_METRICS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        BINARY: ("roc_auc", "accuracy", "precision", "recall", "f1"),
        MULTICLASS: ("accuracy", "f1_macro", "roc_auc_macro"),
        REGRESSION: ("mae", "rmse", "r2"),
    }
)
"""The metrics used when a model's configuration names none."""

CBPE_METRICS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        BINARY: ("accuracy", "precision", "recall", "f1", "specificity", "roc_auc"),
        MULTICLASS: (
            "accuracy",
            "precision_macro",
            "precision_weighted",
            "recall_macro",
            "recall_weighted",
            "f1_macro",
            "f1_weighted",
            "roc_auc_macro",
            "roc_auc_weighted",
        ),
        REGRESSION: (),
    }
)
"""The metrics CBPE can estimate without labels (none for regression: see ``docs/performance-quality.md``)."""

LOWER_IS_BETTER: Final = frozenset({"log_loss", "brier", "ece", "mae", "rmse", "mape"})
"""Loss-like metrics: a *rise* is a degradation. Every other metric degrades by falling."""


def check_task(task: object) -> str:
    """Return ``task`` if it is one of :data:`TASKS`, else raise :class:`UnknownNameError`."""
    if task not in TASKS:
        raise UnknownNameError("task", task, TASKS)
    return str(task)


def check_metrics(
    task: str, metrics: Iterable[str] | None, *, allowed: Mapping[str, tuple[str, ...]] = METRICS
) -> tuple[str, ...]:
    """Validate metric names for ``task``; ``None`` gives :data:`DEFAULT_METRICS` (restricted to ``allowed``).

    Raises
    ------
    UnknownNameError
        For the first name not in ``allowed[task]`` (the message lists the valid ones).
    InvalidParameterError
        For an empty list or a repeated name.
    """
    valid = allowed[check_task(task)]
    if metrics is None:
        return tuple(m for m in DEFAULT_METRICS[task] if m in valid) or valid
    names = tuple(metrics)
    if not names:
        raise InvalidParameterError("metrics", [], "at least one metric name", where=task)
    for name in names:
        if name not in valid:
            raise UnknownNameError(f"{task} metric", name, valid)
    if len(set(names)) != len(names):
        raise InvalidParameterError("metrics", list(names), "names without repeats", where=task)
    return names


@dataclass(frozen=True)
class PerformanceConfig:
    """The performance settings of one model, validated on construction.

    Attributes
    ----------
    task : str
        One of :data:`TASKS`.
    metrics : tuple of str
        Realized metrics to compute (default :data:`DEFAULT_METRICS` of the task).
    positive_class : object
        Binary only: the label that counts as positive (default ``1``).
    threshold : float
        Binary only: ``score >= threshold`` predicts ``positive_class`` (default ``0.5``).
    min_labels : int
        Fewest labelled rows a window needs before a drop can alert (default 200).
    max_drop : mapping of str to float
        Per metric, the largest tolerated degradation beyond the interval (see
        :func:`detectors.performance.drop.performance_drop`); metrics not named never alert.
        Default ``{"roc_auc": 0.05, "accuracy": 0.03}`` restricted to the configured metrics.
    confidence : float
        Coverage of the realized intervals (default 0.95).

    Raises
    ------
    UnknownNameError, InvalidParameterError
        On a bad task, metric name, threshold, ``min_labels``, ``max_drop`` or ``confidence``.
    """

    task: str
    metrics: tuple[str, ...] | None = None
    positive_class: Any = 1
    threshold: float = 0.5
    min_labels: int = 200
    max_drop: Mapping[str, float] | None = None
    confidence: float = 0.95

    def __post_init__(self) -> None:
        check_task(self.task)
        metrics = check_metrics(self.task, self.metrics)
        object.__setattr__(self, "metrics", metrics)
        where = f"{self.task} config"
        if not (isinstance(self.threshold, int | float) and 0.0 <= float(self.threshold) <= 1.0) or isinstance(
            self.threshold, bool
        ):
            raise InvalidParameterError("threshold", self.threshold, "a number in [0, 1]", where=where)
        if isinstance(self.min_labels, bool) or not isinstance(self.min_labels, int) or self.min_labels < 1:
            raise InvalidParameterError("min_labels", self.min_labels, "an integer >= 1", where=where)
        if not (isinstance(self.confidence, float) and 0.5 <= self.confidence < 1.0):
            raise InvalidParameterError("confidence", self.confidence, "a float in [0.5, 1)", where=where)
        if self.max_drop is None:
            default = {"roc_auc": 0.05, "accuracy": 0.03}
            drops = {m: v for m, v in default.items() if m in metrics}
        else:
            drops = dict(self.max_drop)
            for name, value in drops.items():
                if name not in metrics:
                    raise UnknownNameError(f"max_drop metric of {self.task}", name, metrics)
                if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                    raise InvalidParameterError(f"max_drop[{name!r}]", value, "a number >= 0", where=where)
        object.__setattr__(self, "max_drop", MappingProxyType({k: float(v) for k, v in drops.items()}))
