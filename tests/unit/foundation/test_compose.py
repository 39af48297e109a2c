"""docker-compose.yml cannot run here (no Docker engine), so its wiring is checked by reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.config.settings import env_var_names

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


def _driftwarden_commands() -> list[tuple[str, list[str]]]:
    """Every ``driftwarden ...`` invocation of the file (plain lists and ``sh -c "a && b"`` strings)."""
    import shlex

    out: list[tuple[str, list[str]]] = []
    for name, service in _compose()["services"].items():
        command = service.get("command")
        if not command:
            continue
        parts = [list(command)] if command[0] != "sh" else [shlex.split(p) for p in command[2].split("&&")]
        out.extend((name, argv[1:]) for argv in parts if argv and argv[0] == "driftwarden")
    return out


def test_every_driftwarden_command_parses_with_the_real_cli() -> None:
    """Options and subcommands the compose file uses exist (a renamed flag would only fail inside Docker)."""
    import typer

    from monitor.cli import app

    # typer >= 0.20 ships its own click (typer._click): no isinstance checks against the click package
    def parse(cmd: Any, args: list[str], parent: Any = None) -> None:
        ctx = cmd.make_context(cmd.name or "driftwarden", list(args), parent=parent)
        if hasattr(cmd, "resolve_command"):
            rest = [*ctx._protected_args, *ctx.args]
            assert rest, f"{cmd.name}: no subcommand"
            _name, sub, rest = cmd.resolve_command(ctx, rest)
            assert sub is not None
            parse(sub, rest, ctx)

    commands = _driftwarden_commands()
    assert {name for name, _ in commands} >= {"migrate", "monitor", "scenario", "producer"}
    root = typer.main.get_command(app)
    for name, args in commands:
        try:
            parse(root, args)
        except Exception as exc:  # typer's UsageError (NoSuchOption, BadParameter, ...)
            raise AssertionError(f"service {name}: driftwarden {' '.join(args)}: {exc}") from None


def test_the_watcher_reads_the_config_the_scenario_service_writes() -> None:
    services = _compose()["services"]
    assert "scenario:/data" in services["monitor"]["volumes"]
    assert "scenario:/data" in services["producer"]["volumes"]
    assert services["producer"]["depends_on"]["scenario"]["condition"] == "service_completed_successfully"
    assert services["monitor"]["depends_on"]["scenario"]["condition"] == "service_completed_successfully"
