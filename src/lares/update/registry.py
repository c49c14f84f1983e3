"""Ask an image registry what it holds: the Registry HTTP API v2 / OCI distribution spec.

No Docker daemon is needed. A reference is split as Docker splits it (``nextcloud`` is
``docker.io/library/nextcloud``; a first part with a dot, a colon or ``localhost`` is a registry).
Anonymous token auth is what Docker Hub, ghcr.io and lscr.io answer a 401 with: the
``WWW-Authenticate: Bearer realm=…,service=…,scope=…`` challenge is followed once per repository.
A registry on loopback is spoken to over plain HTTP, as dockerd allows it; any other over HTTPS.

Responses are bounded (a hostile or broken registry cannot make lares read gigabytes or loop
through pages forever) and every failure is a :class:`RegistryError` that names the registry, so
``lares outdated`` reports it and goes on with the other images.
"""

from __future__ import annotations

import json
import platform
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lares.errors import LaresError

if TYPE_CHECKING:
    import httpx

DOCKER_HUB = "docker.io"
_HUB_API = "registry-1.docker.io"
MAX_BODY = 4 * 1024 * 1024  # a tags page of 10,000 tags is about 200 kB
MAX_PAGES = 50
TIMEOUT = 10.0
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_NEXT = re.compile(r"<([^>]+)>\s*;\s*rel=\"?next\"?")


class RegistryError(LaresError):
    code = "registry"


@dataclass(frozen=True)
class Reference:
    """An image reference split into where it lives and what it is called there."""

    registry: str  # docker.io, ghcr.io, 127.0.0.1:5000
    repository: str  # library/nextcloud, immich-app/immich-server
    tag: str

    @classmethod
    def parse(cls, image: str) -> Reference:
        name, _, digest = image.partition("@")
        tag = ""
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name, tag = name.rsplit(":", 1)
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, rest
        else:
            registry, repository = DOCKER_HUB, name
        if registry == DOCKER_HUB and "/" not in repository:
            repository = f"library/{repository}"
        return cls(registry=registry, repository=repository, tag=tag or digest or "latest")

    @property
    def name(self) -> str:
        """The reference without its tag, as a person writes it."""
        if self.registry == DOCKER_HUB:
            return self.repository.removeprefix("library/")
        return f"{self.registry}/{self.repository}"

    @property
    def base_url(self) -> str:
        host = _HUB_API if self.registry == DOCKER_HUB else self.registry
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        loopback = hostname in ("localhost", "[::1]") or hostname.startswith("127.")
        return f"{'http' if loopback else 'https'}://{host}"


