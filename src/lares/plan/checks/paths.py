"""Host paths: no mount, device or backup path leaves its root or reaches a system folder.

With several ``hosts:``, a machine whose ``paths`` are given must have the data folders the
apps placed on it mount (appdata, the pool, declared host paths): a bind mount whose source is
missing on the node fails the task.
"""

from __future__ import annotations

from collections.abc import Iterator

from lares import hostpaths
from lares.catalog.mounts import problems
from lares.catalog.resolve import AppView, Service
from lares.plan.context import PlanContext
from lares.plan.findings import Finding

ID = "paths"
DESCRIPTION = (
    "bind mounts, devices and backup paths stay inside their roots or are declared, and are on "
    "the host that runs the app"
)


def check(ctx: PlanContext) -> Iterator[Finding]:
    views = {a.id: a for a in ctx.system.apps}
    for problem in problems(ctx.system):
        view = views[problem.app]
        if problem.origin == "catalog":
            location = ctx.catalog.locate(problem.app, *problem.path)
        else:
            location = ctx.locate(*view.path, *problem.path)
        yield Finding(
            ID,
            "error",
            f"{problem.service}: {problem.message}",
            location,
            problem.hint,
            ".".join(str(p) for p in (*view.path, *problem.path)),
        )
    if len(ctx.blueprint.nodes()) > 1:
        yield from _per_host(ctx)


def _data_roots(ctx: PlanContext, app: AppView, service: Service) -> list[str]:
    """The folders holding data that a container's bind mounts may come from: the blueprint's
    roots and the host paths declared for it (system files such as /etc/localtime are on
    every machine)."""
    paths = ctx.blueprint.paths
    roots = [paths.appdata, paths.pool, *service.spec.host_paths, *app.settings.host_paths]
    override = app.settings.containers.get(service.key)
    if override is not None:
        roots.extend(override.host_paths)
    return roots


def _per_host(ctx: PlanContext) -> Iterator[Finding]:
    """A bind mount of data must come from a folder the machine that runs the app has."""
    nodes = {n.name: n for n in ctx.blueprint.nodes()}
    for app in ctx.system.apps:
        for host in ctx.system.placed_on(app):
            node = nodes[host]
            if node.paths is None:
                continue
            for service in app.services:
                roots = _data_roots(ctx, app, service)
                for volume in service.volumes:
                    source = hostpaths.normal(volume.split(":", 1)[0])
                    if not source.startswith("/") or not any(
                        hostpaths.under(source, r) for r in roots
                    ):
                        continue
                    if any(hostpaths.under(source, r) for r in node.paths):
                        continue
                    yield ctx.finding(
                        ID,
                        "error",
                        f"{service.name} mounts {source}, which is not on {host} "
                        f"(its folders: {', '.join(node.paths)})",
                        *app.path,
                        hint=f"place the app on a host that has it, or add the folder that "
                        f"holds it to the paths of {host} under hosts:",
                    )
                    break
