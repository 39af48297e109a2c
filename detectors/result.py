"""The result of one two-sample test: :class:`TestResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["TestResult"]


@dataclass(frozen=True, slots=True)
class TestResult:
    """Outcome of one reference-vs-current test.

    Attributes
    ----------
    test : str
        Registered name of the test (``"ks"``, ``"psi"``, ...).
    statistic : float
        The test statistic or distance.
    p_value : float or None
        The p-value where the test defines one, else ``None``.
    threshold : float
        The value the rule compares against: the significance level ``alpha`` for p-value rules, the
        distance threshold for distance rules.
    drifted : bool
        The verdict; each test's docstring states its exact rule.
    """

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite floats become ``None``)."""
        return {
            "test": self.test,
            "statistic": _json_float(self.statistic),
            "p_value": None if self.p_value is None else _json_float(self.p_value),
            "threshold": _json_float(self.threshold),
            "drifted": bool(self.drifted),
        }


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
