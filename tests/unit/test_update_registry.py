"""The registry client against a local HTTP server speaking the Registry API v2 with token auth.

The public registries (Docker Hub, ghcr.io, lscr.io) cannot be reached here; the server below
answers as they do: 401 with a Bearer challenge, a token service, paged tag lists with a Link
header, and the digest in Docker-Content-Digest.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from lares.update.registry import MAX_PAGES, Reference, Registry, RegistryError

DIGEST = "sha256:" + "ab" * 32
PAGES = [["1.0.0", "1.0.1"], ["1.1.0", "2.0.0"]]


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: object = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.server.seen.append(self.path)
        if url.path == "/token":
            assert query["scope"] == ["repository:library/web:pull"]
            assert query["service"] == ["test.registry"]
            return self._send(200, {"token": "t0ken"})
        if self.headers.get("Authorization") != "Bearer t0ken":
            realm = f"http://127.0.0.1:{self.server.server_port}/token"
            scope = "repository:library/web:pull"
            challenge = f'Bearer realm="{realm}",service="test.registry",scope="{scope}"'
            return self._send(401, {"errors": []}, {"WWW-Authenticate": challenge})
        if url.path == "/v2/library/web/tags/list":
            if self.server.endless:
                return self._send(
                    200, {"tags": ["1"]}, {"Link": '</v2/library/web/tags/list?last=1>; rel="next"'}
                )
            page = 1 if "last" in query else 0
            link = (
                {"Link": '</v2/library/web/tags/list?last=1.0.1&n=2>; rel="next"'}
                if page == 0
                else {}
            )
            return self._send(200, {"name": "library/web", "tags": PAGES[page]}, link)
        if url.path == "/v2/library/web/manifests/1.0.0":
            assert "application/vnd.oci.image.index.v1+json" in self.headers["Accept"]
            return self._send(200, None, {"Docker-Content-Digest": DIGEST})
        self._send(404, {"errors": [{"code": "NAME_UNKNOWN"}]})


class Server(http.server.ThreadingHTTPServer):
    seen: list[str]
    endless: bool


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Handler)
    srv.seen, srv.endless = [], False
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _ref(server: Server, tag: str = "1.0.0") -> Reference:
    # a registry on loopback, with the repository spelled as Docker Hub's official images are
    return Reference(f"127.0.0.1:{server.server_port}", "library/web", tag)


def test_tags_follow_the_token_challenge_and_the_pages(server: Server) -> None:
    with Registry() as reg:
        assert reg.tags(_ref(server)) == ["1.0.0", "1.0.1", "1.1.0", "2.0.0"]
        assert reg.digest(_ref(server)) == DIGEST
    # one token for the repository, asked once
    assert sum(p.startswith("/token") for p in server.seen) == 1


def test_a_registry_that_pages_forever_is_stopped(server: Server) -> None:
    server.endless = True
    with Registry() as reg, pytest.raises(RegistryError, match=f"more than {MAX_PAGES} pages"):
        reg.tags(_ref(server))


def test_an_unknown_image_is_an_error_that_names_it(server: Server) -> None:
    ref = Reference(f"127.0.0.1:{server.server_port}", "library/nope", "1")
    with Registry() as reg, pytest.raises(RegistryError, match="no such image"):
        reg.tags(ref)


@pytest.mark.parametrize(
    ("image", "registry", "repository", "tag", "url"),
    [
        (
            "nextcloud:33.0.7",
            "docker.io",
            "library/nextcloud",
            "33.0.7",
            "https://registry-1.docker.io",
        ),
        (
            "louislam/uptime-kuma:2",
            "docker.io",
            "louislam/uptime-kuma",
            "2",
            "https://registry-1.docker.io",
        ),
        (
            "lscr.io/linuxserver/sonarr:4.0.14",
            "lscr.io",
            "linuxserver/sonarr",
            "4.0.14",
            "https://lscr.io",
        ),
        (
            "ghcr.io/immich-app/immich-server:v2.7.5",
            "ghcr.io",
            "immich-app/immich-server",
            "v2.7.5",
            "https://ghcr.io",
        ),
        (
            "127.0.0.1:5000/lt/web:1.0.0",
            "127.0.0.1:5000",
            "lt/web",
            "1.0.0",
            "http://127.0.0.1:5000",
        ),
        ("localhost:5000/web", "localhost:5000", "web", "latest", "http://localhost:5000"),
    ],
)
def test_references_split_as_docker_splits_them(
    image: str, registry: str, repository: str, tag: str, url: str
) -> None:
    ref = Reference.parse(image)
    assert (ref.registry, ref.repository, ref.tag, ref.base_url) == (registry, repository, tag, url)
