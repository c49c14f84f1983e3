"""One trigger and one near miss per container rule of the audit, as compose settings and as
the Docker SDK's ``containers.run`` arguments.

``BASE`` is a service that breaks no container rule; each case patches it. A ``None`` patch
for a key removes it from the base. ``run`` is ``None`` where the engine cannot hold the
setting (a file's ``${VAR:-default}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DIGEST = "sha256:" + "ab" * 32
BASE: dict[str, Any] = {
    "image": f"busybox:1.36.1@{DIGEST}",
    "user": "1000:1000",
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "mem_limit": "64m",
    "cpus": 0.5,
    "pids_limit": 64,
    "restart": "unless-stopped",
    "healthcheck": {"test": ["CMD", "true"], "interval": "30s"},
    "ports": ["127.0.0.1:18080:80"],
    "volumes": ["./data:/data"],
    "environment": {
        "DB_PASSWORD_FILE": "/run/secrets/db_password",
        "APP_SECRETFILE": "/run/secrets/app",
        "ADMIN_TOKEN_PATH": "/run/secrets/token",
        "LOG_LEVEL": "info",
    },
}
#: The same base for ``containers.run`` (image and name are the test's).
BASE_RUN: dict[str, Any] = {
    "user": "1000:1000",
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "mem_limit": "64m",
    "nano_cpus": 500_000_000,
    "pids_limit": 64,
    "restart_policy": {"Name": "unless-stopped"},
    "healthcheck": {"test": ["CMD", "true"], "interval": 30 * 10**9},
    "ports": {"80/tcp": ("127.0.0.1", None)},
    "environment": dict(BASE["environment"]),
}


@dataclass(frozen=True)
class Case:
    rule: str
    trigger: dict[str, Any]
    near_miss: dict[str, Any]
    run: dict[str, Any] | None = None  # containers.run arguments that trigger it
    text: str | None = None  # extra top-level compose text (e.g. a variable's default)


CASES = (
    Case("privileged", {"privileged": True}, {"privileged": False}, {"privileged": True}),
    Case(
        "dangerous-capability",
        {"cap_add": ["SYS_ADMIN"]},
        {"cap_add": ["CHOWN"]},
        {"cap_add": ["SYS_ADMIN"]},
    ),
    Case(
        "capability-added",
        {"cap_add": ["CHOWN"]},
        {"cap_add": []},
        {"cap_add": ["CHOWN"]},
    ),
    Case(
        "capabilities-not-dropped",
        {"cap_drop": ["NET_RAW"]},
        {"cap_drop": ["all"]},
        {"cap_drop": ["NET_RAW"]},
    ),
    Case("root-user", {"user": "root"}, {"user": "65534"}, {"user": "0"}),
    Case(
        "no-new-privileges",
        {"security_opt": ["label:type:container_t"]},
        {"security_opt": ["no-new-privileges=true"]},
        {"security_opt": []},
    ),
    Case(
        "security-profile-disabled",
        {"security_opt": ["no-new-privileges:true", "seccomp:unconfined"]},
        {"security_opt": ["no-new-privileges:true", "apparmor:docker-default"]},
        {"security_opt": ["no-new-privileges:true", "seccomp=unconfined"]},
    ),
    Case(
        "host-network",
        {"network_mode": "host", "ports": None},
        {"network_mode": "bridge"},
        {"network_mode": "host", "ports": None},
    ),
    Case("host-pid", {"pid": "host"}, {"pid": None}, {"pid_mode": "host"}),
    Case("host-ipc", {"ipc": "host"}, {"ipc": "private"}, {"ipc_mode": "host"}),
    Case("host-uts", {"uts": "host"}, {"hostname": "box"}, {"uts_mode": "host"}),
    Case("host-userns", {"userns_mode": "host"}, {}, {"userns_mode": "host"}),
    Case(
        "docker-socket",
        {"volumes": ["/var/run/docker.sock:/var/run/docker.sock:ro"]},
        {"volumes": ["/var/run/lt-audit-not-a-socket:/sock:ro"]},
        {"volumes": {"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "ro"}}},
    ),
    Case(
        "sensitive-mount",
        {"volumes": ["/etc:/host/etc:ro"]},
        {"volumes": ["/etc/localtime:/etc/localtime:ro"]},
        {"volumes": {"/etc": {"bind": "/host/etc", "mode": "ro"}}},
    ),
    Case(
        "shared-propagation",
        {
            "volumes": [
                {
                    "type": "bind",
                    "source": "/",
                    "target": "/rootfs",
                    "read_only": True,
                    "bind": {"propagation": "rshared"},
                }
            ]
        },
        {
            "volumes": [
                {
                    "type": "bind",
                    "source": "./data",
                    "target": "/data",
                    "bind": {"propagation": "rprivate"},
                }
            ]
        },
        {"volumes": {"/": {"bind": "/rootfs", "mode": "ro,rshared"}}},
    ),
    Case("writable-root", {"read_only": False}, {"read_only": True}, {"read_only": False}),
    Case(
        "host-device",
        {"devices": ["/dev/null:/dev/lt-null"]},
        {"devices": []},
        {"devices": ["/dev/null:/dev/lt-null:rwm"]},
    ),
    Case(
        "port-all-interfaces",
        {"ports": ["18081:80"]},
        {"ports": ["127.0.0.1:18081:80"]},
        {"ports": {"80/tcp": None}},
    ),
    Case(
        "privileged-port",
        {"ports": ["127.0.0.9:80:80"]},
        {"ports": ["127.0.0.9:1080:80"]},
        {"ports": {"80/tcp": ("127.0.0.9", 80)}},
    ),
    Case("memory-limit", {"mem_limit": None}, {"mem_limit": "1g"}, {"mem_limit": None}),
    Case("cpu-limit", {"cpus": None}, {"cpus": 2}, {"nano_cpus": None}),
    Case("pids-limit", {"pids_limit": None}, {"pids_limit": 512}, {"pids_limit": None}),
    Case(
        "ulimits",
        {"ulimits": {"nofile": {"soft": 1024, "hard": 2048}}},
        {},
        {"ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]},
    ),
    Case(
        "restart-policy",
        {"restart": None},
        {"restart": "on-failure:3"},
        {"restart_policy": None},
    ),
    Case(
        "healthcheck",
        {"healthcheck": {"disable": True}},
        {"healthcheck": {"test": ["CMD-SHELL", "exit 0"]}},
        {"healthcheck": None},
    ),
    Case("image-latest", {"image": "busybox:latest"}, {"image": "busybox:1.36.1"}, {}),
    Case("image-no-digest", {"image": "busybox:1.36.1"}, {"image": f"busybox@{DIGEST}"}, {}),
    Case(
        "secret-in-env",
        {"environment": {"DB_PASSWORD": "hunter2-literal"}},
        {"environment": {"DB_PASSWORD_FILE": "/run/secrets/db", "ADMIN_SECRETFILE": "/s"}},
        {"environment": {"DB_PASSWORD": "hunter2-literal"}},
    ),
    Case(
        "weak-default",
        {"environment": {"DB_PASSWORD": "${LT_AUDIT_DB_PASSWORD:-changeme}"}},
        {"environment": {"DB_PASSWORD": "${LT_AUDIT_DB_PASSWORD:-}"}},
        None,
    ),
)


def patched(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out
