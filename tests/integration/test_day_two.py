"""Day-two operations on a real Docker engine: the watcher during a deploy, stacks that leave the
blueprint or change their name, and a broken blueprint after an `up`.

The blueprint in tests/data/dayops has two busybox stacks (lt-ops-a: a web app whose data folder
is backed up; lt-ops-x: a container that sleeps) on one network, a local restic repository and a
watcher that looks every 2 s. lares runs as a subprocess, as a person runs it.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import docker
import pytest

from integration.backup_helpers import receiver
from integration.deploy_lab import DeployLab as Lab

PROJECTS = ("lt-ops-a", "lt-ops-b", "lt-ops-x", "lt-ops-z")
NETWORK = "lt-ops"
WEB = "lt-ops-web"
WATCHED = ("container-", "endpoint-")


@pytest.fixture
def lab(deploy_lab: Callable[..., Lab]) -> Lab:
    lab = deploy_lab(
        "dayops",
        stacks=PROJECTS,
        networks=(NETWORK,),
        state_for=lambda command: False,  # LARES_STATE_DIR says where it is
        file_for=lambda command: command != "ps",
        cwd=True,
    )
    lab.env.pop("LARES_FILE", None)
    lab.env["LARES_STATE_DIR"] = str(lab.state)
    return lab


def containers(client: docker.DockerClient, project: str) -> dict[str, str]:
    """Container name → status of a Compose project."""
    found = client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={project}"}
    )
    return {c.name: c.status for c in found}


def wait_for(what: str, check: Callable[[], Any], seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


# ── the watcher during a deploy ────────────────────────────────────────────────────────────


def _alert_log(lab: Lab) -> list[tuple[str, str]]:
    """(kind, key) of every alert transition the watcher recorded."""
    import sqlite3

    path = lab.state / "monitor" / "history.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT kind, key FROM alert_log ORDER BY ts").fetchall()
    return [(str(k), str(key)) for k, key in rows]


def _of_the_web_containers(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The container and endpoint alerts of the web app (its backup, never run, is late)."""
    return [(k, key) for k, key in entries if WEB in key and key.startswith(WATCHED)]


