"""What applying each stack would change: its rendered files against the revision lares
recorded, and its running containers against what was applied (drift)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lares.catalog.resolve import System
from lares.deploy import record, secretdigest
from lares.deploy.record import Applying, Record
from lares.deploy.status import OUTSIDE, Drift, drift, stack_containers
from lares.errors import UsageError
from lares.render.bundle import Bundle
from lares.state import StateDir
from lares.yamlio import safe_load

if TYPE_CHECKING:
    from lares.dockerapi import DockerAPI


@dataclass
class StackPlan:
    """What applying one stack would change."""

    name: str
    files: dict[str, str]  # relative to the stack folder
    revision: str
    record: Record | None
    images: dict[str, str]  # service → image, as rendered
    drift: list[Drift] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    interrupted: Applying | None = None  # an earlier apply that was not recorded

    @property
    def changed(self) -> bool:
        return self.record is None or self.record.revision != self.revision

    @property
    def action(self) -> str:
        if self.record is None:
            return "create"
        if self.changed:
            return "update"
        if self.drift or self.interrupted:
            return "converge"
        return "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.name,
            "action": self.action,
            "revision": self.revision[:12],
            "applied_revision": self.record.revision[:12] if self.record else None,
            "added": self.added,
            "removed": self.removed,
            "modified": self.modified,
            "drift": [str(d) for d in self.drift],
            "interrupted": (
                {"revision": self.interrupted.revision[:12], "started": self.interrupted.started}
                if self.interrupted
                else None
            ),
        }

    @property
    def interrupted_note(self) -> str:
        """What a left-behind apply means for this stack, or "" when there is none."""
        left = self.interrupted
        if left is None:
            return ""
        if left.failed:
            return (
                f"the last apply (revision {left.revision[:12]}, started {left.started}) "
                f"failed; fix it and `lares up` again, or `lares rollback {self.name}`"
            )
        return (
            f"an earlier apply was interrupted (revision {left.revision[:12]}, "
            f"started {left.started}); `lares up` completes it"
        )


def compose_services(compose_text: str | None) -> dict[str, Any]:
    if not compose_text:
        return {}
    doc = safe_load(compose_text) or {}
    return dict(doc.get("services") or {})


def stack_files(bundle: Bundle, stack: str) -> dict[str, str]:
    prefix = f"{stack}/"
    return {p[len(prefix) :]: f.content for p, f in bundle.files.items() if p.startswith(prefix)}


def plan_stacks(
    system: System,
    bundle: Bundle,
    state: StateDir,
    selected: Iterable[str] = (),
    client: DockerAPI | None = None,
) -> list[StackPlan]:
    """Compare each selected stack's rendered files and containers with what was applied.

    The compose files compared are stamped with the digest of the secrets each service reads
    (:mod:`lares.deploy.secretdigest`), so a changed secret is a change.
    """
    order = system.blueprint.stack_order()
    wanted = list(selected) or order
    unknown = [s for s in wanted if s not in system.blueprint.stacks]
    if unknown:
        raise UsageError(
            f"no stack named {', '.join(unknown)} in the blueprint",
            hint="stacks: " + ", ".join(order),
        )
    running = stack_containers(client, wanted) if client is not None else []
    bundle = secretdigest.stamp(bundle, state)
    plans = []
    for name in (s for s in order if s in wanted):
        files = stack_files(bundle, name)
        if not files:
            continue
        rec = record.load(state, name)
        new = compose_services(files.get("compose.yaml"))
        old = (
            compose_services(record.revision_files(state, name, rec.revision).get("compose.yaml"))
            if rec
            else {}
        )
        images = {svc: str(spec.get("image", "")) for svc, spec in new.items()}
        p = StackPlan(name, files, bundle.digest(f"{name}/{rel}" for rel in files), rec, images)
        p.added = sorted(set(new) - set(old)) if rec else sorted(new)
        p.removed = sorted(set(old) - set(new))
        p.modified = sorted(s for s in set(new) & set(old) if new[s] != old[s])
        p.drift = drift(rec, images, [c for c in running if c.stack == name])
        p.interrupted = record.applying(state, name)
        if p.interrupted is not None:
            # lares's own unfinished apply changed these containers, not someone else
            by = "failed" if p.interrupted.failed else "interrupted"
            p.drift = [
                Drift(d.service, f"changed by the {by} apply") if d.problem == OUTSIDE else d
                for d in p.drift
            ]
        plans.append(p)
    return plans


def file_diff(state: StateDir, plan: StackPlan) -> str:
    """Unified diff of the applied files against the rendered ones."""
    old = record.revision_files(state, plan.name, plan.record.revision) if plan.record else {}
    chunks: list[str] = []
    for rel in sorted(set(old) | set(plan.files)):
        a = old.get(rel, "").splitlines(keepends=True)
        b = plan.files.get(rel, "").splitlines(keepends=True)
        chunks.extend(
            difflib.unified_diff(a, b, f"applied/{plan.name}/{rel}", f"rendered/{plan.name}/{rel}")
        )
    return "".join(chunks)
