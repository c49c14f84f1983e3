"""Stacks that were applied but are no longer in the blueprint, and stacks that were renamed.

An *orphan* is a stack lares applied (it has a record under ``applied/``) or whose containers
run with lares's labels, but which the blueprint no longer names. Left alone it keeps running,
unwatched; ``lares down STACK`` removes it from its applied revision, ``lares up --prune``
removes every orphan this state folder applied after the confirmation (a stack that only runs
may belong to another lares on the same engine: it takes an explicit ``lares down``).

A *rename* is an orphan whose containers a new stack of the blueprint now defines (the same
container names: lares names each container after its Compose service). Compose would refuse
them with a name conflict, so ``up`` takes the old project down first, then brings the new one
up; the data stays, since every volume is a host folder of the app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lares.deploy import engine, record
from lares.deploy.status import stack_containers
from lares.state import StateDir

if TYPE_CHECKING:
    from lares.deploy.stackplan import StackPlan
    from lares.dockerapi import DockerAPI


@dataclass(frozen=True)
class Orphan:
    name: str
    containers: tuple[str, ...]  # its container names, recorded or found running
    running: int  # how many of them run now
    recorded: bool  # lares holds an applied revision of it
    renamed_to: str | None = None  # the blueprint stack that now defines its containers

    @property
    def remedy(self) -> str:
        """How to remove it: ``--prune`` only removes what this state folder applied."""
        down = f"`lares down {self.name}`"
        return f"{down}, or `lares up --prune`" if self.recorded else down

    @property
    def hint(self) -> str:
        if self.renamed_to:
            return f"renamed to {self.renamed_to}: `lares up` moves it"
        return f"not in the blueprint: {self.remedy}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.name,
            "action": f"rename to {self.renamed_to}" if self.renamed_to else "orphan",
            "containers": list(self.containers),
            "running": self.running,
            "recorded": self.recorded,
            "renamed_to": self.renamed_to,
        }


def find(
    state: StateDir,
    stacks: Iterable[str],
    plans: Iterable[StackPlan] = (),
    client: DockerAPI | None = None,
) -> list[Orphan]:
    """The orphans next to the blueprint's ``stacks``; each one whose containers a stack being
    created in ``plans`` defines is marked as renamed to it."""
    known = set(stacks)
    names: dict[str, list[str]] = {}
    recorded: set[str] = set()
    for name in record.stacks(state):
        rec = record.load(state, name)
        if name not in known and rec is not None:
            names[name] = list(rec.containers)
            recorded.add(name)
    running: dict[str, int] = {}
    for c in stack_containers(client) if client is not None else []:
        if c.stack and c.stack not in known:
            found = names.setdefault(c.stack, [])
            if c.name not in found:
                found.append(c.name)
            running[c.stack] = running.get(c.stack, 0) + (c.state == "running")
    created = [p for p in plans if p.record is None]
    out = []
    for name in sorted(names):
        mine = set(names[name])
        heir = next((p.name for p in created if mine & set(p.images)), None)
        out.append(Orphan(name, tuple(sorted(mine)), running.get(name, 0), name in recorded, heir))
    return out


def compose_file(state: StateDir, stack: str) -> Path | None:
    """The compose file to take ``stack`` down with: the live one, else its applied revision's."""
    live = state.live / stack / "compose.yaml"
    if live.is_file():
        return live
    rec = record.load(state, stack)
    if rec is not None:
        kept = state.applied / stack / "revisions" / rec.revision / "compose.yaml"
        if kept.is_file():
            return kept
    return None


def take_down(
    state: StateDir, orphan: Orphan, *, progress: Callable[[str], None] = lambda _: None
) -> None:
    """Stop and remove an orphan's containers; its data folders and its record stay (a rename
    forgets the record once the new stack is up, :func:`remove` at once)."""
    progress(f"{orphan.name}: down …")
    engine.compose_down(orphan.name, compose_file(state, orphan.name))


def remove(
    state: StateDir, orphan: Orphan, *, progress: Callable[[str], None] = lambda _: None
) -> None:
    """Take an orphan down and forget its record."""
    take_down(state, orphan, progress=progress)
    record.forget(state, orphan.name)
    progress(f"{orphan.name}: removed")
