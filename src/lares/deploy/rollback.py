"""Putting a stack's recorded good revision back (`lares rollback`), and saying why a stack
did not come up when that fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lares.deploy import engine, record
from lares.deploy.apply import DeployError, compose_errors, hashes
from lares.deploy.record import Record
from lares.deploy.stackplan import compose_services
from lares.deploy.status import container_state, drift, stack_containers
from lares.state import StateDir

if TYPE_CHECKING:
    from lares.dockerapi import DockerAPI


@dataclass(frozen=True)
class Failure:
    service: str
    state: str
    health: list[str]
    logs: str


def diagnose(client: DockerAPI, stack: str) -> list[Failure]:
    """The services of a stack that are not running and healthy, with what they said."""
    failures = []
    for c in engine.project_containers(client, stack):  # inspected now: the current state
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


def _failed(client: DockerAPI, stack: str, stderr: str) -> DeployError:
    """The error of a stack that did not come up again at its good revision."""
    failures = diagnose(client, stack)
    lines = [f"stack {stack} did not come up"]
    for f in failures:
        lines.append(f"  {f.service}: {f.state}")
        for h in f.health:
            lines.append(f"    health: {h}")
        for log_line in f.logs.strip().splitlines()[-10:]:
            lines.append(f"    | {log_line}")
    lines += [f"  compose: {line}" for line in compose_errors(stderr)]
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
        for svc, spec in compose_services(files.get("compose.yaml")).items()
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
    return record.save(state, stack, revision, files, hashes(client, stack))
