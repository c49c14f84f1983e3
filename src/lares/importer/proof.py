"""The proof of an import: the blueprint planned and rendered, each original service next to
what lares renders for it (field by field: equal, or changed and why), and the audit of both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lares.importer import service
from lares.importer.load import Project
from lares.importer.mapping import Imported
from lares.plain import Plain

#: The fields compared, in the order shown.
FIELDS = ("image", "volumes", "ports", "networks", "environment", "healthcheck", "depends_on")
#: Why a field differs when the import noted nothing more precise.
_WHY = {
    "image": "the catalog's image",
    "volumes": "the catalog's own folders for the app",
    "ports": "reached through the proxy, and published on the LAN address only",
    "networks": "the networks lares creates",
    "environment": "the catalog's settings for the app",
    "healthcheck": "the catalog's healthcheck",
    "depends_on": "the app's containers as the catalog orders them",
}


@dataclass(frozen=True)
class Field:
    name: str
    status: Literal["equal", "changed"]
    before: Any
    after: Any
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {"field": self.name, "status": self.status}
        return out | ({"why": self.why} if self.why else {})


@dataclass
class RoundTrip(Plain):
    project: str
    service: str
    app: str
    container: str
    rendered: str  # the Compose service lares renders
    fields: list[Field] = field(default_factory=list)
    hardening: list[str] = field(default_factory=list)  # audit rules the render no longer breaks


def _image(ref: str) -> str:
    name, tag = service.split_image(ref)
    return f"{name}:{tag or 'latest'}"


def _binds(spec: Mapping[str, Any]) -> list[str]:
    return sorted(
        f"{v.source}:{v.target}" if v.kind == "bind" else f"volume {v.source}:{v.target}"
        for v in service.volumes(spec)
        if v.kind != "tmpfs"
    )


def _ports(spec: Mapping[str, Any]) -> list[str]:
    return sorted(
        f"{p.host_ip or '*'}:{p.host or p.container}:{p.container}/{p.protocol}"
        for p in service.ports(spec)
    )


def _env(
    spec: Mapping[str, Any], secret_of: Mapping[str, str], values: Mapping[str, str]
) -> dict[str, str]:
    """The environment with each secret as the value it holds: ``X_FILE=/run/secrets/ID``
    and a 0600 env file's ``X`` both read as ``X=value``."""
    env = service.environment(spec)
    out = {}
    for var, value in env.items():
        ident = value.removeprefix("/run/secrets/") if value.startswith("/run/secrets/") else None
        if ident and ident in values:
            out[var.removesuffix("_FILE")] = values[ident]
        else:
            out[var] = value
    for var, ident in secret_of.items():
        if ident in values:
            out[var] = values[ident]
    return out


def _health(spec: Mapping[str, Any]) -> list[str] | None:
    hc = service.healthcheck(spec)
    return hc["test"] if hc else None


def compare(
    project: Project,
    imp: Imported,
    key: str,
    rendered: Mapping[str, Any],
    rendered_name: str,
    secrets: Mapping[str, str],
    env_secrets: Mapping[str, str],
    renames: Mapping[str, str],
) -> RoundTrip:
    """One original service against its render, field by field."""
    svc = imp.services[key]
    before = project.services[svc]
    trip = RoundTrip(project.name, svc, imp.id, key, rendered_name)
    pairs: dict[str, tuple[Any, Any]] = {
        "image": (_image(str(before.get("image") or "")), _image(str(rendered.get("image") or ""))),
        "volumes": (_binds(before), _binds(rendered)),
        "ports": (_ports(before), _ports(rendered)),
        "networks": (service.networks(before), service.networks(rendered)),
        "environment": (service.environment(before), _env(rendered, env_secrets, secrets)),
        "healthcheck": (_health(before), _health(rendered)),
        "depends_on": (
            sorted(renames.get(d, d) for d in service.depends_on(before)),
            sorted(service.depends_on(rendered)),
        ),
    }
    for name in FIELDS:
        old, new = pairs[name]
        if name == "environment":
            equal = all(new.get(k) == v for k, v in old.items()) and old.keys() == new.keys()
        else:
            equal = old == new
        if equal:
            trip.fields.append(Field(name, "equal", old, new))
        else:
            trip.fields.append(Field(name, "changed", old, new, _why(imp, svc, name, old, new)))
    return trip


def _why(imp: Imported, svc: str, name: str, old: Any, new: Any) -> str:
    noted = imp.changes.get((svc, name))
    if name == "environment":
        added = sorted(set(new) - set(old))
        gone = sorted(set(old) - set(new))
        parts = [noted] if noted else []
        if added:
            parts.append("added by lares: " + ", ".join(added))
        if gone and not noted:
            parts.append("not carried over: " + ", ".join(gone))
        return "; ".join(parts) or _WHY[name]
    if name == "networks" and not noted:
        was = ", ".join(old) or "the project's default network"
        return f"on {', '.join(new) or 'its own'}, the networks lares creates, instead of {was}"
    return noted or _WHY[name]


