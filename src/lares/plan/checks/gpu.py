"""GPU: the apps that can transcode with Quick Sync get the devices and groups for it."""

from __future__ import annotations

from collections.abc import Iterator

from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "gpu"
DESCRIPTION = "Quick Sync devices and host groups for the apps that can use them"


def check(ctx: PlanContext) -> Iterator[Finding]:
    for service in ctx.system.services:
        missing = service.groups_missing
        if not missing:
            continue
        names = ", ".join(f"host.groups.{g}" for g in missing)
        example = ", ".join(f"{g}: <gid>" for g in missing)
        yield ctx.finding(
            ID,
            "info",
            f"{service.name} transcodes on the CPU: {names} is not set",
            "host",
            hint=f"set `groups: {{{example}}}` under host to give it Quick Sync "
            f"(`getent group {' '.join(missing)}` shows the gids; `lares doctor` checks them)",
        )
