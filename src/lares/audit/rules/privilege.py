"""Privilege: what a process in the container may do to the kernel and the host."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import table

FAMILY = "privilege"

#: Capabilities that reach past the container: the host's files, processes, network or kernel.
DANGEROUS = frozenset(
    {
        "ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "SYS_TIME",
        "NET_ADMIN", "NET_RAW", "DAC_READ_SEARCH", "MAC_ADMIN", "MAC_OVERRIDE", "BPF",
        "PERFMON", "SYSLOG", "MKNOD", "SYS_CHROOT", "LINUX_IMMUTABLE", "SYS_RESOURCE",
        "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_CONTROL", "SYS_PACCT", "SYS_NICE",
        "SYS_TTY_CONFIG", "LEASE", "AUDIT_READ", "CHECKPOINT_RESTORE",
    }
)  # fmt: skip
ROOT_USERS = ("", "0", "root")


def _privileged(c: Container) -> list[str]:
    return ["runs privileged: every device and capability of the host"] if c.privileged else []


def _dangerous_caps(c: Container) -> list[str]:
    caps = sorted(set(c.cap_add) & DANGEROUS)
    return [f"adds {', '.join(caps)}"] if caps else []


def _lesser_caps(c: Container) -> list[str]:
    caps = sorted(set(c.cap_add) - DANGEROUS)
    return [f"adds {', '.join(caps)}"] if caps else []


def _not_dropped(c: Container) -> list[str]:
    if c.privileged or "ALL" in c.cap_drop:
        return []
    return ["keeps Docker's default capabilities (cap_drop: [ALL] is not set)"]


def _root(c: Container) -> list[str]:
    head = c.user.split(":", 1)[0]
    if head not in ROOT_USERS:
        return []
    return ["runs as root (user: root)" if head else "sets no user, so runs as the image's (root)"]


def _no_new_privileges(c: Container) -> list[str]:
    opts = {o.replace("=", ":") for o in c.security_opt}
    if opts & {"no-new-privileges", "no-new-privileges:true"}:
        return []
    return ["a setuid binary inside can raise its privileges (no-new-privileges is not set)"]


def _profile_disabled(c: Container) -> list[str]:
    off = {"seccomp:unconfined", "apparmor:unconfined", "label:disable", "systempaths:unconfined"}
    return [f"security_opt {o}" for o in c.security_opt if o.replace("=", ":") in off]


RULES = table(
    FAMILY,
    {
        "privileged": _privileged,
        "dangerous-capability": _dangerous_caps,
        "capability-added": _lesser_caps,
        "capabilities-not-dropped": _not_dropped,
        "root-user": _root,
        "no-new-privileges": _no_new_privileges,
        "security-profile-disabled": _profile_disabled,
    },
)
