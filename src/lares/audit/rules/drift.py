"""Drift: what runs in a lares project differs from what lares rendered for it."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import table

FAMILY = "drift"

Pair = tuple[Container | None, Container | None]

#: Where the runtime adds mounts of its own that the compose file does not list.
_RUNTIME_TARGETS = ("/run/secrets/",)


def _binds(c: Container) -> set[tuple[str, str]]:
    return {
        (m.source.rstrip("/"), m.target.rstrip("/"))
        for m in c.mounts
        if m.type == "bind" and not m.target.startswith(_RUNTIME_TARGETS)
    }


def _ports(c: Container) -> set[tuple[str, int | None, int, str]]:
    return {(p.host_ip, p.host_port, p.container_port, p.protocol) for p in c.ports}


def _opts(c: Container) -> set[str]:
    return {o.replace("=", ":").removesuffix(":true") for o in c.security_opt}


def _unknown(pair: Pair) -> list[str]:
    want, live = pair
    if want is None and live is not None:
        return [f"{live.name} runs in project {live.project}, which lares did not render it in"]
    return []


def _missing(pair: Pair) -> list[str]:
    want, live = pair
    return [f"{want.name} is rendered but not on the engine"] if live is None and want else []


def _changed(pair: Pair) -> list[str]:
    want, live = pair
    if want is None or live is None:
        return []
    checks = {
        "image": (want.image, live.image),
        "privileged": (want.privileged, live.privileged),
        "user": (want.user, live.user),
        "read_only": (want.read_only, live.read_only),
        "cap_add": (want.cap_add, live.cap_add),
        "cap_drop": (want.cap_drop, live.cap_drop),
        "network_mode": (want.network_mode == "host", live.network_mode == "host"),
        "pid": (want.pid, live.pid),
        "memory limit": (want.memory, live.memory),
        "pids limit": (want.pids, live.pids),
        "devices": (sorted(want.devices), sorted(live.devices)),
        "security_opt": (_opts(want), _opts(live)),
        "ports": (_ports(want), _ports(live)),
        "bind mounts": (_binds(want), _binds(live)),
    }
    return [
        f"{live.name}: {name} is {_show(got)} on the engine, {_show(rendered)} in the render"
        for name, (rendered, got) in checks.items()
        if rendered != got
    ]


def _show(value: object) -> str:
    if isinstance(value, set | list | tuple):
        items = sorted(map(str, value))
        return "[" + ", ".join(items) + "]" if items else "none"
    return "none" if value in (None, "") else str(value)


RULES = table(
    FAMILY,
    {
        "drift-unknown-container": _unknown,
        "drift-setting": _changed,
        "drift-missing": _missing,
    },
)
