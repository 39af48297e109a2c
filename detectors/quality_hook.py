"""Bridge from :func:`detectors.evaluate` to the data-quality checks of :mod:`detectors.quality`.

Kept separate so the drift core does not depend on the quality module's internals: it passes each
check the reference facts it needs (missing rate, range, category set) and the current values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detectors.profile import ReferenceProfile
    from detectors.window import WindowState

__all__ = ["quality_findings"]


def quality_findings(profile: ReferenceProfile, state: WindowState, names: Sequence[str]) -> list[Any]:
    """Data-quality findings for the window (empty until :mod:`detectors.quality` exists)."""
    return []
