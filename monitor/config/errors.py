"""The one error of configuration loading: :class:`ConfigError` (file, key path, problem)."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import MonitorError

__all__ = ["ConfigError"]


class ConfigError(MonitorError, ValueError):
    """A configuration file that cannot be read, parsed or validated.

    Attributes
    ----------
    file : str
        The file the problem is in.
    key_path : str
        Dotted path of the offending key (``models.recommender.window.size``); empty when the problem is the
        whole file (unreadable, not YAML, not a mapping).
    problem : str
        What is wrong, in words.

    Examples
    --------
    >>> str(ConfigError("monitor.yaml", "models.recommender.window.size", "must be > 0"))
    'monitor.yaml: models.recommender.window.size: must be > 0'
    """

    def __init__(self, file: str | Path, key_path: str, problem: str) -> None:
        self.file = str(file)
        self.key_path = key_path
        self.problem = problem
        where = f"{self.file}: {key_path}" if key_path else self.file
        super().__init__(f"{where}: {problem}")
