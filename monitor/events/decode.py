"""Bytes to events: the typed decoder of the configured models, and the contract's decoders.

:class:`EventDecoder` is the watcher's one decoder: a prediction event of a configured model is decoded once,
by a msgspec struct of exactly that model's features typed by their kind (the hot path). Anything that
decode does not take is read against the contract (:func:`decode_prediction`, :func:`decode_outcome`,
:func:`decode_any`): an outcome event, a valid prediction event the typed struct does not fit (a value to
coerce, an extra feature), or bad input, which raises :class:`EventDecodeError` naming the bad field and
value (:mod:`monitor.events.diagnosis`).

>>> decoder = EventDecoder({"churn": {"tenure": "numeric", "plan": "categorical"}})
>>> event = decoder.decode(b'{"model": "churn", "model_version": "3", "event_id": "e1",'
...                        b' "ts": "2026-11-01T12:00:00Z", "features": {"tenure": 12}, "prediction": 0.8}')
>>> event.model, event.feature_dict, event.prediction, type(event.features).typed
('churn', {'tenure': 12.0, 'plan': None}, 0.8, True)
>>> type(decoder.decode(b'{"model": "churn", "model_version": "3", "event_id": "e1",'
...                     b' "ts": "2026-11-01T12:00:00Z", "features": {"tenure": "12"}, "prediction": 0.8}'
...                     ).features).typed
False
>>> try:
...     decoder.decode(b'{"model": "churn", "model_version": "3", "event_id": "e1",'
...                    b' "ts": "2026-11-01T12:00:00Z", "features": {"tenure": [3]}, "prediction": 1}')
... except EventDecodeError as exc:
...     print(exc.kind, exc.field, exc.value)
wrong_type features.tenure [3]
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from operator import or_
from typing import Any, Final, Literal

import msgspec
from msgspec import UNSET

from monitor.events.contract import (
    DEFAULT_MAX_BYTES,
    AwareDatetime,
    EventDecodeError,
    FeatureValue,
    Id,
    Name,
    OutcomeEvent,
    PredictionEvent,
    PredictionValue,
    SegmentValue,
    event_type,
    features_type,
    prediction_event,
)
from monitor.events.diagnosis import diagnose, oversized, too_deep

__all__ = ["EventDecoder", "MessageKind", "decode_any", "decode_outcome", "decode_prediction"]

MessageKind = Literal["prediction", "outcome", "any"]
"""What a message may hold: ``prediction`` / ``outcome``: decided by the topic; ``any``: a mixed file, decided
per message."""


class _ContractPrediction(msgspec.Struct, kw_only=True, tag="prediction", tag_field="kind"):
    """A prediction event as the contract allows it, any features (the schema of the slow path)."""

    model: Name
    model_version: Id
    event_id: Id
    ts: AwareDatetime
    features: dict[Name, FeatureValue]
    prediction: PredictionValue
    segments: dict[Name, SegmentValue] = {}


_PREDICTION_DECODER: Final = msgspec.json.Decoder(_ContractPrediction)
_OUTCOME_DECODER: Final = msgspec.json.Decoder(OutcomeEvent)
_ANY_DECODER: Final = msgspec.json.Decoder(_ContractPrediction | OutcomeEvent)
_PREDICTION, _OUTCOME, _EVENT = "prediction event", "outcome event", "event"


def _read_prediction(raw: bytes) -> _ContractPrediction:
    try:
        return _PREDICTION_DECODER.decode(raw)
    except msgspec.MsgspecError as exc:
        raise diagnose(raw, exc, _PREDICTION) from None
    except RecursionError:
        raise too_deep(raw, _PREDICTION) from None


def _read_outcome(raw: bytes) -> OutcomeEvent:
    try:
        event = _OUTCOME_DECODER.decode(raw)
    except msgspec.MsgspecError as exc:
        raise diagnose(raw, exc, _OUTCOME) from None
    except RecursionError:
        raise too_deep(raw, _OUTCOME) from None
    _check_outcome(event)
    return event


def _check_outcome(event: OutcomeEvent) -> None:
    if event.label is None and not event.outcomes:
        raise EventDecodeError(
            f"outcome event {event.event_id!r} has neither a label nor any business outcome (fields 'label', "
            "'outcomes')",
            kind="no_outcome",
            field="label",
            value="None",
        )


def _read_any(raw: bytes) -> _ContractPrediction | OutcomeEvent:
    """By the ``kind`` field, else by the presence of ``features`` (a prediction) or not (an outcome)."""
    if b'"kind"' not in raw:
        return _read_prediction(raw) if b'"features"' in raw else _read_outcome(raw)
    try:
        event = _ANY_DECODER.decode(raw)
    except msgspec.MsgspecError as exc:
        raise diagnose(raw, exc, _EVENT) from None
    except RecursionError:
        raise too_deep(raw, _EVENT) from None
    if isinstance(event, OutcomeEvent):
        _check_outcome(event)
    return event


def _read(raw: bytes, kind: MessageKind, max_bytes: int) -> _ContractPrediction | OutcomeEvent:
    if len(raw) > max_bytes:
        raise oversized(raw, max_bytes)
    if kind == "prediction":
        return _read_prediction(raw)
    if kind == "outcome":
        return _read_outcome(raw)
    return _read_any(raw)


def _as_event(read: _ContractPrediction) -> PredictionEvent:
    return prediction_event(model=read.model, model_version=read.model_version, event_id=read.event_id,
                            ts=read.ts, features=read.features, prediction=read.prediction, segments=read.segments)


def decode_prediction(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PredictionEvent:
    """Decode one prediction event of any model (features as sent); raise :class:`EventDecodeError` naming
    the bad field and value."""
    if len(raw) > max_bytes:
        raise oversized(raw, max_bytes)
    return _as_event(_read_prediction(raw))


def decode_outcome(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> OutcomeEvent:
    """Decode one outcome event; it must carry a ``label`` or at least one business outcome."""
    if len(raw) > max_bytes:
        raise oversized(raw, max_bytes)
    return _read_outcome(raw)


def decode_any(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PredictionEvent | OutcomeEvent:
    """Decode an event of either kind (mixed files): by its ``kind`` field, else by the presence of
    ``features`` (a prediction) or not (an outcome).

    >>> type(decode_any(b'{"kind": "outcome", "event_id": "e", "ts": "2026-01-01T00:00:00Z", "label": 0}'))
    <class 'monitor.events.contract.OutcomeEvent'>
    """
    event = _read(raw, "any", max_bytes)
    return event if isinstance(event, OutcomeEvent) else _as_event(event)


class _NoModel(msgspec.Struct, tag_field="model", tag=""):
    pass


def _valid_name(name: str) -> bool:
    return 1 <= len(name) <= 200


class EventDecoder:
    """The decoder of the events of the configured ``models`` (``{model: {feature: kind}}``).

    One msgspec struct per model, tagged by ``model``, whose ``features`` are a struct of exactly the
    configured features typed by their kind (numeric: finite float; categorical: string; binary: bool; each
    or ``null``): the event of :meth:`decode` in one pass. What it does not take is read against the
    contract: a valid prediction event of a configured model becomes an event of the same model whose
    features are as sent (configured ones only; the pipeline coerces them), an event of another model an
    ``unknown_model`` error, bad input an error naming the bad field and value.
    """

    def __init__(self, models: Mapping[str, Mapping[str, str]], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.models = frozenset(models)
        self.max_bytes = max_bytes
        self._as_sent: dict[str, type[PredictionEvent]] = {}
        typed: dict[str, type[PredictionEvent]] = {}
        for model, features in models.items():
            names = tuple(name for name in features if _valid_name(name))  # (others never decode)
            if not _valid_name(model):
                continue  # never decodes: the contract names the error
            self._as_sent[model] = event_type(model, features_type(names, None))
            if len(names) == len(features) and all(kind in ("numeric", "categorical", "binary")
                                                   for kind in features.values()):
                try:
                    typed[model] = event_type(model, features_type(names, tuple(features.values())))
                except (TypeError, ValueError):  # a struct msgspec cannot make: read against the contract
                    continue
        # A lone tagged struct would not require its tag: a second member (model "", never valid) makes
        # ``model`` required, as the contract does.
        self._typed: msgspec.json.Decoder[Any] | None = (
            msgspec.json.Decoder(reduce(or_, typed.values(), _NoModel)) if typed else None)

    def decode(self, raw: bytes | None, kind: MessageKind = "prediction") -> PredictionEvent | OutcomeEvent:
        """The event in ``raw``; raises :class:`EventDecodeError` for anything else."""
        if raw is None:
            raise EventDecodeError("message has no value (a null/tombstone record)", kind="malformed")
        event = self._decode_typed(raw, kind)
        if event is not None:
            return event
        read = _read(raw, kind, self.max_bytes)
        model = read.model
        if model is not None and model not in self.models:
            raise EventDecodeError(f"unknown model {model!r}: not in the configuration (known: "
                                   f"{sorted(self.models)})", kind="unknown_model", model=model)
        if isinstance(read, OutcomeEvent):
            return read
        cls = self._as_sent[read.model]
        get = read.features.get
        return cls(model_version=read.model_version, event_id=read.event_id, ts=read.ts,
                   prediction=read.prediction, features=cls.feature_struct(*map(get, cls.feature_struct.names)),
                   segments=read.segments or UNSET)

    def _decode_typed(self, raw: bytes, kind: MessageKind) -> PredictionEvent | None:
        """The typed decode of a plain prediction event of a configured model, or ``None``: then the contract
        says what it is."""
        if self._typed is None or len(raw) > self.max_bytes or kind == "outcome":
            return None
        try:
            event: PredictionEvent | _NoModel = self._typed.decode(raw)
        except (msgspec.MsgspecError, RecursionError):
            return None
        if not isinstance(event, PredictionEvent):
            return None
        if kind == "any":  # _read_any's way to tell the kind: a message with a "kind" key by it, ...
            if b"\\" in raw:  # (keys may be escaped: its exact test)
                if b'"kind"' in raw or b'"features"' not in raw:
                    return None
            elif event.kind is UNSET and b'"kind"' in raw:  # ... one without by the "features" key
                return None
        return event
