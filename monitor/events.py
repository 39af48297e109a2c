"""The event contract: typed prediction and outcome events, decoded from JSON bytes with msgspec.

A prediction event says what a model saw and answered; an outcome event says what happened next (a label
and/or business outcomes) and is joined to its prediction by ``event_id``. The JSON Schema files in
``monitor/schemas/`` describe the same contract for producers; ``tests/unit/monitor/test_events_schema.py``
checks that both agree.

Decoding is the hot path (one call per Kafka message), so the happy path is a single typed msgspec decode.
Only when it fails does :func:`diagnose` re-read the bytes to name the bad field and its value. A message
that nests deeper than the decoder can read (msgspec raises ``RecursionError`` at about Python's recursion
limit, 1000 levels by default, in known and unknown fields alike) is an :class:`EventDecodeError` of kind
``too_deep``; no depth check runs on the happy path.

>>> event = decode_prediction(
...     b'{"model": "churn", "model_version": "3", "event_id": "e1", "ts": "2026-11-01T12:00:00Z",'
...     b' "features": {"tenure": 12, "plan": "pro", "age": null}, "prediction": 0.83}'
... )
>>> event.model, event.features["tenure"], event.prediction
('churn', 12.0, 0.83)
>>> decode_outcome(b'{"event_id": "e1", "ts": "2026-11-01T12:05:00Z", "label": 1}').label
1.0
>>> try:
...     decode_prediction(b'{"model": "churn", "model_version": "3", "event_id": "e1",'
...                       b' "ts": "2026-11-01T12:00:00Z", "features": {"tenure": [3]}, "prediction": 1}')
... except EventDecodeError as exc:
...     print(exc.field, exc.value)
features.tenure [3]
>>> try:
...     decode_prediction(b'{"model": "churn", "a": ' + b"[" * 5000 + b"]" * 5000 + b"}")
... except EventDecodeError as exc:
...     print(exc.kind, exc.field, exc.value)
too_deep a 5001
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal

import msgspec
import numpy as np

from monitor.errors import MonitorError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EventDecodeError",
    "FastPrediction",
    "FastPredictionDecoder",
    "FeatureValue",
    "OutcomeEvent",
    "OutcomeValue",
    "PredictionEvent",
    "PredictionValue",
    "decode_any",
    "decode_outcome",
    "decode_prediction",
    "encode_event",
]

DEFAULT_MAX_BYTES: Final = 1_048_576
"""Messages larger than this (bytes) are rejected before decoding (reason ``oversized``)."""

_FLOAT_MAX: Final = 1.7976931348623157e308

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
FiniteFloat = Annotated[float, msgspec.Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]

FeatureValue = FiniteFloat | str | bool | None
"""A feature value: a finite number, a category (string), a flag, or ``null`` for missing."""

PredictionValue = FiniteFloat | str | dict[Name, Probability]
"""A prediction: a score, a class, or class probabilities ``{class: p}``."""

OutcomeValue = FiniteFloat | str | bool
"""A business outcome value (e.g. ``shown: true``, ``play_seconds: 93.5``)."""


class PredictionEvent(msgspec.Struct, kw_only=True, tag="prediction", tag_field="kind"):
    """What a model saw and answered. ``kind`` is optional on the predictions topic, required in mixed files."""

    model: Name
    model_version: Id
    event_id: Id
    ts: AwareDatetime
    features: dict[Name, FeatureValue]
    prediction: PredictionValue
    segments: dict[Name, Annotated[str, msgspec.Meta(max_length=200)]] = {}


class OutcomeEvent(msgspec.Struct, kw_only=True, tag="outcome", tag_field="kind"):
    """What happened after a prediction: a ``label`` and/or business ``outcomes``; joined on ``event_id``."""

    event_id: Id
    ts: AwareDatetime
    model: Name | None = None
    label: FiniteFloat | str | bool | None = None
    outcomes: dict[Name, OutcomeValue] = {}


class FastPrediction(msgspec.Struct, kw_only=True, gc=False):
    """A prediction event of a configured model decoded by :class:`FastPredictionDecoder`.

    Like :class:`PredictionEvent`, but ``features`` is a struct of the model's configured features (in
    configuration order, missing ones ``None``); ``model``, ``feature_names`` and ``feature_kinds`` are class
    attributes.
    """

    model: ClassVar[str]
    feature_names: ClassVar[tuple[str, ...]]
    feature_kinds: ClassVar[tuple[str, ...]]
    if TYPE_CHECKING:
        features: Any  # (a field of each model's subclass, typed by its features)
    model_version: Id
    event_id: Id
    ts: AwareDatetime
    prediction: PredictionValue
    segments: dict[Name, Annotated[str, msgspec.Meta(max_length=200)]] | msgspec.UnsetType = msgspec.UNSET
    kind: Literal["prediction"] | msgspec.UnsetType = msgspec.UNSET  # UNSET: no "kind" key

    @property
    def feature_dict(self) -> dict[str, Any]:
        """``features`` as :class:`PredictionEvent` has them (a configured feature absent from the JSON and
        one given as ``null`` are both ``None``; both mean missing)."""
        return dict(zip(self.feature_names, msgspec.structs.astuple(self.features), strict=True))


Event = PredictionEvent | OutcomeEvent
EventKind = Literal["prediction", "outcome"]


class EventDecodeError(MonitorError, ValueError):
    """Bytes that are not a valid event. The message names the field and the bad value.

    Attributes
    ----------
    reason : str
        One line: what is wrong, where (``field``) and with what value.
    kind : str
        Short machine-readable class of the problem: ``oversized``, ``too_deep``, ``malformed``,
        ``not_finite``, ``missing_field``, ``wrong_type``, ``invalid_value`` or ``no_outcome``.
    field : str or None
        Dotted path of the bad field (``features.tenure``), when known.
    value : str or None
        ``repr`` of the bad value (bounded to 80 characters), when known.
    """

    def __init__(self, reason: str, *, kind: str, field: str | None = None, value: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.field = field
        self.value = value


_PREDICTION_DECODER: Final = msgspec.json.Decoder(PredictionEvent)
_OUTCOME_DECODER: Final = msgspec.json.Decoder(OutcomeEvent)
_ANY_DECODER: Final = msgspec.json.Decoder(Event)
_ENCODER: Final = msgspec.json.Encoder()


def decode_prediction(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PredictionEvent:
    """Decode one prediction event; raise :class:`EventDecodeError` naming the bad field and value."""
    if len(raw) > max_bytes:
        raise _oversized(raw, max_bytes)
    try:
        return _PREDICTION_DECODER.decode(raw)
    except msgspec.MsgspecError as exc:
        raise diagnose(raw, exc, PredictionEvent) from None
    except RecursionError:
        raise too_deep(raw, PredictionEvent) from None


def decode_outcome(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> OutcomeEvent:
    """Decode one outcome event; it must carry a ``label`` or at least one business outcome."""
    if len(raw) > max_bytes:
        raise _oversized(raw, max_bytes)
    try:
        event = _OUTCOME_DECODER.decode(raw)
    except msgspec.MsgspecError as exc:
        raise diagnose(raw, exc, OutcomeEvent) from None
    except RecursionError:
        raise too_deep(raw, OutcomeEvent) from None
    if event.label is None and not event.outcomes:
        raise EventDecodeError(
            f"outcome event {event.event_id!r} has neither a label nor any business outcome (fields 'label', "
            "'outcomes')",
            kind="no_outcome",
            field="label",
            value="None",
        )
    return event


def decode_any(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PredictionEvent | OutcomeEvent:
    """Decode an event of either kind (mixed files): by its ``kind`` field, else by the presence of
    ``features`` (a prediction) or not (an outcome).

    >>> type(decode_any(b'{"kind": "outcome", "event_id": "e", "ts": "2026-01-01T00:00:00Z", "label": 0}'))
    <class 'monitor.events.OutcomeEvent'>
    """
    if len(raw) > max_bytes:
        raise _oversized(raw, max_bytes)
    if b'"kind"' not in raw:
        if b'"features"' in raw:
            return decode_prediction(raw, max_bytes=max_bytes)
        return decode_outcome(raw, max_bytes=max_bytes)
    try:
        event = _ANY_DECODER.decode(raw)
    except msgspec.MsgspecError as exc:
        raise diagnose(raw, exc, None) from None
    except RecursionError:
        raise too_deep(raw, None) from None
    if isinstance(event, OutcomeEvent) and event.label is None and not event.outcomes:
        return decode_outcome(raw, max_bytes=max_bytes)  # raises the no_outcome error
    return event


_FAST_TYPES: Final[dict[str, Any]] = {"numeric": FiniteFloat | None, "categorical": str | None,
                                      "binary": bool | None}


class _NoModel(msgspec.Struct, tag_field="model", tag=""):
    pass


def _valid_name(name: str) -> bool:
    return 1 <= len(name) <= 200


class FastPredictionDecoder:
    """A typed decoder of the prediction events of the configured models (the hot path of the watcher).

    One msgspec struct per model, tagged by ``model``, whose ``features`` are a struct of exactly the
    configured features typed by their kind (numeric: finite float; categorical: string; binary: bool; each
    or ``null``). It accepts a strict subset of what :func:`decode_prediction` accepts and decodes it to the
    same values: :meth:`decode` returns ``None`` for anything else (an unknown model, an extra or a
    mistyped feature, bad input), and the caller falls back to the lenient :func:`decode_prediction` path,
    which gives the coercions and the dead letters.

    >>> fast = FastPredictionDecoder({"churn": {"tenure": "numeric", "plan": "categorical"}})
    >>> event = fast.decode(b'{"model": "churn", "model_version": "3", "event_id": "e1",'
    ...                     b' "ts": "2026-11-01T12:00:00Z", "features": {"tenure": 12}, "prediction": 0.8}')
    >>> event.model, event.feature_dict, event.prediction
    ('churn', {'tenure': 12.0, 'plan': None}, 0.8)
    >>> fast.decode(b'{"model": "churn", "features": {"tenure": "12"}}') is None
    True
    """

    def __init__(self, models: Mapping[str, Mapping[str, str]]) -> None:
        self.types: dict[str, type[FastPrediction]] = {}
        for n, (model, features) in enumerate(models.items()):
            if not _valid_name(model) or not all(_valid_name(f) and k in _FAST_TYPES for f, k in features.items()):
                continue  # never decodable by the lenient path either, or an unknown kind: leave it to that path
            fields = [(f"f{i}", _FAST_TYPES[kind], None) for i, kind in enumerate(features.values())]
            rename = {f"f{i}": name for i, name in enumerate(features)}
            try:
                feature_struct = msgspec.defstruct(f"FastFeatures{n}", fields, rename=rename,
                                                   forbid_unknown_fields=True, gc=False)
                self.types[model] = msgspec.defstruct(  # type: ignore[assignment]
                    f"FastPrediction{n}", [("features", feature_struct)], bases=(FastPrediction,), kw_only=True,
                    tag_field="model", tag=model, gc=False,
                    namespace={"model": model, "feature_names": tuple(features),
                               "feature_kinds": tuple(features.values())})
            except (TypeError, ValueError):  # a struct msgspec cannot make: this model goes the lenient way
                continue
        # A lone tagged struct would not require its tag: a second member (model "", never valid) makes
        # ``model`` required, as it is in PredictionEvent.
        self._decoder: msgspec.json.Decoder[Any] | None = (
            msgspec.json.Decoder(reduce(or_, self.types.values(), _NoModel)) if self.types else None)

    def decode(self, raw: bytes) -> FastPrediction | None:
        """The event, or ``None`` if ``raw`` is not a plain prediction event of a configured model (also if it
        nests too deep to decode: the lenient path names that)."""
        if self._decoder is None:
            return None
        try:
            event: FastPrediction = self._decoder.decode(raw)
        except (msgspec.MsgspecError, RecursionError):
            return None
        return None if type(event) is _NoModel else event


def encode_event(event: PredictionEvent | OutcomeEvent) -> bytes:
    """Encode an event as JSON bytes (with its ``kind``)."""
    return _ENCODER.encode(event)


# --- diagnosis (slow path: only for bad input) ----------------------------------------------------------

_AT_PATH = re.compile(r" - at `(?P<path>[^`]+)`")
_KEY_IN = re.compile(r" - at `key` in `(?P<path>[^`]+)`")
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")
_ITEM = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+|\.\.\.)\]")

_VALUE_TYPES: Final[dict[str, Any]] = {
    "features": FeatureValue,
    "prediction": Probability,
    "segments": Annotated[str, msgspec.Meta(max_length=200)],
    "outcomes": OutcomeValue,
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _oversized(raw: bytes, max_bytes: int) -> EventDecodeError:
    return EventDecodeError(
        f"message of {len(raw)} bytes exceeds the limit of {max_bytes} bytes",
        kind="oversized",
        value=str(len(raw)),
    )


def _label(struct: type | None) -> str:
    return "event" if struct is None else ("prediction event" if struct is PredictionEvent else "outcome event")


_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_KEY_END: Final = re.compile(rb"\s*:")
_OPENS, _CLOSES = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def nesting(raw: bytes) -> tuple[int, str | None]:
    """The deepest nesting of ``raw`` and the top-level key it is under (``None``: not under a key).

    Depth counts the brackets ``[``/``{`` open at a byte, outside strings: ``{"a": [1]}`` nests 2 levels deep
    under ``a``. Vectorised (a few milliseconds for 1 MiB), for messages that failed to decode.

    >>> nesting(b'{"model": "m", "a": {"b": [[1]], "c": "[[[["}}')
    (4, 'a')
    """
    masked = _STRING.sub(lambda m: b" " * len(m[0]), raw)
    chars = np.frombuffer(masked, np.uint8)
    if not len(chars):
        return 0, None
    depth = np.cumsum(np.isin(chars, _OPENS), dtype=np.int64) - np.cumsum(np.isin(chars, _CLOSES), dtype=np.int64)
    deepest = int(np.argmax(depth))
    field = None
    if masked.lstrip()[:1] == b"{":  # an object: the last top-level key before the deepest byte
        for m in _STRING.finditer(raw, 0, deepest):
            if depth[m.start()] == 1 and _KEY_END.match(raw, m.end()):
                field = m[0]
    name = None
    if field is not None:
        try:
            name = str(json.loads(field))
        except ValueError:
            name = field[1:-1].decode("utf-8", "replace")
    return int(depth[deepest]), name


def too_deep(raw: bytes, struct: type | None) -> EventDecodeError:
    """The error of a message that nests deeper than the decoder reads (``RecursionError`` in a decode)."""
    depth, field = nesting(raw)
    where = f" in field {field!r}" if field is not None else ""
    return EventDecodeError(
        f"{_label(struct)} nests {depth} levels deep{where}: deeper than the decoder reads (about Python's "
        f"recursion limit, {sys.getrecursionlimit()} levels)",
        kind="too_deep",
        field=field,
        value=str(depth),
    )


_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _unreadable(obj: Any, path: str = "") -> tuple[str, Any] | None:
    """The first value (or key) that JSON allows but msgspec does not: a non-finite number or a string with a
    lone surrogate; as (dotted field, value)."""
    if isinstance(obj, float):
        return None if math.isfinite(obj) else (path, obj)
    if isinstance(obj, str):
        return (path, obj) if not obj.isascii() and _SURROGATE.search(obj) else None
    if isinstance(obj, dict):
        for key, value in obj.items():
            where = f"{path}.{key}" if path else str(key)
            found = _unreadable(key, where) if not key.isascii() else None
            found = found or _unreadable(value, where)
            if found:
                return found
    if isinstance(obj, list):
        for i, value in enumerate(obj):
            found = _unreadable(value, f"{path}[{i}]")
            if found:
                return found
    return None


def _parse_int(text: str) -> int | Decimal:
    """``int(text)``, but a :class:`~decimal.Decimal` beyond the 4300 digits ``int`` reads from text."""
    return int(text) if len(text) < 4300 else Decimal(text)


def _walk(obj: Any, path: str) -> tuple[str, Any]:
    """Follow a msgspec path like ``$.features[...]`` in ``obj``; returns (dotted field, value)."""
    parts: list[str] = []
    for match in _ITEM.finditer(path.removeprefix("$")):
        name, index = match.group(1), match.group(2)
        if name is not None:
            parts.append(name)
            obj = obj.get(name) if isinstance(obj, dict) else None
        elif index == "...":
            # A dict value failed: find the first entry that does not convert to the expected type.
            expected = _VALUE_TYPES.get(parts[0]) if parts else None
            if isinstance(obj, dict) and expected is not None:
                for key, value in obj.items():
                    try:
                        msgspec.convert(value, expected)
                    except msgspec.ValidationError:
                        parts.append(str(key))
                        obj = value
                        break
        elif isinstance(obj, list) and index is not None and int(index) < len(obj):
            parts.append(index)
            obj = obj[int(index)]
    return ".".join(parts), obj


def diagnose(raw: bytes, exc: Exception, struct: type | None) -> EventDecodeError:
    """Turn a msgspec error into an :class:`EventDecodeError` naming the bad field and value."""
    label = _label(struct)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return EventDecodeError(
            f"{label} is not UTF-8 text: byte {raw[bad.start:bad.start + 1]!r} at position {bad.start}",
            kind="malformed",
            value=_short(raw[:40]),
        )
    try:
        generic = json.loads(text, parse_int=_parse_int)  # accepts NaN/Infinity, so we can name them
        found = _unreadable(generic)
    except ValueError as bad:
        return EventDecodeError(f"{label} is not valid JSON: {bad}", kind="malformed", value=_short(text[:40]))
    except RecursionError:
        return too_deep(raw, struct)
    if found is not None and isinstance(found[1], float):
        field, number = found
        return EventDecodeError(
            f"{label} field {field!r} is {number!r}, but only finite numbers are allowed",
            kind="not_finite",
            field=field,
            value=repr(number),
        )
    if found is not None:
        field, string = found
        return EventDecodeError(
            f"{label} field {field!r} has a lone UTF-16 surrogate (not valid Unicode): {_short(string)}",
            kind="malformed",
            field=field,
            value=_short(string),
        )
    message = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return EventDecodeError(f"{label} is not valid JSON: {message}", kind="malformed", value=_short(text[:40]))
    missing = _MISSING.search(message)
    if missing:
        where = ""
        at = _AT_PATH.search(message)
        if at:
            where = f" in {_walk(generic, at.group('path'))[0]!r}"
        field = missing.group("field")
        return EventDecodeError(
            f"{label} is missing the required field {field!r}{where}", kind="missing_field", field=field
        )
    key_in = _KEY_IN.search(message)
    if key_in:
        field, container = _walk(generic, key_in.group("path"))
        bad_keys = [k for k in container if not k or len(k) > 200] if isinstance(container, dict) else []
        value = _short(bad_keys[0]) if bad_keys else None
        problem = message.split(" - at ")[0]
        return EventDecodeError(
            f"{label} field {field!r} has an invalid key {value}: {problem}",
            kind="invalid_value",
            field=field,
            value=value,
        )
    at = _AT_PATH.search(message)
    if at:
        field, value = _walk(generic, at.group("path"))
        problem = message.split(" - at ")[0]
        kind = "wrong_type" if problem.startswith("Expected `") and ", got `" in problem else "invalid_value"
        return EventDecodeError(
            f"{label} field {field!r} has value {_short(value)}: {problem}",
            kind=kind,
            field=field,
            value=_short(value),
        )
    return EventDecodeError(
        f"{label} is invalid: {message} (value {_short(text[:40])})", kind="wrong_type", value=_short(text[:40])
    )
