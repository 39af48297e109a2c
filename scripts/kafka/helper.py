"""Helpers for ``scripts/kafka-local``: free-port picking and a client-level readiness check.

Usage (all diagnostics go to stderr, results to stdout)::

    python helper.py free-ports 2
    python helper.py cluster-id
    python helper.py wait-ready --bootstrap 127.0.0.1:PORT --pid PID --timeout 90

``wait-ready`` exit codes: 0 ready, 1 timed out, 2 broker process exited, 3 kafka-python missing,
4 probe misconfigured (incompatible kafka-python).
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import socket
import sys
import time
import uuid
from contextlib import ExitStack

EXIT_READY = 0
EXIT_TIMEOUT = 1
EXIT_DIED = 2
EXIT_NO_CLIENT = 3
EXIT_CONFIG = 4


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct TCP ports on 127.0.0.1 that are free right now.

    All sockets stay bound until every port is chosen, so the ports differ from each other.
    """
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def cluster_id() -> str:
    """Return a random KRaft cluster id, as ``kafka.tools.StorageTool random-uuid`` would.

    Kafka's ``Uuid.randomUuid`` is 16 random bytes in URL-safe base64 without padding, and never
    starts with ``-`` (it would read as a command-line flag).
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) still answers kill(0).
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def probe(bootstrap: str, timeout_ms: int) -> list[str]:
    """Run one real metadata request against ``bootstrap`` and return the topic names."""
    from kafka import KafkaAdminClient

    options: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "client_id": "driftwarden-kafka-local-ready",
        "request_timeout_ms": timeout_ms,
        "reconnect_backoff_max_ms": 500,
    }
    # Bound the connect/bootstrap phase too; the option's name differs between kafka-python 3.x and 2.x.
    for name in ("bootstrap_timeout_ms", "api_version_auto_timeout_ms"):
        if name in KafkaAdminClient.DEFAULT_CONFIG:
            options[name] = timeout_ms
            break
    admin = KafkaAdminClient(**options)
    try:
        return sorted(admin.list_topics())
    finally:
        admin.close()


def wait_ready(bootstrap: str, pid: int | None, timeout: float) -> int:
    """Poll ``bootstrap`` with a metadata request until it answers, the broker dies or time runs out."""
    try:
        from kafka.errors import KafkaConfigurationError
    except ImportError:
        print(f"kafka-local: kafka-python is not importable by {sys.executable}", file=sys.stderr)
        return EXIT_NO_CLIENT
    logging.basicConfig(level=logging.CRITICAL)  # connection-refused noise while the broker boots
    deadline = time.monotonic() + timeout
    last_error = "no attempt yet"
    while time.monotonic() < deadline:
        if pid is not None and not _alive(pid):
            print(f"kafka-local: broker process {pid} exited during startup", file=sys.stderr)
            return EXIT_DIED
        try:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            probe(bootstrap, timeout_ms=max(1000, min(5000, remaining_ms)))
        except KafkaConfigurationError as exc:  # our bug, not a slow broker: fail at once
            print(f"kafka-local: readiness probe misconfigured: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        except Exception as exc:  # any client failure means "not ready yet"
            last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.5)
            continue
        return EXIT_READY
    print(
        f"kafka-local: broker at {bootstrap} not ready after {timeout:.0f}s (last error: {last_error})",
        file=sys.stderr,
    )
    return EXIT_TIMEOUT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kafka-local-helper")
    sub = parser.add_subparsers(dest="command", required=True)
    ports = sub.add_parser("free-ports", help="print N free TCP ports on 127.0.0.1, one per line")
    ports.add_argument("count", type=int)
    sub.add_parser("cluster-id", help="print a random KRaft cluster id")
    ready = sub.add_parser("wait-ready", help="wait until a metadata request succeeds")
    ready.add_argument("--bootstrap", required=True)
    ready.add_argument("--pid", type=int, default=None)
    ready.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args(argv)
    if args.command == "free-ports":
        print("\n".join(str(p) for p in free_ports(args.count)))
        return 0
    if args.command == "cluster-id":
        print(cluster_id())
        return 0
    return wait_ready(args.bootstrap, args.pid, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
