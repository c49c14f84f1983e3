"""What a stack's services are doing while `docker compose up --wait` waits for them.

Compose prints nothing useful while it waits for health checks (and lares captures its output),
so a watcher thread reads the stack's containers from the engine every :data:`INTERVAL` seconds
and reports each service's state — ``created``, ``starting`` (its health check has not passed
yet), ``healthy``, ``running`` (no health check), ``unhealthy``, ``restarting``, ``exited (1)`` —
whenever one changes. The report is for people only: the outcome of the apply is Compose's exit
code and :func:`lares.deploy.apply.apply_stacks`'s judgement, never this.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lares.deploy import engine
from lares.deploy.status import ContainerState, container_state

if TYPE_CHECKING:
    from lares.dockerapi import DockerAPI

INTERVAL = 0.5

# stack, then every service of it with its state; called again whenever one changes
OnStates = Callable[[str, dict[str, str]], None]


def label(st: ContainerState) -> str:
    """A container's state in one word or two, as the progress shows it."""
    if st.state == "running":
        return {"starting": "starting", "healthy": "healthy", "unhealthy": "unhealthy"}.get(
            st.health, "running"
        )
    if st.state == "exited":
        return f"exited ({st.exit_code})"
    return st.state


def states(client: DockerAPI, stack: str) -> dict[str, str]:
    """Every service of the stack with its :func:`label`."""
    found = {}
    for c in engine.project_containers(client, stack):
        st = container_state(c)
        found[st.service] = label(st)
    return dict(sorted(found.items()))


@contextmanager
def watching(client: DockerAPI, stack: str, on_states: OnStates | None) -> Iterator[None]:
    """Report the stack's service states to ``on_states`` while the body runs, and once after.

    Nothing happens when ``on_states`` is None. A read that fails (a container removed while
    Compose replaces it) is skipped: the next one sees the new container.
    """
    if on_states is None:
        yield
        return
    report = on_states
    stop = threading.Event()
    last: dict[str, str] = {}

    def poll() -> None:
        nonlocal last
        try:
            now = states(client, stack)
        except Exception:
            return
        if now != last:
            last = now
            report(stack, now)

    def loop() -> None:
        while not stop.wait(INTERVAL):
            poll()

    thread = threading.Thread(target=loop, name=f"lares-progress-{stack}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        poll()
