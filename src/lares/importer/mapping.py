"""Each service of a project becomes a catalog app's container or a custom app.

A service whose image is a catalog app's main image becomes that app, keeping only what the
person changed as overrides (version, image, environment, extra volumes); a database, cache or
helper beside it becomes the app's own container of that kind (a PostgreSQL beside Nextcloud is
Nextcloud's ``db``). Every other service becomes a custom app file, written from what it really
does, with each departure from lares's hardening declared as ``imported: review``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lares import hostpaths
from lares.catalog.load import Catalog
from lares.catalog.model import PLACEHOLDER_RE, App
from lares.importer import credentials, service
from lares.importer.load import Project

REVIEW = "imported: review"
#: Set by lares itself for every app (from the host section), never carried over.
LARES_SETS = frozenset({"PUID", "PGID", "TZ", "UMASK", "UMASK_SET"})
_SECRET_REF = re.compile(r"^\{secret(_file)?:([a-z0-9_-]+)\}$")
_ROLE_OF = {
    "database": re.compile(r"postgres|mariadb|mysql|mongo"),
    "cache": re.compile(r"redis|valkey|keydb|memcached"),
}
#: The capabilities an image that starts as root uses to hand its files to its own user.
ROOT_START = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")


@dataclass
class Paths:
    appdata: str
    pool: str

    def inside(self, path: str) -> bool:
        return hostpaths.under(path, self.appdata) or hostpaths.under(path, self.pool)


@dataclass
class Imported:
    """One app of the blueprint, made from one or more services of a project."""

    id: str
    stack: str
    project: str
    catalog: bool  # an embedded catalog app (else a custom file)
    services: dict[str, str] = field(default_factory=dict)  # container key → service
    settings: dict[str, Any] = field(default_factory=dict)  # the blueprint's app settings
    custom: dict[str, Any] | None = None  # the custom app file
    secrets: dict[str, str] = field(default_factory=dict)  # secret name → value
    changes: dict[tuple[str, str], str] = field(default_factory=dict)  # (service, field) → why
    findings: list[str] = field(default_factory=list)
    review: str | None = None  # why the app could not be made clean (it is left out)

    def note(self, svc: str, what: str, why: str) -> None:
        self.changes.setdefault((svc, what), why)
        if (svc, what) in self.changes and why not in self.changes[(svc, what)]:
            self.changes[(svc, what)] += "; " + why


def app_id(name: str) -> str:
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return out if out and out[0].isalnum() else f"app-{out}".strip("-")


class Index:
    """The catalog by image: which app's container each image is."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.by_image: dict[str, list[tuple[str, str]]] = {}
        for app in catalog.apps.values():
            for key, spec in app.containers.items():
                self.by_image.setdefault(service.split_image(spec.image)[0], []).append(
                    (app.id, key)
                )

    def main_app(self, image: str) -> str | None:
        """The app whose main container runs ``image``."""
        for app, key in self.by_image.get(image, ()):
            if app == key:
                return app
        return None

    def slot(self, app: App, image: str, taken: set[str]) -> str | None:
        """The container of ``app`` a helper running ``image`` becomes: the one with its image,
        else the one of its role (database, cache)."""
        free = [k for k in app.containers if k != app.id and k not in taken]
        for key in free:
            if service.split_image(app.containers[key].image)[0] == image:
                return key
        for role, pattern in _ROLE_OF.items():
            if pattern.search(image.rsplit("/", 1)[-1]):
                for key in free:
                    if app.containers[key].role == role:
                        return key
        return None


