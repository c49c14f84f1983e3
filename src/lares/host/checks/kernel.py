"""Kernel support for the pools: btrfs in /proc/filesystems, md when a pool uses mdadm."""

from __future__ import annotations

from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding

ID = "kernel"
DESCRIPTION = "btrfs and md (software RAID) support in the running kernel"


def filesystems(text: str) -> set[str]:
    """The filesystem names in /proc/filesystems text."""
    return {line.split()[-1] for line in text.splitlines() if line.strip()}


def check(ctx: DoctorContext) -> Iterator[Finding]:
    pools = ctx.system.blueprint.storage.pools
    if not pools:
        return
    wanted = {p.filesystem for p in pools.values()}
    text = ctx.probe.read("/proc/filesystems")
    if text is None:
        yield ctx.finding(ID, "unknown", "cannot read /proc/filesystems")
    else:
        have = filesystems(text)
        for fs in sorted(wanted):
            if fs in have:
                yield ctx.finding(ID, "ok", f"the kernel supports {fs}")
            else:
                yield ctx.finding(
                    ID,
                    "error",
                    f"the kernel does not list {fs} in /proc/filesystems",
                    f"load it (modprobe {fs}) and install its tools ({fs}-progs)",
                )
    if any(p.engine == "mdadm" for p in pools.values()):
        if ctx.probe.exists("/proc/mdstat"):
            yield ctx.finding(ID, "ok", "the kernel has md (software RAID): /proc/mdstat exists")
        else:
            yield ctx.finding(
                ID,
                "error",
                "no /proc/mdstat: the kernel has no md driver loaded, and a pool uses mdadm",
                "modprobe md_mod raid456 (and install mdadm); or use a btrfs-native pool",
            )
