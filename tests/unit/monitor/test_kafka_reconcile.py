"""``KafkaSource.reconcile``: an assignment kafka-python made without calling the rebalance listener is announced.

kafka-python 3.0.12 skips ``on_partitions_assigned`` when a group join completes while no poll waits for it; the
member then owns paused partitions nobody was told about. The stub consumer below plays that state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafka import TopicPartition as KafkaTP

from monitor.sources.kafka import RECONCILE_AFTER, KafkaSource


class StubConsumer:
    def __init__(self) -> None:
        self.owned: set[KafkaTP] = set()
        self.paused: list[KafkaTP] = []

    def assignment(self) -> set[KafkaTP]:
        return set(self.owned)

    def pause(self, *tps: KafkaTP) -> None:
        self.paused.extend(tps)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, int]]]] = []

    def on_assigned(self, partitions: Sequence[tuple[str, int]]) -> None:
        self.calls.append(("assigned", list(partitions)))

    def on_revoked(self, partitions: Sequence[tuple[str, int]]) -> None:
        self.calls.append(("revoked", list(partitions)))


def _source() -> tuple[KafkaSource, StubConsumer, Recorder]:
    source = KafkaSource("127.0.0.1:1", "g", "preds", "outs")
    consumer, listener = StubConsumer(), Recorder()
    source._consumer = consumer  # type: ignore[assignment]
    source._listener = listener
    return source, consumer, listener


def test_an_unannounced_assignment_is_announced_after_the_grace_period_and_paused() -> None:
    source, consumer, listener = _source()
    consumer.owned = {KafkaTP("preds", 0), KafkaTP("outs", 0)}
    source.reconcile(now=100.0)
    source.reconcile(now=100.0 + RECONCILE_AFTER / 2)
    assert listener.calls == []  # a callback may still be on its way
    source.reconcile(now=100.0 + RECONCILE_AFTER)
    assert listener.calls == [("assigned", [("outs", 0), ("preds", 0)])]
    assert set(consumer.paused) == consumer.owned  # paused until the service seeks and resumes them
    source.reconcile(now=200.0)
    assert len(listener.calls) == 1  # announced once


def test_a_change_without_callbacks_is_announced_as_revoke_then_assign() -> None:
    source, consumer, listener = _source()
    consumer.owned = {KafkaTP("preds", 0), KafkaTP("outs", 0)}
    rebalance: Any = source._announce_assigned
    rebalance([("outs", 0), ("preds", 0)], listener)  # what the listener callback does
    listener.calls.clear()
    source.reconcile(now=1.0)
    assert listener.calls == []
    consumer.owned = {KafkaTP("preds", 1), KafkaTP("outs", 1)}
    source.reconcile(now=2.0)
    source.reconcile(now=2.0 + RECONCILE_AFTER)
    assert listener.calls == [("revoked", [("outs", 0), ("preds", 0)]), ("assigned", [("outs", 1), ("preds", 1)])]


def test_a_mismatch_that_clears_by_itself_is_not_announced() -> None:
    source, consumer, listener = _source()
    consumer.owned = {KafkaTP("preds", 0)}
    source.reconcile(now=10.0)
    source._announce_assigned([("preds", 0)], listener)  # the callback came after all
    source.reconcile(now=10.0 + 5 * RECONCILE_AFTER)
    assert listener.calls == [("assigned", [("preds", 0)])]


def test_no_reconcile_while_a_revoke_callback_is_still_running() -> None:
    """A revoke callback waits for the partitions to be persisted; meanwhile the consumer still lists them. The
    main loop's reconcile must not take that for an unannounced assignment."""
    source, consumer, listener = _source()
    consumer.owned = {KafkaTP("preds", 0)}
    source._announce_assigned([("preds", 0)], listener)

    class SlowRevoke(Recorder):
        def on_revoked(self, partitions: Sequence[tuple[str, int]]) -> None:
            super().on_revoked(partitions)
            source.reconcile(now=50.0)  # (the main loop, while the callback runs)
            source.reconcile(now=50.0 + 10 * RECONCILE_AFTER)

    slow = SlowRevoke()
    source._listener = slow
    source._announce_revoked([("preds", 0)], slow)
    assert slow.calls == [("revoked", [("preds", 0)])]