@dataclass
class Registry:
    """A client for one or more registries; keeps each repository's token for the session.
    Its methods may be called from several threads at once."""

    client: httpx.Client | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    _opening: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()

    def _http(self) -> httpx.Client:
        with self._opening:  # one client for every thread of `lares outdated`
            if self.client is None:
                import httpx

                self.client = httpx.Client(timeout=TIMEOUT, follow_redirects=True)
            return self.client

    def tags(self, ref: Reference) -> list[str]:
        """Every tag of the repository, following the registry's pages."""
        url: str | None = f"{ref.base_url}/v2/{ref.repository}/tags/list?n=1000"
        found: list[str] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return found
            response, body = self._get(ref, url)
            data = _json(ref, body)
            tags = data.get("tags") or []
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise RegistryError(f"{ref.registry}: the tag list of {ref.name} is not a list")
            found.extend(tags)
            link = _NEXT.search(response.headers.get("link", ""))
            url = _absolute(ref, link.group(1)) if link else None
        raise RegistryError(f"{ref.registry}: more than {MAX_PAGES} pages of tags for {ref.name}")

    def digest(self, ref: Reference, tag: str | None = None) -> str:
        """The digest the tag points at now (of the index for a multi-platform image)."""
        url = f"{ref.base_url}/v2/{ref.repository}/manifests/{tag or ref.tag}"
        response, _ = self._get(ref, url, method="HEAD", accept=MANIFEST_TYPES)
        digest = response.headers.get("docker-content-digest", "")
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise RegistryError(
                f"{ref.registry}: no digest for {ref.name}:{tag or ref.tag}",
                hint="the registry did not send Docker-Content-Digest",
            )
        return digest

    def created(self, ref: Reference, tag: str | None = None) -> datetime:
        """When the image the tag points at was built: the ``created`` of its image config
        (manifest → config blob), of this machine's platform in a multi-platform index."""
        name = tag or ref.tag
        manifest = self._manifest(ref, name)
        if isinstance(manifest.get("manifests"), list):
            chosen = _platform(manifest["manifests"])
            if chosen is None:
                raise RegistryError(f"{ref.registry}: {ref.name}:{name} has no linux image")
            manifest = self._manifest(ref, chosen)
        config = (manifest.get("config") or {}).get("digest")
        if not isinstance(config, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", config):
            raise RegistryError(f"{ref.registry}: the manifest of {ref.name}:{name} has no config")
        _, body = self._get(ref, f"{ref.base_url}/v2/{ref.repository}/blobs/{config}")
        when = _timestamp(_json(ref, body).get("created"))
        if when is None:
            raise RegistryError(f"{ref.registry}: {ref.name}:{name} does not say when it was built")
        return when

    def _manifest(self, ref: Reference, tag_or_digest: str) -> dict[str, Any]:
        url = f"{ref.base_url}/v2/{ref.repository}/manifests/{tag_or_digest}"
        return _json(ref, self._get(ref, url, accept=MANIFEST_TYPES)[1])

    def _get(
        self, ref: Reference, url: str, *, method: str = "GET", accept: str | None = None
    ) -> tuple[httpx.Response, bytes]:
        import httpx

        for attempt in (1, 2):
            headers = {"Accept": accept} if accept else {}
            token = self.tokens.get(_scope(ref))
            if token:
                headers["Authorization"] = f"Bearer {token}"
            try:
                with self._http().stream(method, url, headers=headers) as response:
                    body = _bounded(ref, response)
            except httpx.HTTPError as exc:
                raise RegistryError(
                    f"{ref.registry}: cannot reach the registry ({type(exc).__name__}: {exc})",
                    hint="check the network, or the registry's name in the image",
                ) from None
            if response.status_code == 401:
                if attempt == 2:  # a fresh token, refused too
                    break
                self.tokens[_scope(ref)] = self._token(ref, response)
                continue
            if response.status_code == 404:
                raise RegistryError(f"{ref.registry}: no such image or tag: {ref.name}")
            if response.status_code >= 400:
                raise RegistryError(
                    f"{ref.registry}: {method} {ref.name} answered HTTP {response.status_code}"
                )
            return response, body
        self.tokens.pop(_scope(ref), None)
        raise RegistryError(
            f"{ref.registry}: refused access to {ref.name} after logging in",
            hint="the registry refused the token its own token service gave: the image may be "
            "private, or the registry's token setup is broken; try again later",
        )

    def _token(self, ref: Reference, response: httpx.Response) -> str:
        challenge = response.headers.get("www-authenticate", "")
        if not challenge.lower().startswith("bearer "):
            raise RegistryError(
                f"{ref.registry}: {ref.name} needs a login lares does not have",
                hint="lares asks registries anonymously; a private image cannot be checked",
            )
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{ref.registry}: an auth challenge without a realm")
        params.setdefault("scope", f"repository:{ref.repository}:pull")
        import httpx

        try:
            with self._http().stream("GET", realm, params=params) as answer:
                body = _bounded(ref, answer)
        except httpx.HTTPError as exc:
            raise RegistryError(f"{ref.registry}: cannot get a token ({exc})") from None
        if answer.status_code != 200:
            raise RegistryError(f"{ref.registry}: the token service answered {answer.status_code}")
        data = _json(ref, body)
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{ref.registry}: the token service sent no token")
        return token


def _platform(manifests: list[Any]) -> str | None:
    """The digest of this machine's image in an index (else the first linux one); attestation
    manifests (``unknown/unknown``) are never chosen."""
    arch = _ARCH.get(platform.machine(), platform.machine())
    linux = [
        m
        for m in manifests
        if isinstance(m, dict)
        and isinstance(m.get("digest"), str)
        and (m.get("platform") or {}).get("os") == "linux"
    ]
    mine = [m for m in linux if (m.get("platform") or {}).get("architecture") == arch]
    return str((mine or linux)[0]["digest"]) if mine or linux else None


def _timestamp(value: object) -> datetime | None:
    """An image config's ``created`` (RFC 3339, nanoseconds allowed) as an aware datetime."""
    match = _TIMESTAMP.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    seconds, fraction, zone = match.groups()
    text = seconds + (fraction or "")[:7] + ("+00:00" if zone == "Z" else zone)
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def _scope(ref: Reference) -> str:
    return f"{ref.registry}/{ref.repository}"


def _absolute(ref: Reference, link: str) -> str:
    return link if link.startswith(("http://", "https://")) else ref.base_url + link


def _bounded(ref: Reference, response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise RegistryError(f"{ref.registry}: an answer over {MAX_BODY // 1024 // 1024} MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(ref: Reference, body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise RegistryError(f"{ref.registry}: an answer that is not JSON") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{ref.registry}: an answer that is not a JSON object")
    return data
