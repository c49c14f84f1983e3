"""`lares import` as one action: load, map, assemble, prove, and write what it made.

:func:`import_projects` returns an :class:`ImportReport` (``to_dict()`` for ``--json``: names
and reasons, never a secret's value). Nothing is deployed; what is written is the output folder
(``lares.yaml``, ``catalog/``, ``review/``) and the secrets, into the state's secret store.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lares.errors import LaresError
from lares.importer import assemble
from lares.importer.load import ImportInputError, Project, Source, find, load, running_sources
from lares.importer.mapping import Imported, Index, map_project
from lares.importer.proof import RoundTrip, prove

HEADER = (
    "# Written by `lares import` from {sources}.\n"
    "# Review every `imported: review` (here and in catalog/), then `lares plan` and `lares up`.\n"
)


class ImportRefused(LaresError):
    code = "import-refused"
    exit_code = 2


@dataclass
class ImportReport:
    output: Path
    sources: list[str]
    apps: list[Imported]
    trips: list[RoundTrip] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    plan_errors: list[str] = field(default_factory=list)
    audit_before: dict[str, int] = field(default_factory=dict)
    audit_after: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # the ids stored, never their values

    @property
    def services(self) -> int:
        return sum(len(a.services) for a in self.apps)

    @property
    def mapped(self) -> int:
        """Services that became a catalog app's container or part of a clean custom file."""
        return sum(len(a.services) for a in self.apps if a.review is None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "sources": self.sources,
            "services": self.services,
            "mapped": self.mapped,
            "apps": [
                {
                    "id": a.id,
                    "stack": a.stack,
                    "project": a.project,
                    "kind": "catalog" if a.catalog else "custom",
                    "services": dict(a.services),
                    "secrets": sorted(a.secrets),
                    "review": a.review,
                }
                for a in self.apps
            ],
            "round_trip": [t.to_dict() for t in self.trips],
            "findings": self.findings,
            "review": self.review,
            "plan_errors": self.plan_errors,
            "audit": {"before": self.audit_before, "after": self.audit_after},
            "written": self.written,
            "secrets": self.secrets,
        }


def sources_for(
    paths: Sequence[Path], running: bool, only: Sequence[str] = (), api: Any = None
) -> tuple[list[Source], list[ipaddress.IPv4Network]]:
    """The projects to import and, from the engine, the subnets its networks already use."""
    if not running:
        return find(paths), []
    from lares.dockerapi import DockerAPI

    own = api is None
    api = api or DockerAPI()
    try:
        found = running_sources(api.containers(label=None))
        taken = [
            ipaddress.IPv4Network(str(c.get("Subnet")), strict=False)
            for net in api.get("/networks") or ()
            for c in (net.get("IPAM") or {}).get("Config") or ()
            if c.get("Subnet") and ":" not in str(c.get("Subnet"))
        ]
    finally:
        if own:
            api.close()
    if only:
        missing = sorted(set(only) - {s.name for s in found})
        if missing:
            raise ImportInputError(
                "no running compose project is called " + ", ".join(missing),
                hint="docker compose ls shows the projects the engine runs",
            )
        found = [s for s in found if s.name in only]
    if not found:
        raise ImportInputError(
            "no container on the engine was started by docker compose",
            hint="give the compose files or their folders instead",
        )
    return found, taken


def local_digests(projects: Sequence[Project], api: Any = None) -> dict[str, str]:
    """For each image the services name by a tag that moves (``latest``, no tag), the registry
    digest of what the person runs: the image of the running container (imported with
    ``--running``), else the copy the engine has (what `docker compose up` starts). Empty when
    the engine does not answer."""
    from urllib.parse import quote

    from lares.catalog.model import FLOATING_TAGS
    from lares.dockerapi import DockerAPI, EngineDown
    from lares.importer import service

    wanted: dict[str, str] = {}  # image reference → what to inspect (a running image's id)
    for p in projects:
        running = dict(p.source.images)
        for name, spec in sorted(p.services.items()):
            ref = str(spec.get("image") or "")
            tag = service.split_image(ref)[1]
            if ref and (tag in service.UNPINNED or tag in FLOATING_TAGS):
                wanted.setdefault(ref, running.get(name, ref))
    if not wanted:
        return {}
    own = api is None
    out: dict[str, str] = {}
    try:
        api = api or DockerAPI(timeout=5)
        for ref, what in sorted(wanted.items()):
            image = api.get(f"/images/{quote(what, safe='')}/json") or {}
            repo = service.split_image(ref)[0]
            digests = [str(d) for d in image.get("RepoDigests") or () if "@" in str(d)]
            digests.sort(key=lambda d: service.split_image(d.split("@")[0])[0] != repo)
            if digests:
                out[ref] = digests[0].split("@", 1)[1]
    except EngineDown:
        return out
    finally:
        if own and api is not None:
            api.close()
    return out


