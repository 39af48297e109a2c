"""Metrics on an injected registry and the /metrics + /healthz server (real HTTP on a free port)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from monitor.ops import Health, Metrics, OpsServer


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_two_registries_do_not_collide() -> None:
    a, b = CollectorRegistry(), CollectorRegistry()
    Metrics(a).events_consumed.labels(kind="prediction").inc(3)
    Metrics(b)
    assert a.get_sample_value("driftwarden_events_consumed_total", {"kind": "prediction"}) == 3
    assert b.get_sample_value("driftwarden_events_consumed_total", {"kind": "prediction"}) is None


def test_health_goes_unhealthy_on_stall_and_on_a_down_component() -> None:
    now = [0.0]
    health = Health(stall_after=10, clock=lambda: now[0])
    assert health.status()[0] is False  # never beat
    health.beat()
    health.set("database", True)
    assert health.status()[0] is True
    now[0] = 11.0
    ok, body = health.status()
    assert not ok and body["loop"]["ok"] is False
    health.beat()
    health.set("database", False, "connection refused")
    ok, body = health.status()
    assert not ok and body["components"]["database"] == {"ok": False, "detail": "connection refused"}


@pytest.fixture
def server() -> OpsServer:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.dead_letters.labels(reason="not_finite").inc(2)
    metrics.processing_latency.observe(0.003)
    health = Health()
    srv = OpsServer(registry, health, host="127.0.0.1", port=0).start()
    srv.metrics = metrics  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def test_metrics_endpoint_serves_the_registry(server: OpsServer) -> None:
    code, text = _get(f"http://127.0.0.1:{server.port}/metrics")
    assert code == 200
    assert 'driftwarden_dead_letters_total{reason="not_finite"} 2.0' in text
    assert "driftwarden_processing_latency_seconds_bucket" in text
    assert "driftwarden_consumer_lag" in text


def test_healthz_follows_the_health_state(server: OpsServer) -> None:
    code, body = _get(f"http://127.0.0.1:{server.port}/healthz")
    assert code == 503 and json.loads(body)["status"] == "unhealthy"
    server.health.beat()
    server.health.set("database", True, "up")
    code, body = _get(f"http://127.0.0.1:{server.port}/healthz")
    assert code == 200 and json.loads(body)["components"]["database"]["ok"] is True
    assert _get(f"http://127.0.0.1:{server.port}/nope")[0] == 404
