"""Every Kafka client driftwarden builds gets its connection settings (bootstrap servers, TLS, SASL) from
here: the watcher's consumer (in process or in its fetch child, through :func:`connection_options`), the
dead-letter, replay, requeue and demo producers, the admin clients, and the benches'.

The security settings are kafka-python's own options, read from ``DRIFTWARDEN_KAFKA_<OPTION>``
(:class:`monitor.config.settings.Settings`): ``security_protocol`` (PLAINTEXT, SSL, SASL_PLAINTEXT,
SASL_SSL), ``ssl_cafile``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_password``, ``ssl_check_hostname``,
``sasl_mechanism`` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), ``sasl_plain_username``, ``sasl_plain_password``.

>>> from monitor.config.settings import Settings
>>> connection_options(Settings(kafka_bootstrap_servers="b:9093"))
{'bootstrap_servers': ['b:9093'], 'security_protocol': 'PLAINTEXT'}
"""

from __future__ import annotations

from typing import Any

from monitor.config.settings import Settings

__all__ = ["connection_options", "make_admin", "make_consumer", "make_producer"]

SECURITY_FIELDS = ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_password", "ssl_check_hostname",
                   "sasl_mechanism", "sasl_plain_username", "sasl_plain_password")


def connection_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments every kafka-python client gets: servers and the security settings that are set."""
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_list,
                               "security_protocol": settings.kafka_security_protocol}
    for name in SECURITY_FIELDS:
        value = getattr(settings, f"kafka_{name}")
        if value is not None:
            options[name] = str(value) if name.endswith("file") else value
    return options


def make_producer(settings: Settings, **options: Any) -> Any:
    """A ``kafka.KafkaProducer`` with the connection settings and ``options`` (acks, linger_ms, ...)."""
    from kafka import KafkaProducer

    return KafkaProducer(**connection_options(settings), **options)


def make_consumer(settings: Settings, *topics: str, **options: Any) -> Any:
    """A ``kafka.KafkaConsumer`` with the connection settings and ``options`` (group_id, ...)."""
    from kafka import KafkaConsumer

    return KafkaConsumer(*topics, **connection_options(settings), **options)


def make_admin(settings: Settings, **options: Any) -> Any:
    """A ``kafka.KafkaAdminClient`` with the connection settings and ``options``."""
    from kafka import KafkaAdminClient

    return KafkaAdminClient(**connection_options(settings), **options)
