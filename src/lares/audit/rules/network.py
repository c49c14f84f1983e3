"""Published ports: where a container can be reached from."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import table

FAMILY = "network"

ALL_INTERFACES = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 - what the rule looks for


def _describe(host_ip: str, port: int | None, target: int, proto: str) -> str:
    host = f"{host_ip}:" if host_ip else ""
    return f"{host}{port if port is not None else '(random)'}->{target}/{proto}"


def _all_interfaces(c: Container) -> list[str]:
    return [
        f"publishes {_describe(p.host_ip, p.host_port, p.container_port, p.protocol)} "
        "on every interface"
        for p in c.ports
        if p.host_ip in ALL_INTERFACES
    ]


def _low_port(c: Container) -> list[str]:
    return [
        f"publishes host port {p.host_port}/{p.protocol}"
        for p in c.ports
        if p.host_port is not None and p.host_port < 1024
    ]


RULES = table(
    FAMILY,
    {
        "port-all-interfaces": _all_interfaces,
        "privileged-port": _low_port,
    },
)
