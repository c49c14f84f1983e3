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
from lares.catalog.model import PLACEHOLDER_RE, App, Port
from lares.hostpaths import volume_target
from lares.importer import credentials, service
from lares.importer.load import Project

REVIEW = "imported: review"
#: Set by lares itself for every app (from the host section), never carried over.
LARES_SETS = frozenset({"PUID", "PGID", "TZ", "UMASK", "UMASK_SET"})
_SECRET_REF = re.compile(r"^\{secret(_file)?:([a-z0-9_-]+)\}$")
ROLE_OF = {
    "database": re.compile(r"postgres|mariadb|mysql|mongo"),
    "cache": re.compile(r"redis|valkey|keydb|memcached"),
}


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
    digests: dict[str, str] = field(default_factory=dict)  # repository:tag → digest, for lares.lock
    review: str | None = None  # why the app could not be made clean (it is left out)

    def note(self, svc: str, what: str, why: str) -> None:
        """Say why ``what`` of the service changes (reasons add up, each once)."""
        before = self.changes.get((svc, what))
        if before is None:
            self.changes[(svc, what)] = why
        elif why not in before:
            self.changes[(svc, what)] = f"{before}; {why}"


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
        for role, pattern in ROLE_OF.items():
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
    from lares.importer.custom import custom_app

    for imp in apps:
        if imp.catalog:
            _overrides(imp, index.catalog[imp.id], project, paths, owner)
        else:
            custom_app(imp, project, paths, owner, digests or {})
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
        if any(p.search(image.rsplit("/", 1)[-1]) for p in ROLE_OF.values()):
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


def env_value(value: str, rename: Mapping[str, str]) -> str:
    """A value for a catalog file: ``$$`` as the container sees it, and the other services'
    host names as lares names them."""
    value = value.replace("$$", "$")
    for old, new in rename.items():
        if old == new:
            continue
        value = re.sub(rf"(?<=[/@]){re.escape(old)}(?=[:/]|$)", new, value)
        value = new if value == old else value
    return value


def renames(
    project: Project, owner: Mapping[str, tuple[Imported, str]], index_catalog: Any = None
) -> dict[str, str]:
    out = {}
    for svc, (imp, key) in owner.items():
        if imp.project == project.name:
            out[svc] = imp.id if key == imp.id else f"{imp.id}-{key}"
    return out


def mount(
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


def literal_credentials(
    imp: Imported, svc: str, env: Mapping[str, str], raw: Mapping[str, str]
) -> dict[str, str]:
    """The service's literal credentials (variable → value), and its weak defaults as findings."""
    for weak in credentials.weak_defaults(dict(raw), dict(env)):
        imp.findings.append(weak.message(svc))
    return {k: v for k, v in env.items() if credentials.is_credential(k, v)}


def carry(
    imp: Imported, svc: str, var: str, value: str, rename: Mapping[str, str], into: dict[str, str]
) -> None:
    """Carry a plain variable over into ``into``, unless its value would read as a lares
    placeholder (then it is noted instead)."""
    if PLACEHOLDER_RE.search(value):
        imp.note(
            svc, "environment", f"{var} is not carried over: its value looks like a placeholder"
        )
    else:
        into[var] = env_value(value, rename)
        if into[var] != value.replace("$$", "$"):
            imp.note(svc, "environment", f"{var} names the other services as lares names them")


def port_spec(imp: Imported, svc: str, p: service.Published) -> dict[str, Any]:
    """A published port as lares writes it: on the LAN address, or loopback as it was."""
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


# ── catalog apps: only the differences ─────────────────────────────────────────────────────


def _catalog_targets(volumes: Iterable[str]) -> set[str]:
    """The container folders a catalog container mounts (placeholders hold colons too)."""
    return {t for v in volumes if (t := volume_target(v)) is not None}


def _ports(imp: Imported, app: App, key: str, spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ports the original publishes that the catalog container does not, or not so: as
    overrides (each replaces the catalog's binding of its container port). The app's web port
    is reached through the proxy, and 80 and 443 are the proxy's."""
    cat = app.containers[key]
    theirs: dict[tuple[int, str], Port] = {(p.container, p.protocol): p for p in cat.ports}
    web = app.web.port if app.web is not None and app.web.container == key else None
    svc = imp.services[key]
    out = []
    for p in service.ports(spec):
        host = p.host or p.container
        have = theirs.get((p.container, p.protocol))
        if have is None and (p.container == web or host in (80, 443)):
            imp.note(svc, "ports", f"{host}/{p.protocol} is not published: the proxy serves it")
            continue
        if cat.network_mode == "host":
            imp.note(svc, "ports", f"{p.container}/{p.protocol}: it runs on the host's network")
            continue
        if cat.network_mode is not None:
            imp.note(svc, "ports", f"{host}/{p.protocol}: it shares another container's network")
            continue
        want = port_spec(imp, svc, p)
        if have is not None and have.host_port == host and have.bind == want.get("bind", "lan"):
            continue  # the catalog publishes it so
        imp.note(svc, "ports", f"{host}/{p.protocol} is kept as published, as an override")
        out.append(want)
    return out


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
    rename = renames(project, owner)
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
        literal = literal_credentials(imp, svc, env, service.environment(project.raw_service(svc)))
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
                carry(imp, svc, var, value, rename, extra)
        if extra:
            out["env"] = extra
        targets = _catalog_targets(cat.volumes)
        host: dict[str, str] = {}
        vols = []
        for vol in service.volumes(spec):
            if vol.target.rstrip("/") in targets:
                kept = mount(imp, svc, vol, paths, host) if vol.kind == "bind" else None
                if kept:  # the data stays where it is: the catalog's mount is replaced
                    imp.note(svc, "volumes", f"{vol.source} stays mounted at {vol.target}")
                    vols.append(kept)
                elif vol.kind != "tmpfs":
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
            mounted = mount(imp, svc, vol, paths, host)
            if mounted:
                vols.append(mounted)
        if vols:
            out["volumes"] = vols
        if host:
            out["host_paths"] = host
        published = _ports(imp, app, key, spec)
        if published:
            out["ports"] = published
        if key == app.id:
            imp.settings.update(out)
        elif out:
            imp.settings.setdefault("containers", {})[key] = out
