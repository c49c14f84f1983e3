"""The deploy stage's actions: ``up``, ``diff``, ``ps``, ``rollback`` and ``down``.

Each takes typed inputs and returns a dataclass with ``to_dict()``; nothing here prints. What a
person sees while an action works comes through callbacks: ``progress`` hears one line per step
("media: update …"), ``on_states`` each stack's service states while Compose waits for them
(:mod:`lares.deploy.progress`), ``warn`` what a person should know (another lares holds the
state lock, the blueprint does not load), ``show`` what ``up`` would change, and ``confirm`` is
asked before anything changes (a refusal raises :class:`Cancelled`). The CLI
(:mod:`lares.commands.deploy`) renders the results; a web dashboard can call the same functions
from a thread and read the same results.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lares.deploy.apply import DeployError
from lares.plain import Plain
from lares.state import StateDir

if TYPE_CHECKING:
    from lares.blueprint.source import Source
    from lares.deploy.orphans import Orphan
    from lares.deploy.outcome import Outcome
    from lares.deploy.progress import OnStates
    from lares.deploy.record import Record
    from lares.deploy.stackplan import StackPlan
    from lares.deploy.status import ContainerState
    from lares.dockerapi import DockerAPI
    from lares.plan import Plan
    from lares.plan.findings import Finding
    from lares.render.bundle import Bundle

Say = Callable[[str], None]
COMPOSE_TIMEOUT = 900.0  # engine.compose_up's own limit per stack


def _quiet(_: str) -> None:
    pass


class PlanErrors(DeployError):
    """The plan has errors: nothing was changed. ``findings`` are the errors, to show as
    ``lares plan`` shows them."""

    code = "plan"

    def __init__(self, findings: Sequence[Finding]) -> None:
        from lares.text import counted

        super().__init__(
            f"{counted(len(findings), 'error')} in the plan; nothing was changed",
            hint="fix them (see `lares plan`)",
        )
        self.findings = tuple(findings)

    def errors_dict(self) -> dict[str, object]:
        from lares.report import errors_json

        return errors_json(self.findings)


class UpdateUnsettled(DeployError):
    """An update's journal is in the state folder: ``lares update`` is running, or was cut
    short and has not been settled. Deploying now could run the new image on the old data or
    the old image on migrated data, so nothing is changed."""

    code = "update-unsettled"


def refuse_unsettled_update(state: StateDir) -> None:
    """Raise :class:`UpdateUnsettled` when an update of an app is not settled."""
    from lares.update import journal

    entry = journal.read(state)
    if entry is not None:
        raise UpdateUnsettled(
            f"an update of {entry.app} from {entry.current} to {entry.target} is under way, or "
            f"was cut short after the step {entry.step!r}; nothing was changed",
            hint="if no `lares update` is running, run `lares update` first: it puts back the "
            "old version and its data, then `lares up` can deploy",
        )


class Cancelled(DeployError):
    """The person said no when asked; nothing was changed."""

    code = "cancelled"


def prepare(
    file: Path | None,
    state: StateDir | None = None,
    *,
    target: str = "home",
    force: bool = False,
) -> tuple[Plan, Bundle]:
    """Plan for ``target`` and render it; raise :class:`PlanErrors` when the plan has errors,
    unless ``force``.

    With ``state``, a secret the person must provide that is not set there is one of them.
    """
    from lares.blueprint.load import load
    from lares.plan import plan as run_plan
    from lares.plan import secrets_set_in
    from lares.render import render_all

    loaded = load(file)
    secrets_set = secrets_set_in(state.secrets) if state else None
    result = run_plan(loaded, secrets_set=secrets_set, target=target)
    if result.errors and not force:
        raise PlanErrors(result.errors)
    return result, render_all(result.system, source=loaded.source_name, target=target)


def deploying(state: StateDir, stacks: list[str]) -> AbstractContextManager[None]:
    """Tell the watcher that Compose is changing ``stacks`` (see :mod:`lares.deploying`)."""
    from lares.deploying import deploying as mark

    return mark(state.root, stacks, timeout=COMPOSE_TIMEOUT * len(stacks) + 60)


@contextmanager
def _locked(state: StateDir, purpose: str, timeout: float, warn: Say | None) -> Iterator[DockerAPI]:
    """Hold the state lock, then give a Docker client."""
    from lares.deploy import engine

    with state.lock(timeout=timeout, purpose=purpose, on_wait=warn):
        yield engine.client()


# ── up ─────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Preview:
    """What ``up`` is about to do, shown before it asks."""

    plans: list[StackPlan]
    orphans: list[Orphan]
    todo: list[StackPlan]
    moving: list[Orphan]  # renamed: taken down before their heir comes up
    removing: list[Orphan]  # --prune: removed after the stacks are applied

    @property
    def question(self) -> str:
        from lares.text import counted

        text = f"Apply {counted(len(self.todo), 'stack')}"
        if self.removing:
            names = ", ".join(o.name for o in self.removing)
            text += f" and remove {names} (not in the blueprint)"
        return text + "?"

    def to_dict(self) -> dict[str, Any]:
        return {
            "stacks": [p.to_dict() for p in self.plans],
            "orphans": [o.to_dict() for o in self.orphans],
            "apply": [p.name for p in self.todo],
            "move": [o.name for o in self.moving],
            "remove": [o.name for o in self.removing],
            "question": self.question,
        }


@dataclass
class UpResult:
    """What ``up`` found and did.

    ``unchanged`` holds the stacks the fast path found as they were applied (nothing else was
    planned); otherwise ``plans`` and ``orphans`` are what was compared, and ``outcome`` is the
    apply's (None when there was nothing to do, or on a dry run).
    """

    plans: list[StackPlan] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    unchanged: list[str] | None = None
    dry_run: bool = False
    outcome: Outcome | None = None
    removed: list[str] = field(default_factory=list)
    left: list[Orphan] = field(default_factory=list)  # orphans still there afterwards

    @property
    def ok(self) -> bool:
        """False when an app did not come up (``lares up`` then exits 1)."""
        return self.outcome is None or self.outcome.ok

    @property
    def applied(self) -> list[str]:
        return [s.stack for s in self.outcome.stacks if s.recorded] if self.outcome else []

    def to_dict(self) -> dict[str, Any]:
        if self.unchanged is not None:
            return {
                "stacks": [{"stack": s, "action": "none"} for s in self.unchanged],
                "applied": [],
            }
        report: dict[str, Any] = {
            "stacks": [p.to_dict() for p in self.plans],
            "applied": self.applied,
            "orphans": [o.to_dict() for o in self.orphans],
            "removed": self.removed,
        }
        if self.outcome is not None:
            report.update(self.outcome.to_dict())
        return report


def _remember(state: StateDir, source: Source | None) -> None:
    from lares.deploy import applied

    if source is not None:
        applied.remember(state, source)


def up(
    state: StateDir,
    file: Path | None = None,
    stacks: Sequence[str] = (),
    *,
    fresh: Collection[str] = (),
    prune: bool = False,
    dry_run: bool = False,
    lock_timeout: float = 300.0,
    confirm: Callable[[str], bool] = lambda _: True,
    show: Callable[[Preview], None] | None = None,
    progress: Say = _quiet,
    on_states: OnStates | None = None,
    warn: Say | None = None,
    updating: bool = False,
) -> UpResult:
    """Deploy: check, render, compare, show, ask, then apply stack by stack.

    Stacks that were applied but are no longer in the blueprint are orphans (removed with
    ``prune`` when this state folder applied them); a stack renamed in the blueprint is moved:
    its old project is taken down first. An app that does not come up leaves ``ok`` False.
    An update that is not settled is refused, unless ``updating`` (``lares update`` itself).
    """
    from lares.deploy import fastpath

    if not updating:
        refuse_unsettled_update(state)

    source = fastpath.source_of(file)
    fp = fastpath.fingerprint(source, state) if source is not None and not stacks else None
    if fp is not None:
        with state.lock(timeout=lock_timeout, purpose="up", on_wait=warn):
            same = fastpath.unchanged(fp, state, fastpath.containers_now())
        if same is not None:
            _remember(state, source)
            return UpResult(unchanged=same)

    from lares.deploy import orphans
    from lares.deploy.apply import refuse_lost_secrets
    from lares.deploy.files import store_for
    from lares.deploy.stackplan import plan_stacks

    result, bundle = prepare(file, state)
    unknown = sorted(set(fresh) - {a.id for a in result.system.apps} - {"all"})
    if unknown:
        from lares.errors import UsageError

        raise UsageError(
            f"--fresh-secrets: no app named {', '.join(unknown)} in the blueprint",
            hint="name an app of the blueprint, or 'all'",
        )
    with _locked(state, "up", lock_timeout, warn) as client:
        plans = plan_stacks(result.system, bundle, state, stacks, client)
        refuse_lost_secrets(result.system, bundle, store_for(state.live, state.secrets), fresh)
        todo = [p for p in plans if p.action != "none"]
        found = orphans.find(state, result.system.blueprint.stacks, plans, client)
        moving = [o for o in found if o.renamed_to in {p.name for p in todo}]
        # only what this state folder applied: another lares's stacks may share the engine
        removing = [o for o in found if prune and o.recorded and not o.renamed_to]
        done = UpResult(plans, found, left=found)
        if not todo and not removing:
            if not stacks and not found:
                fastpath.remember(state, source, [p.name for p in plans])
            _remember(state, source)
            return done
        preview = Preview(plans, found, todo, moving, removing)
        if show is not None:
            show(preview)
        if dry_run:
            done.dry_run = True
            return done
        if not confirm(preview.question):
            raise Cancelled("cancelled; nothing was changed")
        _apply(state, result, bundle, client, preview, done, fresh, progress, on_states)
        outcome = done.outcome
        assert outcome is not None
        settled = outcome.ok and not any(a.status == "waiting" for a in outcome.apps)
        if not stacks and settled and len(moving) + len(removing) == len(found):
            fastpath.remember(state, source, [p.name for p in plans])
        _remember(state, source)
        return done


def _apply(
    state: StateDir,
    result: Plan,
    bundle: Bundle,
    client: DockerAPI,
    preview: Preview,
    done: UpResult,
    fresh: Collection[str],
    progress: Say,
    on_states: OnStates | None,
) -> None:
    """Move the renamed stacks, apply the plans, remove the pruned orphans; into ``done``."""
    from lares.deploy import orphans, record
    from lares.deploy.apply import apply_stacks

    moving, removing = preview.moving, preview.removing
    touched = [p.name for p in preview.todo] + [o.name for o in moving + removing]
    with deploying(state, touched):
        for o in moving:
            progress(f"{o.name}: renamed to {o.renamed_to}; taking the old project down")
            orphans.take_down(state, o, progress=progress)
        outcome = apply_stacks(
            result.system,
            bundle,
            state,
            preview.plans,
            client,
            fresh=fresh,
            progress=progress,
            on_states=on_states,
        )
        recorded = {s.stack for s in outcome.stacks if s.recorded}
        loaded = result.context.loaded
        if recorded and not loaded.filename.startswith("<"):
            from lares.deploy.digests import record_pulled

            applied = [s for s in result.system.services if s.stack in recorded]
            for image in record_pulled(loaded.base_dir, applied):
                progress(f"lares.lock: recorded the digest of {image}")
        for o in moving:
            # the old record goes once the new stack is up: until then it is the way back
            if o.renamed_to in recorded:
                record.forget(state, o.name)
        for o in removing:
            orphans.remove(state, o, progress=progress)
    done.outcome = outcome
    done.removed = [o.name for o in moving + removing]
    done.left = [o for o in preview.orphans if o not in moving + removing]


# ── diff, ps ───────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class DiffResult:
    """Each stack's plan, and the unified diff of its files where they changed."""

    plans: list[StackPlan]
    diffs: dict[str, str]  # stack → diff of applied against rendered files

    @property
    def differs(self) -> bool:
        return any(p.action != "none" for p in self.plans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stacks": [{**p.to_dict(), "diff": self.diffs.get(p.name, "")} for p in self.plans],
            "differs": self.differs,
        }


