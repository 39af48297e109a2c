"""driftwarden's statistical core: reference profiles, window states, two-sample tests and presets.

Pure: numpy, scipy and pandas/pyarrow for frames; no I/O except the profile and window-state files;
nothing imported from ``monitor`` or ``dashboard``. See ``docs/detectors.md``.
"""

from __future__ import annotations

from detectors.errors import (
    AllNullColumnError,
    ColumnError,
    DetectorError,
    IncompatibleTypeError,
    InsufficientDataError,
    InvalidParameterError,
    MissingColumnError,
    ProfileFormatError,
    ProfileMismatchError,
    UnknownNameError,
)
from detectors.evaluate import evaluate
from detectors.kinds import KINDS, infer_kind
from detectors.profile import ReferenceProfile
from detectors.registry import PRESETS, TESTS, TestSpec, get_test
from detectors.report import ColumnResult, DriftReport
from detectors.result import TestResult
from detectors.window_state import WindowState

__all__ = [
    "KINDS",
    "PRESETS",
    "TESTS",
    "AllNullColumnError",
    "ColumnError",
    "ColumnResult",
    "DetectorError",
    "DriftReport",
    "IncompatibleTypeError",
    "InsufficientDataError",
    "InvalidParameterError",
    "MissingColumnError",
    "ProfileFormatError",
    "ProfileMismatchError",
    "ReferenceProfile",
    "TestResult",
    "TestSpec",
    "UnknownNameError",
    "WindowState",
    "evaluate",
    "get_test",
    "infer_kind",
]
