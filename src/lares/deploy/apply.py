"""`lares up`, `rollback` and `down`: apply rendered stacks with Docker Compose, safely.

The sequence for ``up`` is: check → render → compare with what was applied (files and the
running containers) → show → (ask) → create shared networks → generate missing secrets → write
the bundle atomically → ``docker compose up --wait`` stack by stack in dependency order → record
each stack only after it came up healthy. A stack whose services do not become healthy stops the
run with their names, health output and log tails; its previous record stays as it was, so
``lares rollback`` can put the last good revision back.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lares.catalog.resolve import System
from lares.deploy import engine, record
from lares.deploy.files import prepare_dirs, require_provided, store_for, write_bundle
from lares.deploy.record import Record
from lares.deploy.status import Drift, container_state, drift, stack_containers
from lares.errors import LaresError, UsageError
from lares.render.bundle import Bundle
from lares.state import StateDir
from lares.yamlio import safe_load


class DeployError(LaresError):
    code = "deploy"


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

    @property
    def changed(self) -> bool:
        return self.record is None or self.record.revision != self.revision

    @property
    def action(self) -> str:
        if self.record is None:
            return "create"
        if self.changed:
            return "update"
        if self.drift:
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
        }


def _services(compose_text: str | None) -> dict[str, Any]:
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
    client: Any | None = None,
) -> list[StackPlan]:
    """Compare each selected stack's rendered files and containers with what was applied."""
    order = system.blueprint.stack_order()
    wanted = list(selected) or order
    unknown = [s for s in wanted if s not in system.blueprint.stacks]
    if unknown:
        raise UsageError(
            f"no stack named {', '.join(unknown)} in the blueprint",
            hint="stacks: " + ", ".join(order),
        )
    running = stack_containers(client, wanted) if client is not None else []
    plans = []
    for name in (s for s in order if s in wanted):
        files = stack_files(bundle, name)
        if not files:
            continue
        rec = record.load(state, name)
        new = _services(files.get("compose.yaml"))
        old = (
            _services(record.revision_files(state, name, rec.revision).get("compose.yaml"))
            if rec
            else {}
        )
        images = {svc: str(spec.get("image", "")) for svc, spec in new.items()}
        p = StackPlan(name, files, bundle.digest(f"{name}/{rel}" for rel in files), rec, images)
        p.added = sorted(set(new) - set(old)) if rec else sorted(new)
        p.removed = sorted(set(old) - set(new))
        p.modified = sorted(s for s in set(new) & set(old) if new[s] != old[s])
        p.drift = drift(rec, images, [c for c in running if c.stack == name])
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


@dataclass(frozen=True)
class Failure:
    service: str
    state: str
    health: list[str]
    logs: str


def diagnose(client: Any, stack: str) -> list[Failure]:
    """The services of a stack that are not running and healthy, with what they said."""
    failures = []
    for c in engine.project_containers(client, stack):
        c.reload()
        st = container_state(c)
        if st.ok:
            continue
        failures.append(
            Failure(
                st.service,
                f"{st.state}{', ' + st.health if st.health else ''}",
                engine.health_log(c),
                engine.logs_tail(c),
            )
        )
    return failures


def _hashes(client: Any, stack: str) -> dict[str, dict[str, str]]:
    return {
        st.service: {"image": st.image, "hash": st.config_hash}
        for st in (container_state(c) for c in engine.project_containers(client, stack))
    }


def ensure_networks(client: Any, system: System) -> list[str]:
    created = []
    for name, net in system.blueprint.network.docker.items():
        if engine.ensure_network(client, engine.NetworkSpec(name, net.subnet, net.internal)):
            created.append(name)
    return created


def apply(
    system: System,
    bundle: Bundle,
    state: StateDir,
    plans: list[StackPlan],
    client: Any,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Record]:
    """Apply the stacks in ``plans`` that need it; return their new records.

    Raises :class:`DeployError` naming the services that failed; earlier stacks stay applied
    and recorded, the failed stack keeps its previous record.
    """
    require_provided(bundle, store_for(state.live, state.secrets))
    engine.check_engine(client)
    engine.compose_command()
    for name in ensure_networks(client, system):
        progress(f"created network {name}")
    for path in prepare_dirs(bundle):
        progress(f"created {path}")
    write_bundle(bundle, state.live, secrets_dir=state.secrets)
    records = []
    for p in plans:
        if p.action == "none":
            continue
        progress(f"{p.name}: {p.action} …")
        compose_file = state.live / p.name / "compose.yaml"
        result = engine.compose_up(p.name, compose_file)
        if not result.ok:
            raise _failed(client, p.name, result.stderr)
        records.append(record.save(state, p.name, p.revision, p.files, _hashes(client, p.name)))
        progress(f"{p.name}: up")
    return records


def _failed(client: Any, stack: str, stderr: str) -> DeployError:
    failures = diagnose(client, stack)
    lines = [f"stack {stack} did not come up"]
    for f in failures:
        lines.append(f"  {f.service}: {f.state}")
        for h in f.health:
            lines.append(f"    health: {h}")
        for log_line in f.logs.strip().splitlines()[-10:]:
            lines.append(f"    | {log_line}")
    from lares.run import tail

    said = [line for line in tail(stderr, 6).splitlines() if "Error" in line or "error" in line]
    lines += [f"  compose: {line.strip()}" for line in said or tail(stderr, 3).splitlines()]
    return DeployError(
        "\n".join(lines),
        hint=f"fix the app and run `lares up` again, or `lares rollback {stack}` "
        "to return to the last good revision",
    )


def rollback(
    state: StateDir,
    stack: str,
    client: Any,
    *,
    previous: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> Record:
    """Re-apply the stack's recorded good revision (or the one before it)."""
    rec = record.load(state, stack)
    if rec is None:
        raise DeployError(
            f"stack {stack} has no applied revision to return to",
            hint="`lares up` records a revision each time a stack comes up healthy",
        )
    revision = rec.revision
    if previous:
        if not rec.history:
            raise DeployError(f"stack {stack} has no revision before {revision[:12]}")
        revision = rec.history[-1]
    files = record.revision_files(state, stack, revision)
    if not files:
        raise DeployError(f"the files of revision {revision[:12]} of {stack} are missing")
    from lares.fsutil import atomic_write

    for rel, content in files.items():
        atomic_write(state.live / stack / rel, content, mode=0o644)
    progress(f"{stack}: rolling back to {revision[:12]} …")
    result = engine.compose_up(stack, state.live / stack / "compose.yaml")
    if not result.ok:
        raise _failed(client, stack, result.stderr)
    return record.save(state, stack, revision, files, _hashes(client, stack))


def down(
    state: StateDir,
    stacks: list[str],
    *,
    volumes: bool = False,
) -> list[str]:
    """Stop and remove the stacks' containers (data and, unless asked, volumes stay)."""
    from lares.deploy.orphans import compose_file as file_of

    done = []
    for name in stacks:
        compose_file: Path | None = file_of(state, name)
        engine.compose_down(name, compose_file, volumes=volumes)
        record.forget(state, name)
        done.append(name)
    return done
