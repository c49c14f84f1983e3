"""`lares up`, `rollback` and `down`: apply rendered stacks with Docker Compose, safely.

The sequence for ``up`` is: check → render → compare with what was applied (files and the
running containers) → show → (ask) → create shared networks → generate missing secrets → write
the bundle atomically → ``docker compose up --wait`` stack by stack in dependency order → judge
every app → record each stack whose apps all came up. One app that does not come up never stops
the rest: its stack's other apps and the later stacks are still applied, and the run ends with
what is up, what is not and why (state, exit code, health output, log tail). A stack with a
failed app keeps its previous record, so ``lares rollback`` can put the last good revision back.
Containers whose health depends on an outside peer (the tunnel, the VPN) are started but not
waited for; what waits for them to be healthy is started last, once every stack is up.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lares.catalog.resolve import System
from lares.deploy import engine, record, secretdigest
from lares.deploy.files import (
    generate_secrets,
    lost_secrets,
    prepare_dirs,
    require_provided,
    store_for,
    write_bundle,
)
from lares.deploy.outcome import (
    Outcome,
    Seen,
    ServiceSpec,
    StackOutcome,
    judge,
    stack_services,
    summary,
    waiting_on,
)
from lares.deploy.progress import OnStates, watching
from lares.deploy.record import Applying, Record
from lares.deploy.status import (
    OUTSIDE,
    ContainerState,
    Drift,
    container_state,
    drift,
    stack_containers,
)
from lares.errors import LaresError, UsageError
from lares.render.bundle import Bundle
from lares.run import Redactor
from lares.secrets import SecretStore
from lares.state import StateDir
from lares.text import counted
from lares.yamlio import safe_load

if TYPE_CHECKING:
    from lares.dockerapi import DockerAPI


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


@dataclass(frozen=True)
class Failure:
    service: str
    state: str
    health: list[str]
    logs: str


def diagnose(client: DockerAPI, stack: str) -> list[Failure]:
    """The services of a stack that are not running and healthy, with what they said."""
    failures = []
    for listed in engine.project_containers(client, stack):
        c = client.inspect(listed["Id"])
        if c is None:  # removed since it was listed: nothing of it left to explain
            continue
        st = container_state(c)
        if st.ok:
            continue
        failures.append(
            Failure(
                st.service,
                f"{st.state}{', ' + st.health if st.health else ''}",
                engine.health_log(c),
                engine.logs_tail(client, c),
            )
        )
    return failures


def _hashes(client: DockerAPI, stack: str) -> dict[str, dict[str, str]]:
    return {
        st.service: {"image": st.image, "hash": st.config_hash}
        for st in (container_state(c) for c in engine.project_containers(client, stack))
    }


def ensure_networks(client: DockerAPI, system: System) -> list[str]:
    created = []
    for name, net in system.blueprint.network.docker.items():
        if engine.ensure_network(client, engine.NetworkSpec(name, net.subnet, net.internal)):
            created.append(name)
    return created


#: Seconds Compose waits for a stack's services to turn healthy before it names the laggards.
WAIT = 600
#: Seconds the services held back by a peer-dependent one (qBittorrent behind Gluetun) are
#: waited for, once every stack is up.
PEER_WAIT = 180


def apply(
    system: System,
    bundle: Bundle,
    state: StateDir,
    plans: list[StackPlan],
    client: DockerAPI,
    *,
    fresh: Collection[str] = (),
    progress: Callable[[str], None] = lambda _: None,
    on_states: OnStates | None = None,
) -> list[Record]:
    """Apply the stacks in ``plans`` that need it; return their new records.

    Every stack is applied (see :func:`apply_stacks`); raises :class:`DeployError` naming the
    apps that did not come up once all were tried. ``on_states`` hears each stack's service
    states while Compose waits for them (see :mod:`lares.deploy.progress`).
    """
    done = apply_stacks(
        system, bundle, state, plans, client, fresh=fresh, progress=progress, on_states=on_states
    )
    if not done.ok:
        raise DeployError("\n".join(summary(done)), hint=failed_hint(done))
    return [r for r in (record.load(state, s.stack) for s in done.stacks if s.recorded) if r]


def failed_hint(done: Outcome) -> str:
    """What to do about the stacks whose apps did not come up: roll back the ones that have a
    good revision; a stack that never came up has none, and `lares down` removes what the run
    created."""
    failed = [s for s in done.stacks if s.failed]
    back = [s.stack for s in failed if s.had_record]
    first = [s.stack for s in failed if not s.had_record]
    said = ["fix the app and run `lares up` again"]
    if back:
        said.append(
            "a stack with an app that did not come up keeps its last good revision ("
            + ", ".join(f"`lares rollback {name}`" for name in back)
            + " puts it back)"
        )
    if first:
        names = " ".join(first)
        said.append(
            f"{names} {'has' if len(first) == 1 else 'have'} no applied revision to roll back "
            f"to (`lares down {names}` removes what this run created)"
        )
    return "; ".join(said)


def apply_stacks(
    system: System,
    bundle: Bundle,
    state: StateDir,
    plans: list[StackPlan],
    client: DockerAPI,
    *,
    fresh: Collection[str] = (),
    progress: Callable[[str], None] = lambda _: None,
    on_states: OnStates | None = None,
    peer_wait: float = PEER_WAIT,
) -> Outcome:
    """Apply every stack in ``plans`` that needs it, whatever fails, and judge each app.

    One app that does not come up never stops the others: its stack's other apps are started
    and waited for on their own, and the later stacks are applied. A stack becomes the recorded
    good revision only when none of its apps failed; an app waiting for an outside peer (the
    tunnel's server, the VPN endpoint) does not count as failed, since its settings are right.

    Secrets are generated only where no data depends on them: see :func:`refuse_lost_secrets`
    (``fresh`` names the apps allowed to start over).
    """
    store = store_for(state.live, state.secrets)
    require_provided(bundle, store)
    refuse_lost_secrets(system, bundle, store, fresh)
    engine.check_engine(client)
    engine.compose_command()
    for name in ensure_networks(client, system):
        progress(f"created network {name}")
    for path in prepare_dirs(bundle):
        progress(f"created {path}")
    generate_secrets(bundle, store)
    # stamped again now that every secret exists: the revision recorded is the one running
    bundle = secretdigest.stamp(bundle, state)
    for p in plans:
        p.files = stack_files(bundle, p.name)
        p.revision = bundle.digest(f"{p.name}/{rel}" for rel in p.files)
    write_bundle(bundle, state.live, secrets_dir=state.secrets)
    redact = Redactor(store.values())
    done = Outcome()
    held: list[tuple[StackPlan, dict[str, ServiceSpec], list[str]]] = []
    for p in plans:
        if p.action == "none":
            continue
        progress(f"{p.name}: {p.action} …")
        compose_file = state.live / p.name / "compose.yaml"
        services = stack_services(safe_load(p.files.get("compose.yaml", "")) or {})
        peers = waiting_on(services)
        ready = [s for s in services if s not in peers]
        record.begin(state, p.name, p.revision)
        with watching(client, p.name, on_states):
            said = _bring_up(client, p.name, compose_file, services, ready, peers, redact)
        own = [s for s in peers if services[s].peer]
        if own:
            # started, not waited for: their health is the peer's to give
            engine.compose_start(p.name, compose_file, own)
        later = [s for s in peers if not services[s].peer]
        if later:
            held.append((p, services, later))
            progress(f"{p.name}: {', '.join(later)} start last, as they wait for a peer")
            continue
        done.stacks.append(_settle(client, state, p, services, said, redact, progress))
    for p, services, later in held:
        compose_file = state.live / p.name / "compose.yaml"
        with watching(client, p.name, on_states):
            engine.compose_up(p.name, compose_file, services=later, wait=peer_wait)
        done.stacks.append(_settle(client, state, p, services, {}, redact, progress))
    order = [p.name for p in plans]
    done.stacks.sort(key=lambda s: order.index(s.stack))
    return done


def _bring_up(
    client: DockerAPI,
    stack: str,
    compose_file: Path,
    services: dict[str, ServiceSpec],
    ready: list[str],
    peers: dict[str, str],
    redact: Redactor,
) -> dict[str, tuple[str, ...]]:
    """``up --wait`` the stack's services that do not wait for a peer; when that fails, retry
    each app Compose gave up on (it stops at the first unhealthy container, leaving others
    created or still starting) on its own. Returns what Compose said, per service."""
    if not ready:
        return {}
    result = engine.compose_up(stack, compose_file, services=ready if peers else (), wait=WAIT)
    if result.ok:
        return {}
    states = {
        st.service: st for st in map(container_state, engine.project_containers(client, stack))
    }
    said: dict[str, tuple[str, ...]] = {}
    apps: dict[str, list[str]] = {}
    for name in ready:
        apps.setdefault(services[name].app, []).append(name)
    for members in apps.values():
        sts = [states.get(m) for m in members]
        if any(st is not None and _broken(st) for st in sts):
            continue  # it failed on its own: waiting again would only show the same
        if all(st is not None and st.ok for st in sts):
            continue
        again = engine.compose_up(stack, compose_file, services=members, wait=WAIT)
        if not again.ok:
            lines = tuple(redact(line) for line in _compose_errors(again.stderr))
            said.update({m: lines for m in members})
    return said


def _between_crashes(
    client: DockerAPI, container: dict[str, Any], tries: int = 6
) -> tuple[ContainerState, dict[str, Any]]:
    """The container's state (and its inspect data); one in a restart loop is read again (for
    up to 3 s) until it is seen restarting, since while it runs between two crashes Docker shows
    exit code 0."""
    st = container_state(container)
    for _ in range(tries):
        if not (st.restarts and st.state == "running" and not st.ok):
            break
        time.sleep(0.5)
        container = client.inspect(container["Id"]) or container
        st = container_state(container)
    return st, container


def _broken(st: ContainerState) -> bool:
    return (
        st.state in ("exited", "dead", "restarting") or st.health == "unhealthy" or st.restarts > 0
    )


def _compose_errors(stderr: str) -> list[str]:
    from lares.run import tail

    said = [line.strip() for line in tail(stderr, 6).splitlines() if "rror" in line]
    return said or [line.strip() for line in tail(stderr, 3).splitlines() if line.strip()]


def _settle(
    client: DockerAPI,
    state: StateDir,
    p: StackPlan,
    services: dict[str, ServiceSpec],
    said: dict[str, tuple[str, ...]],
    redact: Redactor,
    progress: Callable[[str], None],
) -> StackOutcome:
    """Judge the stack as the engine shows it now; record it when no app failed."""
    seen = {}
    for listed in engine.project_containers(client, p.name):
        st, c = _between_crashes(client, listed)
        if st.ok:
            seen[st.service] = Seen(st)
            continue
        logs = redact(engine.logs_tail(client, c, 10)).strip().splitlines()
        seen[st.service] = Seen(st, tuple(redact(h) for h in engine.health_log(c)), tuple(logs))
    judged = replace(judge(p.name, services, seen, said), had_record=p.record is not None)
    if judged.failed:
        record.failed(state, p.name)
        progress(f"{p.name}: {counted(len(judged.failed), 'app')} did not come up; not recorded")
        return judged
    record.save(state, p.name, p.revision, p.files, _hashes(client, p.name))
    progress(f"{p.name}: up" + (f" ({len(judged.waiting)} waiting)" if judged.waiting else ""))
    return replace(judged, recorded=True)


def refuse_lost_secrets(
    system: System, bundle: Bundle, store: SecretStore, fresh: Collection[str] = ()
) -> None:
    """Stop before generating a secret for an app whose data folders already hold data.

    An empty or lost state folder would otherwise get a new database password while the
    database's files keep the old one: the apply succeeds and the app can no longer log in.
    Apps named in ``fresh`` (or all, with ``"all"``) get new secrets anyway. Nothing is changed.
    """
    lost = [x for x in lost_secrets(system, bundle, store) if x.app not in fresh]
    if "all" in fresh or not lost:
        return
    one = len(lost) == 1
    lines = [
        f"{counted(len(lost), 'app')} {'has' if one else 'have'} data but lares holds none of "
        f"{'its' if one else 'their'} secrets:"
    ]
    for x in lost:
        lines.append(f"  {x.app}: {', '.join(x.secrets)} missing; data in {', '.join(x.folders)}")
    apps = sorted({x.app for x in lost})
    raise DeployError(
        "\n".join(lines) + "\nnothing was changed",
        hint="this state folder is new or was lost. Restore it (`lares recover --only state`, "
        "or `lares backup restore` of lares's state), or give each secret its old value with "
        "`lares secret set NAME`, or start these apps over with new secrets: "
        + " ".join(f"`--fresh-secrets {a}`" for a in apps)
        + " (their existing data may then be unusable)",
        code="secrets-lost",
    )


def _failed(client: DockerAPI, stack: str, stderr: str, *, first: bool = False) -> DeployError:
    """The error of a stack that did not come up; ``first`` when it has no good revision yet,
    so there is nothing to roll back to."""
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
    if first:
        hint = (
            f"fix the app and run `lares up` again; {stack} has no applied revision to roll "
            f"back to (`lares down {stack}` removes what this run created)"
        )
    else:
        hint = (
            f"fix the app and run `lares up` again, or `lares rollback {stack}` "
            "to return to the last good revision"
        )
    return DeployError("\n".join(lines), hint=hint)


def runs_recorded(state: StateDir, stack: str, client: DockerAPI) -> Record | None:
    """The stack's record when it already runs that revision: its live files are the
    revision's and its containers are the ones recorded, running and healthy; else None.

    Rolling back to it would change nothing, which `lares rollback` says rather than
    reporting a rollback.
    """
    rec = record.load(state, stack)
    if rec is None:
        return None
    files = record.revision_files(state, stack, rec.revision)
    for rel, content in files.items():
        try:
            if (state.live / stack / rel).read_text(encoding="utf-8") != content:
                return None
        except OSError:
            return None
    images = {
        svc: str(spec.get("image", ""))
        for svc, spec in _services(files.get("compose.yaml")).items()
    }
    running = stack_containers(client, [stack])
    if not running or drift(rec, images, running):
        return None
    return rec


def rollback(
    state: StateDir,
    stack: str,
    client: DockerAPI,
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
    record.begin(state, stack, revision)
    result = engine.compose_up(stack, state.live / stack / "compose.yaml")
    if not result.ok:
        record.failed(state, stack)
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
