"""/dev/dri render nodes, when an app asks for Quick Sync hardware transcoding."""

from __future__ import annotations

from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding

ID = "gpu"
DESCRIPTION = "a /dev/dri render node for the apps that use Quick Sync"


def check(ctx: DoctorContext) -> Iterator[Finding]:
    wanting = sorted(a.id for a in ctx.system.apps if "quicksync" in a.app.requires)
    if not wanting:
        return
    nodes = ctx.probe.glob("/dev/dri/renderD*")
    if nodes:
        yield ctx.finding(
            ID, "ok", f"{', '.join(nodes)} for Quick Sync ({', '.join(wanting)})", nodes=nodes
        )
    else:
        yield ctx.finding(
            ID,
            "error",
            f"no /dev/dri render node for Quick Sync, which {', '.join(wanting)} use(s)",
            "install the Intel GPU driver (i915, firmware-misc-nonfree) and check the iGPU is "
            "enabled in the firmware; or remove quicksync from those apps",
            apps=wanting,
        )
