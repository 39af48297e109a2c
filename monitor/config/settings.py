"""Process-wide settings, read once from the environment (prefix ``DRIFTWARDEN_``) at the entry point.

Pure code never reads the environment: the CLI builds one :class:`Settings` and passes it down.

>>> s = Settings(database_url="sqlite:///x.db", kafka_bootstrap_servers="127.0.0.1:9092")
>>> s.kafka_bootstrap_list
['127.0.0.1:9092']
>>> s.is_sqlite
True
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, FilePath, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///driftwarden.db"
ROLES = ("viewer", "responder", "admin")


def parse_role_pairs(text: str | None) -> dict[str, str]:
    """``a=role,b=role`` -> ``{a (lower case): role}``; anything else is a ValueError naming the pair.

    >>> parse_role_pairs("Ada@x.org=admin, oncall=responder")
    {'ada@x.org': 'admin', 'oncall': 'responder'}
    """
    found: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, role = part.partition("=")
        if not sep or not name.strip() or role.strip() not in ROLES:
            raise ValueError(f"{part.strip()!r} is not name=role with a role of {', '.join(ROLES)}")
        found[name.strip().lower()] = role.strip()
    return found


class Settings(BaseSettings):
    """Every setting the service reads; each field maps to ``DRIFTWARDEN_<FIELD_NAME>``."""

    model_config = SettingsConfigDict(env_prefix="DRIFTWARDEN_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: postgresql+psycopg://user@host:port/db, or sqlite:///file.db (embedded).",
    )
    kafka_bootstrap_servers: str = Field(default="localhost:9092", description="Comma-separated host:port list.")
    kafka_predictions_topic: str = Field(default="driftwarden.predictions")
    kafka_outcomes_topic: str = Field(default="driftwarden.outcomes")
    kafka_consumer_group: str = Field(default="driftwarden")
    kafka_dead_letter_topic: str | None = Field(
        default=None, description="Optional topic that receives a copy of every dead-lettered message."
    )
    kafka_fetch_process: bool = Field(
        default=False, description="Run the kafka-python consumer in a child process (fetching on one core, the "
        "watcher's work on another); false: one process.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="kafka-python's security_protocol, for every Kafka client.")
    kafka_ssl_cafile: FilePath | None = Field(default=None, description="CA certificate (PEM) of the brokers.")
    kafka_ssl_certfile: FilePath | None = Field(default=None, description="Client certificate (PEM), mutual TLS.")
    kafka_ssl_keyfile: FilePath | None = Field(default=None, description="Client private key (PEM), mutual TLS.")
    kafka_ssl_password: str | None = Field(default=None, description="Password of the client private key.")
    kafka_ssl_check_hostname: bool | None = Field(default=None, description="Check the broker's host name.")
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(default=None)
    kafka_sasl_plain_username: str | None = Field(default=None, description="SASL user (PLAIN and SCRAM).")
    kafka_sasl_plain_password: str | None = Field(default=None, description="SASL password (PLAIN and SCRAM).")
    metrics_port: int = Field(default=9108, ge=0, le=65535, description="Port of /metrics and /healthz; 0 = off.")
    webhook_url: str | None = Field(default=None, description="A Slack-compatible webhook that receives every alert "
                                    "notification (a route besides the configuration's notifications.routes).")
    dashboard_url: str | None = Field(default=None, description="The dashboard's address: notifications link to "
                                      "each alert there (wins over notifications.dashboard_url).")
    notify_lease: float = Field(default=60.0, gt=0, description="Seconds a notification claimed by a sender is "
                                "not claimed again (a sender that crashed mid-send: delivered again after it).")
    incident_gap_seconds: float = Field(
        default=86400.0, ge=0, description="An alert that opens within this many seconds (event time) of an "
        "unresolved incident's latest alert of the same model joins that incident.",
    )
    log_level: str = Field(default="INFO")
    dashboard_password: str | None = Field(default=None, description="When set, the dashboard asks for it.")
    dashboard_users: str | None = Field(default=None, description="Dashboard roles of OIDC users: "
                                        "email=role pairs, comma-separated (roles: viewer, responder, admin).")
    dashboard_role_claim: str | None = Field(default=None, description="The OIDC claim (e.g. groups) whose values "
                                             "DRIFTWARDEN_DASHBOARD_CLAIM_ROLES maps to roles.")
    dashboard_claim_roles: str | None = Field(default=None, description="value=role pairs for the role claim.")
    dashboard_default_role: Literal["viewer", "responder", "admin"] = Field(
        default="viewer", description="The role of an OIDC user neither listed nor mapped.")

    @field_validator("dashboard_users", "dashboard_claim_roles")
    @classmethod
    def _role_pairs(cls, value: str | None) -> str | None:
        parse_role_pairs(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"log level {value!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _sasl_complete(self) -> Settings:
        """SASL needs a mechanism, a user and a password; a mechanism without SASL would be silently unused."""
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if not sasl and self.kafka_sasl_mechanism:
            raise ValueError(f"DRIFTWARDEN_KAFKA_SASL_MECHANISM is set but DRIFTWARDEN_KAFKA_SECURITY_PROTOCOL is "
                             f"{self.kafka_security_protocol} (SASL_PLAINTEXT or SASL_SSL uses it)")
        missing = [name for name in ("sasl_mechanism", "sasl_plain_username", "sasl_plain_password")
                   if sasl and not getattr(self, f"kafka_{name}")]
        if missing:
            raise ValueError(f"DRIFTWARDEN_KAFKA_SECURITY_PROTOCOL is {self.kafka_security_protocol} but "
                             f"{' and '.join('DRIFTWARDEN_KAFKA_' + m.upper() for m in missing)} not set")
        return self

    @property
    def kafka_bootstrap_list(self) -> list[str]:
        return [part.strip() for part in self.kafka_bootstrap_servers.split(",") if part.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def env_var_names() -> set[str]:
    """The environment variable names :class:`Settings` reads (used to check docker-compose.yml)."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}
