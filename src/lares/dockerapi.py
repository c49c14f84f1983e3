"""A small reader of the Docker Engine API, on the standard library alone.

Every read lares makes of the engine goes through here: containers and their inspect data, logs,
networks, the version, disk use, the event stream and (when cgroup files are out of reach)
one-shot stats — for the deploy, ``lares ps``, the watcher, the audit and the drill sweep. The
Docker SDK would do the same through requests and urllib3, which cost about 9 MB of resident
memory that a watcher running all day does not have to spend, and a tenth of a second of
start-up that a no-op `lares up` does not have either. Only GET requests are made: this module
never changes anything; changes go through the ``docker`` and ``docker compose`` command lines
(:mod:`lares.deploy.engine`, via :mod:`lares.run`).

``DOCKER_HOST`` is honoured for ``unix://`` sockets and plain ``tcp://`` (no TLS).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from lares.errors import LaresError

# Docker Engine 20.10, as lares.deploy.engine requires: the version asked for unless the engine
# names a newer one (engines from 29 on refuse anything older than 1.44)
API_VERSION = "v1.41"
DEFAULT_SOCKET = "/var/run/docker.sock"
HINT = "start Docker (systemctl start docker) and check that lares may use its socket"


class EngineDown(LaresError):
    """The Docker daemon does not answer, or answered with an error."""

    code = "docker"


def _newer(version: str, than: str) -> bool:
    """Whether API ``version`` ("1.47") is newer than ``than``; False when it is no version."""
    try:
        return tuple(int(p) for p in version.split(".")) > tuple(int(p) for p in than.split("."))
    except ValueError:
        return False


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class DockerAPI:
    """GET requests to the engine, over one kept-alive connection (thread-safe)."""

    def __init__(self, host: str | None = None, *, timeout: float = 10.0) -> None:
        self.host = host or os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        parts = urlsplit(self.host)
        if parts.scheme not in ("unix", "tcp", "http"):
            raise EngineDown(
                f"DOCKER_HOST {self.host} is not supported (unix://, or tcp:// without TLS)",
                hint="point DOCKER_HOST at the local socket, e.g. unix:///var/run/docker.sock",
            )
        self._unix = parts.path if parts.scheme == "unix" else None
        self._tcp = (parts.hostname or "localhost", parts.port or 2375)
        self._api: str | None = None

    def _connect(self, timeout: float | None) -> http.client.HTTPConnection:
        if self._unix is not None:
            return _UnixConnection(self._unix, timeout)
        return http.client.HTTPConnection(*self._tcp, timeout=timeout)

    @property
    def api_version(self) -> str:
        """The API version requests use: the engine's own (from its ping's ``API-Version``
        header, as the Docker CLI negotiates it) when newer than 1.41, else 1.41."""
        if self._api is None:
            self._api = API_VERSION
            conn = self._connect(self.timeout)
            try:
                conn.request("GET", "/_ping")
                response = conn.getresponse()
                response.read()
                said = response.getheader("API-Version") or ""
            except (OSError, http.client.HTTPException):
                said = ""  # the first request says what is wrong
            finally:
                conn.close()
            if _newer(said, API_VERSION[1:]):
                self._api = f"v{said}"
        return self._api

    def _url(self, path: str, query: Mapping[str, Any] | None) -> str:
        url = f"/{self.api_version}{path}"
        if query:
            url += "?" + urlencode(
                {k: json.dumps(v) if isinstance(v, dict) else v for k, v in query.items()}
            )
        return url

    def _request(self, path: str, query: Mapping[str, Any] | None) -> tuple[int, bytes]:
        url = self._url(path, query)
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._connect(self.timeout)
                try:
                    self._conn.request("GET", url)
                    response = self._conn.getresponse()
                    return response.status, response.read()
                except (OSError, http.client.HTTPException) as exc:
                    self._conn.close()
                    self._conn = None
                    # A kept-alive connection the daemon closed fails once; a fresh one tells.
                    if attempt == 2 or not isinstance(
                        exc, http.client.RemoteDisconnected | BrokenPipeError
                    ):
                        raise EngineDown(
                            f"cannot reach the Docker daemon at {self.host}: {exc}", hint=HINT
                        ) from None
        raise AssertionError("unreachable")

    def raw(self, path: str, query: Mapping[str, Any] | None = None) -> bytes | None:
        """The body of the answer to ``GET path``; None on 404; :class:`EngineDown` otherwise."""
        status, body = self._request(path, query)
        if status == 404:
            return None
        if status >= 400:
            raise EngineDown(
                f"the Docker daemon answered {status} to GET {path}: "
                + body.decode(errors="replace").strip()[:200],
                hint=HINT,
            )
        return body

    def get(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON answer to ``GET path``; None on 404; :class:`EngineDown` otherwise."""
        body = self.raw(path, query)
        return json.loads(body) if body else None

    def ping(self) -> None:
        url = "/_ping"
        with self._lock:
            conn = self._connect(self.timeout)
            try:
                conn.request("GET", url)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise EngineDown(
                    f"cannot reach the Docker daemon at {self.host}: {exc}", hint=HINT
                ) from None
            finally:
                conn.close()
        if response.status != 200:
            raise EngineDown(f"the Docker daemon answered {response.status} to ping", hint=HINT)

    def version(self) -> dict[str, Any]:
        """The engine's version answer (``Version``, ``ApiVersion``, …)."""
        data = self.get("/version")
        return data if isinstance(data, dict) else {}

    def containers(self, label: str | None = "io.lares.stack") -> list[dict[str, Any]]:
        """Every container (running or not), with ``label`` when given (``key`` or
        ``key=value``)."""
        query: dict[str, Any] = {"all": "1"}
        if label:
            query["filters"] = {"label": [label]}
        return list(self.get("/containers/json", query) or [])

    def inspect(self, ident: str) -> dict[str, Any] | None:
        """``docker inspect`` of one container, or None when it is gone."""
        data = self.get(f"/containers/{quote(ident, safe='')}/json")
        return data if isinstance(data, dict) else None

    def inspect_all(self, label: str | None = "io.lares.stack") -> list[dict[str, Any]]:
        """``docker inspect`` of every container with ``label``; one removed between the list
        and its inspect (Compose replacing it, another tool) is simply not there any more."""
        found = (self.inspect(c["Id"]) for c in self.containers(label))
        return [data for data in found if data is not None]

    def logs(self, ident: str, *, tail: int, tty: bool = False) -> str | None:
        """The last ``tail`` lines a container wrote (stdout and stderr), or None when it is
        gone. ``tty``: the container has a terminal, so its output is not multiplexed."""
        query = {"stdout": "1", "stderr": "1", "tail": str(tail)}
        body = self.raw(f"/containers/{quote(ident, safe='')}/logs", query)
        if body is None:
            return None
        return (body if tty else _demux(body)).decode(errors="replace")

    def network(self, name: str) -> dict[str, Any] | None:
        """``docker network inspect`` of one network, or None when there is none of that name."""
        data = self.get(f"/networks/{quote(name, safe='')}")
        return data if isinstance(data, dict) else None

    def networks(self) -> list[dict[str, Any]]:
        return list(self.get("/networks") or [])

    def df(self) -> dict[str, Any]:
        """What Docker holds on its disk (``docker system df -v``)."""
        data = self.get("/system/df")
        return data if isinstance(data, dict) else {}

    def stats(self, ident: str) -> dict[str, Any] | None:
        """One stats reading of a running container, without waiting for a second one."""
        data = self.get(
            f"/containers/{quote(ident, safe='')}/stats", {"stream": "false", "one-shot": "true"}
        )
        return data if isinstance(data, dict) else None

    def events(
        self, *, since: float, filters: Mapping[str, list[str]], until: float | None = None
    ) -> Events:
        """Follow the event stream from ``since`` (a Unix time) on its own connection; with
        ``until`` the daemon ends the stream there (a time in the past: the events it kept)."""
        conn = self._connect(None)
        params: dict[str, Any] = {"since": f"{since:.3f}", "filters": dict(filters)}
        if until is not None:
            params["until"] = f"{until:.3f}"
        url = self._url("/events", params)
        try:
            conn.request("GET", url)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise EngineDown(
                f"cannot follow Docker events at {self.host}: {exc}", hint=HINT
            ) from None
        if response.status != 200:
            conn.close()
            raise EngineDown(f"the Docker daemon answered {response.status} to GET /events")
        return Events(conn, response)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _demux(body: bytes) -> bytes:
    """The payload of a multiplexed log stream: frames of an 8-byte header (stream, 0, 0, 0,
    size as 4 bytes big-endian) and ``size`` bytes."""
    out, at = bytearray(), 0
    while at + 8 <= len(body):
        size = int.from_bytes(body[at + 4 : at + 8], "big")
        out += body[at + 8 : at + 8 + size]
        at += 8 + size
    return bytes(out)


class Events:
    """An open event stream: iterate for event dicts; :meth:`close` ends the iteration."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse):
        self._conn = conn
        self._response = response
        self._closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            while not self._closed:
                try:
                    line = self._response.readline()
                except (OSError, ValueError, http.client.HTTPException):
                    return
                if not line:
                    return
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    yield event
        finally:
            self._conn.close()

    def close(self) -> None:
        """End the iteration; safe from another thread while one blocks reading.

        Only the socket is shut down here: the reading thread sees the end of the stream and
        closes the connection itself (closing it from here races with its read).
        """
        self._closed = True
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
