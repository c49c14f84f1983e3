"""Namespaces: a container that shares the host's network, processes, IPC or hostname."""

from __future__ import annotations

from collections.abc import Callable

from lares.audit.model import Container
from lares.audit.rules import table

FAMILY = "namespaces"


def _shares(attr: str, what: str) -> Callable[[Container], list[str]]:
    def test(c: Container) -> list[str]:
        return [f"shares the host's {what} ({attr}: host)"] if getattr(c, attr) == "host" else []

    return test


def _host_network(c: Container) -> list[str]:
    return ["shares the host's network (network_mode: host)"] if c.network_mode == "host" else []


RULES = table(
    FAMILY,
    {
        "host-network": _host_network,
        "host-pid": _shares("pid", "processes"),
        "host-ipc": _shares("ipc", "IPC"),
        "host-uts": _shares("uts", "hostname"),
        "host-userns": _shares("userns", "user namespace"),
    },
)
