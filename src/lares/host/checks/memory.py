"""Memory: what the machine has against what the blueprint says and its containers reserve."""

from __future__ import annotations

from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding
from lares.units import format_size

ID = "memory"
DESCRIPTION = "MemTotal against host.memory and the containers' reservations"
#: The kernel keeps some memory for itself: MemTotal is a little below the installed size.
SLACK = 0.93


def parse_meminfo(text: str) -> int | None:
    """MemTotal in bytes from /proc/meminfo text."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            return int(parts[1]) * 1024
    return None


def check(ctx: DoctorContext) -> Iterator[Finding]:
    text = ctx.probe.read("/proc/meminfo")
    total = parse_meminfo(text) if text else None
    if total is None:
        yield ctx.finding(ID, "unknown", "cannot read MemTotal from /proc/meminfo")
        return
    host = ctx.system.blueprint.host
    reserved = sum(s.memory_reservation for s in ctx.system.services) + host.reserved.total
    have, said = format_size(total), format_size(host.memory)
    data = {"total": total, "blueprint": host.memory, "reserved": reserved}
    if reserved > total:
        yield ctx.finding(
            ID,
            "error",
            f"{have} of memory, and the containers plus the OS reserve {format_size(reserved)}",
            "lower reservations, disable apps, or add memory",
            **data,
        )
    elif total < host.memory * SLACK:
        yield ctx.finding(
            ID,
            "warning",
            f"{have} of memory, but host.memory says {said}",
            "set host.memory to what the machine has, so the plan's budget is true",
            **data,
        )
    else:
        yield ctx.finding(
            ID, "ok", f"{have} of memory ({format_size(reserved)} reserved by the plan)", **data
        )
