"""The Docker daemon's own settings (daemon.json), which every container inherits."""

from __future__ import annotations

from lares.audit.model import HostFiles
from lares.audit.rules import Rule

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


RULES = (
    Rule(
        id="daemon-live-restore",
        title="Live restore off",
        severity="low",
        cis="2.14",
        checks='daemon.json lacks "live-restore": true',
        why="every Docker upgrade or daemon restart then stops every app",
        fix='"live-restore": true in /etc/docker/daemon.json',
        target="host",
        test=_live_restore,
    ),
    Rule(
        id="daemon-log-rotation",
        title="Container logs not rotated",
        severity="medium",
        cis="2.13",
        compose_lint=("CL-0014",),
        checks="json-file logging without log-opts.max-size",
        why="a chatty container fills the OS disk, and then Docker, the databases and SSH stop",
        fix='"log-opts": {"max-size": "10m", "max-file": "3"} in /etc/docker/daemon.json',
        target="host",
        test=_log_rotation,
    ),
    Rule(
        id="daemon-userland-proxy",
        title="Userland proxy on",
        severity="low",
        cis="2.15",
        checks='daemon.json lacks "userland-proxy": false',
        why="each published port gets a docker-proxy process; iptables' NAT does the same "
        "job with less code exposed",
        fix='"userland-proxy": false in /etc/docker/daemon.json',
        target="host",
        test=_userland_proxy,
    ),
    Rule(
        id="daemon-icc",
        title="Inter-container traffic on the default bridge",
        severity="low",
        cis="2.2",
        checks='daemon.json lacks "icc": false',
        why="containers started without a network (docker run) reach each other's every port",
        fix='"icc": false in /etc/docker/daemon.json; give apps their own networks',
        target="host",
        test=_icc,
    ),
    Rule(
        id="daemon-no-new-privileges",
        title="no-new-privileges not the default",
        severity="info",
        cis="2.18",
        checks='daemon.json lacks "no-new-privileges": true',
        why="a container started by hand gets setuid escalation unless it asks otherwise",
        fix='"no-new-privileges": true in /etc/docker/daemon.json',
        target="host",
        test=_no_new_privileges,
    ),
)
