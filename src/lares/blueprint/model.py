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
from functools import cached_property
from ipaddress import IPv4Address
from typing import Literal

from pydantic import Field, field_validator, model_validator

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
    Node,
    Paths,
    Pool,
    Reserved,
    Storage,
)
from lares.blueprint.monitor import Monitor, Notify, Thresholds
from lares.blueprint.stacks import (
    Access,
    AppSettings,
    ContainerOverride,
    MemoryOverride,
    Placement,
    PortOverride,
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
    "Node",
    "Notify",
    "OffsiteStorage",
    "Paths",
    "Placement",
    "Pool",
    "PortOverride",
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
    hosts: tuple[Node, ...] = Field(
        (),
        description="the machines of a blueprint that spans several (Docker Swarm); host: is "
        "the first and default one, listed here by its name or added first when missing",
    )
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

    @field_validator("hosts")
    @classmethod
    def _distinct_hosts(cls, hosts: tuple[Node, ...]) -> tuple[Node, ...]:
        names: dict[str, int] = {}
        addresses: dict[IPv4Address, int] = {}
        for i, node in enumerate(hosts):
            if node.name in names:
                raise ValueError(
                    f"hosts[{i}] and hosts[{names[node.name]}] are both named {node.name!r}; "
                    "give each machine its own name"
                )
            if node.address in addresses:
                raise ValueError(
                    f"hosts[{i}] ({node.name}) and hosts[{addresses[node.address]}] "
                    f"({hosts[addresses[node.address]].name}) have the same address "
                    f"{node.address}; each machine has its own"
                )
            names[node.name] = i
            addresses[node.address] = i
        return hosts

    @model_validator(mode="after")
    def _placements(self) -> Blueprint:
        nodes = {n.name: n for n in self.nodes()}
        for i, entry in enumerate(self.hosts):
            if entry.name != self.host.name and entry.memory is None:
                raise ValueError(
                    f"hosts[{i}].memory is required for {entry.name}: only host: may leave it out"
                )
            if entry.name == self.host.name and entry.address != self.network.host_address:
                raise ValueError(
                    f"hosts[{i}].address {entry.address} is not network.host_address "
                    f"{self.network.host_address}, and {entry.name} is host:"
                )
            for other in entry.reach:
                if other not in nodes:
                    raise ValueError(f"hosts[{i}].reach: {other!r} is not one of hosts:")
        for stack_name, stack in self.stacks.items():
            for app, settings in stack.apps.items():
                where = f"stacks.{stack_name}.apps.{app}.placement"
                placement = settings.placement
                if placement is None:
                    continue
                if placement.host is not None and placement.host not in nodes:
                    raise ValueError(
                        f"{where}.host: {placement.host!r} is not one of hosts: "
                        f"({', '.join(nodes)})"
                    )
                if placement.labels and not self.placed_on(settings):
                    wanted = ", ".join(f"{k}={v}" for k, v in placement.labels.items())
                    raise ValueError(f"{where}.labels: no host has the labels {wanted}")
        return self

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

    def nodes(self) -> tuple[Node, ...]:
        """Every machine, ``host:`` first, each with its memory, CPU and reserve filled in.

        A blueprint without ``hosts:`` has one: ``host:`` at ``network.host_address``.
        """
        return self._nodes

    @cached_property
    def _nodes(self) -> tuple[Node, ...]:
        main = next((n for n in self.hosts if n.name == self.host.name), None)
        first = Node(
            name=self.host.name,
            address=self.network.host_address,
            labels=main.labels if main else {},
            paths=main.paths if main else None,
            reach=main.reach if main else (),
            memory=main.memory if main and main.memory else self.host.memory,
            cpu=main.cpu if main and main.cpu else self.host.cpu,
            reserved=main.reserved if main and main.reserved else self.host.reserved,
        )
        others = tuple(
            n
            if n.cpu and n.reserved
            else n.model_copy(
                update={"cpu": n.cpu or self.host.cpu, "reserved": n.reserved or Reserved()}
            )
            for n in self.hosts
            if n.name != self.host.name
        )
        return (first, *others)

    def placed_on(self, settings: AppSettings) -> tuple[str, ...]:
        """The names of the hosts an app may run on: the one it names, those with all its
        labels, or ``host:`` when it has no placement."""
        return self._hosts_by_settings.get(id(settings)) or self._place(settings)

    @cached_property
    def _hosts_by_settings(self) -> dict[int, tuple[str, ...]]:
        # by the identity of the blueprint's own (frozen) settings: plan asks for each app often
        return {
            id(settings): self._place(settings)
            for stack in self.stacks.values()
            for settings in stack.apps.values()
        }

    def _place(self, settings: AppSettings) -> tuple[str, ...]:
        placement = settings.placement
        if placement is None:
            return (self.host.name,)
        if placement.host is not None:
            return (placement.host,)
        return tuple(
            n.name
            for n in self.nodes()
            if all(n.labels.get(k) == v for k, v in placement.labels.items())
        )

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
