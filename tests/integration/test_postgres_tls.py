"""PostgreSQL over TLS as the README documents it: libpq's ``sslmode``/``sslrootcert`` in the database URL.

A throwaway PostgreSQL server of the test's own (the ``postgresql`` package's binaries, as
``scripts/postgres-local`` uses them) serves TLS with a certificate made by the test and accepts only TLS
connections (``hostssl`` in pg_hba.conf). ``driftwarden db upgrade`` and ``db current`` work with
``sslmode=verify-full``; without TLS, or against a certificate authority that did not sign the server's, they
exit 2 with one line.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from secured_broker import write_certificates

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DRIVER = [sys.executable, "-m", "monitor.cli"]


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else args


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tls_server(pg_server_url: str) -> Iterator[tuple[str, Path]]:
    """``(URL without TLS parameters, CA file)`` of a PostgreSQL server that accepts TLS connections only."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.fail("initdb not found (the postgresql package that `make test` installs)")
    initdb, pg_ctl = bins[-1], str(Path(bins[-1]).with_name("pg_ctl"))
    root = Path(tempfile.mkdtemp(prefix="dw-pg-tls-"))  # not under pytest's root-only folder: postgres reads it
    files = write_certificates(root / "tls")
    data = root / "data"
    if os.getuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        for path in [root / "tls", *files.values()]:
            shutil.chown(path, "postgres", "postgres")
    subprocess.run(_as_owner([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                              "--no-locale"]), check=True, capture_output=True, timeout=120)
    (data / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
    port = _free_port()
    options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on "
               f"-c ssl_cert_file={files['server-cert']} -c ssl_key_file={files['server-key']}")
    subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-l", str(root / "pg.log"), "-w", "-o", options, "start"]),
                   check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", files["ca"]
    finally:
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True,
                       timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DRIVER, *args], capture_output=True, text=True, timeout=120)


def test_verify_full_connects_and_migrates(tls_server: tuple[str, Path]) -> None:
    url, ca = tls_server
    secured = f"{url}?sslmode=verify-full&sslrootcert={ca}"
    done = _cli("db", "upgrade", "--db", secured)
    assert done.returncode == 0, done.stderr
    current = _cli("db", "current", "--db", secured)
    assert current.returncode == 0 and current.stdout.strip() not in {"", "empty"}, current.stderr


@pytest.mark.parametrize("case", ["no TLS", "another CA"])
def test_a_refused_tls_connection_is_one_line(case: str, tls_server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = tls_server
    if case == "no TLS":
        query, expected = "sslmode=disable", "no encryption"
    else:
        query, expected = f"sslmode=verify-full&sslrootcert={write_certificates(tmp_path)['ca']}", "SSL error"
    done = _cli("db", "current", "--db", f"{url}?{query}")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert expected in done.stderr, done.stderr
