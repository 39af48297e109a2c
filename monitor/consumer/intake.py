"""From raw message to pipeline input: decode, or make a dead letter (never raises).

One path for every message: :func:`take`, through the consumer's :class:`~monitor.events.EventDecoder` (a
typed decode of a configured model's prediction event; the contract's field-and-value diagnosis only for
what that does not take).

No single message may stop the watcher: :func:`take` turns every exception that decoding one message raises
into a dead letter (an unforeseen one with category ``unexpected`` and the exception's class and text),
except the failures of the process itself in :data:`PROCESS_ERRORS`.

>>> from monitor.events import EventDecoder
>>> from monitor.sources import RawMessage
>>> msg = RawMessage("preds", 0, 7, b"churn", b'{"model": "churn"}', "prediction")
>>> taken = take(msg, EventDecoder({"churn": {"tenure": "numeric"}}))
>>> taken.event is None, taken.dead.category, taken.dead.reason
(True, 'missing_field', "prediction event is missing the required field 'model_version'")
"""

from __future__ import annotations

import logging
import math
from typing import Final, NamedTuple

from monitor.consumer.deadletter import DeadLetterRecord
from monitor.events import EventDecodeError, EventDecoder, OutcomeEvent, PredictionEvent
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
    event: PredictionEvent | OutcomeEvent | None
    dead: DeadLetterRecord | None


def take(msg: RawMessage, decoder: EventDecoder) -> Taken:
    """Decode ``msg`` by its kind; events of models the decoder does not know become dead letters too."""
    try:
        event = decoder.decode(msg.value, msg.kind)
        return Taken(msg, event.ts.timestamp(), event, None)
    except EventDecodeError as exc:
        error_class = "UnknownModel" if exc.kind == "unknown_model" else "EventDecodeError"
        dead = DeadLetterRecord.of(msg, exc.reason, category=exc.kind, error_class=error_class, model=exc.model)
        return Taken(msg, -math.inf, None, dead)
    except PROCESS_ERRORS:
        raise
    except Exception as exc:  # a decoding bug met by this one message: its dead letter, not the watcher's end
        log.exception("could not decode a message", extra={"topic": msg.topic, "offset": msg.offset})
        dead = DeadLetterRecord.of(msg, f"{msg.kind} message could not be decoded: {type(exc).__name__}: {exc}",
                                   category="unexpected", error_class=type(exc).__name__)
        return Taken(msg, -math.inf, None, dead)
