"""``KafkaSource.reconcile``: an assignment kafka-python changed without calling the rebalance listener.

kafka-python 3.0.12 skips its join-complete step (``on_partitions_assigned`` included) when a group join completes
while no poll waits for it; the member then owns partitions nobody was told about and never fetches them. Gone
partitions are announced as revoked; unannounced ones make the consumer join again as a new member (a real
broker showed that announcing them instead leaves a consumer that never fetches). The stub plays those states.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def _restarts(source: KafkaSource) -> list[int]:
    calls: list[int] = []
    source.restart = lambda listener: calls.append(1)  # type: ignore[method-assign]
    return calls


def test_an_unannounced_assignment_makes_the_consumer_rejoin_after_the_grace_period() -> None:
    source, consumer, listener = _source()
    restarts = _restarts(source)
    consumer.owned = {KafkaTP("preds", 0), KafkaTP("outs", 0)}
    source.reconcile(now=100.0)
    source.reconcile(now=100.0 + RECONCILE_AFTER / 2)
    assert restarts == [] and listener.calls == []  # a callback may still be on its way
    source.reconcile(now=100.0 + RECONCILE_AFTER)
    assert restarts == [1] and listener.calls == []  # nothing was announced, so nothing to give up


def test_a_change_without_callbacks_revokes_what_is_held_then_rejoins() -> None:
    source, consumer, listener = _source()
    restarts = _restarts(source)
    consumer.owned = {KafkaTP("preds", 0), KafkaTP("outs", 0)}
    source._announce_assigned([("outs", 0), ("preds", 0)], listener)  # what the listener callback does
    assert set(consumer.paused) == consumer.owned  # paused until the service seeks and resumes them
    listener.calls.clear()
    source.reconcile(now=1.0)
    assert listener.calls == []
    consumer.owned = {KafkaTP("preds", 1), KafkaTP("outs", 1)}
    source.reconcile(now=2.0)
    source.reconcile(now=2.0 + RECONCILE_AFTER)
    assert listener.calls == [("revoked", [("outs", 0), ("preds", 0)])] and restarts == [1]


def test_partitions_gone_without_a_callback_are_announced_as_revoked() -> None:
    source, consumer, listener = _source()
    restarts = _restarts(source)
    consumer.owned = {KafkaTP("preds", 0), KafkaTP("preds", 1)}
    source._announce_assigned([("preds", 0), ("preds", 1)], listener)
    listener.calls.clear()
    consumer.owned = {KafkaTP("preds", 0)}
    source.reconcile(now=5.0)
    source.reconcile(now=5.0 + RECONCILE_AFTER)
    assert listener.calls == [("revoked", [("preds", 1)])] and restarts == []


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
