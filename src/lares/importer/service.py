"""Reading one resolved Compose service: its image, mounts, ports, environment and health,
in the few shapes the import compares and writes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lares.hostpaths import DOCKER_SOCKETS

#: Registry prefixes that name Docker Hub's own images.
_HUB = ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/")
#: Architecture repositories on Docker Hub that publish the official images for one platform.
_ARCH = re.compile(r"^(amd64|arm64v8|arm32v7|arm32v6|i386|ppc64le|s390x)/")
#: Mirrors of one image under another name: the name the catalog uses for it.
ALIASES = {
    "ghcr.io/dani-garcia/vaultwarden": "vaultwarden/server",
    "ghcr.io/louislam/uptime-kuma": "louislam/uptime-kuma",
    "ghcr.io/qdm12/gluetun": "qmcgaw/gluetun",
    "containrrr/watchtower": "nickfedor/watchtower",
    "ghcr.io/nicholas-fedor/watchtower": "nickfedor/watchtower",
    "ghcr.io/paperless-ngx/tika": "apache/tika",
    "ghcr.io/stirling-tools/stirling-pdf": "stirlingtools/stirling-pdf",
    "frooodle/s-pdf": "stirlingtools/stirling-pdf",
    "paperlessngx/paperless-ngx": "ghcr.io/paperless-ngx/paperless-ngx",
}
_LSIO = re.compile(r"^(lscr\.io/|ghcr\.io/)?linuxserver/")
UNPINNED = frozenset({"", "latest"})


def split_image(ref: str) -> tuple[str, str]:
    """(repository as the catalog names it, tag) of an image reference; the tag is "" when
    none is written. A digest stays on the tag (``tag@sha256:…``)."""
    ref = ref.strip()
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        digest = "@" + digest
    name, tag = ref, ""
    if ":" in ref.rsplit("/", 1)[-1]:
        name, tag = ref.rsplit(":", 1)
    name = name.lower()
    for prefix in _HUB:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    name = _ARCH.sub("", name)
    name = _LSIO.sub("lscr.io/linuxserver/", name)
    return ALIASES.get(name, name), tag + digest


def own_init(image: str) -> bool:
    """Images whose own init (s6-overlay) must be PID 1."""
    return image.startswith("lscr.io/linuxserver/")


@dataclass(frozen=True)
class Volume:
    kind: str  # bind | volume | tmpfs
    source: str
    target: str
    read_only: bool = False

    @property
    def socket(self) -> bool:
        return self.kind == "bind" and self.source in DOCKER_SOCKETS

    def spec(self, source: str | None = None) -> str:
        return f"{source or self.source}:{self.target}" + (":ro" if self.read_only else "")


def volumes(spec: Mapping[str, Any]) -> list[Volume]:
    out = []
    for item in spec.get("volumes") or ():
        if isinstance(item, str):
            parts = item.split(":")
            src, tgt = [*parts, ""][:2] if len(parts) > 1 else ("", parts[0])
            kind = "bind" if src.startswith(("/", ".", "~")) else "volume" if src else "tmpfs"
            out.append(Volume(kind, src, tgt, len(parts) > 2 and "ro" in parts[2].split(",")))
            continue
        out.append(
            Volume(
                str(item.get("type") or "volume"),
                str(item.get("source") or ""),
                str(item.get("target") or ""),
                bool(item.get("read_only")),
            )
        )
    return out


@dataclass(frozen=True)
class Published:
    container: int
    host: int | None
    protocol: str
    host_ip: str


def ports(spec: Mapping[str, Any]) -> list[Published]:
    out: list[Published] = []
    for item in spec.get("ports") or ():
        if not isinstance(item, Mapping):
            item = _short_port(str(item))
        target = int(item.get("target") or 0)
        published = str(item.get("published") or "")
        proto = str(item.get("protocol") or "tcp")
        ip = str(item.get("host_ip") or "")
        if "-" in published:  # a range: one port each, as Compose publishes them
            start, _, end = published.partition("-")
            for i, host in enumerate(range(int(start), int(end) + 1)):
                out.append(Published(target + i, host, proto, ip))
        elif target:
            out.append(Published(target, int(published) if published else None, proto, ip))
    return out


def _short_port(text: str) -> dict[str, Any]:
    """``[ip:]host:container[/proto]`` as Compose's long form."""
    body, _, proto = text.partition("/")
    parts = (
        body.rsplit(":", 2)
        if body.count(":") <= 2
        else [body.rsplit(":", 2)[0], *body.rsplit(":", 2)[1:]]
    )
    target = parts[-1]
    published = parts[-2] if len(parts) > 1 else ""
    ip = parts[-3] if len(parts) > 2 else ""
    return {"target": target, "published": published, "host_ip": ip, "protocol": proto or "tcp"}


def environment(spec: Mapping[str, Any]) -> dict[str, str]:
    env = spec.get("environment") or {}
    if isinstance(env, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in env.items()}
    return dict(str(e).partition("=")[::2] for e in env)


def healthcheck(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """The service's healthcheck as the catalog writes it, or None (none, or disabled)."""
    hc = spec.get("healthcheck")
    if not isinstance(hc, Mapping) or hc.get("disable"):
        return None
    test = hc.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not test or test[0] == "NONE":
        return None
    out: dict[str, Any] = {"test": [str(t) for t in test]}
    for key in ("interval", "timeout", "start_period"):
        if hc.get(key):
            out[key] = str(hc[key])
    if hc.get("retries"):
        out["retries"] = int(hc["retries"])
    return out


def depends_on(spec: Mapping[str, Any]) -> dict[str, str]:
    deps = spec.get("depends_on") or {}
    if isinstance(deps, list):
        return {str(d): "service_started" for d in deps}
    return {
        str(k): "service_healthy"
        if (v or {}).get("condition") == "service_healthy"
        else "service_started"
        for k, v in deps.items()
    }


def networks(spec: Mapping[str, Any]) -> list[str]:
    nets = spec.get("networks") or {}
    return sorted(nets) if isinstance(nets, Mapping) else sorted(str(n) for n in nets)
