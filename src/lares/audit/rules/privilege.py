"""Privilege: what a process in the container may do to the kernel and the host."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import Rule

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


RULES = (
    Rule(
        id="privileged",
        title="Privileged container",
        severity="critical",
        cis="5.4",
        compose_lint=("CL-0002",),
        checks="privileged: true",
        why="a privileged container has every capability and device of the host: root in it is "
        "root on the host",
        fix="remove privileged: true; add the one capability or device the app needs",
        exception="privileged",
        lateral=True,
        test=_privileged,
    ),
    Rule(
        id="dangerous-capability",
        title="Capability that reaches the host",
        severity="high",
        cis="5.3",
        compose_lint=("CL-0011", "CL-0024", "CL-0028", "CL-0029", "CL-0030"),
        checks="cap_add with SYS_ADMIN, NET_ADMIN, SYS_PTRACE, DAC_READ_SEARCH, SYS_MODULE, …",
        why="these capabilities let a process mount, trace, load modules or read any file: the "
        "usual ways out of a container",
        fix="drop the capability; most images that ask for it need a narrower one",
        exception="capabilities",
        lateral=True,
        test=_dangerous_caps,
    ),
    Rule(
        id="capability-added",
        title="Capability added",
        severity="low",
        cis="5.3",
        compose_lint=("CL-0027",),
        checks="cap_add with a capability outside the dangerous set (CHOWN, SETUID, …)",
        why="each capability is power the app keeps after start; the default set is already "
        "more than most apps need",
        fix="run the image as its user so that it needs no capability to drop to it",
        exception="capabilities",
        test=_lesser_caps,
    ),
    Rule(
        id="capabilities-not-dropped",
        title="Default capabilities kept",
        severity="medium",
        cis="5.3",
        compose_lint=("CL-0006",),
        checks="cap_drop does not include ALL",
        why="Docker's default set includes NET_RAW, CHOWN, DAC_OVERRIDE, SETUID and others an "
        "attacker uses and the app rarely does",
        fix="cap_drop: [ALL], then cap_add only what the app needs",
        test=_not_dropped,
    ),
    Rule(
        id="root-user",
        title="Runs as root",
        severity="medium",
        cis="4.1",
        compose_lint=("CL-0018",),
        checks="user is unset, root or 0",
        why="a process that escapes the container as root owns the host; as another uid it "
        "owns nothing",
        fix="user: UID:GID (the image's own user, or the owner of its data folder)",
        exception="root",
        lateral=True,
        test=_root,
    ),
    Rule(
        id="no-new-privileges",
        title="Privilege escalation allowed",
        severity="medium",
        cis="5.25",
        compose_lint=("CL-0003",),
        checks="security_opt lacks no-new-privileges:true",
        why="without it a setuid-root binary in the image turns a non-root process into root",
        fix='security_opt: ["no-new-privileges:true"]',
        test=_no_new_privileges,
    ),
    Rule(
        id="security-profile-disabled",
        title="Seccomp, AppArmor or SELinux disabled",
        severity="high",
        cis="5.21",
        compose_lint=("CL-0009",),
        checks="security_opt seccomp:unconfined, apparmor:unconfined, label:disable, "
        "systempaths:unconfined",
        why="the kernel's filters stop the system calls container escapes rely on; turning them "
        "off removes that wall",
        fix="remove the option; if one call is missing, give a custom seccomp profile",
        lateral=True,
        test=_profile_disabled,
    ),
)
