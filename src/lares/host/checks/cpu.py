"""CPU flags: hardware virtualization and AES-NI, against what the blueprint says the CPU has."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lares.host.doctor import DoctorContext, Finding
from lares.severity import DoctorStatus

ID = "cpu"
DESCRIPTION = "virtualization (vmx/svm) and AES-NI flags in /proc/cpuinfo"


def parse_flags(cpuinfo: str) -> set[str]:
    """The CPU flags of the first processor in /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def check(ctx: DoctorContext) -> Iterator[Finding]:
    text = ctx.probe.read("/proc/cpuinfo")
    if text is None:
        yield ctx.finding(ID, "unknown", "cannot read /proc/cpuinfo", "run lares doctor on Linux")
        return
    flags = parse_flags(text)
    claimed = set(ctx.system.blueprint.host.cpu.features)
    virt = sorted(flags & {"vmx", "svm"})
    if virt:
        yield ctx.finding(ID, "ok", f"hardware virtualization: {virt[0]}", flags=virt)
    else:
        yield _missing(
            ctx,
            "vt-x" in claimed,
            ("ok", "warning"),
            "no hardware virtualization flag (vmx/svm)",
            ": host.cpu.features says vt-x",
            "enable VT-x/AMD-V in the firmware, or drop vt-x from host.cpu.features",
            flags=[],
        )
    if "aes" in flags:
        yield ctx.finding(ID, "ok", "AES-NI present (fast encryption for restic and TLS)")
    else:
        yield _missing(
            ctx,
            "aes-ni" in claimed,
            ("warning", "error"),
            "no AES-NI: encrypted backups and TLS will be slow",
            " (host.cpu.features says aes-ni)",
            "enable AES-NI in the firmware, or correct host.cpu.features",
        )


def _missing(
    ctx: DoctorContext,
    claimed: bool,
    severities: tuple[DoctorStatus, DoctorStatus],
    message: str,
    claim: str,
    hint: str,
    **details: Any,
) -> Finding:
    """A CPU flag not found: the second severity, and ``claim`` said, when host.cpu.features
    says the CPU has it."""
    severity = severities[1] if claimed else severities[0]
    return ctx.finding(ID, severity, message + (claim if claimed else ""), hint, **details)
