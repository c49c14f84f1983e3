"""/dev/dri render nodes, when an app asks for Quick Sync hardware transcoding, and the host
groups (render) that non-root containers join to open them."""

from __future__ import annotations

from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding

ID = "gpu"
DESCRIPTION = "a /dev/dri render node for the apps that use Quick Sync, and host.groups' gids"


def _host_groups(text: str) -> dict[str, int]:
    """name → gid from /etc/group."""
    groups: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            groups[fields[0]] = int(fields[2])
    return groups


def check(ctx: DoctorContext) -> Iterator[Finding]:
    wanting = sorted(
        {a.id for a in ctx.system.apps if "quicksync" in a.app.requires}
        | {s.app for s in ctx.system.services if s.quicksync}
    )
    if wanting:
        nodes = ctx.probe.glob("/dev/dri/renderD*")
        if nodes:
            yield ctx.finding(
                ID, "ok", f"{', '.join(nodes)} for Quick Sync ({', '.join(wanting)})", nodes=nodes
            )
        else:
            yield ctx.finding(
                ID,
                "error",
                f"no /dev/dri render node for Quick Sync, which {', '.join(wanting)} "
                f"{'uses' if len(wanting) == 1 else 'use'}",
                "install the Intel GPU driver (i915, firmware-misc-nonfree) and check the iGPU "
                "is enabled in the firmware; or remove quicksync from host.cpu.features",
                apps=wanting,
            )
    declared = ctx.system.blueprint.host.groups
    if not declared:
        return
    text = ctx.probe.read("/etc/group")
    if text is None:
        yield ctx.finding(ID, "unknown", "cannot read /etc/group to check host.groups")
        return
    actual = _host_groups(text)
    for name, gid in sorted(declared.items()):
        if name not in actual:
            yield ctx.finding(
                ID,
                "error",
                f"host.groups.{name} is {gid}, and this machine has no group {name}",
                "install the GPU driver (it brings the render group), or remove the entry",
                group=name,
            )
        elif actual[name] != gid:
            yield ctx.finding(
                ID,
                "error",
                f"host.groups.{name} is {gid}, but this machine's {name} group is "
                f"{actual[name]}: the containers that join it cannot open its devices",
                f"set host.groups.{name}: {actual[name]}",
                group=name,
                gid=actual[name],
            )
        else:
            yield ctx.finding(ID, "ok", f"group {name} is {gid}, as host.groups says", group=name)