def test_a_watcher_stays_quiet_while_up_replaces_a_container_and_alerts_after(
    lab: Lab, docker_client: docker.DockerClient
) -> None:
    with receiver() as inbox:
        lab.env["LT_NOTIFY"] = f"json://127.0.0.1:{inbox.port}/"
        lab.lares("up", "--yes")
        watcher = subprocess.Popen(
            lab.argv("watch"), env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            wait_for("the watcher's first cycle", (lab.state / "monitor" / "history.sqlite").exists)
            time.sleep(4)  # two cycles on a settled system
            before = _alert_log(lab)
            assert _of_the_web_containers(before) == []

            # a changed setting: Compose stops the container (10 s: httpd ignores SIGTERM),
            # renames it, starts the new one and removes the old
            lab.env["LT_GREETING"] = "bye"
            old_id = docker_client.containers.get(WEB).id
            up = lab.lares("up", "--yes")
            assert "lt-ops-a: update" in up.stdout
            assert docker_client.containers.get(WEB).id != old_id
            assert not (lab.state / "monitor" / "deploying.json").exists()
            time.sleep(6)  # three cycles after the deploy
            assert _of_the_web_containers(_alert_log(lab)) == []
            said = json.dumps(inbox.bodies)
            assert f"{WEB} is" not in said and "is not answering" not in said

            # a real failure after the deploy is an alert
            docker_client.containers.get(WEB).stop(timeout=1)
            body = wait_for(
                "the container-down notification",
                lambda: next(
                    (b for b in inbox.bodies if f"{WEB} is exited" in json.dumps(b)), None
                ),
                seconds=60,
            )
            assert body["type"] == "failure"
        finally:
            watcher.send_signal(signal.SIGTERM)
            out, _ = watcher.communicate(timeout=30)
        assert watcher.returncode == 0, out


# ── stacks that leave the blueprint, stacks that change their name ─────────────────────────

EXTRA_STACK = """  lt-ops-x:
    network: lt-ops
    apps: [lt-ops-extra]
"""


def test_a_stack_removed_from_the_blueprint_is_shown_and_can_be_removed(
    lab: Lab, docker_client: docker.DockerClient, test_images: dict[str, str]
) -> None:
    # a lares-labelled stack this state folder never applied (another lares on the engine)
    docker_client.containers.run(
        test_images["busybox"],
        ["sleep", "300"],
        name="lt-ops-z1",
        detach=True,
        labels={"io.lares.stack": "lt-ops-z", "com.docker.compose.project": "lt-ops-z"},
    )
    lab.lares("up", "--yes")
    assert containers(docker_client, "lt-ops-x") == {"lt-ops-extra": "running"}
    lab.edit(EXTRA_STACK, "")

    plan = lab.lares("plan", "--state-dir", str(lab.state))
    assert (
        "! stack lt-ops-x is applied but not in the blueprint: `lares up` shows it, "
        "`lares down lt-ops-x` or `lares up --prune` removes it" in plan.stderr
    )
    up = lab.lares("up", "--yes")
    assert "nothing to do: 1 stack matches what is running" in up.stdout
    assert (
        "! stack lt-ops-x (1 container running) is not in the blueprint: remove it with "
        "`lares down lt-ops-x`, or `lares up --prune`\n" in up.stderr
    )
    assert (
        "! stack lt-ops-z (1 container running) is not in the blueprint: remove it with "
        "`lares down lt-ops-z`\n" in up.stderr
    )
    report = json.loads(lab.lares("up", "--yes", "--json").stdout)
    assert [
        (o["stack"], o["action"], o["containers"], o["recorded"])
        for o in report["orphans"]
        if o["stack"].startswith("lt-ops")  # other tests' stacks may share the engine
    ] == [
        ("lt-ops-x", "orphan", ["lt-ops-extra"], True),
        ("lt-ops-z", "orphan", ["lt-ops-z1"], False),
    ]

    refused = lab.lares("up", "--prune", input="n\n", check=False)
    assert refused.returncode == 1
    assert "and remove lt-ops-x (not in the blueprint)?" in refused.stdout
    assert containers(docker_client, "lt-ops-x") == {"lt-ops-extra": "running"}

    pruned = lab.lares("up", "--prune", "--yes")
    assert "removed lt-ops-x" in pruned.stdout
    assert containers(docker_client, "lt-ops-x") == {}
    assert not (lab.state / "applied" / "lt-ops-x" / "record.json").exists()
    assert containers(docker_client, "lt-ops-z") == {"lt-ops-z1": "running"}  # not ours to prune
    again = lab.lares("up", "--yes")
    assert "nothing to do" in again.stdout and "stack lt-ops-x" not in again.stderr

    # `lares down` takes an orphan down from its applied revision
    lab.edit("catalog: [catalog]\n", EXTRA_STACK + "catalog: [catalog]\n")
    lab.lares("up", "--yes")
    assert containers(docker_client, "lt-ops-x") == {"lt-ops-extra": "running"}
    lab.edit(EXTRA_STACK, "")
    down = lab.lares("down", "--yes", "lt-ops-x")
    assert "stopped lt-ops-x" in down.stdout
    assert containers(docker_client, "lt-ops-x") == {}
    assert containers(docker_client, "lt-ops-a") == {WEB: "running"}


def test_a_renamed_stack_moves_its_containers_and_keeps_the_data(
    lab: Lab, docker_client: docker.DockerClient
) -> None:
    lab.lares("up", "--yes")
    kept = lab.root / "data" / "appdata" / WEB / "data" / "kept.txt"
    kept.write_text("still here\n")
    lab.edit("  lt-ops-a:\n", "  lt-ops-b:\n")

    dry = lab.lares("up", "--dry-run")
    # the column is as wide as the longest stack name (other tests' stacks may be listed)
    assert re.search(
        r"^lt-ops-a +rename to lt-ops-b +1 running; renamed to lt-ops-b", dry.stdout, re.M
    )
    up = lab.lares("up", "--yes")
    assert "lt-ops-a: renamed to lt-ops-b; taking the old project down" in up.stdout
    assert "✓ applied lt-ops-b\n✓ removed lt-ops-a\n" in up.stdout
    assert containers(docker_client, "lt-ops-a") == {}
    assert containers(docker_client, "lt-ops-b") == {WEB: "running"}
    assert kept.read_text() == "still here\n"
    assert not (lab.state / "applied" / "lt-ops-a" / "record.json").exists()
    again = lab.lares("up", "--yes")
    assert "nothing to do: 2 stacks match what is running" in again.stdout
    assert "lt-ops-" not in again.stderr


# ── a broken blueprint after an `up` ───────────────────────────────────────────────────────


def test_a_broken_blueprint_leaves_ps_down_status_and_backup_run_working(
    lab: Lab, docker_client: docker.DockerClient
) -> None:
    lab.lares("up", "--yes")
    lab.lares("backup", "init")
    (lab.root / "data" / "appdata" / WEB / "data" / "notes.txt").write_text("keep me\n")
    lab.edit("  lt-ops-x:\n", "  lt-ops-x: [\n")  # an unclosed flow sequence
    broken = lab.lares("plan", check=False)
    assert broken.returncode == 2
    error = broken.stderr.strip().splitlines()[0]
    assert error.startswith(f"{lab.blueprint}:")
    warning = "! the blueprint has errors, so lares works from the one `lares up` last applied ("

    # ps never needed the blueprint; run it where the broken lares.yaml lies
    ps = lab.lares("ps")
    assert WEB in ps.stdout and "lt-ops-extra" in ps.stdout

    code_status = lab.lares("status", "--json", check=False)
    assert warning in code_status.stderr and error in code_status.stderr
    report = json.loads(code_status.stdout)
    watched = {s["subject"] for s in report["samples"] if s["collector"] == "docker"}
    assert {WEB, "lt-ops-extra"} <= watched
    assert "fix it (see `lares plan`) before the next `lares up`" in code_status.stderr

    run = lab.lares("backup", "run")
    assert warning in run.stderr
    status = json.loads((lab.state / "backup" / "status.json").read_text())
    assert status["local"][WEB]["state"] == "ok"

    up = lab.lares("up", "--yes", check=False)
    assert up.returncode == 2 and warning not in up.stderr  # up applies the file as it is

    down = lab.lares("down", "--yes")
    assert warning in down.stderr
    assert "stopped lt-ops-x, lt-ops-a" in down.stdout
    assert containers(docker_client, "lt-ops-a") == {} == containers(docker_client, "lt-ops-x")
