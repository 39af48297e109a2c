from __future__ import annotations

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