def diff(state: StateDir, file: Path | None = None, stacks: Sequence[str] = ()) -> DiffResult:
    """Rendered-vs-applied file differences and drift in the running containers."""
    from lares.deploy import engine
    from lares.deploy.stackplan import file_diff, plan_stacks

    result, bundle = prepare(file)
    plans = plan_stacks(result.system, bundle, state, stacks, engine.client())
    return DiffResult(plans, {p.name: file_diff(state, p) for p in plans if p.changed})


@dataclass(frozen=True)
class PsResult(Plain):
    containers: list[ContainerState]


def ps(stacks: Sequence[str] | None = None) -> PsResult:
    """The containers lares manages (of ``stacks``, or all)."""
    from lares.deploy import engine
    from lares.deploy.status import stack_containers

    return PsResult(stack_containers(engine.client(), stacks or None))


# ── down, rollback ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class DownResult:
    stacks: list[str]
    volumes: bool

    def to_dict(self) -> dict[str, Any]:
        return {"stopped": self.stacks, "volumes": self.volumes}


def down_question(stacks: Sequence[str], *, volumes: bool) -> str:
    if volumes:
        return (
            f"This deletes the named volumes of {', '.join(stacks)} for good. Type 'delete volumes'"
        )
    return f"Stop and remove the containers of {', '.join(stacks)}?"


