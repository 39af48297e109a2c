"""Events: the contract (:mod:`~monitor.events.contract`), the decoders (:mod:`~monitor.events.decode`) and
the diagnosis of bad input (:mod:`~monitor.events.diagnosis`).

Decoding is the hot path (one call per Kafka message), so the happy path is a single typed msgspec decode.
Only when it fails does the diagnosis re-read the bytes to name the bad field and its value. A message
that nests deeper than the decoder can read (msgspec raises ``RecursionError`` at about Python's recursion
limit, 1000 levels by default, in known and unknown fields alike) is an :class:`EventDecodeError` of kind
``too_deep``; no depth check runs on the happy path.

>>> event = decode_prediction(
...     b'{"model": "churn", "model_version": "3", "event_id": "e1", "ts": "2026-11-01T12:00:00Z",'
...     b' "features": {"tenure": 12, "plan": "pro", "age": null}, "prediction": 0.83}'
... )
>>> event.model, event.feature_dict["tenure"], event.prediction
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

from monitor.events.contract import (
    DEFAULT_MAX_BYTES,
    EventDecodeError,
    Features,
    FeatureValue,
    OutcomeEvent,
    OutcomeValue,
    PredictionEvent,
    PredictionValue,
    prediction_event,
)
from monitor.events.decode import (
    EventDecoder,
    MessageKind,
    decode_any,
    decode_outcome,
    decode_prediction,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EventDecodeError",
    "EventDecoder",
    "FeatureValue",
    "Features",
    "MessageKind",
    "OutcomeEvent",
    "OutcomeValue",
    "PredictionEvent",
    "PredictionValue",
    "decode_any",
    "decode_outcome",
    "decode_prediction",
    "prediction_event",
]
