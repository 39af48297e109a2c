"""From raw message to pipeline input: decode, check the model, or make a dead letter (never raises).

One path for every message: :func:`take`. A prediction event of a configured model is decoded once, by the
typed :class:`~monitor.events.FastPredictionDecoder` (the hot path); anything that decoder does not take goes
to the lenient decoders (:func:`~monitor.events.decode_prediction`, ``decode_outcome``, ``decode_any``), which
decode outcomes and the inputs that need coercion, and name the bad field and value of a bad one.

No single message may stop the watcher: :func:`take` turns every exception that decoding one message raises
into a dead letter (an unforeseen one with category ``unexpected`` and the exception's class and text),
except the failures of the process itself in :data:`PROCESS_ERRORS`.

>>> from monitor.sources import RawMessage
>>> msg = RawMessage("preds", 0, 7, b"churn", b'{"model": "churn"}', "prediction")
>>> taken = take(msg, {"churn"})
>>> taken.event is None, taken.dead.category, taken.dead.reason
(True, 'missing_field', "prediction event is missing the required field 'model_version'")
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from typing import Final, NamedTuple

from msgspec import UNSET

from monitor.consumer.deadletter import DeadLetterRecord
from monitor.events import (
    DEFAULT_MAX_BYTES,
    EventDecodeError,
    FastPrediction,
    FastPredictionDecoder,
    OutcomeEvent,
    PredictionEvent,
    decode_any,
    decode_outcome,
    decode_prediction,
)
from monitor.sources.base import RawMessage

__all__ = ["PROCESS_ERRORS", "Taken", "take"]

PROCESS_ERRORS: Final = (MemoryError,)
"""Exceptions that are failures of the process, not of one message: never turned into a dead letter (the
consumer loop re-raises them too; database and broker errors are raised outside one message's intake)."""

log = logging.getLogger(__name__)


class Taken(NamedTuple):
    """A message ready for the pipeline (``event``) or for the dead-letter table (``dead``).

    ``key`` is the event time in epoch seconds (``-inf`` for a dead letter), the merge key of
    :class:`monitor.consumer.merge.PartitionMerger`.
    """

    msg: RawMessage
    key: float
    event: PredictionEvent | FastPrediction | OutcomeEvent | None
    dead: DeadLetterRecord | None


def _typed(msg: RawMessage, models: Collection[str], max_bytes: int,
           fast: FastPredictionDecoder) -> FastPrediction | None:
    """The typed decode of a plain prediction event of a configured model (what the lenient path would make of
    it, but a :class:`FastPrediction`), or ``None``: then the lenient path says what it is."""
    value = msg.value
    if value is None or len(value) > max_bytes:
        return None
    kind = msg.kind
    if kind != "prediction" and kind != "any":
        return None
    event = fast.decode(value)
    if event is None or event.model not in models:
        return None
    if kind == "any":  # decode_any's way to tell the kind: a message with a "kind" key by it, ...
        if b"\\" in value:  # (keys may be escaped: its exact test)
            if b'"kind"' in value or b'"features"' not in value:
                return None
        elif event.kind is UNSET and b'"kind"' in value:  # ... one without by the "features" key
            return None
    return event


def take(msg: RawMessage, models: Collection[str], max_bytes: int = DEFAULT_MAX_BYTES,
         fast: FastPredictionDecoder | None = None) -> Taken:
    """Decode ``msg`` by its kind; unknown models (in ``models``' terms) become dead letters too.

    ``fast`` (the consumer's typed decoder of the same models) decodes what it can; the rest, and everything
    when ``fast`` is ``None``, goes the lenient way.
    """
    try:
        if fast is not None:
            fast_event = _typed(msg, models, max_bytes, fast)
            if fast_event is not None:
                return Taken(msg, fast_event.ts.timestamp(), fast_event, None)
        if msg.value is None:
            raise EventDecodeError("message has no value (a null/tombstone record)", kind="malformed")
        event: PredictionEvent | OutcomeEvent
        if msg.kind == "prediction":
            event = decode_prediction(msg.value, max_bytes=max_bytes)
        elif msg.kind == "outcome":
            event = decode_outcome(msg.value, max_bytes=max_bytes)
        else:
            event = decode_any(msg.value, max_bytes=max_bytes)
        model = event.model
        if model is not None and model not in models:
            dead = DeadLetterRecord.of(
                msg, f"unknown model {model!r}: not in the configuration (known: {sorted(models)})",
                category="unknown_model", error_class="UnknownModel", model=model,
            )
            return Taken(msg, -math.inf, None, dead)
        return Taken(msg, event.ts.timestamp(), event, None)
    except EventDecodeError as exc:
        dead = DeadLetterRecord.of(msg, exc.reason, category=exc.kind, error_class="EventDecodeError")
        return Taken(msg, -math.inf, None, dead)
    except PROCESS_ERRORS:
        raise
    except Exception as exc:  # a decoding bug met by this one message: its dead letter, not the watcher's end
        log.exception("could not decode a message", extra={"topic": msg.topic, "offset": msg.offset})
        dead = DeadLetterRecord.of(msg, f"{msg.kind} message could not be decoded: {type(exc).__name__}: {exc}",
                                   category="unexpected", error_class=type(exc).__name__)
        return Taken(msg, -math.inf, None, dead)