def down(
    state: StateDir,
    file: Path | None = None,
    stacks: Sequence[str] = (),
    *,
    volumes: bool = False,
    lock_timeout: float = 300.0,
    confirm: Callable[[str], bool] = lambda _: True,
    warn: Say | None = None,
) -> DownResult:
    """Stop and remove the stacks' containers (all, last first); data folders stay, and named
    volumes unless ``volumes``. Works from the applied revision while the blueprint does not
    load (after ``warn`` names its errors). ``confirm`` hears :func:`down_question`."""
    from lares.deploy import engine, record
    from lares.deploy.applied import load_or_applied
    from lares.deploy.orphans import compose_file
    from lares.deploy.status import stack_containers

    loaded = load_or_applied(file, state, warn or _quiet)
    order = loaded.blueprint.stack_order()
    running = {c.stack for c in stack_containers(engine.client())}
    known = sorted(set(order) | set(record.stacks(state)) | running)
    wanted = list(stacks) or list(reversed(order))
    unknown = [s for s in wanted if s not in known]
    if unknown:
        from lares.errors import UsageError

        raise UsageError(f"no stack named {', '.join(unknown)}", hint="stacks: " + ", ".join(known))
    if not confirm(down_question(wanted, volumes=volumes)):
        said = "not confirmed" if volumes else "cancelled"
        raise Cancelled(f"{said}; nothing was changed")
    with (
        state.lock(timeout=lock_timeout, purpose="down", on_wait=warn),
        deploying(state, wanted),
    ):
        for name in wanted:
            engine.compose_down(name, compose_file(state, name), volumes=volumes)
            record.forget(state, name)
    return DownResult(wanted, volumes)


