"""Compose files normalised in Python, as ``docker compose config --format json`` would print
the parts of them the audit reads, for the files that need nothing only Compose does.

Starting the Compose binary costs a tenth of a second or more a file; most compose files are
plain YAML whose services can be read as they are. :func:`native_model` reads one such file and
returns the model Compose would print, for the keys :func:`lares.audit.model.from_compose`
and :func:`lares.audit.targets.containers_of` read: the project's name, its networks' real
names, and each service with its ports, volumes, sizes and lists in Compose's long forms.

It interpolates ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:+alt}``,
``${VAR+alt}``, ``$VAR`` and ``$$`` from the environment, as Compose does when no ``.env`` is
at hand. Anything else raises :class:`NeedsCompose`, and the caller asks Compose: ``extends``,
``include``, an ``env_file`` it was not given, a ``.env`` next to the file, ``COMPOSE_*``
variables, a required variable (``${VAR:?}``), a key or a shape it does not know (Compose then
says what is wrong with the file), a setting given twice in two ways. Pure: it reads nothing
but what it is given.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any


class NeedsCompose(Exception):
    """The file needs the Compose binary to be read as Docker reads it (the reason)."""


#: The service keys of the Compose specification, all of which this reads or may pass over
#: (``extends`` and ``label_file`` are left out: only Compose reads them).
SERVICE_KEYS = frozenset((
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
    "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
    "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset",
    "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules", "devices", "dns",
    "dns_opt", "dns_search", "domainname", "entrypoint", "env_file", "environment",
    "expose", "external_links", "extra_hosts", "gpus", "group_add", "healthcheck", "hostname",
    "image", "init", "ipc", "isolation", "labels", "links", "logging",
    "mac_address", "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "models",
    "network_mode", "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit",
    "platform", "ports", "post_start", "pre_stop", "privileged", "profiles", "provider",
    "pull_policy", "read_only", "restart", "runtime", "scale", "secrets", "security_opt",
    "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls",
    "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes",
    "volumes_from", "working_dir",
))  # fmt: skip
TOP_KEYS = frozenset(
    ("name", "version", "services", "networks", "volumes", "secrets", "configs", "models")
)
_BOOL_KEYS = ("privileged", "read_only", "init", "tty", "stdin_open", "oom_kill_disable")
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<plain>[A-Za-z_][A-Za-z0-9_]*)|"
    r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<arg>[^${}]*))?\})"
)
_UNREAD: Mapping[str, str] = MappingProxyType({})  # env files, read as written
_UNITS = re.compile(r"^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$", re.IGNORECASE)
_ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)=([^'\"$#\s\\]*)$")


def _interpolate(text: str, env: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["plain"] or m["name"]
        value, op = env.get(name), m["op"]
        if op is None:
            return value or ""
        unset = value is None or (op.startswith(":") and value == "")
        if op.endswith("-"):
            return str(m["arg"]) if unset else str(value)
        return "" if unset else str(m["arg"])  # :+ and +

    out, end = [], 0
    for m in _VAR.finditer(text):
        out += [text[end : m.start()], one(m)]
        end = m.end()
    rest = text[end:]
    if "$" in rest or any("$" in part for part in out[::2]):
        raise NeedsCompose("a variable form only Compose resolves")
    # Compose prints its model escaped again, so that it loads as it is: every $ as $$
    return ("".join(out) + rest).replace("$", "$$")


def _walk(value: Any, env: Mapping[str, str]) -> Any:
    """The document with every string interpolated (keys are not, as in Compose)."""
    if isinstance(value, Mapping):
        if any("$" in str(k) for k in value):
            raise NeedsCompose("a variable in a key")
        return {k: _walk(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, env) for v in value]
    if isinstance(value, str) and "$" in value:
        return _interpolate(value, env)
    return value


def _scalar(value: Any) -> str | None:
    """A label or environment value as Compose prints it (a string, or null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    raise NeedsCompose(f"a {type(value).__name__} value Compose may print otherwise")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise NeedsCompose(f"{value!r} where Compose wants true or false")


def _bytes(value: Any) -> str:
    """A size (``512m``, ``1g``, a number of bytes) in bytes, as Compose prints it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    m = _UNITS.match(str(value).strip())
    if not m:
        raise NeedsCompose(f"size {value!r}")
    factor = 1024 ** ("kmgtp".find(m[2].lower()) + 1) if m[2] else 1
    return str(int(float(m[1]) * factor))


def _number(value: Any, kind: Callable[[Any], Any]) -> Any:
    if isinstance(value, bool):
        raise NeedsCompose(f"{value!r} where Compose wants a number")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise NeedsCompose(f"{value!r} where Compose wants a number") from None


def _pairs(value: Any, resolve: Mapping[str, str] | None) -> dict[str, str | None]:
    """A mapping or ``KEY=value`` list; a bare key takes its value from ``resolve`` (the
    environment, for ``environment``), or "" (for labels)."""
    items: list[tuple[str, Any]] = []
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        for item in value:
            key, eq, val = str(_scalar(item)).partition("=")
            items.append((key, val if eq else None))
    elif value is not None:
        raise NeedsCompose("a mapping in a form Compose reads otherwise")
    out: dict[str, str | None] = {}
    for key, val in items:
        if val is None:
            out[key] = resolve.get(key) if resolve is not None else ""
        else:
            out[key] = _scalar(val)
    return out


def _ports(ports: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in ports or ():
        if isinstance(p, Mapping):
            q = dict(p)
            if q.get("published") is not None:
                q["published"] = str(q["published"])
            out.append(q)
            continue
        if not isinstance(p, int | str) or isinstance(p, bool):
            raise NeedsCompose(f"port {p!r}")
        body, _, proto = str(p).partition("/")
        ip = ""
        if body.startswith("["):  # [::1]:53:53
            ip, _, body = body[1:].partition("]")
            body = body.removeprefix(":")
        parts = body.split(":")
        if len(parts) == 3 and not ip:
            ip = parts.pop(0)
        if len(parts) > 2 or not all(parts[-1:]):
            raise NeedsCompose(f"port {p!r}")
        published, target = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
        targets = _range(target)
        hosts = _range(published) if published else [None] * len(targets)
        if len(hosts) != len(targets):
            raise NeedsCompose(f"port {p!r}")  # a host range for one port: Compose's choice
        for host, number in zip(hosts, targets, strict=True):
            entry: dict[str, Any] = {"target": number, "protocol": proto or "tcp"}
            if ip:
                entry["host_ip"] = ip
            if host is not None:
                entry["published"] = str(host)
            out.append(entry)
    return out


def _range(text: str) -> list[int]:
    first, dash, last = text.partition("-")
    if not first.isdigit() or (dash and not last.isdigit()):
        raise NeedsCompose(f"port {text!r}")
    return list(range(int(first), int(last if dash else first) + 1))


_PROPAGATION = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}


def _bind_source(source: str, folder: str) -> str:
    """An absolute source as written; a relative one (or ``~``) made absolute, as Compose
    does (it cleans only the paths it joins)."""
    if source.startswith("/"):
        return source
    if source.startswith("~"):
        return posixpath.normpath(os.path.expanduser(source))
    return posixpath.normpath(posixpath.join(folder, source))


def _target(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise NeedsCompose(f"volume target {value!r}")
    return posixpath.normpath(value)


def _volume_parts(text: str) -> list[str]:
    """A short volume split at its colons; a colon inside ``${…}`` (a file read as written)
    splits nothing, as in Compose."""
    parts, current, depth = [], "", 0
    for i, ch in enumerate(text):
        depth += text.startswith("${", i) - (ch == "}" and depth > 0)
        if ch == ":" and not depth:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _volumes(volumes: Any, folder: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for v in volumes or ():
        if isinstance(v, Mapping):
            q = dict(v)
            if q.get("type") == "bind" and isinstance(q.get("source"), str):
                q["source"] = _bind_source(q["source"], folder)
            q["target"] = _target(q.get("target"))
            out.append(q)
            continue
        if not isinstance(v, str):
            raise NeedsCompose(f"volume {v!r}")
        parts = _volume_parts(v)
        if len(parts) == 1:
            out.append({"type": "volume", "target": _target(parts[0])})
            continue
        if len(parts) > 3 or not parts[0] or not parts[1]:
            raise NeedsCompose(f"volume {v!r}")
        source, target = parts[0], parts[1]
        options = parts[2].split(",") if len(parts) == 3 else []
        if set(options) - _PROPAGATION - {"ro", "rw", "z", "Z", "nocopy", "cached", "delegated"}:
            raise NeedsCompose(f"volume {v!r}")
        entry: dict[str, Any] = {"target": _target(target)}
        if source.startswith(("/", ".", "~")):
            entry.update(type="bind", source=_bind_source(source, folder))
            propagation = [o for o in options if o in _PROPAGATION]
            if propagation:
                entry["bind"] = {"propagation": propagation[-1]}
        else:
            entry.update(type="volume", source=source)
        if "ro" in options:
            entry["read_only"] = True
        out.append(entry)
    return out


def _healthcheck(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise NeedsCompose("healthcheck")
    out = dict(value)
    test = out.get("test")
    if isinstance(test, str):
        out["test"] = ["CMD-SHELL", test]
    elif test is not None and not isinstance(test, list):
        raise NeedsCompose("healthcheck.test")
    return out


def _env_file(
    spec: Mapping[str, Any], folder: str, env_files: Mapping[str, str] | None
) -> dict[str, str | None]:
    """The variables of a service's ``env_file`` entries, from the texts given (a lares
    render's env files); any other env file is Compose's to read."""
    entries = spec.get("env_file")
    if entries is None or env_files is _UNREAD:  # none, or read as written
        return {}
    if env_files is None:
        raise NeedsCompose("env_file")
    out: dict[str, str | None] = {}
    for entry in [entries] if isinstance(entries, str) else entries:
        if not isinstance(entry, str):
            raise NeedsCompose("env_file")
        text = env_files.get(posixpath.normpath(posixpath.join(folder, entry)))
        if text is None:
            raise NeedsCompose(f"env_file {entry}")
        for line in text.splitlines():
            m = _ENV_LINE.match(line)
            if not m:
                raise NeedsCompose(f"env_file {entry}: a line Compose reads its own way")
            out[m[1]] = m[2]
    return out


#: A service's own limit, the same in deploy.resources.limits, and how Compose prints both.
_LIMITS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("mem_limit", "memory", _bytes),
    ("cpus", "cpus", lambda v: _number(v, float)),
    ("pids_limit", "pids", lambda v: _number(v, int)),
)


def _limits(spec: dict[str, Any]) -> None:
    """Sizes and numbers as Compose prints them; a limit set twice is Compose's to refuse."""
    deploy = spec.get("deploy")
    limits = ((deploy or {}).get("resources") or {}).get("limits") or {}
    if not isinstance(limits, Mapping):
        raise NeedsCompose("deploy.resources.limits")
    limits = dict(limits)
    for own, key, convert in _LIMITS:
        if spec.get(own) is not None and limits.get(key) is not None:
            raise NeedsCompose(f"{own} and deploy.resources.limits.{key}")
        for where, name in ((spec, own), (limits, key)):
            if where.get(name) is not None:
                where[name] = convert(where[name])
    if limits:
        resources = {**deploy["resources"], "limits": limits}  # type: ignore[index]
        spec["deploy"] = {**deploy, "resources": resources}  # type: ignore[dict-item]


def _service(
    raw: Any,
    folder: str,
    env: Mapping[str, str],
    env_files: Mapping[str, str] | None,
    rel: str,
) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise NeedsCompose("a service that is not a mapping")
    unknown = set(raw) - SERVICE_KEYS
    if unknown:
        raise NeedsCompose(f"service key {sorted(unknown)[0]!r}")
    spec = dict(raw)
    for key in _BOOL_KEYS:
        if spec.get(key) is not None:
            spec[key] = _bool(spec[key])
    _limits(spec)
    environment = {**_env_file(spec, rel, env_files), **_pairs(spec.get("environment"), env)}
    if environment or "environment" in spec:
        spec["environment"] = environment
    if spec.get("labels") is not None:
        spec["labels"] = _pairs(spec["labels"], None)
    spec["ports"] = _ports(spec.get("ports"))
    spec["volumes"] = _volumes(spec.get("volumes"), folder)
    if "healthcheck" in spec:
        spec["healthcheck"] = _healthcheck(spec["healthcheck"])
    if spec.get("restart") is not None:
        spec["restart"] = str(spec["restart"])
    if spec.get("user") is not None:
        spec["user"] = str(_scalar(spec["user"]))
    for key in ("cap_add", "cap_drop", "security_opt", "devices"):
        if spec.get(key) is not None and not isinstance(spec[key], list):
            raise NeedsCompose(key)
    networks = spec.get("networks")
    if isinstance(networks, list):  # Compose prints a mapping, its keys sorted
        spec["networks"] = {str(n): None for n in sorted(networks, key=str)}
    elif networks is None:
        if not spec.get("network_mode"):
            spec["networks"] = {"default": None}
    elif isinstance(networks, Mapping):
        spec["networks"] = dict(sorted(networks.items(), key=lambda kv: str(kv[0])))
    else:
        raise NeedsCompose("networks")
    return spec


def _unresolved(services: Mapping[str, Any]) -> None:
    """As written, a variable left in a port, a size or a volume's target is Compose's to
    read; a volume whose source is a variable is a named volume to Compose then, as here."""
    for raw in services.values():
        if not isinstance(raw, Mapping):
            continue
        for key in ("ports", "mem_limit", "cpus", "pids_limit", "deploy", "networks",
                    "network_mode", *_BOOL_KEYS):  # fmt: skip
            if "$" in repr(raw.get(key)):
                raise NeedsCompose(f"{key} with a variable, as written")
        for volume in raw.get("volumes") or ():
            rest = _volume_parts(volume)[1:] if isinstance(volume, str) else [repr(volume)]
            if any("$" in part for part in rest):
                raise NeedsCompose("a volume with a variable, as written")


def project_name(folder: str, declared: Any) -> str:
    """The project's name as Compose names it: ``name:``, else the file's folder."""
    if declared is not None:
        name = str(declared)
        if not _PROJECT.match(name):
            raise NeedsCompose(f"project name {name!r}")
        return name
    name = re.sub(r"[^a-z0-9_-]", "", posixpath.basename(folder.rstrip("/")).lower())
    if not _PROJECT.match(name):
        raise NeedsCompose(f"project name from folder {folder!r}")
    return name


def native_model(
    data: Any,
    folder: Path | str,
    *,
    env: Mapping[str, str] | None = None,
    env_files: Mapping[str, str] | None = None,
    rel: str | None = None,
    as_written: bool = False,
) -> dict[str, Any]:
    """The resolved model of one compose document ``data`` (as YAML loaded it), for a file
    in ``folder``. ``env`` is the environment Compose would see (the process's by default);
    ``env_files`` the env files at hand, by path relative to the same root as ``rel``, the
    file's folder in it (a lares render). ``as_written`` reads it as Compose's
    ``--no-interpolate --no-env-resolution`` does: variables and env files left alone.
    Raises :class:`NeedsCompose`.
    """
    env = os.environ if env is None else env
    if any(k.startswith("COMPOSE_") for k in env):
        raise NeedsCompose("COMPOSE_* variables")
    if not isinstance(data, Mapping) or not isinstance(data.get("services"), Mapping):
        raise NeedsCompose("no services mapping")
    unknown = {k for k in data if not str(k).startswith("x-")} - TOP_KEYS
    if unknown:
        raise NeedsCompose(f"top-level key {sorted(unknown)[0]!r}")  # include, or a typo
    if as_written:  # a bare variable stays unset, the env files unread
        _unresolved(data["services"])
        env, env_files = {}, _UNREAD
    else:
        data = _walk(data, env)
    folder = str(folder)
    project = project_name(folder, data.get("name"))
    services = {
        str(name): _service(raw, folder, env, env_files, rel if rel is not None else folder)
        for name, raw in data["services"].items()
    }
    declared = data.get("networks") or {}
    if not isinstance(declared, Mapping):
        raise NeedsCompose("networks")
    networks: dict[str, dict[str, Any]] = {}
    used = {n for s in services.values() for n in s.get("networks") or ()}
    for key in set(declared) | used:
        net = declared.get(key) or {}
        if key not in declared and key != "default":
            raise NeedsCompose(f"network {key!r} is not declared")  # Compose refuses it
        if not isinstance(net, Mapping) or isinstance(net.get("external"), Mapping):
            raise NeedsCompose(f"network {key!r}")
        name = net.get("name") or (key if net.get("external") else f"{project}_{key}")
        networks[str(key)] = {"name": str(name)}
    return {"name": project, "services": services, "networks": networks}
