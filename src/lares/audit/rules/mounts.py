"""Mounts and devices: what of the host's filesystem a container reaches."""

from __future__ import annotations

from lares.audit.model import Container
from lares.audit.rules import table

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


RULES = table(
    FAMILY,
    {
        "docker-socket": _socket,
        "sensitive-mount": _sensitive,
        "shared-propagation": _propagation,
        "writable-root": _writable_root,
        "host-device": _devices,
    },
)
