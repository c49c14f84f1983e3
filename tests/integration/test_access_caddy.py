"""Caddy runs the rendered Caddyfile for real, in front of test backends on loopback.

Each app name answers over HTTPS with a certificate from Caddy's internal CA, verified against
the root certificate `lares ca export` prints; an app with exposure none gets no certificate and
no answer.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from integration.lares_lab import free_port, running_caddy
from lares.blueprint.load import load
from lares.plan import make_context
from lares.render.proxy import caddyfile, sites

DATA = Path(__file__).resolve().parents[1] / "data" / "access"
REPO = Path(__file__).resolve().parents[2]


def backend(name: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"app={name} host={self.headers.get('Host')}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def curl(host: str, port: int, cacert: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "5",
            "--resolve",
            f"{host}:{port}:127.0.0.1",
            "--cacert",
            str(cacert),
            "-D",
            "-",
            f"https://{host}:{port}/",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )


@pytest.fixture
def caddy_site(tmp_path: Path) -> Iterator[tuple[int, Path, dict[str, str]]]:
    """Caddy serving the access blueprint's sites; yields (https port, root cert, app→host)."""
    system = make_context(load(DATA / "blueprint.yaml")).system
    servers = {s.app: backend(s.app) for s in sites(system)}
    upstreams = {app: f"127.0.0.1:{srv.server_address[1]}" for app, srv in servers.items()}
    https_port, http_port = free_port(), free_port()
    config = tmp_path / "Caddyfile"
    config.write_text(
        caddyfile(
            system, upstreams=upstreams, http_port=http_port, https_port=https_port, admin="off"
        )
    )
    try:
        with running_caddy(config, tmp_path) as root:
            yield https_port, root, {s.app: s.hostname for s in sites(system)}
    finally:
        for srv in servers.values():
            srv.shutdown()
            srv.server_close()


def test_every_app_name_answers_over_https_from_the_internal_ca(
    caddy_site: tuple[int, Path, dict[str, str]], tmp_path: Path
) -> None:
    port, root, hosts = caddy_site
    exported = subprocess.run(
        ["lares", "ca", "export", "--from", str(root)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert exported.startswith("-----BEGIN CERTIFICATE-----")
    cacert = tmp_path / "exported-root.crt"
    cacert.write_text(exported)
    assert set(hosts) == {"pihole", "ahost", "aweb", "apub"}
    for app, host in hosts.items():
        deadline = time.monotonic() + 30
        while True:
            result = curl(host, port, cacert)
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # Caddy issues the certificates in the background at start
        assert result.returncode == 0, result.stderr
        head, _, body = result.stdout.partition("\n\n")
        headers = dict(
            (name.strip().lower(), value.strip())
            for name, sep, value in (line.partition(":") for line in head.splitlines()[1:])
            if sep
        )
        assert head.split()[1] == "200", result.stdout
        assert body == f"app={app} host={host}:{port}", repr(result.stdout)
        assert headers["strict-transport-security"] == "max-age=31536000"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "server" not in headers


def test_an_app_with_exposure_none_is_not_served(
    caddy_site: tuple[int, Path, dict[str, str]],
) -> None:
    port, root, hosts = caddy_site
    assert curl(hosts["aweb"], port, root).returncode == 0
    hidden = curl("ahidden.home.lan", port, root)
    assert hidden.returncode != 0
    assert "app=ahidden" not in hidden.stdout


@pytest.mark.parametrize("blueprint", [None, DATA / "blueprint.yaml"], ids=["reference", "access"])
def test_caddy_validates_every_rendered_caddyfile(blueprint: Path | None, tmp_path: Path) -> None:
    system = make_context(load(blueprint)).system
    config = tmp_path / "Caddyfile"
    config.write_text(caddyfile(system))
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    result = subprocess.run(
        ["caddy", "validate", "--config", str(config), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Valid configuration" in result.stdout + result.stderr
