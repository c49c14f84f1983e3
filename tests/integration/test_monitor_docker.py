"""Containers watched for real: unhealthy, restart-looping, OOM-killed, a database that stops."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lares.monitor.alerts import Message
from lares.monitor.collectors import docker as docker_collector
from lares.monitor.config import AppTarget, WatchConfig
from lares.monitor.status import check
from lares.monitor.watch import Watcher

SECOND = 1_000_000_000  # Docker durations are in nanoseconds


def labels(stack: str, app: str, service: str) -> dict[str, str]:
    """What lares's compose files put on a container."""
    return {
        "io.lares.stack": stack,
        "io.lares.app": app,
        "io.lares.container": service,
        "com.docker.compose.service": service,
        "com.docker.compose.project": stack,
    }


def wait_for(what: str, test: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def attrs(client: Any, name: str) -> dict[str, Any]:
    return client.api.inspect_container(name)


def oom_events(client: Any, name: str, since: float) -> list[dict[str, Any]]:
    filters = {"container": [name], "event": ["oom"]}
    return list(client.api.events(since=since, until=time.time(), filters=filters, decode=True))


class Outbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> tuple[bool, str]:
        self.messages.append(message)
        return True, ""


@pytest.fixture
def watcher_for(tmp_path: Path) -> Iterator[Callable[[WatchConfig, Outbox], Watcher]]:
    made: list[Watcher] = []

    def make(config: WatchConfig, outbox: Outbox) -> Watcher:
        watcher = Watcher(config, collectors={"docker": docker_collector}, sender=outbox)
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.ctx.close()
        watcher.store.close()


def heard(watcher: Watcher, name: str) -> str:
    """The health of container ``name`` as the watcher's event-fed view has it."""
    containers, _ = watcher.ctx.memo("docker")["watch"].snapshot()
    for data in containers.values():
        if data["Name"].lstrip("/") == name:
            return str(((data.get("State") or {}).get("Health") or {}).get("Status") or "")
    return ""


def cycle_in_back_off(watcher: Watcher, docker_client: Any, loop: str) -> Any:
    """A watcher cycle while the looping container waits out a restart's back-off: between two
    restarts it runs for an instant (longer on a loaded machine), and with a short history a
    loop shows as the engine's "restarting" state."""
    wait_for("a restart's back-off", lambda: attrs(docker_client, loop)["State"]["Restarting"])
    return watcher.cycle(only=["docker"])


def test_unhealthy_restart_loop_and_oom_are_each_detected(
    docker_client: Any,
    test_images: dict[str, str],
    docker_cleanup: Any,
    unique_name: Callable[..., str],
    watcher_for: Callable[[WatchConfig, Outbox], Watcher],
    tmp_path: Path,
) -> None:
    image = test_images["busybox"]
    stack = unique_name()
    ok, sick, loop, oom = (
        docker_cleanup.track(unique_name(n)) for n in ("ok", "sick", "loop", "oom")
    )
    run = docker_client.containers.run
    run(image, ["sleep", "600"], name=ok, labels=labels(stack, "a", ok), detach=True)
    run(
        image,
        ["sleep", "600"],
        name=sick,
        labels=labels(stack, "b", sick),
        detach=True,
        healthcheck={
            "test": ["CMD", "false"],
            "interval": SECOND // 2,
            "timeout": SECOND,
            "retries": 1,
        },
    )
    run(
        image,
        ["sh", "-c", "echo starting; exit 1"],
        name=loop,
        labels=labels(stack, "c", loop),
        detach=True,
        restart_policy={"Name": "always"},
    )
    # doubling a shell string until the 16 MiB limit kills it; a second in, so the kill comes
    # to a running process (killed while it starts, Docker may report neither flag nor event)
    run(
        image,
        ["sh", "-c", "sleep 1; x=0123456789abcdef; while true; do x=$x$x; done"],
        name=oom,
        labels=labels(stack, "d", oom),
        detach=True,
        mem_limit="16m",
        memswap_limit="16m",
    )
    wait_for(
        "the healthcheck to fail",
        lambda: attrs(docker_client, sick)["State"]["Health"]["Status"] == "unhealthy",
    )
    wait_for("restarts", lambda: attrs(docker_client, loop)["RestartCount"] >= 2)
    # Docker sets State.OOMKilled only when it hears of the kill before the exit; its "oom"
    # event always comes, so the watcher reads both and the test waits for either.
    since = time.time() - 120

    def killed() -> bool:
        state = attrs(docker_client, oom)["State"]
        return state["Status"] == "exited" and bool(
            state["OOMKilled"] or oom_events(docker_client, oom, since)
        )

    try:
        wait_for("the OOM kill", killed)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; state: {attrs(docker_client, oom)['State']}") from None

    apps = tuple(
        AppTarget(app, stack, (name,))
        for app, name in zip("abcd", (ok, sick, loop, oom), strict=True)
    )
    config = WatchConfig(host="lt-host", state_dir=str(tmp_path), apps=apps)
    outbox = Outbox()
    watcher = watcher_for(config, outbox)
    mine = {ok, sick, loop, oom}

    first = cycle_in_back_off(watcher, docker_client, loop)
    assert [r.error for r in first.runs] == [None]
    expected = {
        f"container-unhealthy:{sick}": "warning",
        f"container-restarting:{loop}": "critical",
        f"container-oom:{oom}": "critical",
    }
    assert {c.key: c.severity for c in first.conditions if c.subject in mine} == expected
    assert outbox.messages == []  # pending: one sample is not enough

    second = cycle_in_back_off(watcher, docker_client, loop)
    assert {c.key: c.severity for c in second.conditions if c.subject in mine} == expected
    firing = {k for k, a in watcher.alerts.alerts.items() if a.state == "firing"}
    assert set(expected) <= firing
    assert len(outbox.messages) == 1
    body = outbox.messages[0].body
    assert (
        f"CRITICAL: {oom} was killed for running out of memory (limit 16 MiB); it is exited" in body
    )
    assert f"CRITICAL: {loop} is restart-looping" in body
    assert f"WARNING: {sick} is unhealthy: exit 1" in body

    by = {(s.subject, s.metric): s for s in watcher.latest["docker"]}
    assert by[(ok, "state")].state == "running"
    assert (by[(ok, "memory_bytes")].value or 0) > 0  # from its cgroup
    assert by[(oom, "oom_killed")].value == 1.0 or (oom, "oom_at") in by
    if oom_events(docker_client, oom, since):  # the watcher read the event Docker kept
        assert (oom, "oom_at") in by

    # the event stream wakes the loop: a container that stops is seen without waiting
    docker_client.containers.get(ok).stop(timeout=0)
    wait_for("the event", lambda: "docker" in watcher._woken, timeout=10)
    time.sleep(2.1)  # MIN_EVENT_GAP
    assert watcher.due(time.monotonic()) == ["docker"]
    third = watcher.cycle(only=["docker"])
    assert f"container-down:{ok}" in {c.key for c in third.conditions}

    # lares status (one reading, no event stream) sees the same
    once = check(config, collectors={"docker": docker_collector}, record=False)
    assert {c.key for c in once.conditions if c.subject in mine} == {
        *expected,
        f"container-down:{ok}",
    }


def test_a_stopped_database_is_one_root_cause_alert(
    docker_client: Any,
    test_images: dict[str, str],
    docker_cleanup: Any,
    unique_name: Callable[..., str],
    watcher_for: Callable[[WatchConfig, Outbox], Watcher],
    tmp_path: Path,
) -> None:
    image = test_images["busybox"]
    stack = unique_name()
    network = docker_cleanup.track(unique_name("net"))
    docker_client.networks.create(network, driver="bridge")
    db = docker_cleanup.track(unique_name("db"))
    web = docker_cleanup.track(unique_name("web"))
    other = docker_cleanup.track(unique_name("other"))
    docker_client.containers.run(
        image,
        ["httpd", "-f", "-p", "5432"],
        name=db,
        network=network,
        labels=labels(stack, "cloud", db),
        detach=True,
    )
    docker_client.containers.run(
        image,
        ["sleep", "600"],
        name=web,
        network=network,
        labels=labels(stack, "cloud", web),
        detach=True,
        healthcheck={
            "test": ["CMD-SHELL", f"nc -w 1 {db} 5432 </dev/null"],
            "interval": SECOND // 2,
            "timeout": 2 * SECOND,
            "retries": 1,
        },
    )
    docker_client.containers.run(
        image, ["sleep", "600"], name=other, labels=labels(stack, "other", other), detach=True
    )

    def health() -> str:
        return str(attrs(docker_client, web)["State"]["Health"]["Status"])

    wait_for("the app to be healthy", lambda: health() == "healthy")
    config = WatchConfig(
        host="lt-host",
        state_dir=str(tmp_path),
        apps=(
            AppTarget("cloud", stack, (web, db), databases=(db,)),
            AppTarget("other", stack, (other,)),
        ),
    )
    outbox = Outbox()
    watcher = watcher_for(config, outbox)
    mine = {db, web, other}
    assert [c.key for c in watcher.cycle(only=["docker"]).conditions if c.subject in mine] == []

    docker_client.containers.get(db).stop(timeout=0)
    wait_for("the app to notice", lambda: health() == "unhealthy")
    # the watcher's view follows Docker's event stream, a moment behind inspect
    wait_for("the watcher to hear of it", lambda: heard(watcher, web) == "unhealthy")
    for _ in range(2):
        result = watcher.cycle(only=["docker"])
    found = {c.key: c for c in result.conditions if c.subject in mine}
    root = found[f"container-down:{db}"]
    assert root.root and root.app == "cloud"
    assert root.message.startswith(f"{db} (database of cloud) is exited")
    assert root.message.endswith("; 1 alert of cloud held back")
    assert found[f"container-unhealthy:{web}"].suppressed_by == root.key
    assert not any(c.subject == other for c in found.values())
    # one notification, naming the cause, not the symptom
    assert len(outbox.messages) == 1
    lines = outbox.messages[0].body.splitlines()
    assert lines[0] == f"CRITICAL: {root.message}"
    assert not any(web in line and "unhealthy" in line for line in lines)
    # the held-back alert is still recorded
    held = watcher.alerts.alerts[f"container-unhealthy:{web}"]
    assert held.state == "firing" and held.suppressed_by == root.key

    docker_client.containers.get(db).start()
    wait_for("the app to recover", lambda: health() == "healthy")
    result = watcher.cycle(only=["docker"])
    assert not [c for c in result.conditions if c.subject in mine]
    assert len(outbox.messages) == 2
    assert (
        outbox.messages[1].body
        == f"RESOLVED: {root.message} (lasted " + outbox.messages[1].body.split("(lasted ")[1]
    )
    assert "unhealthy" not in outbox.messages[1].body  # never announced: resolves quietly
    logged = {(r["key"], r["kind"]) for r in watcher.store.alert_log()}
    assert (f"container-unhealthy:{web}", "resolved") in logged


def test_a_docker_daemon_that_does_not_answer_is_the_root_cause(tmp_path: Path) -> None:
    config = WatchConfig(
        host="lt-host",
        docker_host=f"unix://{tmp_path}/no-docker.sock",
        apps=(AppTarget("cloud", "s", ("cloud",)),),
    )
    status = check(config, collectors={"docker": docker_collector}, record=False)
    assert [(c.key, c.severity, c.root) for c in status.conditions] == [
        ("docker-daemon", "critical", True)
    ]
    assert status.conditions[0].message.startswith(
        f"the Docker daemon does not answer: cannot reach the Docker daemon at unix://{tmp_path}"
    )