def build(
    projects: Sequence[Project],
    index: Index,
    taken: Sequence[ipaddress.IPv4Network] = (),
    digests: Mapping[str, str] | None = None,
) -> tuple[list[Imported], dict[str, Any]]:
    """The apps and the blueprint's data, from loaded projects (pure)."""
    paths = assemble.choose_paths(projects)
    names: set[str] = set()
    stacks = [assemble.stack_name(p, names) for p in projects]
    used: set[str] = set()
    apps: list[Imported] = []
    for project, stack in zip(projects, stacks, strict=True):
        apps += map_project(project, index, stack, paths, used, digests or {})
    kept = [a for a in apps if a.review is None]
    return apps, assemble.blueprint(projects, stacks, kept, paths, taken=taken)


def _escape(data: Any) -> Any:
    """``${`` as the blueprint writes a literal one (``$${``): the blueprint interpolates."""
    if isinstance(data, dict):
        return {k: _escape(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_escape(v) for v in data]
    return data.replace("${", "$${") if isinstance(data, str) else data


def import_projects(
    paths: Sequence[Path],
    output: Path,
    *,
    running: bool = False,
    only: Sequence[str] = (),
    force: bool = False,
    secrets_dir: Path | None = None,
    write: bool = True,
    api: Any = None,
) -> ImportReport:
    """Import the projects in ``paths`` (or on the engine) into ``output``.

    Raises :class:`ImportInputError` when a project cannot be loaded and
    :class:`ImportRefused` when ``output`` already holds a lares.yaml (without ``force``) or a
    secret store holds another value under an imported secret's id; nothing is written then.
    """
    target = output / "lares.yaml"
    if write and target.exists() and not force:
        raise ImportRefused(
            f"{target} exists: lares import does not overwrite a blueprint",
            hint="give another --output folder, or --force to replace it",
        )
    sources, taken = sources_for(paths, running, only, api)
    projects = load(sources)
    from lares.catalog.load import load_catalog

    index = Index(load_catalog(()))
    apps, data = build(projects, index, taken, local_digests(projects, api))
    report = ImportReport(output, [p.source.label for p in projects], apps)
    for a in apps:
        report.findings += a.findings
        if a.review:
            report.review.append(a.review)
    custom = {a.id: a.custom for a in apps if a.custom and a.review is None}
    data = _escape(data)
    prove(report, projects, data, custom, index.catalog)
    if write:
        _write(report, data, custom, secrets_dir, force)
    return report


def _write(
    report: ImportReport,
    data: dict[str, Any],
    custom: dict[str, Any],
    secrets_dir: Path | None,
    force: bool,
) -> None:
    """The blueprint, the custom app files, the files to review, then the secrets; a secret
    the store already holds with another value is refused (before anything is written)."""
    from lares.catalog.resolve import secret_id
    from lares.fsutil import atomic_write, sync_dirs
    from lares.secrets import SecretStore
    from lares.update.lock import NAME, Lock
    from lares.yamlio import dump_yaml

    values = {
        secret_id(a.id, name): value
        for a in report.apps
        if a.review is None
        for name, value in a.secrets.items()
    }
    store = SecretStore(secrets_dir) if secrets_dir is not None else None
    if store is not None and not force:
        clash = sorted(i for i, v in values.items() if store.exists(i) and store.read(i) != v)
        if clash:
            raise ImportRefused(
                "the secret store already holds other values for " + ", ".join(clash),
                hint="--force replaces them with the imported ones",
            )
    out = report.output
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    head = HEADER.format(sources=", ".join(report.sources))
    files["lares.yaml"] = head + dump_yaml(data)
    for ident, app in sorted(custom.items()):
        files[f"catalog/{ident}.yaml"] = f"# {app['description']}\n# {app['notes']}\n" + dump_yaml(
            app
        )
    for a in report.apps:
        if a.review is not None and a.custom is not None:
            files[f"review/{a.id}.yaml"] = f"# not in the blueprint: {a.review}\n" + dump_yaml(
                a.custom
            )
    for rel, text in files.items():  # each file whole; the folders synced once, after
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text, mode=0o644, sync_dir=False)
        report.written.append(rel)
    sync_dirs({(out / rel).parent for rel in files})
    pinned = {i: d for a in report.apps if a.review is None for i, d in a.digests.items()}
    if pinned:  # what the person runs under a floating tag, pinned from the first `lares up`
        lock = Lock.beside(out)
        for image, digest in sorted(pinned.items()):
            lock.record(image, digest)
        lock.save()
        report.written.append(NAME)
    if store is not None:
        for ident, value in sorted(values.items()):
            store.set(ident, value)
            report.secrets.append(ident)