def map_project(
    project: Project,
    index: Index,
    stack: str,
    paths: Paths,
    used: set[str],
    digests: Mapping[str, str] | None = None,
) -> list[Imported]:
    """The apps of one project. ``used`` holds the app ids already in the blueprint (an app
    runs once: a second copy of a catalog app becomes a custom app); ``digests`` pins an
    unpinned image to the copy the engine has."""
    specs = project.services
    apps: list[Imported] = []
    owner: dict[str, tuple[Imported, str]] = {}  # service → (app, container key)
    for name in sorted(specs):
        image = service.split_image(str(specs[name].get("image") or ""))[0]
        found = index.main_app(image)
        if found and found not in used:
            used.add(found)
            imp = Imported(found, stack, project.name, True, {found: name})
            apps.append(imp)
            owner[name] = (imp, found)
    for name in sorted(specs):  # helpers join the app that uses them, else one of its kind
        if name in owner:
            continue
        image = service.split_image(str(specs[name].get("image") or ""))[0]
        users = [
            owner[s][0] for s, sp in specs.items() if s in owner and name in service.depends_on(sp)
        ]
        for imp in [*users, *(a for a in apps if a.catalog and a not in users)]:
            key = index.slot(index.catalog[imp.id], image, set(imp.services))
            if key:
                imp.services[key] = name
                owner[name] = (imp, key)
                break
    custom = _group_custom([n for n in sorted(specs) if n not in owner], specs)
    for main, members in custom.items():
        ident = app_id(main)
        if ident in used or ident in index.catalog:
            ident = app_id(f"{main}-{project.name}")
        used.add(ident)
        imp = Imported(
            ident,
            stack,
            project.name,
            False,
            {ident if s == main else app_id(s): s for s in members},
        )
        apps.append(imp)
        owner.update({s: (imp, k) for k, s in imp.services.items()})
    for imp in apps:
        if imp.catalog:
            _overrides(imp, index.catalog[imp.id], project, paths, owner)
        else:
            _custom(imp, project, paths, owner, digests or {})
    return apps


def _group_custom(names: list[str], specs: Mapping[str, Any]) -> dict[str, list[str]]:
    """Custom services, grouped: a database or cache that one service alone depends on, and a
    service that runs in another's network namespace, join that service's app."""
    parent: dict[str, str] = {}
    for name in names:
        mode = str(specs[name].get("network_mode") or "")
        if mode.startswith("service:") and mode[8:] in names:
            parent[name] = mode[8:]
            continue
        image = service.split_image(str(specs[name].get("image") or ""))[0]
        if any(p.search(image.rsplit("/", 1)[-1]) for p in _ROLE_OF.values()):
            users = [u for u in names if u != name and name in service.depends_on(specs[u])]
            if len(users) == 1:
                parent[name] = users[0]
    groups: dict[str, list[str]] = {}
    for name in names:
        top, seen = name, set()
        while top in parent and top not in seen:
            seen.add(top)
            top = parent[top]
        groups.setdefault(top, [top])
        if name != top:
            groups[top].append(name)
    return groups


# ── the service's values, as lares writes them ────────────────────────────────────────────


def _env_value(value: str, rename: Mapping[str, str]) -> str:
    """A value for a catalog file: ``$$`` as the container sees it, and the other services'
    host names as lares names them."""
    value = value.replace("$$", "$")
    for old, new in rename.items():
        if old == new:
            continue
        value = re.sub(rf"(?<=[/@]){re.escape(old)}(?=[:/]|$)", new, value)
        value = new if value == old else value
    return value


def _renames(
    project: Project, owner: Mapping[str, tuple[Imported, str]], index_catalog: Any = None
) -> dict[str, str]:
    out = {}
    for svc, (imp, key) in owner.items():
        if imp.project == project.name:
            out[svc] = imp.id if key == imp.id else f"{imp.id}-{key}"
    return out


def _mount(
    imp: Imported, svc: str, vol: service.Volume, paths: Paths, host: dict[str, str]
) -> str | None:
    """The volume as lares mounts it, or None when it cannot be (and why is noted)."""
    if vol.kind == "tmpfs" or not vol.target:
        return None
    if vol.kind == "volume":
        source = "{appdata}/" + re.sub(
            r"[^A-Za-z0-9._-]+", "-", vol.source or vol.target.strip("/")
        )
        imp.note(
            svc,
            "volumes",
            f"named volume {vol.source or '(anonymous)'} becomes "
            f"the folder {source}: copy its data there before `lares up`",
        )
        return vol.spec(source)
    source = hostpaths.normal(vol.source)
    problem = hostpaths.declared_problem(source)
    if problem:
        imp.note(svc, "volumes", f"{source} is not mounted: {problem}")
        return None
    ro = vol.read_only
    if hostpaths.under(source, "/etc") and not ro:
        ro = True
        imp.note(
            svc,
            "volumes",
            f"{source} is mounted read-only: lares mounts nothing below /etc writable",
        )
    if not paths.inside(source):
        host[source] = f"{REVIEW}: the original service mounted it"
    return service.Volume("bind", source, vol.target, ro).spec()


