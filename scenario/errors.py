"""The one error of the scenario package: :class:`ScenarioError` (what is wrong, and with which value)."""

from __future__ import annotations

__all__ = ["ScenarioError"]


class ScenarioError(ValueError):
    """A scenario that cannot be generated or a ground-truth file that cannot be read.

    Attributes
    ----------
    where : str
        The parameter or file the problem is in (``days``, ``.../ground_truth.json``).
    problem : str
        What is wrong, in words, naming the bad value.

    Examples
    --------
    >>> str(ScenarioError("days", "must be >= 1, got 0"))
    'days: must be >= 1, got 0'
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")
