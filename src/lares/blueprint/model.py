"""The blueprint: what a person says their home server is and should run.

These are frozen pydantic models. Unknown keys are errors; sizes and durations are written the
way people write them (see :mod:`lares.units`). The loader (:mod:`lares.blueprint.load`) turns
validation errors into messages with file:line:column.

This module holds the whole :class:`Blueprint` and the audit section; each other section is a
module of its own (``fields``, ``machine``, ``stacks``, ``backup``, ``monitor``, ``costs``),
and every name is re-exported here: ``from lares.blueprint.model import X`` works for all.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from lares.blueprint.backup import (
    ENV_NAME_RE,
    OPTION_RE,
    RESERVED_ENV,
    SNAPSHOTS_WHEN,
    Backup,
    Check,
    Drill,
    DrillQuery,
    Repository,
    Retention,
    shared_run_conflicts,
)
from lares.blueprint.costs import (
    Costs,
    HardwareItem,
    Money,
    OffsiteStorage,
    Power,
    Recurring,
    Stated,
)
from lares.blueprint.fields import (
    NAME_RE,
    AbsPath,
    Exposure,
    HostPaths,
    Model,
    Name,
    RelPath,
    RootPath,
)
from lares.blueprint.machine import (
    BTRFS_PROFILES,
    DEFAULT_FOLDERS,
    MAC_RE,
    MDADM_LEVELS,
    AddressRange,
    BtrfsProfile,
    Cpu,
    CpuFeature,
    Device,
    DockerNetwork,
    Host,
    Mac,
    MdadmLevel,
    Network,
    Paths,
    Pool,
    Reserved,
    Storage,
)
from lares.blueprint.monitor import (
    Monitor,
    Notify,
    Thresholds,
)
from lares.blueprint.stacks import (
    Access,
    AppSettings,
    ContainerOverride,
    MemoryOverride,
    Proxy,
    Stack,
    Tunnel,
)
from lares.update.age import DEFAULT as AGE_DEFAULT
from lares.update.age import PATTERN as AGE_PATTERN

__all__ = [
    "BTRFS_PROFILES",
    "DEFAULT_FOLDERS",
    "ENV_NAME_RE",
    "MAC_RE",
    "MDADM_LEVELS",
    "NAME_RE",
    "OPTION_RE",
    "RESERVED_ENV",
    "SNAPSHOTS_WHEN",
    "AbsPath",
    "Access",
    "AddressRange",
    "AppSettings",
    "Audit",
    "AuditAccept",
    "Backup",
    "Blueprint",
    "BtrfsProfile",
    "Check",
    "ContainerOverride",
    "Costs",
    "Cpu",
    "CpuFeature",
    "Device",
    "DockerNetwork",
    "Drill",
    "DrillQuery",
    "Exposure",
    "HardwareItem",
    "Host",
    "HostPaths",
    "Mac",
    "MdadmLevel",
    "MemoryOverride",
    "Model",
    "Money",
    "Monitor",
    "Name",
    "Network",
    "Notify",
    "OffsiteStorage",
    "Paths",
    "Pool",
    "Power",
    "Proxy",
    "Recurring",
    "RelPath",
    "Repository",
    "Reserved",
    "Retention",
    "RootPath",
    "Stack",
    "Stated",
    "Storage",
    "Thresholds",
    "Tunnel",
    "is_secret_like",
    "shared_run_conflicts",
]

# ── the whole blueprint ────────────────────────────────────────────────────────────────────


class AuditAccept(Model):
    """A finding of `lares audit` the person accepts for one app, with the reason."""

    rule: str = Field(pattern=r"^[a-z0-9-]+$", description="the audit rule's id, e.g. root-user")
    app: Name
    reason: str = Field(min_length=10, description="why it is acceptable here, in one line")


class Audit(Model):
    accept: tuple[AuditAccept, ...] = Field(
        (), description="audit findings accepted beyond the catalog's exceptions, each with why"
    )


class Updates(Model):
    """Scheduled `lares update`: each app backed up, moved up and proven healthy, or put back."""

    schedule: str = Field("Sun *-*-* 03:30:00", description="systemd OnCalendar expression")
    level: Literal["patch", "minor"] = Field(
        "patch", description="the biggest step a scheduled update takes; majors stay manual"
    )
    exclude: tuple[Name, ...] = Field((), description="apps the schedule never updates")
    max_age: str = Field(
        AGE_DEFAULT,
        pattern=AGE_PATTERN,
        description="a pinned image built longer ago than this (e.g. 6 months) is reported by "
        "lares plan and lares outdated",
    )


class Dashboard(Model):
    """`lares serve`: where it listens (the server's LAN address by default) and who reaches it."""

    listen: str | None = Field(None, pattern=r"^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$")
    exposure: Literal["lan", "public"] = "lan"

    def address(self, host: IPv4Address) -> str:
        """The ADDR:PORT `lares serve` listens on (host: the server's LAN address)."""
        return self.listen or f"{host}:8765"


class Blueprint(Model):
    """Everything about one home server."""

    version: Literal[1] = 1
    host: Host
    paths: Paths
    storage: Storage = Storage()
    network: Network
    stacks: dict[Name, Stack]
    access: Access = Access()
    backup: Backup = Backup()
    monitor: Monitor = Monitor()
    costs: Costs = Costs()
    audit: Audit = Audit()
    updates: Updates | None = Field(None, description="scheduled safe updates (lares update)")
    dashboard: Dashboard | None = None
    catalog: tuple[str, ...] = Field(
        (), description="extra folders of app definitions, relative to this file"
    )

    @model_validator(mode="after")
    def _references(self) -> Blueprint:
        seen: dict[str, str] = {}
        for stack_name, stack in self.stacks.items():
            if stack.network is not None and stack.network not in self.network.docker:
                raise ValueError(
                    f"stack {stack_name!r} uses network {stack.network!r}, "
                    "which network.docker does not define"
                )
            for dep in stack.depends_on:
                if dep not in self.stacks:
                    raise ValueError(f"stack {stack_name!r} depends on unknown stack {dep!r}")
            for app in stack.apps:
                if app in seen:
                    raise ValueError(
                        f"app {app!r} is in both stacks {seen[app]!r} and {stack_name!r}"
                    )
                seen[app] = stack_name
        offsite = self.costs.offsite
        if offsite is not None and offsite.repository not in self.backup.repositories:
            raise ValueError(
                f"costs.offsite names repository {offsite.repository!r}, "
                "which backup.repositories does not define"
            )
        return self

    def app_stack(self) -> dict[str, str]:
        """App id → the stack it is in."""
        return {app: name for name, stack in self.stacks.items() for app in stack.apps}

    def stack_order(self) -> list[str]:
        """Stacks in dependency order (depends_on first), then in file order."""
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in order:
                return
            if name in visiting:
                raise ValueError(f"stacks depend on each other in a cycle through {name!r}")
            visiting.add(name)
            for dep in self.stacks[name].depends_on:
                visit(dep)
            visiting.discard(name)
            order.append(name)

        for name in self.stacks:
            visit(name)
        return order


def is_secret_like(key: str) -> bool:
    """Whether an environment key looks like it carries a secret value."""
    return bool(re.search(r"(PASS|SECRET|TOKEN|KEY|PRIVATE|CREDENTIAL)", key.upper()))
