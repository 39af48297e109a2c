"""Sequential change detectors for metric series (one algorithm per module).

``PageHinkley``, ``CUSUM`` and ``ADWIN`` share the contract of
:class:`detectors.sequential._base.SequentialDetector`: ``update(x) -> bool``, read-only
``drift_detected``/``n``/estimates, ``reset()``, and ``to_dict()``/``from_dict()`` for checkpoints.
``DETECTORS`` maps each ``kind`` (the ``"kind"`` key of ``to_dict()``) to its class.
"""

from __future__ import annotations

from detectors.sequential._base import (
    DetectorStateError,
    InvalidParameterError,
    NonFiniteValueError,
    SequentialDetector,
    SequentialDetectorError,
)
from detectors.sequential.adwin import ADWIN
from detectors.sequential.cusum import CUSUM
from detectors.sequential.page_hinkley import PageHinkley

__all__ = [
    "ADWIN",
    "CUSUM",
    "DETECTORS",
    "DetectorStateError",
    "InvalidParameterError",
    "NonFiniteValueError",
    "PageHinkley",
    "SequentialDetector",
    "SequentialDetectorError",
]

DETECTORS: dict[str, type[SequentialDetector]] = {
    ADWIN.kind: ADWIN,
    CUSUM.kind: CUSUM,
    PageHinkley.kind: PageHinkley,
}
