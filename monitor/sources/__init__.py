"""Sources of raw events for the consumer loop: Kafka (consumer group) and files (JSONL, Parquet).

:mod:`~monitor.sources.kafka_clients` builds every Kafka client driftwarden uses (consumer, producers, admin)
with the connection settings (bootstrap servers, TLS, SASL).
"""

from __future__ import annotations

from monitor.sources.base import (
    AssignmentListener,
    MessageKind,
    Position,
    RawMessage,
    Source,
    SourceError,
    SourceUnavailable,
    TopicPartition,
)
from monitor.sources.files import JsonlSource, ParquetSource, file_topic, open_file_source

__all__ = [
    "AssignmentListener",
    "JsonlSource",
    "MessageKind",
    "ParquetSource",
    "Position",
    "RawMessage",
    "Source",
    "SourceError",
    "SourceUnavailable",
    "TopicPartition",
    "file_topic",
    "open_file_source",
]
