"""`lares up --engine swarm` on a real Swarm of three engines (integration.swarmlab).

The blueprint in tests/data/swarm places PostgreSQL (sw-db) on lt-node2 and the web app that
uses it (sw-web) on lt-node1; a bystander (sw-other) goes wherever ``zone: front`` is, which the
lab gives lt-node1 and lt-node3. lares runs as a person runs it (a subprocess, DOCKER_HOST at the
manager). The tests share one lab and one deployment and run in file order: deploy, reach the
database across nodes (and not from the bystander), update, rotate a secret, scale, and at the
end kill both workers' engines.

Two things this machine's kernel lacks shape the test: IPsec (ESP), so the overlays are deployed
``--plain-overlays``, and IPVS, so a service's virtual IP does not answer: the apps are reached
by ``tasks.<service>``, Swarm's DNS name for the tasks themselves, over the same overlay.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.lares_lab import lab_args, lares_process
from integration.swarmlab import Node, SwarmLab, swarm_lab

DATA = Path(__file__).resolve().parents[1] / "data" / "swarm"
IMAGES = ("lares-test/busybox:1", "lares-test/postgres:15")
HOSTS = (
    ("lt-node1", {"zone": "front"}),
    ("lt-node2", {"zone": "data"}),
    ("lt-node3", {"zone": "front"}),
)
UP = ("up", "--engine", "swarm", "--resolve-image", "never", "--plain-overlays", "--wait", "90")


@pytest.fixture(scope="module")
def lab(test_images: dict[str, str]) -> Iterator[SwarmLab]:
    started = time.monotonic()
    with swarm_lab(IMAGES, HOSTS) as built:
        print(f"swarm lab ready in {time.monotonic() - started:.1f} s: {built.timings}")
        # The operator's part on lt-node2 (NOTES.txt: bind-mount sources must exist on the
        # node that runs the app); the nodes share this machine's file system.
        (built.root / "lt" / "appdata" / "sw-db" / "data").mkdir(parents=True)
        yield built


def lares(
    lab: SwarmLab, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**lab.env(), "LT_ROOT": str(lab.root / "lt"), **(env or {})}
    if args[0] != "ps":
        args = (*lab_args(DATA / "lares.yaml", lab.root / "state", *args),)
    return lares_process(*args, env=full, input=input)


def up(lab: SwarmLab, **env: str) -> dict[str, Any]:
    proc = lares(lab, *UP, "--json", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def services(lab: SwarmLab) -> dict[str, dict[str, Any]]:
    proc = lares(lab, "ps", "--engine", "swarm", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    return {s["service"]: s for st in report["stacks"] for s in st["services"]}


def container(lab: SwarmLab, service: str) -> tuple[Node, str]:
    """The node that runs ``service``'s first running task, and its container there."""
    for node in lab.nodes:
        ids = node.docker(
            "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}", check=False
        ).split()
        if ids:
            return node, ids[0]
    raise AssertionError(f"no container of {service} runs on any node")


def dexec(node: Node, cid: str, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "-H", node.host, "exec", cid, *cmd],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_for(what: str, probe: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout:.0f} s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def deployed(lab: SwarmLab) -> dict[str, Any]:
    started = time.monotonic()
    report = up(lab)
    print(f"lares up --engine swarm: {time.monotonic() - started:.1f} s")
    return report


def test_up_places_each_app_where_the_blueprint_says(
    deployed: dict[str, Any], lab: SwarmLab
) -> None:
    assert deployed["ok"] is True
    by_name = {s["service"]: s for st in deployed["stacks"] for s in st["services"]}
    assert by_name["sw-db"]["nodes"] == ["lt-node2"]
    assert by_name["sw-web"]["nodes"] == ["lt-node1"]
    assert by_name["sw-other"]["nodes"][0] in ("lt-node1", "lt-node3")
    assert all(s["state"] == "running" and s["running"] == 1 for s in by_name.values())
    # The secret is a Swarm secret named by a digest of its value, and the value is nowhere
    # in the stack file as deployed.
    value = (lab.root / "state" / "secrets" / "sw-db_password").read_text()
    names = lab.manager.docker("secret", "ls", "--format", "{{.Name}}").split()
    assert len(names) == 1 and names[0].startswith("lt-sw-data_sw-db.sw-db_password_")
    deployed_file = lab.root / "state" / "swarm" / "swarm" / "lt-sw-data.deployed.yaml"
    assert value not in deployed_file.read_text()


