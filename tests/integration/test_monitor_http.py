"""Endpoint checks against real HTTP and HTTPS servers on loopback."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from lares.monitor.collectors import http as http_collector
from lares.monitor.config import Endpoint, WatchConfig
from lares.monitor.status import check

TIMEOUT = 1.0


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers by path: /ok 200, /fail 500, /slow after 3 s, /login a redirect."""

    hosts: ClassVar[list[str]] = []
    sni: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        Handler.hosts.append(self.headers.get("Host", ""))
        if self.path.startswith("/slow"):
            time.sleep(3 * TIMEOUT)
        status = {"/fail": 500, "/login": 302}.get(self.path, 200)
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/sso")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _certificate(folder: Path, days: float) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.lt.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("app.lt.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, int]]:
    """A plain HTTP server, an HTTPS one whose certificate ends in 5 days, a closed port."""
    plain = Server(("127.0.0.1", 0), Handler)
    tls = Server(("127.0.0.1", 0), Handler)
    cert, key = _certificate(tmp_path, 5)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: Handler.sni.append(name)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (plain, tls)]
    for t in threads:
        t.start()
    Handler.hosts, Handler.sni = [], []
    try:
        yield {"http": plain.server_address[1], "https": tls.server_address[1], "closed": closed}
    finally:
        for s in (plain, tls):
            s.shutdown()
            s.server_close()


def test_endpoints_up_down_slow_refused_and_expiring(servers: dict[str, int]) -> None:
    http_port, https_port, closed = servers["http"], servers["https"], servers["closed"]
    endpoints = (
        Endpoint(
            "healthy", "s", "lan", f"http://healthy.lt.test:{http_port}/ok", "127.0.0.1", False
        ),
        Endpoint("sso", "s", "public", f"http://127.0.0.1:{http_port}/login"),
        Endpoint(
            "broken", "s", "lan", f"http://broken.lt.test:{http_port}/fail", "127.0.0.1", False
        ),
        Endpoint("slow", "s", "lan", f"http://slow.lt.test:{http_port}/slow", "127.0.0.1", False),
        Endpoint("gone", "s", "lan", f"http://gone.lt.test:{closed}/", "127.0.0.1", False),
        Endpoint(
            "expiring", "s", "lan", f"https://app.lt.test:{https_port}/ok", "127.0.0.1", False
        ),
        Endpoint("untrusted", "s", "public", f"https://127.0.0.1:{https_port}/ok"),
        Endpoint("unknown", "s", "public", "http://no-such-name.invalid/"),
    )
    config = WatchConfig(host="lt", endpoints=endpoints, http_timeout=TIMEOUT)
    started = time.monotonic()
    status = check(config, only=["http"], record=False)
    took = time.monotonic() - started
    assert took < 3 * TIMEOUT, "checks run in parallel, each within its timeout"

    found = {c.key: c for c in status.conditions}
    url = {e.app: e.url for e in endpoints}
    assert set(found) == {
        f"endpoint-down:{url['broken']}",
        f"endpoint-down:{url['slow']}",
        f"endpoint-down:{url['gone']}",
        f"endpoint-down:{url['untrusted']}",
        f"endpoint-down:{url['unknown']}",
        f"cert:{url['expiring']}",
    }
    assert found[f"endpoint-down:{url['broken']}"].message.endswith(
        ": HTTP 500 Internal Server Error"
    )
    assert found[f"endpoint-down:{url['slow']}"].message.endswith(
        f": no answer within {TIMEOUT:g} s"
    )
    assert found[f"endpoint-down:{url['gone']}"].message.endswith(": connection refused")
    assert "certificate not trusted" in found[f"endpoint-down:{url['untrusted']}"].message
    assert found[f"endpoint-down:{url['unknown']}"].message.endswith(
        "cannot resolve no-such-name.invalid"
    )
    cert = found[f"cert:{url['expiring']}"]
    assert cert.severity == "warning" and cert.app == "expiring"
    assert "expires in 4.9 days" in cert.message or "expires in 5.0 days" in cert.message

    by = {(s.subject, s.metric): s for s in status.samples}
    assert by[(url["healthy"], "status_code")].value == 200
    assert by[(url["sso"], "status_code")].value == 302  # a login redirect is up
    assert 0 < (by[(url["healthy"], "latency_seconds")].value or 0) < TIMEOUT
    days = by[(url["expiring"], "cert_days_left")].value
    assert days is not None and 4.9 < days <= 5.0
    # a LAN name that does not resolve here is reached at the configured address, by name
    assert f"healthy.lt.test:{http_port}" in Handler.hosts
    assert f"app.lt.test:{https_port}" in Handler.hosts


def test_probe_sends_the_name_as_sni_and_host_while_connecting_to_the_address(
    servers: dict[str, int],
) -> None:
    port = servers["https"]
    endpoint = Endpoint("a", "s", "lan", f"https://app.lt.test:{port}/ok", "127.0.0.1", False)
    found = http_collector.probe(endpoint, TIMEOUT)
    assert found.up and found.status == 200 and found.cert_not_after is not None
    assert Handler.sni == ["app.lt.test"]
    assert Handler.hosts == [f"app.lt.test:{port}"]
