"""Resources and lifecycle: limits, restart and health."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import table

FAMILY = "resources"


def _memory(c: Container) -> list[str]:
    return [] if c.memory else ["no memory limit: one leak takes the whole host's memory"]


def _cpu(c: Container) -> list[str]:
    return [] if c.cpus else ["no CPU limit"]


def _pids(c: Container) -> list[str]:
    return [] if c.pids else ["no pids limit: a fork bomb reaches the host's process table"]


def _ulimits(c: Container) -> list[str]:
    return [f"overrides the ulimit {name}" for name in sorted(c.ulimits)]


def _restart(c: Container) -> list[str]:
    if not c.restart or c.restart == "no":
        return ["no restart policy: it stays down after a crash or a reboot"]
    if c.restart == "on-failure" and (c.restart_retries or 0) > 5:
        return [f"on-failure retries {c.restart_retries} times"]
    return []


def _healthcheck(c: Container) -> list[str]:
    if c.healthcheck is False:
        return ["its healthcheck is disabled"]
    if c.healthcheck is None:
        if c.source == "engine":
            return ["has no healthcheck"]
        return ["declares no healthcheck (the image may have one)"]
    return []


RULES = table(
    FAMILY,
    {
        "memory-limit": _memory,
        "cpu-limit": _cpu,
        "pids-limit": _pids,
        "ulimits": _ulimits,
        "restart-policy": _restart,
        "healthcheck": _healthcheck,
    },
)
