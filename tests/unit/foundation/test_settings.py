from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config.settings import DEFAULT_DATABASE_URL, Settings


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("DRIFTWARDEN_"):
            monkeypatch.delenv(key)
    s = Settings()
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.is_sqlite


def test_environment_is_read_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS", "a:1, b:2")
    monkeypatch.setenv("DRIFTWARDEN_KAFKA_CONSUMER_GROUP", "g1")
    s = Settings()
    assert s.kafka_bootstrap_list == ["a:1", "b:2"]
    assert s.kafka_consumer_group == "g1"


def test_bad_value_names_the_value() -> None:
    with pytest.raises(ValidationError, match="'loud'"):
        Settings(log_level="loud")


def test_cli_reports_a_bad_environment_variable_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTWARDEN_METRICS_PORT", "not-a-port")
    result = CliRunner().invoke(app, ["db", "current"])
    assert result.exit_code == 2
    assert "DRIFTWARDEN_METRICS_PORT" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "db" in result.output


@pytest.mark.parametrize(("environ", "named"), [
    ({"DRIFTWARDEN_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "DRIFTWARDEN_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"},
     "DRIFTWARDEN_KAFKA_SASL_PLAIN_USERNAME and DRIFTWARDEN_KAFKA_SASL_PLAIN_PASSWORD not set"),
    ({"DRIFTWARDEN_KAFKA_SASL_MECHANISM": "PLAIN"}, "DRIFTWARDEN_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
    ({"DRIFTWARDEN_KAFKA_SSL_CAFILE": "/no/such/ca.pem"}, "DRIFTWARDEN_KAFKA_SSL_CAFILE"),
])
def test_incomplete_kafka_security_is_one_line_at_start(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str],
                                                         named: str) -> None:
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["db", "current"])
    assert result.exit_code == 2
    assert named in result.output and len(result.output.strip().splitlines()) == 1


def test_every_kafka_client_gets_the_security_settings(tmp_path: Path) -> None:
    from monitor.sources.kafka_clients import connection_options

    ca = tmp_path / "ca.pem"
    ca.write_text("-")
    settings = Settings(kafka_bootstrap_servers="b:9093", kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=ca,
                        kafka_sasl_mechanism="SCRAM-SHA-256", kafka_sasl_plain_username="u",
                        kafka_sasl_plain_password="p")
    assert connection_options(settings) == {
        "bootstrap_servers": ["b:9093"], "security_protocol": "SASL_SSL", "ssl_cafile": str(ca),
        "sasl_mechanism": "SCRAM-SHA-256", "sasl_plain_username": "u", "sasl_plain_password": "p"}


@pytest.mark.parametrize("command", [["db", "current"], ["db", "upgrade"], ["db", "downgrade", "base"]])
def test_an_unreachable_database_is_one_line_without_its_password(command: list[str]) -> None:
    url = "postgresql+psycopg://bob:hunter2@127.0.0.1:1/x?connect_timeout=2"
    result = CliRunner().invoke(app, [*command, "--db", url])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert "hunter2" not in result.output and "bob:***@127.0.0.1:1" in result.output
