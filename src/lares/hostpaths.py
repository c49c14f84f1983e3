"""Which host paths a container may see, a blueprint may build on, and why not.

A blueprint's roots (``paths.appdata``, ``paths.pool``, a pool's mount) and every host path a
catalog or a blueprint mounts are normalised here and checked against one policy:

* Some paths are never given to a container and never hold lares's data, declared or not: the
  kernel's views (/proc, /sys), /boot, root's home, Docker's own data, lares's state, the
  host's password and sudo files, and any folder that holds one of them (``/``, ``/var``,
  ``/var/lib``). The system folders themselves (/etc, /dev, /usr, /run …) are refused whole.
* Below /etc a path is given only read-only (``/etc/localtime:/etc/localtime:ro``).
* ``..`` may not take a path out of the root it was written in (see :mod:`lares.catalog.mounts`).

The functions are pure: they look at strings, never at the file system.
"""

from __future__ import annotations

import posixpath

#: Never mounted, never a root, declared or not — nor any folder above one of them.
NEVER = (
    "/proc",
    "/sys",
    "/boot",
    "/root",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/lares",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
    "/etc/lares",
)
#: System folders refused as a whole (a path inside some of them may be declared).
SYSTEM = (
    "/",
    "/bin",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/opt",
    "/run",
    "/sbin",
    "/srv",
    "/tmp",
    "/usr",
    "/var",
    "/var/lib",
    "/var/run",
)
#: Where the Docker socket lives; mounting it is the docker_socket exception.
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def normal(path: str) -> str:
    """``path`` with ``.``, ``..`` and repeated slashes resolved (lexically; no symlinks)."""
    out = posixpath.normpath(path)
    # POSIX keeps a leading "//" as its own root; on Linux it is "/"
    return "/" + out.lstrip("/") if out.startswith("//") else out


def under(path: str, root: str) -> bool:
    """Whether normalised ``path`` is ``root`` or inside it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def refused(path: str) -> str | None:
    """Why the normalised absolute ``path`` can never be mounted or used as a root, or None."""
    for never in NEVER:
        if under(path, never):
            where = never if path == never else f"inside {never}"
            return f"{path} is {where}, which lares never mounts"
    if path in SYSTEM:
        return f"{path} is a system folder, which lares never mounts as a whole"
    for never in NEVER:
        if under(never, path):
            return f"{path} holds {never}, which lares never mounts"
    return None


def root_problem(value: str) -> str | None:
    """Why ``value`` cannot be a root of the blueprint (paths.appdata, paths.pool, a pool's
    mount), or None: it must be absolute, written without ``..``, and not a refused path."""
    return _absolute_problem(
        value, "an absolute path (start with /)", ": write the folder it means"
    )


def declared_problem(path: str) -> str | None:
    """Why ``path`` cannot be declared as a host path a container may mount, or None."""
    return _absolute_problem(path, "an absolute host path")


def _absolute_problem(path: str, absolute: str, dots: str = "") -> str | None:
    """Why ``path`` is not ``absolute`` (in these words), holds ``..`` (with ``dots`` said
    after) or is refused; or None."""
    if not path.startswith("/"):
        return f"{path!r} must be {absolute}"
    if ".." in path.split("/"):
        return f"{path!r} must not contain '..'{dots}"
    return refused(normal(path))


def device_problem(host: str) -> str | None:
    """Why ``host`` (the host side of a ``devices:`` entry, or a drive) cannot be a device node,
    or None: an absolute path without ``..``, not /dev itself, and outside /dev never a refused
    path (Docker takes a device node wherever it is, and refuses anything else)."""
    if not host.startswith("/"):
        return f"{host!r} is not an absolute path to a device"
    if ".." in host.split("/"):
        return f"{host!r} must not contain '..': name the device itself"
    path = normal(host)
    if path == "/dev":
        return "/dev is a system folder, which lares never mounts as a whole"
    return None if under(path, "/dev") else refused(path)


def volume_parts(volume: str) -> list[str]:
    """A short-syntax volume (``SRC:DST[:MODE]``) split at its colons, a ``{placeholder:…}``
    kept whole."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(volume):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif char == ":" and depth == 0:
            parts.append(volume[start:i])
            start = i + 1
    return [*parts, volume[start:]]


def volume_target(volume: str) -> str | None:
    """The container path of a short-syntax volume, without a trailing slash; None when it
    names none."""
    parts = volume_parts(volume)
    if len(parts) < 2 or not parts[1].startswith("/"):
        return None
    return parts[1].rstrip("/") or "/"