def _credentials(
    imp: Imported, svc: str, env: Mapping[str, str], raw: Mapping[str, str]
) -> dict[str, str]:
    """The service's literal credentials (variable → value), and its weak defaults as findings."""
    for weak in credentials.weak_defaults(dict(raw), dict(env)):
        imp.findings.append(weak.message(svc))
    return {k: v for k, v in env.items() if credentials.is_credential(k, v)}


def _carry(
    imp: Imported, svc: str, var: str, value: str, rename: Mapping[str, str], into: dict[str, str]
) -> None:
    """Carry a plain variable over into ``into``, unless its value would read as a lares
    placeholder (then it is noted instead)."""
    if PLACEHOLDER_RE.search(value):
        imp.note(
            svc, "environment", f"{var} is not carried over: its value looks like a placeholder"
        )
    else:
        into[var] = _env_value(value, rename)


# ── catalog apps: only the differences ─────────────────────────────────────────────────────


def _catalog_targets(volumes: Iterable[str]) -> set[str]:
    """The container folders a catalog container mounts (placeholders hold colons too)."""
    plain = (PLACEHOLDER_RE.sub("x", v) for v in volumes)
    return {v.split(":")[1] for v in plain if v.count(":") >= 1}


def _secret_vars(env: Mapping[str, str]) -> dict[str, str]:
    """The variables a catalog container reads a secret from: original name → secret."""
    out = {}
    for var, value in env.items():
        m = _SECRET_REF.match(value)
        if m:
            out[var.removesuffix("_FILE") if m[1] else var] = m[2]
    return out


def _overrides(
    imp: Imported,
    app: App,
    project: Project,
    paths: Paths,
    owner: Mapping[str, tuple[Imported, str]],
) -> None:
    rename = _renames(project, owner)
    order = sorted(imp.services, key=lambda k: app.containers[k].role != "database")
    for key in order:
        svc = imp.services[key]
        spec, cat = project.services[svc], app.containers[key]
        out: dict[str, Any] = {}
        name, tag = service.split_image(str(spec.get("image") or ""))
        if name != service.split_image(cat.image)[0]:
            if tag in service.UNPINNED:
                imp.note(
                    svc,
                    "image",
                    f"{name} is not pinned: the catalog's {cat.image}:{cat.version} runs instead",
                )
            else:
                out["image"], out["version"] = name, tag
                imp.note(svc, "image", f"kept as {name}:{tag} instead of the catalog's {cat.image}")
        elif tag in service.UNPINNED:
            imp.note(
                svc,
                "image",
                f"pinned to the catalog's version {cat.version} "
                f"instead of {tag or 'no tag'} (latest)",
            )
        elif tag != cat.version:
            out["version"] = tag
        env = service.environment(spec)
        secrets = _secret_vars(cat.environment)
        literal = _credentials(imp, svc, env, service.environment(project.raw_service(svc)))
        proxy = set(app.web.proxy) if app.web else set()
        extra: dict[str, str] = {}
        for var, value in sorted(env.items()):
            if var in secrets and value:
                held = imp.secrets.setdefault(secrets[var], value)
                if held != value:
                    imp.findings.append(
                        f"{svc}: {var} differs from the value another container "
                        f"gives the same secret ({secrets[var]}): the first is kept"
                    )
                imp.note(
                    svc,
                    "environment",
                    f"{var} is read from the lares secret {secrets[var]} (same value)",
                )
            elif var in literal:
                imp.note(
                    svc,
                    "environment",
                    f"{var} is a credential the catalog app does not read: "
                    "not carried over (set it with an override once you know it is needed)",
                )
            elif var in LARES_SETS or var in proxy:
                imp.note(
                    svc,
                    "environment",
                    f"{var} is set by lares (from the host "
                    "section, or from where the proxy reaches the app)",
                )
            elif var in cat.environment and PLACEHOLDER_RE.search(cat.environment[var]):
                if value != cat.environment[var]:
                    imp.note(
                        svc,
                        "environment",
                        f"{var} is set by lares (the catalog's {cat.environment[var]})",
                    )
            elif var in cat.environment and value == cat.environment[var]:
                continue
            else:
                _carry(imp, svc, var, value, rename, extra)
        if extra:
            out["env"] = extra
        targets = _catalog_targets(cat.volumes)
        host: dict[str, str] = {}
        vols = []
        for vol in service.volumes(spec):
            if vol.target in targets:
                if vol.kind != "tmpfs":
                    imp.note(
                        svc,
                        "volumes",
                        f"{vol.target} is the catalog's own folder for "
                        f"it: move the data of {vol.source} there before `lares up`",
                    )
                continue
            if vol.socket:
                imp.note(
                    svc,
                    "volumes",
                    "the Docker socket is not mounted: the catalog app does not need it",
                )
                continue
            mounted = _mount(imp, svc, vol, paths, host)
            if mounted:
                vols.append(mounted)
        if vols:
            out["volumes"] = vols
        if host:
            out["host_paths"] = host
        if key == app.id:
            imp.settings.update(out)
        elif out:
            imp.settings.setdefault("containers", {})[key] = out


