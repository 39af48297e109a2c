"""Errors of the performance core, in the tree of :mod:`detectors.errors`::

DetectorError (ValueError)
├── UnknownNameError            a task or metric name that does not exist (lists the valid ones)
├── InvalidParameterError       threshold, min_labels, max_drop, confidence... out of domain
├── PerformanceInputError       arrays of different lengths, non-finite scores, unknown labels
├── NotFittedError              CBPE.estimate() before fit()
└── ProfileFormatError          CBPE.from_dict() got a foreign or corrupt payload
"""

from __future__ import annotations

from detectors.errors import DetectorError

__all__ = ["NotFittedError", "PerformanceInputError"]


class PerformanceInputError(DetectorError):
    """Labels, scores or predictions that cannot be scored; ``where`` names the function and argument."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class NotFittedError(DetectorError):
    """An estimator used before ``fit``."""

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(f"{where}: call fit() on labelled reference data first")
