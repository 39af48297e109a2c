"""The exceptions raised by the statistical core (``detectors``), in one tree.

Every error carries its context as attributes and names the bad value and where it came from in its
message, so the CLI and the watcher can print it on one line::

    DetectorError (ValueError)
    ├── UnknownNameError            a preset, test or kind name that is not registered (lists the valid ones)
    ├── InvalidParameterError       a test or preset parameter out of its domain (alpha, threshold, bins, ...)
    ├── InsufficientDataError       a test needs more observations than it got (e.g. an empty sample)
    ├── ColumnError                 a column of a frame cannot be profiled or tested
    │   ├── MissingColumnError      a reference column is absent from the current data
    │   ├── AllNullColumnError      a column holds no usable (non-null, finite) value
    │   └── IncompatibleTypeError   a column's values do not fit its kind (text in a numeric column, ...)
    ├── ProfileMismatchError        two window states (or a state and a profile) of different references
    ├── ProfileFormatError          a profile / window-state file or byte string that is corrupt or foreign
    │   └── DetectorStateError      a sequential detector's saved state that cannot be restored
    │                               [detectors.sequential]
    ├── CompactProfileError         a compact profile column asked for the raw reference values it does not keep
    ├── MatrixShapeError            a matrix that is not 2-D or whose columns differ from the reference's
    │                               [detectors._pca_encoding]
    ├── PerformanceInputError       labels, scores or predictions that cannot be scored [detectors.performance]
    ├── NotFittedError              an estimator used before ``fit`` [detectors.performance]
    └── SequentialDetectorError     a sequential detector that cannot take a value [detectors.sequential]
        └── NonFiniteValueError     ``update`` got NaN, an infinity or a non-number

A class lives in this module unless another is named in brackets.

All of them derive from :class:`ValueError`, so ``except ValueError`` keeps working for callers that do not
care about the detail.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AllNullColumnError",
    "ColumnError",
    "DetectorError",
    "IncompatibleTypeError",
    "InsufficientDataError",
    "InvalidParameterError",
    "MissingColumnError",
    "ProfileFormatError",
    "ProfileMismatchError",
    "UnknownNameError",
]


class DetectorError(ValueError):
    """Root of every error raised by ``detectors``."""


class UnknownNameError(DetectorError):
    """A name (``what`` = 'preset', 'test', 'kind', ...) that is not registered."""

    def __init__(self, what: str, name: object, valid: Iterable[str]) -> None:
        self.what = what
        self.name = name
        self.valid = tuple(sorted(valid))
        super().__init__(f"unknown {what} {name!r}; valid: {', '.join(self.valid)}")


class InvalidParameterError(DetectorError):
    """A parameter value outside its domain."""

    def __init__(self, parameter: str, value: object, expected: str, *, where: str = "") -> None:
        self.parameter = parameter
        self.value = value
        self.expected = expected
        self.where = where
        at = f" of {where}" if where else ""
        super().__init__(f"parameter {parameter!r}{at} = {value!r}: expected {expected}")


class InsufficientDataError(DetectorError):
    """A test or profile that got too few usable observations."""

    def __init__(self, where: str, needed: int, got: int) -> None:
        self.where = where
        self.needed = needed
        self.got = got
        super().__init__(f"{where}: needs at least {needed} usable value(s), got {got}")


class ColumnError(DetectorError):
    """A column that cannot be profiled or tested; ``source`` says which data (reference, current, a file)."""

    def __init__(self, column: str, source: str, problem: str) -> None:
        self.column = column
        self.source = source
        self.problem = problem
        super().__init__(f"column {column!r} of {source}: {problem}")


class MissingColumnError(ColumnError):
    """A reference column absent from the current data."""

    def __init__(self, column: str, source: str = "current data") -> None:
        super().__init__(column, source, "absent (present in the reference)")


class AllNullColumnError(ColumnError):
    """A column with no non-null, finite value."""

    def __init__(self, column: str, source: str) -> None:
        super().__init__(column, source, "has no non-null value")


class IncompatibleTypeError(ColumnError):
    """A column whose values do not fit its kind."""

    def __init__(self, column: str, source: str, kind: str, dtype: str) -> None:
        self.kind = kind
        self.dtype = dtype
        super().__init__(column, source, f"values of type {dtype} cannot be tested as {kind}")


class ProfileMismatchError(DetectorError):
    """Two objects built from different reference profiles (different content hashes)."""

    def __init__(self, expected: str, got: str, where: str) -> None:
        self.expected = expected
        self.got = got
        self.where = where
        super().__init__(f"{where}: reference profile {got[:12]} does not match the expected profile {expected[:12]}")


class ProfileFormatError(DetectorError):
    """A serialized profile or window state that is corrupt, truncated, foreign or of an unknown version."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


class CompactProfileError(DetectorError):
    """A compact profile column (reference values replaced by a quantile grid) asked for its raw values."""

    def __init__(self, column: str, needed_by: str) -> None:
        self.column = column
        self.needed_by = needed_by
        super().__init__(
            f"column {column!r}: {needed_by} needs the reference values, which this compact profile does not keep "
            f"(compact only the columns tested by the default preset's Cramér-von Mises test)"
        )
