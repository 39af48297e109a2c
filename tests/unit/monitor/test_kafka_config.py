"""The Kafka source's consumer settings: defaults driftwarden chooses over kafka-python's, and overrides."""

from __future__ import annotations

from monitor.sources.kafka import FETCH_MAX_WAIT_MS, KafkaSource


def test_fetch_wait_is_short_so_an_idle_outcomes_topic_does_not_hold_back_predictions() -> None:
    # kafka-python keeps one fetch in flight per broker; at its default (500 ms) a fetch of only the idle
    # outcomes partitions blocked the predictions partitions' next fetch for that long.
    source = KafkaSource("127.0.0.1:1", "g", "preds", "outs")
    assert source._config["fetch_max_wait_ms"] == FETCH_MAX_WAIT_MS == 100
    assert source._config["enable_auto_commit"] is False


def test_consumer_config_overrides_the_defaults() -> None:
    source = KafkaSource("127.0.0.1:1", "g", "preds", "outs", fetch_max_wait_ms=500, session_timeout_ms=6000)
    assert source._config["fetch_max_wait_ms"] == 500
    assert source._config["session_timeout_ms"] == 6000
