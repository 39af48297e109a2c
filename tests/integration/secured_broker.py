"""A second, secured Kafka broker for the TLS and SASL tests, on the jars ``scripts/kafka-local`` assembled.

:func:`start_secured_broker` writes a certificate authority, a broker certificate (for 127.0.0.1) and a client
certificate (mutual TLS), formats a KRaft log dir with SCRAM-SHA-256 and SCRAM-SHA-512 credentials and starts
one broker with five listeners::

    PLAINTEXT       (inter-broker, and the readiness probe)
    SSL             mutual TLS: the client must show a certificate signed by the CA
    SASL_PLAINTEXT  PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    SASL_SSL        the same mechanisms over TLS (server certificate only)
    CONTROLLER
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
HELPER = REPO / "scripts" / "kafka" / "helper.py"
USER, PASSWORD = "oncall", "s3cret-Pa55"
PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              f'user_{USER}="{PASSWORD}";')
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


@dataclass(frozen=True)
class SecuredBroker:
    """Where the secured broker listens and the files a client needs."""

    ports: dict[str, int]  # listener name -> port
    ca_file: Path
    client_cert: Path
    client_key: Path
    process: subprocess.Popen[bytes]
    log: Path

    def bootstrap(self, listener: str) -> str:
        return f"127.0.0.1:{self.ports[listener]}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def kafka_libs() -> Path | None:
    """The broker jars of ``scripts/kafka-local`` (in ``DRIFTWARDEN_LOCAL_DIR``, default ``<repo>/.local``)."""
    libs = Path(os.environ.get("DRIFTWARDEN_LOCAL_DIR") or REPO / ".local") / "kafka" / "libs"
    return libs if any(libs.glob("kafka_2.13-*.jar")) else None


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey]
                 | None, *, server: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, signer = issuer if issuer else (_name(subject), key)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 (as one key+chain PEM, Kafka's PEM key store, and as a chain and a
    key, PostgreSQL's) and a client certificate and key."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("driftwarden test CA", ca_key, None, server=False)
    pem = serialization.Encoding.PEM
    files = {name: folder / f"{name}.pem" for name in ("ca", "broker", "server-cert", "server-key", "client-cert",
                                                        "client-key")}
    files["ca"].write_bytes(ca.public_bytes(pem))
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = _certificate("127.0.0.1", broker_key, (ca.subject, ca_key), server=True)
    files["broker"].write_bytes(_pem_key(broker_key) + broker.public_bytes(pem) + ca.public_bytes(pem))
    files["server-cert"].write_bytes(broker.public_bytes(pem) + ca.public_bytes(pem))
    files["server-key"].write_bytes(_pem_key(broker_key))
    files["server-key"].chmod(0o600)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate("driftwarden-client", client_key, (ca.subject, ca_key), server=False)
    files["client-cert"].write_bytes(client.public_bytes(pem))
    files["client-key"].write_bytes(_pem_key(client_key))
    return files


def _properties(ports: dict[str, int], files: dict[str, Path], data: Path) -> str:
    listeners = ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items())
    advertised = ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items() if name != "CONTROLLER")
    lines = [
        "process.roles=broker,controller", "node.id=1", f"controller.quorum.voters=1@127.0.0.1:{ports['CONTROLLER']}",
        f"listeners={listeners}", f"advertised.listeners={advertised}",
        "listener.security.protocol.map=" + ",".join(f"{n}:{'PLAINTEXT' if n == 'CONTROLLER' else n}" for n in ports),
        "inter.broker.listener.name=PLAINTEXT", "controller.listener.names=CONTROLLER", f"log.dirs={data}",
        "ssl.keystore.type=PEM", f"ssl.keystore.location={files['broker']}",
        "ssl.truststore.type=PEM", f"ssl.truststore.location={files['ca']}",
        "listener.name.ssl.ssl.client.auth=required",
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
    ]
    for listener in ("sasl_plaintext", "sasl_ssl"):
        lines.append(f"listener.name.{listener}.plain.sasl.jaas.config={PLAIN_JAAS}")
        lines += [f"listener.name.{listener}.{m}.sasl.jaas.config={SCRAM_JAAS}" for m in ("scram-sha-256",
                                                                                           "scram-sha-512")]
    lines += [f"{key}=1" for key in (
        "offsets.topic.replication.factor", "offsets.topic.num.partitions", "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr", "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr", "default.replication.factor", "min.insync.replicas",
        "num.partitions", "num.network.threads", "num.recovery.threads.per.data.dir")]
    lines += ["group.initial.rebalance.delay.ms=0", "auto.create.topics.enable=true", "num.io.threads=2"]
    return "\n".join(lines) + "\n"


def _helper(*args: str) -> str:
    return subprocess.run([sys.executable, str(HELPER), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def start_secured_broker(libs: Path, folder: Path, timeout: float = 120.0) -> SecuredBroker:
    """Format and start the broker under ``folder``; returns once a metadata request on PLAINTEXT succeeds."""
    files = write_certificates(folder / "tls")
    names = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", "CONTROLLER")
    ports = dict(zip(names, (int(p) for p in _helper("free-ports", str(len(names))).split()), strict=True))
    config = folder / "server.properties"
    config.write_text(_properties(ports, files, folder / "data"))
    java = ["java", "-Xmx384m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={REPO / 'scripts' / 'kafka' / 'log4j2.xml'}", "-cp", f"{libs}/*"]
    scram = [arg for m in ("SCRAM-SHA-256", "SCRAM-SHA-512")
             for arg in ("--add-scram", f"{m}=[name={USER},password={PASSWORD}]")]
    subprocess.run([*java, "kafka.tools.StorageTool", "format", "-t", _helper("cluster-id"), "-c", str(config),
                    *scram], check=True, capture_output=True, timeout=120)
    log = folder / "broker.log"
    with log.open("wb") as out:
        process = subprocess.Popen([*java, "kafka.Kafka", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=folder)
    broker = SecuredBroker(ports, files["ca"], files["client-cert"], files["client-key"], process, log)
    ready = subprocess.run([sys.executable, str(HELPER), "wait-ready", "--bootstrap", broker.bootstrap("PLAINTEXT"),
                            "--pid", str(process.pid), "--timeout", str(timeout)], capture_output=True, text=True)
    if ready.returncode != 0:
        broker.stop()
        raise RuntimeError(f"secured broker did not start: {ready.stderr.strip()}\n{log.read_text()[-3000:]}")
    return broker
