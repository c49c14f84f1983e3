"""Resources and lifecycle: limits, restart and health."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import Rule

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


RULES = (
    Rule(
        id="memory-limit",
        title="No memory limit",
        severity="medium",
        cis="5.10",
        compose_lint=("CL-0026",),
        checks="mem_limit / deploy.resources.limits.memory is unset",
        why="without a limit the kernel's out-of-memory killer picks its victim across the host, "
        "often a database",
        fix="mem_limit: the app's peak plus a margin",
        blueprint="stacks.*.apps.{app}.memory.limit",
        test=_memory,
    ),
    Rule(
        id="cpu-limit",
        title="No CPU limit",
        severity="info",
        cis="5.11",
        compose_lint=("CL-0026",),
        checks="cpus / deploy.resources.limits.cpus is unset",
        why="one busy container (a transcode, an index) slows every other app",
        fix="cpus: the share the app may take",
        blueprint="stacks.*.apps.{app}.cpus",
        test=_cpu,
    ),
    Rule(
        id="pids-limit",
        title="No pids limit",
        severity="medium",
        cis="5.28",
        compose_lint=("CL-0026",),
        checks="pids_limit / deploy.resources.limits.pids is unset",
        why="a fork bomb, or a leak of threads, exhausts the host's process table",
        fix="pids_limit: 256 (more for apps that run many workers)",
        blueprint="stacks.*.apps.{app}.pids",
        test=_pids,
    ),
    Rule(
        id="ulimits",
        title="Ulimits overridden",
        severity="info",
        cis="5.18",
        checks="ulimits:",
        why="the default ulimits are the daemon's; raise one only where the app needs it",
        fix="remove the ulimit unless the app documents needing it",
        test=_ulimits,
    ),
    Rule(
        id="restart-policy",
        title="No restart policy",
        severity="low",
        cis="5.14",
        checks="restart is unset or no, or on-failure with more than 5 retries",
        why="a home server reboots after power cuts and updates; an app without a policy stays "
        "down until someone notices",
        fix="restart: unless-stopped",
        test=_restart,
    ),
    Rule(
        id="healthcheck",
        title="No healthcheck",
        severity="low",
        cis="5.26",
        checks="no healthcheck, or healthcheck disabled",
        why="without one Docker reports a hung app as running, and depends_on cannot wait for it",
        fix="healthcheck: a command that fails when the app stops answering",
        exception="no_healthcheck",
        test=_healthcheck,
    ),
)