def test_the_app_reaches_its_database_on_another_node(
    deployed: dict[str, Any], lab: SwarmLab
) -> None:
    node, web = container(lab, "lt-sw-front_sw-web")
    assert node.name == "lt-node1"
    probe = dexec(node, web, "sh", "-c", "nc -w 3 tasks.sw-db 5432 </dev/null")
    assert probe.returncode == 0, probe.stderr
    db_node, db = container(lab, "lt-sw-data_sw-db")
    assert db_node.name == "lt-node2"
    ready = dexec(db_node, db, "pg_isready", "-h", "127.0.0.1", "-U", "app")
    assert ready.returncode == 0, ready.stdout + ready.stderr


def test_a_third_app_cannot_reach_the_database(deployed: dict[str, Any], lab: SwarmLab) -> None:
    node, web = container(lab, "lt-sw-front_sw-web")
    address = dexec(
        node, web, "sh", "-c", "nslookup tasks.sw-db | awk '/^Address: /{print $2}' | tail -1"
    ).stdout.strip()
    assert address.count(".") == 3, address
    other_node, other = container(lab, "lt-sw-front_sw-other")
    by_name = dexec(other_node, other, "sh", "-c", "nc -w 2 tasks.sw-db 5432 </dev/null")
    by_address = dexec(other_node, other, "sh", "-c", f"nc -w 2 {address} 5432 </dev/null")
    assert by_name.returncode != 0 and by_address.returncode != 0, by_address.stderr


def test_a_changed_env_and_secret_are_rolling_updates_that_converge(
    deployed: dict[str, Any], lab: SwarmLab
) -> None:
    """One ``up`` for both (each update waits out its service's monitor window, 65 s for the
    database): sw-web gets the new env, sw-db a new Swarm secret, the old one is removed."""
    before = lab.manager.docker("secret", "ls", "--format", "{{.Name}}").split()
    proc = lares(lab, "secret", "set", "sw-db_password", input="another-password-for-the-test\n")
    assert proc.returncode == 0, proc.stderr
    report = up(lab, LT_GREETING="bonjour")
    by_name = {s["service"]: s for st in report["stacks"] for s in st["services"]}
    assert by_name["sw-web"]["update"] == "completed"
    assert by_name["sw-db"]["update"] == "completed"
    assert by_name["sw-other"]["update"] == ""  # untouched
    assert all(s["state"] == "running" for s in by_name.values())
    node, web = container(lab, "lt-sw-front_sw-web")
    page = dexec(node, web, "wget", "-qO-", "http://127.0.0.1:8080/")
    assert page.stdout.strip() == "bonjour"
    after = lab.manager.docker("secret", "ls", "--format", "{{.Name}}").split()
    assert len(after) == 1 and after != before
    assert after[0].startswith("lt-sw-data_sw-db.sw-db_password_")
    data = next(st for st in report["stacks"] if st["stack"] == "lt-sw-data")
    assert data["removed"] == before


def test_scale_spreads_over_the_nodes_the_placement_allows_and_up_restores_it(
    deployed: dict[str, Any], lab: SwarmLab
) -> None:
    lab.manager.docker("service", "scale", "--detach", "lt-sw-front_sw-other=2")
    other = wait_for(
        "sw-other at 2/2", lambda: (s := services(lab)["sw-other"])["running"] == 2 and s
    )
    assert other["nodes"] == ["lt-node1", "lt-node3"]  # zone=front, one each
    report = up(lab, LT_GREETING="bonjour")  # the blueprint says one replica
    by_name = {s["service"]: s for st in report["stacks"] for s in st["services"]}
    assert (by_name["sw-other"]["running"], by_name["sw-other"]["desired"]) == (1, 1)


def test_a_killed_worker_moves_what_may_move_and_not_what_is_pinned(
    deployed: dict[str, Any], lab: SwarmLab
) -> None:
    if services(lab)["sw-other"]["nodes"] != ["lt-node3"]:
        # Re-placed, spread puts it on the zone=front node with fewer tasks: lt-node3.
        lab.manager.docker("service", "update", "--force", "lt-sw-front_sw-other", timeout=120)
    assert services(lab)["sw-other"]["nodes"] == ["lt-node3"]
    started = time.monotonic()
    lab.nodes[1].kill()  # lt-node2: sw-db, pinned there
    lab.nodes[2].kill()  # lt-node3: sw-other, which zone=front also allows on lt-node1

    def moved() -> dict[str, dict[str, Any]] | None:
        now = services(lab)
        other = now["sw-other"]
        return now if other["running"] == 1 and other["nodes"] == ["lt-node1"] else None

    now = wait_for("sw-other on lt-node1", moved, timeout=60)
    print(f"sw-other moved {time.monotonic() - started:.1f} s after the kill")
    db = now["sw-db"]
    assert (db["running"], db["state"]) == (0, "starting"), db
    assert db["nodes"] == []  # not moved: no other node is lt-node2
    assert any("no suitable node" in e for e in db["errors"]), db
    assert now["sw-web"]["nodes"] == ["lt-node1"] and now["sw-web"]["running"] == 1
