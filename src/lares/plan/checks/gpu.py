"""GPU: the apps that can transcode with Quick Sync get the devices and groups for it."""

from __future__ import annotations

from collections.abc import Iterator

from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "gpu"
DESCRIPTION = "Quick Sync devices and host groups for the apps that can use them"


def check(ctx: PlanContext) -> Iterator[Finding]:
    host = ctx.blueprint.host
    for service in ctx.system.services:
        why = service.quicksync_off
        if why is None:
            continue
        if "quicksync" not in host.cpu.features:
            # a host without Quick Sync: nothing to set, and nothing to nag about
            continue
        groups = service.spec.quicksync.groups if service.spec.quicksync else ()
        example = ", ".join(f"{g}: <gid>" for g in groups if g not in host.groups)
        yield ctx.finding(
            ID,
            "info",
            f"{service.name} transcodes on the CPU: {why}",
            "host",
            hint=f"set `groups: {{{example}}}` under host to give it Quick Sync "
            f"(`getent group {' '.join(groups)}` shows the gids; `lares doctor` checks them)",
        )