@dataclass(frozen=True)
class RolledBack:
    """One stack of a rollback: ``rolled_back`` False when it already ran its last good
    revision (``record``), which was then left alone."""

    stack: str
    record: Record
    rolled_back: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "revision": self.record.revision[:12],
            "rolled_back": self.rolled_back,
            "applied_at": self.record.applied_at,
            "previous": self.record.history[-1][:12] if self.record.history else None,
        }


@dataclass(frozen=True)
class RollbackResult(Plain):
    stacks: list[RolledBack]


def rollback(
    state: StateDir,
    stacks: Sequence[str] = (),
    *,
    previous: bool = False,
    lock_timeout: float = 300.0,
    progress: Say = _quiet,
    on_stack: Callable[[RolledBack], None] | None = None,
    warn: Say | None = None,
) -> RollbackResult:
    """Re-apply each stack's last recorded good revision (or, ``previous``, the one before).

    A stack that already runs that revision is left alone. ``on_stack`` hears each stack as it
    is done, before the next one starts.
    """
    from lares.deploy import record
    from lares.deploy.rollback import rollback as run_rollback
    from lares.deploy.rollback import runs_recorded

    done = []
    with _locked(state, "rollback", lock_timeout, warn) as client:
        for name in stacks or record.stacks(state):
            current = None if previous else runs_recorded(state, name, client)
            if current is not None:
                step = RolledBack(name, current, rolled_back=False)
            else:
                with deploying(state, [name]):
                    rec = run_rollback(state, name, client, previous=previous, progress=progress)
                step = RolledBack(name, rec, rolled_back=True)
            done.append(step)
            if on_stack is not None:
                on_stack(step)
    return RollbackResult(done)
