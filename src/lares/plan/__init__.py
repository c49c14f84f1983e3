"""Plan: run every check over a blueprint and collect findings. Pure: nothing is changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lares.blueprint.load import Loaded
from lares.catalog.load import Catalog, load_catalog
from lares.catalog.resolve import System, resolve
from lares.errors import UnknownCheck
from lares.plan.context import PlanContext
from lares.plan.findings import Finding, sort_key


@dataclass(frozen=True)
class Plan:
    context: PlanContext
    findings: tuple[Finding, ...]

    @property
    def system(self) -> System:
        return self.context.system

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]


def catalog_for(loaded: Loaded) -> Catalog:
    """The catalog a blueprint sees: embedded apps plus its own folders."""
    return load_catalog(loaded.base_dir / d for d in loaded.blueprint.catalog)


def make_context(
    loaded: Loaded,
    catalog: Catalog | None = None,
    secrets_set: Iterable[str] | None = None,
    target: str = "home",
) -> PlanContext:
    catalog = catalog or catalog_for(loaded)
    have = frozenset(secrets_set) if secrets_set is not None else None
    from lares.update.lock import lock_beside

    lock = lock_beside(loaded.base_dir)
    system = resolve(loaded.blueprint, catalog, lock.pins, lock.images)
    return PlanContext(loaded, catalog, system, have, target, lock.built)


def plan(
    loaded: Loaded,
    *,
    catalog: Catalog | None = None,
    only: Iterable[str] = (),
    secrets_set: Iterable[str] | None = None,
    target: str = "home",
) -> Plan:
    """Run the checks (all, or those in ``only``) and return the findings, worst first.

    ``secrets_set`` names the secrets already set (see :func:`secrets_set_in`); with it, a
    secret the person must provide that is not set is an error. ``target`` is the render target
    the plan is for: with ``swarm``, the ``swarm`` check says what Docker Swarm does not apply.

    Raises :class:`~lares.errors.UnknownCheck` when ``only`` names a check that does not exist.
    """
    from lares.plan.checks import discover

    checks = discover()
    wanted = set(only)
    unknown = sorted(wanted - set(checks))
    if unknown:
        raise UnknownCheck(unknown, checks)
    ctx = make_context(loaded, catalog, secrets_set, target)
    findings: list[Finding] = []
    for check_id, check in checks.items():
        if wanted and check_id not in wanted:
            continue
        findings.extend(check.check(ctx))
    return Plan(ctx, tuple(sorted(findings, key=sort_key)))


def secrets_set_in(folder: Path) -> list[str]:
    """The ids of the secrets stored in ``folder`` (the state folder's secrets), by file name.

    Only names are read, never a value; a folder that does not exist holds none.
    """
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.stat().st_size > 0)
