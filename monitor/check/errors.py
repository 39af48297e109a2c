"""Errors of the batch check: every message names the file (and the column, where there is one)."""

from __future__ import annotations

from monitor.errors import MonitorError

__all__ = ["CheckInputError"]


class CheckInputError(MonitorError, ValueError):
    """Bad input to ``driftwarden check`` or ``reference build``: a file that is missing, empty, not what its
    extension says, or a column that is absent, empty or of another kind than in the reference.

    ``str(exc)`` is one line starting with the file, e.g. ``today.csv: column 'age' of the reference is absent``.
    """
