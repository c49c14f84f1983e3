"""Namespaces: a container that shares the host's network, processes, IPC or hostname."""

from __future__ import annotations

from collections.abc import Callable

from lares.audit.model import Container
from lares.audit.rules import Rule

FAMILY = "namespaces"


def _shares(attr: str, what: str) -> Callable[[Container], list[str]]:
    def test(c: Container) -> list[str]:
        return [f"shares the host's {what} ({attr}: host)"] if getattr(c, attr) == "host" else []

    return test


def _host_network(c: Container) -> list[str]:
    return ["shares the host's network (network_mode: host)"] if c.network_mode == "host" else []


RULES = (
    Rule(
        id="host-network",
        title="Host network",
        severity="high",
        cis="5.9",
        compose_lint=("CL-0008",),
        checks="network_mode: host",
        why="the container sees every interface of the host and can bind any port on it; no "
        "firewall of Docker's stands between it and the LAN",
        fix="use a bridge network and publish only the ports the app serves",
        exception="host_network",
        lateral=True,
        test=_host_network,
    ),
    Rule(
        id="host-pid",
        title="Host process namespace",
        severity="high",
        cis="5.15",
        compose_lint=("CL-0010",),
        checks="pid: host",
        why="the container sees and, as root, can signal or trace every process of the host",
        fix="remove pid: host",
        lateral=True,
        test=_shares("pid", "processes"),
    ),
    Rule(
        id="host-ipc",
        title="Host IPC namespace",
        severity="high",
        cis="5.16",
        compose_lint=("CL-0010",),
        checks="ipc: host",
        why="shared memory and semaphores of host processes become readable and writable",
        fix="remove ipc: host (ipc: shareable between two services if they need it)",
        test=_shares("ipc", "IPC"),
    ),
    Rule(
        id="host-uts",
        title="Host UTS namespace",
        severity="medium",
        cis="5.20",
        compose_lint=("CL-0010",),
        checks="uts: host",
        why="a root process in the container can change the host's hostname",
        fix="remove uts: host; set hostname: instead",
        test=_shares("uts", "hostname"),
    ),
    Rule(
        id="host-userns",
        title="Host user namespace",
        severity="medium",
        cis="5.30",
        checks="userns_mode: host",
        why="on an engine with user-namespace remapping this turns it off for the container: "
        "root inside is root outside again",
        fix="remove userns_mode: host",
        test=_shares("userns", "user namespace"),
    ),
)
