"""The Docker daemon's own settings (daemon.json), which every container inherits."""

from __future__ import annotations

from lares.audit.model import HostFiles
from lares.audit.rules import table

FAMILY = "daemon"


def _live_restore(h: HostFiles) -> list[str]:
    if h.daemon is None or h.daemon.get("live-restore") is True:
        return []
    return ["live-restore is off: restarting or upgrading Docker stops every container"]


def _log_rotation(h: HostFiles) -> list[str]:
    if h.daemon is None:
        return []
    driver = h.daemon.get("log-driver", "json-file")
    if driver not in ("json-file", "local"):
        return []  # journald, syslog and the rest rotate elsewhere
    opts = h.daemon.get("log-opts") or {}
    if driver == "json-file" and not opts.get("max-size"):
        return ["json-file logs grow without limit (log-opts.max-size is not set)"]
    return []


def _userland_proxy(h: HostFiles) -> list[str]:
    if h.daemon is None or h.daemon.get("userland-proxy") is False:
        return []
    return ["userland-proxy is on: a docker-proxy process per published port"]


def _icc(h: HostFiles) -> list[str]:
    if h.daemon is None or h.daemon.get("icc") is False:
        return []
    return ["containers on the default bridge talk to each other freely (icc is on)"]


def _no_new_privileges(h: HostFiles) -> list[str]:
    if h.daemon is None or h.daemon.get("no-new-privileges") is True:
        return []
    return ["no-new-privileges is not the daemon's default"]


RULES = table(
    FAMILY,
    {
        "daemon-live-restore": _live_restore,
        "daemon-log-rotation": _log_rotation,
        "daemon-userland-proxy": _userland_proxy,
        "daemon-icc": _icc,
        "daemon-no-new-privileges": _no_new_privileges,
    },
)
