"""The engine reader on a fake Docker socket: lists, inspects, logs (multiplexed or not), a gone
container, an engine that answers with an error."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from lares.deploy import engine
from lares.dockerapi import DockerAPI, EngineDown, _demux


def _frame(stream: int, text: str) -> bytes:
    data = text.encode()
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


INSPECT = {"Id": "abc", "Name": "/web", "Config": {"Tty": False, "Labels": {}}, "State": {}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []  # noqa: RUF012 - one fake engine per test module
    api = "1.41"  # the API version the fake engine serves
    announce = False  # whether its ping names it, as every engine since 1.25 does

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.seen.append(self.path)
        path = url.path.removeprefix(f"/v{self.api}")
        status, body = 404, b'{"message": "no such thing"}'
        headers = {}
        if url.path == "/_ping":
            status, body = 200, b"OK"
            headers = {"API-Version": self.api} if self.announce else {}
        elif path == "/containers/json":
            status, body = 200, json.dumps([{"Id": "abc"}, {"Id": "gone"}]).encode()
        elif path == "/containers/abc/json":
            status, body = 200, json.dumps(INSPECT).encode()
        elif path == "/containers/abc/logs":
            tail = parse_qs(url.query)["tail"][0]
            status, body = 200, _frame(1, f"out {tail}\n") + _frame(2, "err\n")
        elif path == "/version":
            status, body = 500, b"engine on fire"
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[DockerAPI]:
    sock = tmp_path / "docker.sock"
    server = socketserver.ThreadingUnixStreamServer(str(sock), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = DockerAPI(f"unix://{sock}", timeout=5)
    try:
        yield client
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_a_multiplexed_log_is_its_payload() -> None:
    assert _demux(_frame(1, "a\n") + _frame(2, "b\n")) == b"a\nb\n"
    assert _demux(b"") == b""


def test_inspect_all_skips_a_container_gone_since_the_list(api: DockerAPI) -> None:
    assert api.inspect_all("com.docker.compose.project=front") == [INSPECT]
    listed = next(p for p in _Handler.seen if p.startswith("/v1.41/containers/json"))
    assert "com.docker.compose.project%3Dfront" in listed
    assert api.inspect("gone") is None


def test_logs_and_their_absence(api: DockerAPI) -> None:
    assert engine.logs_tail(api, INSPECT, 7) == "out 7\nerr\n"
    assert engine.logs_tail(api, {"Id": "gone"}) == "(no logs: the container is gone)"


def test_an_error_answer_is_engine_down_naming_it(api: DockerAPI) -> None:
    with pytest.raises(EngineDown, match="answered 500 to GET /version: engine on fire"):
        api.version()


def test_no_daemon_is_an_engine_error_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    with pytest.raises(engine.EngineError, match="cannot reach the Docker daemon") as err:
        engine.client()
    assert err.value.hint and "start Docker" in err.value.hint


def test_the_api_version_is_the_engines_when_newer(api: DockerAPI) -> None:
    # an engine that says nothing newer is asked in 1.41
    assert api.api_version == "v1.41"
    # Engine 29 refuses versions before 1.44: the version its ping names is used
    _Handler.api, _Handler.announce = "1.47", True
    try:
        newer = DockerAPI(api.host, timeout=5)
        assert newer.api_version == "v1.47"
        assert newer.inspect("abc") == INSPECT
        assert "/v1.47/containers/abc/json" in _Handler.seen
        newer.close()
        _Handler.api = "1.24"  # an older engine's answer never lowers the version
        assert DockerAPI(api.host, timeout=5).api_version == "v1.41"
    finally:
        _Handler.api, _Handler.announce = "1.41", False
