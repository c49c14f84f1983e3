"""`lares up`: apply rendered stacks with Docker Compose, safely.

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

import time
from collections.abc import Callable, Collection
from dataclasses import replace
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
    waiting_on,
)
from lares.deploy.progress import OnStates, watching
from lares.deploy.stackplan import StackPlan, stack_files
from lares.deploy.status import ContainerState, container_state
from lares.errors import LaresError
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


def hashes(client: DockerAPI, stack: str) -> dict[str, dict[str, str]]:
    """Each service's image and Compose config hash as the engine runs them (recorded)."""
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
            lines = tuple(redact(line) for line in compose_errors(again.stderr))
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


def compose_errors(stderr: str) -> list[str]:
    """The lines of what Compose said that name an error (else its last lines)."""
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
    record.save(state, p.name, p.revision, p.files, hashes(client, p.name))
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