# ── custom apps: the service as it is, each departure declared ────────────────────────────


def _custom(
    imp: Imported,
    project: Project,
    paths: Paths,
    owner: Mapping[str, tuple[Imported, str]],
    digests: Mapping[str, str],
) -> None:
    rename = _renames(project, owner)
    secrets: dict[str, dict[str, Any]] = {}
    containers: dict[str, Any] = {}
    main = imp.services[imp.id]
    for key, svc in imp.services.items():
        spec = project.services[svc]
        name, tag = service.split_image(str(spec.get("image") or ""))
        c: dict[str, Any] = {"image": name, "version": tag}
        digest = digests.get(str(spec.get("image") or ""))
        if tag in service.UNPINNED and digest:
            c["version"] = f"{tag or 'latest'}@{digest}"
            imp.note(svc, "image", "pinned to the digest of the copy the engine runs")
        elif tag in service.UNPINNED:
            imp.review = (
                f"{svc}: the image {name} is not pinned to a "
                "version (pin it, then move the file into the catalog folder)"
            )
        ex: dict[str, str] = {}
        if spec.get("user"):
            c["user"] = str(spec["user"])
        else:
            ex["root"] = (
                f"{REVIEW}: the original sets no user, so it "
                "runs as the image's (root unless the image says otherwise)"
            )
        if not spec.get("read_only"):
            c["read_only"] = False
            ex["writable_root"] = f"{REVIEW}: the original's root filesystem is writable"
        if spec.get("command"):
            c["command"] = [_env_value(str(a), {}) for a in spec["command"]]
        if spec.get("entrypoint"):
            c["entrypoint"] = [_env_value(str(a), {}) for a in spec["entrypoint"]]
        caps = sorted({str(x).upper().removeprefix("CAP_") for x in spec.get("cap_add") or ()})
        dropped = {str(x).upper().removeprefix("CAP_") for x in spec.get("cap_drop") or ()}
        if "user" not in c and "ALL" not in dropped:  # a root start hands its files to its user
            caps = sorted({*caps, *ROOT_START} - dropped)
            imp.note(
                svc,
                "capabilities",
                f"Docker's default capabilities are dropped but {', '.join(ROOT_START)}, "
                "which an image that starts as root uses",
            )
        ports = service.ports(spec)
        if "user" not in c and any(p.container < 1024 for p in ports):
            caps = sorted({*caps, "NET_BIND_SERVICE"})
        if caps:
            c["cap_add"] = caps
            ex["capabilities"] = f"{REVIEW}: {', '.join(caps)}, as the original runs"
        if spec.get("privileged"):
            c["privileged"] = True
            ex["privileged"] = f"{REVIEW}: the original runs privileged"
        devices = [
            d if isinstance(d, str) else f"{d.get('source')}:{d.get('target')}"
            for d in spec.get("devices") or ()
        ]
        if devices:
            c["devices"] = devices
            ex["devices"] = f"{REVIEW}: the original uses {', '.join(devices)}"
        mode = str(spec.get("network_mode") or "")
        if mode == "host":
            c["network_mode"] = "host"
            ex["host_network"] = f"{REVIEW}: the original runs on the host's network"
        elif mode.startswith("service:"):
            target = owner.get(mode[8:])
            if target and target[0] is imp:
                c["network_mode"] = f"service:{target[1]}"
            else:
                imp.note(
                    svc, "networks", f"network_mode {mode} is not kept: that service is another app"
                )
        elif mode and mode not in ("bridge", "default"):
            imp.note(svc, "networks", f"network_mode {mode} is not kept")
        if service.own_init(name):
            c["init"] = False
            ex["own_init"] = f"{REVIEW}: LinuxServer.io images run s6-overlay as PID 1"
        host: dict[str, str] = {}
        vols = []
        for vol in service.volumes(spec):
            if vol.socket:
                c["docker_socket"] = "ro" if vol.read_only else "rw"
                ex["docker_socket"] = f"{REVIEW}: the original mounts the Docker socket"
            elif vol.kind == "tmpfs":
                c.setdefault("tmpfs", []).append(vol.target)
            else:
                mounted = _mount(imp, svc, vol, paths, host)
                if mounted:
                    vols.append(mounted)
        c["tmpfs"] = (
            sorted({*c.get("tmpfs", []), *(str(t) for t in spec.get("tmpfs") or ())}) or None
        )
        if vols:
            c["volumes"] = vols
        if host:
            c["host_paths"] = host
        env = service.environment(spec)
        literal = _credentials(imp, svc, env, service.environment(project.raw_service(svc)))
        out_env = {}
        for var, value in sorted(env.items()):
            if var in literal:
                sname = app_id(var).replace("-", "_")[:60]
                if key != imp.id:
                    sname = f"{key.replace('-', '_')}_{sname}"[:62]
                secrets[sname] = {"description": f"imported from {var} of {svc}"}
                imp.secrets[sname] = value
                out_env[var] = "{secret:" + sname + "}"
                ex["plain_env_secret"] = (
                    f"{REVIEW}: the image reads its credentials from plain variables"
                )
                imp.note(
                    svc,
                    "environment",
                    f"{var} is the lares secret {sname} "
                    "(same value), passed through a 0600 env file",
                )
            else:
                _carry(imp, svc, var, value, rename, out_env)
        if out_env:
            c["environment"] = out_env
        hc = service.healthcheck(spec)
        if hc:
            c["healthcheck"] = hc
        else:
            ex["no_healthcheck"] = f"{REVIEW}: the original has no healthcheck"
        if ports and mode != "host":
            c["ports"] = [_port(imp, svc, p) for p in ports]
        deps = {
            app_id(d) if owner.get(d, (None, ""))[0] is imp else "": cond
            for d, cond in service.depends_on(spec).items()
        }
        for dep in service.depends_on(spec):
            if owner.get(dep, (None, ""))[0] is not imp:
                imp.note(
                    svc,
                    "depends_on",
                    f"{dep} is another app: lares starts the stack's apps together",
                )
        deps = {
            owner[d][1]: cond
            for d, cond in service.depends_on(spec).items()
            if owner.get(d, (None, ""))[0] is imp
        }
        if deps:
            c["depends_on"] = deps
        c["memory"] = {"reservation": "64MiB", "limit": "1GiB"}
        c["pids"] = 512
        database = any(p.search(name.rsplit("/", 1)[-1]) for p in _ROLE_OF.values())
        if database and key != imp.id:
            c["role"] = "database" if _ROLE_OF["database"].search(name) else "cache"
        if ex:
            c["exceptions"] = ex
        containers[key] = {k: v for k, v in c.items() if v is not None}
    _database_network(imp, containers)
    imp.custom = {
        "id": imp.id,
        "name": main,
        "description": f"imported from the compose project {project.name} ({project.source.label})",
        "category": "tools",
        **({"secrets": secrets} if secrets else {}),
        "containers": containers,
        "notes": (
            f"{REVIEW}: written by lares import from what "
            "the original runs; give each exception a real reason"
        ),
    }


def _database_network(imp: Imported, containers: dict[str, Any]) -> None:
    """A database container goes on the internal database network only (published ports
    do not reach it there); the app's other containers join it beside the stack's."""
    if not any(c.get("role") == "database" for c in containers.values()):
        return
    for key, c in containers.items():
        if c.get("role") == "database":
            c["networks"] = ["database"]
            if c.pop("ports", None):
                imp.note(
                    imp.services[key],
                    "ports",
                    "not published: a database is reached only by its app, on the internal network",
                )
        elif "network_mode" not in c:
            c["networks"] = ["stack", "database"]


def _port(imp: Imported, svc: str, p: service.Published) -> dict[str, Any]:
    out: dict[str, Any] = {"container": p.container}
    if p.host and p.host != p.container:
        out["host"] = p.host
    if p.protocol != "tcp":
        out["protocol"] = p.protocol
    if p.host_ip in ("127.0.0.1", "::1"):
        out["bind"] = "loopback"
    elif p.host_ip in ("", "0.0.0.0", "::"):  # noqa: S104 (reading what it was published on)
        imp.note(
            svc,
            "ports",
            f"{p.host or p.container}/{p.protocol} "
            "listens on the LAN address, not on every interface",
        )
    return out
