"""Published ports: where a container can be reached from."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import Rule

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


RULES = (
    Rule(
        id="port-all-interfaces",
        title="Port published on every interface",
        severity="medium",
        cis="5.13",
        compose_lint=("CL-0005",),
        checks="a published port without a host address (or 0.0.0.0, ::)",
        why="Docker's own iptables rules publish it ahead of the host firewall: UFW does not "
        "stop it, and a VPN, Wi-Fi or second NIC reaches it too",
        fix='bind it to one address: "192.168.1.10:8080:80", or 127.0.0.1 behind a proxy',
        exception="all_interfaces",
        test=_all_interfaces,
    ),
    Rule(
        id="privileged-port",
        title="Host port below 1024",
        severity="low",
        cis="5.7",
        checks="a published host port below 1024",
        why="ports below 1024 are the host's services (SSH, DNS, HTTP): publishing one from a "
        "container takes it over for every client of the host",
        fix="publish a high port and let the reverse proxy own 80 and 443",
        test=_low_port,
    ),
)
