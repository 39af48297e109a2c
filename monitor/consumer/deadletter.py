"""Dead letters: bad input, kept with its raw bytes (bounded), where it came from and why.

The consumer loop turns every message it cannot use (undecodable bytes, wrong types, NaN/inf, missing
fields, unknown models, oversized messages) into a :class:`DeadLetterRecord`. The records of a partition are
written to the ``dead_letters`` table in the same transaction as the offsets that move past them, so a crash
neither loses nor doubles them; after that commit they are optionally copied to a dead-letter topic.

>>> from monitor.sources import RawMessage
>>> msg = RawMessage("preds", 3, 41, b"churn", b"\\xff" * 10, "prediction")
>>> rec = DeadLetterRecord.of(msg, "not UTF-8", category="malformed", error_class="EventDecodeError", limit=4)
>>> rec.raw, rec.raw_size, rec.model, (rec.source, rec.partition, rec.offset)
(b'\\xff\\xff\\xff\\xff', 10, 'churn', ('preds', 3, 41))
>>> DeadLetterRecord.of(msg, "bad \\x00 \\ud800", category="malformed", error_class="E", model="m\\x00").reason
'bad \\\\x00 \\\\ud800'
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from monitor.db.models import DeadLetter
from monitor.sources.base import RawMessage

if TYPE_CHECKING:
    from monitor.config.settings import Settings

__all__ = ["RAW_LIMIT", "DeadLetterPublisher", "DeadLetterRecord", "storable"]

RAW_LIMIT: Final = 65_536
"""Bytes of a bad message kept in the table (and on the dead-letter topic); ``raw_size`` keeps the full size."""

log = logging.getLogger(__name__)


def storable(text: str) -> str:
    """``text`` as a PostgreSQL ``text`` column and UTF-8 take it: NUL characters and lone UTF-16 surrogates
    (which a message's JSON may carry into a reason or a model name) written as ``\\x00`` and ``\\udxxx``."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One rejected message. ``category`` is the metric label (``malformed``, ``not_finite``, ...)."""

    source: str
    partition: int | None
    offset: int | None
    model: str | None
    reason: str
    category: str
    error_class: str
    raw: bytes
    raw_size: int
    key: bytes | None = None

    @classmethod
    def of(
        cls,
        msg: RawMessage,
        reason: str,
        *,
        category: str,
        error_class: str,
        model: str | None = None,
        limit: int = RAW_LIMIT,
    ) -> DeadLetterRecord:
        raw = msg.value or b""
        if model is None and msg.key:
            model = msg.key[:200].decode("utf-8", "replace")
        return cls(
            source=storable(msg.topic),
            partition=msg.partition,
            offset=msg.offset,
            model=storable(model[:200]) if model else None,
            reason=storable(reason),
            category=category,
            error_class=error_class,
            raw=raw[:limit],
            raw_size=len(raw),
            key=msg.key,
        )

    def to_row(self) -> DeadLetter:
        """The ``dead_letters`` row (added to the caller's session, inside its transaction)."""
        return DeadLetter(
            source=self.source[:500],
            partition=self.partition,
            offset=self.offset,
            model=self.model,
            reason=self.reason,
            error_class=self.error_class[:100],
            raw=self.raw,
            raw_size=self.raw_size,
            key=self.key[:1000] if self.key else None,
        )


class DeadLetterPublisher:
    """Copies dead letters to a Kafka topic, after their database commit (best effort, never raises).

    Headers carry ``source``, ``partition``, ``offset``, ``reason`` and ``category``; the value is the bounded
    raw bytes and the key the original key.
    """

    def __init__(self, topic: str, producer: Any) -> None:
        self.topic = topic
        self._producer = producer

    @classmethod
    def connect(cls, settings: Settings, topic: str) -> DeadLetterPublisher:
        """A publisher to ``topic`` whose producer has ``settings``' connection options (TLS, SASL)."""
        from monitor.sources.kafka_clients import make_producer

        producer = make_producer(settings, acks=1, linger_ms=20,
                                 max_request_size=2 * RAW_LIMIT + 65_536, client_id="driftwarden-deadletters")
        return cls(topic, producer)

    def publish(self, records: Iterable[DeadLetterRecord]) -> int:
        sent = 0
        for rec in records:
            headers = [
                ("source", rec.source.encode()),
                ("partition", str(rec.partition).encode()),
                ("offset", str(rec.offset).encode()),
                ("reason", rec.reason.encode("utf-8", "replace")[:1000]),
                ("category", rec.category.encode()),
            ]
            try:
                self._producer.send(self.topic, value=rec.raw, key=rec.key, headers=headers)
                sent += 1
            except Exception as exc:  # optional copy: the table has it
                log.warning("dead-letter topic send failed", extra={"topic": self.topic, "error": str(exc)})
        return sent

    def close(self) -> None:
        try:
            self._producer.flush(timeout=5)
            self._producer.close(timeout=5)
        except Exception as exc:  # closing is best effort
            log.info("dead-letter producer close failed", extra={"error": str(exc)})
