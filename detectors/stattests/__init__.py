"""One two-sample test per module; each is a pure function returning a frozen :class:`TestResult`.

The registry that names them lives in :mod:`detectors` (``detectors.TESTS``); nothing registers itself
on import.
"""

from __future__ import annotations
