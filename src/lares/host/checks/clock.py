"""Time sync: certificates, TOTP and backups need a correct clock."""

from __future__ import annotations

from collections.abc import Iterator

from lares.host.doctor import DoctorContext, Finding

ID = "clock"
DESCRIPTION = "the clock is synchronised (systemd-timesyncd, chrony or ntpd)"


def parse_timedatectl(stdout: str) -> bool | None:
    """``timedatectl show -p NTPSynchronized --value`` output as a bool."""
    value = stdout.strip().lower()
    return {"yes": True, "no": False}.get(value)


def parse_chrony(stdout: str) -> bool | None:
    """Whether ``chronyc tracking`` says the clock is synchronised."""
    for line in stdout.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Leap status":
            return value.strip() == "Normal"
    return None


def check(ctx: DoctorContext) -> Iterator[Finding]:
    out = ctx.probe.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    synced = parse_timedatectl(out.stdout) if out.ok else None
    source = "timedatectl"
    if synced is None:
        out = ctx.probe.run(["chronyc", "tracking"])
        synced = parse_chrony(out.stdout) if out.ok else None
        source = "chronyc"
    if synced is None:
        out = ctx.probe.run(["ntpstat"])
        if out.returncode in (0, 1):
            synced, source = out.returncode == 0, "ntpstat"
    if synced is True:
        yield ctx.finding(ID, "ok", f"the clock is synchronised ({source})", source=source)
    elif synced is False:
        yield ctx.finding(
            ID,
            "warning",
            f"the clock is not synchronised ({source})",
            "enable NTP: timedatectl set-ntp true (or start chrony)",
            source=source,
        )
    else:
        yield ctx.finding(
            ID,
            "unknown",
            "cannot tell whether the clock is synchronised: no answer from timedatectl, "
            "chronyc or ntpstat",
            "run it on the host itself (not in a container), with systemd-timesyncd or chrony",
        )
