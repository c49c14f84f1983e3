"""Mounts and devices: what of the host's filesystem a container reaches."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import Rule

FAMILY = "mounts"

SOCKETS = ("docker.sock", "containerd.sock", "podman.sock", "crio.sock")
#: Host folders whose mount gives the host away (CIS 5.5), whatever the mode.
SENSITIVE = frozenset({"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/root",
                       "/var/lib/docker", "/var/run", "/run", "/home"})  # fmt: skip
#: Under these, a writable mount lets the container change the host.
WRITABLE_UNDER = ("/etc/", "/boot/", "/usr/", "/lib/", "/root/", "/proc/", "/sys/",
                  "/var/lib/docker/")  # fmt: skip
#: Devices that reach disks, memory or the kernel (a GPU render node does not).
DANGEROUS_DEVICES = ("/dev/mem", "/dev/kmem", "/dev/port", "/dev/sd", "/dev/nvme", "/dev/hd",
                     "/dev/vd", "/dev/xvd", "/dev/mapper", "/dev/loop", "/dev/disk",
                     "/dev/fuse", "/dev/kvm", "/dev/net/tun")  # fmt: skip


def _binds(c: Container) -> list[tuple[str, str, bool]]:
    return [(m.source.rstrip("/") or "/", m.target, m.read_only) for m in c.mounts
            if m.type == "bind"]  # fmt: skip


def _socket(c: Container) -> list[str]:
    return [
        f"mounts {src}{' read-only' if ro else ''}"
        for src, _, ro in _binds(c)
        if src.endswith(SOCKETS)
    ]


def _sensitive(c: Container) -> list[str]:
    out = []
    for src, _, ro in _binds(c):
        if src.endswith(SOCKETS):
            continue
        if src in SENSITIVE or (not ro and (src + "/").startswith(WRITABLE_UNDER)):
            out.append(f"mounts the host's {src}{' read-only' if ro else ' writable'}")
    return out


def _propagation(c: Container) -> list[str]:
    return [
        f"{m.target} propagates mounts ({m.propagation})"
        for m in c.mounts
        if m.propagation in ("shared", "rshared")
    ]


def _writable_root(c: Container) -> list[str]:
    return [] if c.read_only else ["the root filesystem is writable (read_only is not set)"]


def _devices(c: Container) -> list[str]:
    return [f"gets the host device {d}" for d in c.devices]


RULES = (
    Rule(
        id="docker-socket",
        title="Container engine socket mounted",
        severity="critical",
        cis="5.31",
        compose_lint=("CL-0001",),
        checks="a bind mount of docker.sock (or containerd's, podman's, cri-o's)",
        why="the Docker API starts privileged containers: whoever reaches the socket is root on "
        "the host, read-only mount or not",
        fix="put a socket proxy in between that allows only the calls the app makes",
        exception="docker_socket",
        lateral=True,
        test=_socket,
    ),
    Rule(
        id="sensitive-mount",
        title="Sensitive host path mounted",
        severity="high",
        cis="5.5",
        compose_lint=("CL-0013", "CL-0025"),
        checks="a bind mount of /, /etc, /proc, /sys, /dev, /boot, /usr, /lib, /root, /run, "
        "/home or /var/lib/docker, or a writable one below /etc, /usr, /boot, /lib, /root",
        why="the host's configuration, kernel interfaces and other containers' data become "
        "readable, or writable, from inside",
        fix="mount only the folder the app needs, read-only where it only reads",
        lateral=True,
        test=_sensitive,
    ),
    Rule(
        id="shared-propagation",
        title="Shared mount propagation",
        severity="medium",
        cis="5.19",
        compose_lint=("CL-0017",),
        checks="a bind mount with propagation shared or rshared",
        why="mounts made inside the container appear on the host and the other way round",
        fix="remove the propagation option (rprivate is the default)",
        test=_propagation,
    ),
    Rule(
        id="writable-root",
        title="Writable root filesystem",
        severity="low",
        cis="5.12",
        compose_lint=("CL-0007",),
        checks="read_only is not true",
        why="an intruder can change the app's own code and leave tools behind; a read-only root "
        "keeps every write in the volumes you back up",
        fix="read_only: true, with tmpfs for the folders it writes at run time",
        exception="writable_root",
        test=_writable_root,
    ),
    Rule(
        id="host-device",
        title="Host device",
        severity="medium",
        cis="5.17",
        compose_lint=("CL-0016",),
        checks="devices:",
        why="a device node bypasses the container's filesystem: a disk, memory or a tunnel "
        "device is the host's own",
        fix="pass only the device the app uses (a GPU's render node, not /dev/dri as a whole)",
        exception="devices",
        test=_devices,
    ),
)
