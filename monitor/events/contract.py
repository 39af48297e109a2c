"""The event contract: the typed prediction and outcome events and the value types they hold.

A prediction event says what a model saw and answered; an outcome event says what happened next (a label
and/or business outcomes) and is joined to its prediction by ``event_id``. The JSON Schema files in
``monitor/schemas/`` describe the same contract for producers; ``tests/unit/monitor/test_events_schema.py``
checks that both agree.

There is one prediction class, :class:`PredictionEvent`, with one subclass per model and feature set: its
``features`` are a struct of the model's features in configuration order (:class:`Features`), typed by
their kind when the event was decoded for a configured model (nothing left to coerce), or holding the
values as the producer sent them (:func:`prediction_event`, and the few events the typed decode does not
take: values to coerce, extra features), which the pipeline coerces to the column kinds.

>>> event = prediction_event(model="churn", model_version="3", event_id="e1", ts="2026-11-01T12:00:00Z",
...                          features={"tenure": 12, "plan": "pro"}, prediction=0.83)
>>> event.model, event.feature_dict, type(event.features).typed
('churn', {'tenure': 12, 'plan': 'pro'}, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal

import msgspec

from monitor.errors import MonitorError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EventDecodeError",
    "FeatureValue",
    "Features",
    "OutcomeEvent",
    "OutcomeValue",
    "PredictionEvent",
    "PredictionValue",
    "prediction_event",
]

DEFAULT_MAX_BYTES: Final = 1_048_576
"""Messages larger than this (bytes) are rejected before decoding (reason ``oversized``)."""

_FLOAT_MAX: Final = 1.7976931348623157e308

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
FiniteFloat = Annotated[float, msgspec.Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
SegmentValue = Annotated[str, msgspec.Meta(max_length=200)]

FeatureValue = FiniteFloat | str | bool | None
"""A feature value: a finite number, a category (string), a flag, or ``null`` for missing."""

PredictionValue = FiniteFloat | str | dict[Name, Probability]
"""A prediction: a score, a class, or class probabilities ``{class: p}``."""

OutcomeValue = FiniteFloat | str | bool
"""A business outcome value (e.g. ``shown: true``, ``play_seconds: 93.5``)."""

KIND_TYPES: Final[dict[str, Any]] = {"numeric": FiniteFloat | None, "categorical": str | None,
                                     "binary": bool | None}
"""The type of a feature of each kind in a typed :class:`Features` struct (``null``: missing)."""


class Features(msgspec.Struct, gc=False):
    """The features of one prediction event, in the model's configuration order (missing ones ``None``).

    One subclass per feature set: ``names`` and ``kinds`` are class attributes; ``typed`` says whether each
    value already has its kind's type (numeric: float, categorical: str, binary: bool), or is as sent.
    """

    names: ClassVar[tuple[str, ...]]
    kinds: ClassVar[tuple[str, ...]]
    typed: ClassVar[bool]


class PredictionEvent(msgspec.Struct, kw_only=True, gc=False):
    """What a model saw and answered. ``kind`` is optional on the predictions topic, required in mixed files.

    One subclass per model and feature set (``model`` and ``feature_struct``, the class of ``features``, are
    class attributes; ``model`` is the struct's tag); ``segments`` is ``UNSET`` when the event has none.
    """

    model: ClassVar[str]
    feature_struct: ClassVar[type[Features]]
    if TYPE_CHECKING:
        features: Features  # (a field of each subclass, of its own Features struct)
    model_version: Id
    event_id: Id
    ts: AwareDatetime
    prediction: PredictionValue
    segments: dict[Name, SegmentValue] | msgspec.UnsetType = msgspec.UNSET
    kind: Literal["prediction"] | msgspec.UnsetType = msgspec.UNSET  # UNSET: no "kind" key

    @property
    def feature_dict(self) -> dict[str, Any]:
        """``features`` as a mapping from name to value."""
        features = self.features
        return dict(zip(type(features).names, msgspec.structs.astuple(features), strict=True))


class OutcomeEvent(msgspec.Struct, kw_only=True, tag="outcome", tag_field="kind"):
    """What happened after a prediction: a ``label`` and/or business ``outcomes``; joined on ``event_id``."""

    event_id: Id
    ts: AwareDatetime
    model: Name | None = None
    label: FiniteFloat | str | bool | None = None
    outcomes: dict[Name, OutcomeValue] = {}


class EventDecodeError(MonitorError, ValueError):
    """Bytes that are not a valid event. The message names the field and the bad value.

    Attributes
    ----------
    reason : str
        One line: what is wrong, where (``field``) and with what value.
    kind : str
        Short machine-readable class of the problem: ``oversized``, ``too_deep``, ``malformed``,
        ``not_finite``, ``missing_field``, ``wrong_type``, ``invalid_value``, ``no_outcome`` or
        ``unknown_model`` (a valid event of a model the configuration does not have).
    field : str or None
        Dotted path of the bad field (``features.tenure``), when known.
    value : str or None
        ``repr`` of the bad value (bounded to 80 characters), when known.
    model : str or None
        The event's model, for ``unknown_model``.
    """

    def __init__(self, reason: str, *, kind: str, field: str | None = None, value: str | None = None,
                 model: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.field = field
        self.value = value
        self.model = model


def features_type(names: tuple[str, ...], kinds: tuple[str, ...] | None) -> type[Features]:
    """A :class:`Features` struct of ``names``: typed by ``kinds`` (a JSON object with other keys does not
    decode into it), or, with ``kinds=None``, holding any feature value."""
    if kinds is None:
        fields = [(f"f{i}", FeatureValue, None) for i in range(len(names))]
    else:
        fields = [(f"f{i}", KIND_TYPES[kind], None) for i, kind in enumerate(kinds)]
    return msgspec.defstruct(  # type: ignore[return-value]
        "Features", fields, bases=(Features,), rename={f"f{i}": name for i, name in enumerate(names)},
        forbid_unknown_fields=kinds is not None, gc=False,
        namespace={"names": names, "kinds": kinds or ("any",) * len(names), "typed": kinds is not None})


def event_type(model: str, features: type[Features]) -> type[PredictionEvent]:
    """The :class:`PredictionEvent` subclass of ``model`` whose ``features`` are ``features`` (tagged by
    ``model``)."""
    return msgspec.defstruct(  # type: ignore[return-value]
        "PredictionEvent", [("features", features)], bases=(PredictionEvent,), kw_only=True, tag_field="model",
        tag=model, gc=False, namespace={"model": model, "feature_struct": features})


@lru_cache(maxsize=256)
def _untyped_event_type(model: str, names: tuple[str, ...]) -> type[PredictionEvent]:
    return event_type(model, features_type(names, None))


def prediction_event(*, model: str, model_version: str, event_id: str, ts: datetime | str,
                     features: Mapping[str, Any], prediction: Any,
                     segments: Mapping[str, str] | None = None,
                     kind: Literal["prediction"] | msgspec.UnsetType = msgspec.UNSET) -> PredictionEvent:
    """A prediction event with the feature values as given (not checked: the pipeline coerces them to the
    column kinds, as it does a decoded event's). ``ts``: an aware datetime or an ISO 8601 string."""
    cls = _untyped_event_type(model, tuple(features))
    when = ts if isinstance(ts, datetime) else msgspec.convert(ts, AwareDatetime)
    return cls(model_version=model_version, event_id=event_id, ts=when, prediction=prediction,
               features=cls.feature_struct(*features.values()),
               segments=dict(segments) if segments else msgspec.UNSET, kind=kind)