def hardening(before: Sequence[Any], after: Sequence[Any]) -> list[str]:
    """The audit rules the original broke and the render does not, by rule id and title."""
    from lares.audit.rules import discover

    rules = discover()
    fixed = sorted({f.rule for f in before} - {f.rule for f in after})
    return [f"{r}: {rules[r].title}" for r in fixed if r in rules]


def prove(
    report: Any,
    projects: Sequence[Project],
    data: dict[str, Any],
    custom: Mapping[str, Any],
    embedded: Any,
) -> None:
    """Plan and render the blueprint in memory, compare each service, audit before and after;
    fills ``report`` (an :class:`~lares.importer.actions.ImportReport`)."""
    from lares.audit.engine import check_containers
    from lares.audit.model import from_compose
    from lares.audit.targets import load_bundle
    from lares.blueprint.load import load_text
    from lares.catalog.load import Catalog
    from lares.catalog.model import App
    from lares.catalog.resolve import secret_id
    from lares.errors import LaresError
    from lares.plan import plan
    from lares.render import render_all
    from lares.yamlio import dump_yaml, safe_load, validate

    apps = dict(embedded.apps)
    sources = dict(embedded.sources)
    for ident, body in custom.items():
        name = f"catalog/{ident}.yaml"
        try:
            apps[ident] = validate(App, body, filename=name, what="app definition")
        except LaresError as exc:
            report.plan_errors.append(exc.render())
        sources[ident] = name
    catalog = Catalog(apps, sources, {**embedded.data, **custom})
    try:
        loaded = load_text(dump_yaml(data), filename="lares.yaml", base_dir=report.output, env={})
        planned = plan(loaded, catalog=catalog)
    except LaresError as exc:
        report.plan_errors.append(exc.render())
        return
    report.plan_errors += [f.render() for f in planned.errors]
    if report.plan_errors:
        return
    try:
        bundle = render_all(planned.system, source="lares.yaml")
    except LaresError as exc:
        report.plan_errors.append(exc.render())
        return
    values = {
        secret_id(a.id, n): v for a in report.apps if a.review is None for n, v in a.secrets.items()
    }
    env_secrets: dict[str, dict[str, str]] = {}
    for env_file in bundle.env_files:
        stack_service = env_file.path
        env_secrets[stack_service] = {
            var: tpl.removeprefix("{secret:").removesuffix("}")
            for var, tpl in env_file.variables.items()
        }
    by_project = {p.name: p for p in projects}
    renders = {
        rel.split("/", 1)[0]: safe_load(f.content) or {}
        for rel, f in bundle.files.items()
        if rel.endswith("/compose.yaml")
    }
    before, after_specs = [], {}
    for a in report.apps:
        if a.review is not None:
            continue
        project = by_project[a.project]
        app = catalog[a.id]
        renames = {s: app.service_name(k) for k, s in a.services.items()}
        stack = renders.get(a.stack, {}).get("services") or {}
        for key, svc in a.services.items():
            name = app.service_name(key)
            rendered = stack.get(name) or {}
            env_vars: Mapping[str, str] = next(
                (
                    v
                    for p, v in env_secrets.items()
                    if f"/{name}." in p or p.endswith(f"/{name}.env")
                ),
                {},
            )
            trip = compare(project, a, key, rendered, name, values, env_vars, renames)
            spec = project.services[svc]
            before.append(
                (trip, from_compose(project.name, svc, spec, source=project.source.label))
            )
            after_specs[name] = trip
            report.trips.append(trip)
    compose_files = {
        rel: f.content for rel, f in bundle.files.items() if rel.endswith("/compose.yaml")
    }
    placeholder = {
        e.path: "".join(f"{k}=lares-import-placeholder\n" for k in e.variables)
        for e in bundle.env_files
    }
    rendered = load_bundle(compose_files, placeholder, "lares.yaml").containers
    found_before = check_containers([c for _, c in before])
    found_after = check_containers(rendered)
    for trip, c in before:
        mine = [f for f in found_before if f.project == c.project and f.app == c.app]
        theirs = [f for f in found_after if f.container == trip.rendered]
        trip.hardening = hardening(mine, theirs)
    report.audit_before = _counts(found_before)
    report.audit_after = _counts(found_after)


def _counts(findings: Sequence[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.severity] = out.get(f.severity, 0) + 1
    return out
