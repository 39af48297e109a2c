"""Model quality: realized metrics with confidence intervals, CBPE estimates without labels, drop rule.

Pure: numpy, scipy and scikit-learn only; nothing from ``monitor`` or ``dashboard``.
See ``docs/performance-quality.md``.
"""

from __future__ import annotations

from detectors.performance.cbpe import CBPE
from detectors.performance.config import (
    CBPE_METRICS,
    DEFAULT_METRICS,
    LOWER_IS_BETTER,
    METRICS,
    TASKS,
    PerformanceConfig,
)
from detectors.performance.drop import DropResult, performance_drop
from detectors.performance.errors import NotFittedError, PerformanceInputError
from detectors.performance.realized import binary_metrics
from detectors.performance.realized_multiclass import multiclass_metrics
from detectors.performance.realized_regression import regression_metrics
from detectors.performance.reliability import EstimateCheck, Reliability, assess_reliability, compare
from detectors.performance.result import MetricEstimate, MetricValue

__all__ = [
    "CBPE",
    "CBPE_METRICS",
    "DEFAULT_METRICS",
    "LOWER_IS_BETTER",
    "METRICS",
    "TASKS",
    "DropResult",
    "EstimateCheck",
    "MetricEstimate",
    "MetricValue",
    "NotFittedError",
    "PerformanceConfig",
    "PerformanceInputError",
    "Reliability",
    "assess_reliability",
    "binary_metrics",
    "compare",
    "multiclass_metrics",
    "performance_drop",
    "regression_metrics",
]
