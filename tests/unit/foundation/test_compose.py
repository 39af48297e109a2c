"""docker-compose.yml cannot run here (no Docker engine), so its wiring is checked by reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.settings import env_var_names

ROOT = Path(__file__).resolve().parents[3]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_images() -> None:
    services = _compose()["services"]
    assert {"kafka", "postgres", "monitor", "dashboard", "producer"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["postgres"]["image"].startswith("postgres:")
    for name in ("monitor", "dashboard", "producer"):
        assert services[name]["image"] == "driftwarden:local"


def test_kafka_runs_kraft_single_node() -> None:
    env = _compose()["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    assert "CLUSTER_ID" in env


def test_long_running_services_have_healthchecks() -> None:
    services = _compose()["services"]
    for name in ("kafka", "postgres", "monitor", "dashboard"):
        assert services[name]["healthcheck"]["test"], name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["monitor"]["healthcheck"]["test"])


def test_every_driftwarden_variable_is_a_setting() -> None:
    known = env_var_names()
    seen: set[str] = set()
    for name, service in _compose()["services"].items():
        for key in service.get("environment", {}):
            if key.startswith("DRIFTWARDEN_"):
                assert key in known, f"service {name} sets {key}, which Settings does not read"
                seen.add(key)
    assert {"DRIFTWARDEN_DATABASE_URL", "DRIFTWARDEN_KAFKA_BOOTSTRAP_SERVERS"} <= seen


def test_app_services_wait_for_their_dependencies() -> None:
    services = _compose()["services"]
    assert services["monitor"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["monitor"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
