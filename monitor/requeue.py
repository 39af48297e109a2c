"""Produce dead letters back to their topic (``driftwarden deadletters requeue``), e.g. after a configuration
change adds the model they name, and record that it was done.

The kept raw bytes and the original key go to the dead letter's ``source`` topic (or ``topic`` when given);
a dead letter whose message was longer than the kept bytes (``raw_size`` > kept) is skipped, since producing
a cut message would only dead-letter it again. After the producer's flush succeeded, the requeued rows get
``requeued_at`` and ``requeue_count + 1`` in one transaction. A crash between the flush and that commit
leaves the rows unmarked: requeueing them again produces them twice (the watcher then sees a duplicate
event, as with any producer retry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitor.store.dead_letters import DeadLetterFilter, DeadLetterItem, find, mark_requeued

__all__ = ["RequeueResult", "requeue"]


@dataclass
class RequeueResult:
    """What was produced (``requeued``: ids), what was skipped and why (``skipped``: id -> reason)."""

    requeued: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)


def _skip_reason(item: DeadLetterItem) -> str | None:
    if item.truncated:
        return f"only {len(item.raw)} of its {item.raw_size} bytes were kept"
    return None


def requeue(sessions: sessionmaker[Session], which: DeadLetterFilter, producer: Any, *, topic: str | None = None,
            dry_run: bool = False, flush_timeout: float = 60.0) -> RequeueResult:
    """Produce the dead letters ``which`` selects with ``producer`` (a kafka-python ``KafkaProducer``)."""
    result = RequeueResult()
    with sessions() as session:
        items = find(session, which)
    futures = []
    for item in sorted(items, key=lambda i: i.id):
        reason = _skip_reason(item)
        if reason is not None:
            result.skipped[item.id] = reason
            continue
        target = topic or item.source
        result.requeued.append(item.id)
        result.topics[target] = result.topics.get(target, 0) + 1
        if not dry_run:
            futures.append(producer.send(target, value=item.raw, key=item.key))
    if dry_run or not result.requeued:
        return result
    producer.flush(timeout=flush_timeout)
    for future in futures:
        future.get(timeout=flush_timeout)  # raises the send's error: nothing is marked then
    with sessions.begin() as session:
        mark_requeued(session, result.requeued, datetime.now(UTC))
    return result
