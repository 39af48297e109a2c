"""Shared machinery of the sequential change detectors.

Every detector follows the same contract (River's, see ``river/base/drift_detector.py``):

- constructor arguments are stored as public attributes and never change afterwards;
- the running state is private and exposed through read-only properties;
- ``update(x)`` feeds one observation and returns ``True`` exactly when a change is detected at this
  step; ``drift_detected`` keeps that flag until the next ``update``;
- after a detection, the next ``update`` first resets the running state (``n`` restarts at 1), so one
  change is reported once and the detector re-learns the new regime from scratch;
- ``reset()`` returns the detector to its freshly constructed state (``n_detections`` back to 0);
- ``to_dict()`` returns plain JSON types (no NaN, no infinity) and ``from_dict(to_dict())`` restores
  a detector whose future behaviour is identical, so a watcher can checkpoint it.

Errors (all in the tree of :mod:`detectors.errors`)::

    DetectorError (ValueError)
    ├── InvalidParameterError       a constructor argument out of its domain (``where`` = class name)
    ├── SequentialDetectorError
    │   └── NonFiniteValueError     update() got NaN, infinity or something that is not a real number
    └── ProfileFormatError
        └── DetectorStateError      from_dict() got a payload of the wrong kind, version or shape
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from detectors.errors import DetectorError, InvalidParameterError, ProfileFormatError

__all__ = [
    "DetectorStateError",
    "InvalidParameterError",
    "NonFiniteValueError",
    "SequentialDetector",
    "SequentialDetectorError",
]

STATE_VERSION = 1


class SequentialDetectorError(DetectorError):
    """Base class of the errors raised by :mod:`detectors.sequential` while running."""


class NonFiniteValueError(SequentialDetectorError):
    """``update`` got a value that is not a finite real number (NaN, infinity, a string...).

    Attributes
    ----------
    detector
        Class name of the detector.
    value
        The rejected value.
    index
        0-based position of the rejected value among the values this detector has accepted so far
        (its lifetime count, not reset by detections).
    """

    def __init__(self, detector: str, value: object, index: int) -> None:
        self.detector = detector
        self.value = value
        self.index = index
        super().__init__(f"{detector}.update: value {value!r} at stream position {index} is not a finite real number")


class DetectorStateError(ProfileFormatError):
    """``from_dict`` got a payload it cannot restore.

    Attributes
    ----------
    detector
        Class name of the detector asked to restore the payload.
    key
        The offending key of the payload (``"kind"``, ``"version"``, ``"state.width"``...).
    """

    def __init__(self, detector: str, key: str, problem: str) -> None:
        self.detector = detector
        self.key = key
        super().__init__(f"{detector}.from_dict", f"payload key {key!r}: {problem}")


def _as_finite_float(detector: str, x: object, index: int) -> float:
    if isinstance(x, bool | str | bytes):
        raise NonFiniteValueError(detector, x, index)
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise NonFiniteValueError(detector, x, index) from None
    if not math.isfinite(value):
        raise NonFiniteValueError(detector, x, index)
    return value


class SequentialDetector(ABC):
    """Base class: the update/reset/serialization contract described in the module docstring."""

    kind: ClassVar[str]

    def __init__(self) -> None:
        self._drift_detected = False
        self._n = 0
        self._n_detections = 0
        self._n_seen = 0

    # -- public contract ------------------------------------------------------------------------
    @property
    def drift_detected(self) -> bool:
        """Whether the last ``update`` detected a change."""
        return self._drift_detected

    @property
    def n(self) -> int:
        """Observations since the last reset (automatic after a detection, or ``reset()``)."""
        return self._n

    @property
    def n_detections(self) -> int:
        """Changes detected since construction or the last ``reset()``."""
        return self._n_detections

    def update(self, x: float) -> bool:
        """Feed one observation; return ``True`` when a change is detected at this step.

        Raises
        ------
        NonFiniteValueError
            If ``x`` is NaN, infinite, a bool or not convertible to ``float``. The state is unchanged.
        """
        value = _as_finite_float(type(self).__name__, x, self._n_seen)
        self._n_seen += 1
        if self._drift_detected:
            self._reset_state()
        self._n += 1
        detected = self._step(value)
        self._drift_detected = detected
        if detected:
            self._n_detections += 1
        return detected

    def _reset_state(self) -> None:
        self._drift_detected = False
        self._n = 0
        self._clear()

    def reset(self) -> None:
        """Forget everything: same state as a freshly constructed detector."""
        self._reset_state()
        self._n_detections = 0
        self._n_seen = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot: ``{"kind", "version", "params", "state"}``."""
        state = self._get_state()
        state.update(
            drift_detected=self._drift_detected,
            n=self._n,
            n_detections=self._n_detections,
            n_seen=self._n_seen,
        )
        return {"kind": self.kind, "version": STATE_VERSION, "params": self.params(), "state": state}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a detector from :meth:`to_dict` output.

        Raises
        ------
        DetectorStateError
            If the kind, version or a state key is wrong or missing.
        """
        name = cls.__name__
        if data.get("kind") != cls.kind:
            raise DetectorStateError(name, "kind", f"expected {cls.kind!r}, got {data.get('kind')!r}")
        if data.get("version") != STATE_VERSION:
            raise DetectorStateError(name, "version", f"expected {STATE_VERSION}, got {data.get('version')!r}")
        params = data.get("params")
        state = data.get("state")
        if not isinstance(params, Mapping):
            raise DetectorStateError(name, "params", f"expected a mapping, got {type(params).__name__}")
        if not isinstance(state, Mapping):
            raise DetectorStateError(name, "state", f"expected a mapping, got {type(state).__name__}")
        try:
            detector = cls(**params)
            detector._drift_detected = bool(state["drift_detected"])
            detector._n = int(state["n"])
            detector._n_detections = int(state["n_detections"])
            detector._n_seen = int(state["n_seen"])
            detector._set_state(state)
        except KeyError as exc:
            raise DetectorStateError(name, f"state.{exc.args[0]}", "missing") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DetectorError):
                raise
            raise DetectorStateError(name, "state", str(exc)) from None
        return detector

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    # -- for subclasses -------------------------------------------------------------------------
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Constructor arguments, as passed (JSON types)."""

    @abstractmethod
    def _step(self, x: float) -> bool:
        """Process one finite value (``self._n`` already counts it); return whether a change is detected."""

    @abstractmethod
    def _clear(self) -> None:
        """Clear the subclass-specific running state."""

    @abstractmethod
    def _get_state(self) -> dict[str, Any]:
        """Subclass-specific running state (JSON types)."""

    @abstractmethod
    def _set_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`_get_state` returned."""


def check_mode(detector: str, mode: str) -> None:
    """Validate a ``mode`` argument (``"up"``, ``"down"`` or ``"both"``)."""
    if mode not in ("up", "down", "both"):
        raise InvalidParameterError("mode", mode, "one of 'up', 'down', 'both'", where=detector)
