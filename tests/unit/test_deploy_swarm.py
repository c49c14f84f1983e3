"""The pure parts of `lares up --engine swarm`: the `docker stack deploy` command, the stack file
as deployed (secrets named by a digest of their value, overlays optionally unencrypted), and the
reading of `docker service ls` / `service inspect` / `stack ps` into per-service states."""

from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, MINIMAL, TEST_CATALOG, Lares
from lares.deploy import swarm
from lares.deploy.swarm import ServiceState, SwarmError, Task

SWARM = DATA / "swarm" / "lares.yaml"


def test_deploy_argv_prunes_detaches_and_resolves_as_asked() -> None:
    argv = swarm.deploy_argv("media", Path("/s/media.yaml"), resolve_image="never")
    assert argv == (
        "docker",
        "stack",
        "deploy",
        "--compose-file",
        "/s/media.yaml",
        "--resolve-image",
        "never",
        "--prune",
        "--detach",
        "media",
    )
    assert "always" in swarm.deploy_argv("media", Path("m.yaml"))


def test_deploy_argv_refuses_an_unknown_resolve_mode() -> None:
    with pytest.raises(SwarmError, match="--resolve-image 'sometimes'") as err:
        swarm.deploy_argv("media", Path("m.yaml"), resolve_image="sometimes")
    assert err.value.hint == "use one of: always, changed, never"


def test_list_commands_filter_by_the_stack_label() -> None:
    assert swarm.services_argv("media")[-4:] == (
        "--filter",
        "label=com.docker.stack.namespace=media",
        "--format",
        "json",
    )
    assert swarm.tasks_argv("media") == (
        "docker",
        "stack",
        "ps",
        "media",
        "--no-trunc",
        "--format",
        "json",
    )


def test_object_name_is_stack_key_and_a_digest_of_the_value_never_the_value() -> None:
    name = swarm.object_name("data", "db.password", b"hunter2-secret")
    digest = hashlib.sha256(b"hunter2-secret").hexdigest()[:12]
    assert name == f"data_db.password_{digest}"
    assert "hunter2" not in name
    assert swarm.object_name("data", "db.password", b"other") != name


def test_object_name_fits_swarms_limit_and_alphabet() -> None:
    name = swarm.object_name("s" * 40, "k/ey with spaces" * 4, b"v")
    assert len(name) <= swarm.NAME_MAX
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _doc() -> dict[str, Any]:
    return {
        "services": {"db": {"image": "postgres:15"}},
        "secrets": {"db.pw": {"file": "../secrets/db/pw"}, "ext": {"external": True}},
        "configs": {"db.conf": {"file": "conf/db.conf"}},
        "networks": {
            "data": {"driver": "overlay", "driver_opts": {"encrypted": "true"}},
            "front": {"driver": "overlay", "driver_opts": {"encrypted": "true", "x": "1"}},
            "ext": {"external": True},
        },
    }


def _files(tmp_path: Path) -> Path:
    base = tmp_path / "swarm"
    (base / "conf").mkdir(parents=True)
    (tmp_path / "secrets" / "db").mkdir(parents=True)
    (tmp_path / "secrets" / "db" / "pw").write_text("s3cret-value")
    (base / "conf" / "db.conf").write_text("max_connections=10\n")
    return base


def test_as_deployed_names_file_secrets_and_configs_by_content(tmp_path: Path) -> None:
    base = _files(tmp_path)
    out, names = swarm.as_deployed(_doc(), "data", base)
    pw = swarm.object_name("data", "db.pw", b"s3cret-value")
    conf = swarm.object_name("data", "db.conf", b"max_connections=10\n")
    assert out["secrets"]["db.pw"] == {"file": "../secrets/db/pw", "name": pw}
    assert out["secrets"]["ext"] == {"external": True}  # not lares's: left as it is
    assert out["configs"]["db.conf"]["name"] == conf
    assert names == {"secret": [pw], "config": [conf]}
    assert "s3cret-value" not in json.dumps(out)
    # encryption stays unless asked otherwise; the input is not changed
    assert out["networks"]["data"]["driver_opts"] == {"encrypted": "true"}
    assert "name" not in _doc()["secrets"]["db.pw"]


def test_as_deployed_with_plain_overlays_drops_only_the_encryption(tmp_path: Path) -> None:
    out, _ = swarm.as_deployed(_doc(), "data", _files(tmp_path), plain_overlays=True)
    assert out["networks"]["data"] == {"driver": "overlay"}
    assert out["networks"]["front"] == {"driver": "overlay", "driver_opts": {"x": "1"}}
    assert out["networks"]["ext"] == {"external": True}


def test_as_deployed_names_the_secret_file_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(SwarmError, match=r"data: the file of secret db.pw cannot be read: .*pw"):
        swarm.as_deployed(_doc(), "data", tmp_path / "swarm")


# ── reading the swarm ──────────────────────────────────────────────────────────────────────

LISTED = [
    {"ID": "vekboj5g0rls", "Mode": "replicated", "Name": "front_web", "Replicas": "1/1"},
    {"ID": "j84e0bh4oo3w", "Mode": "replicated", "Name": "front_other", "Replicas": "2/2"},
]
INSPECTED = [
    {
        "ID": "vekboj5g0rlsfull",
        "Spec": {"Name": "front_web", "Labels": {"io.lares.app": "web-app"}},
        "UpdateStatus": {"State": "updating"},
    },
    {"ID": "j84e0bh4oo3wfull", "Spec": {"Name": "front_other", "Labels": {}}},
]


def _task(name: str, node: str, desired: str, current: str, error: str = "") -> dict[str, str]:
    return {
        "Name": name,
        "Node": node,
        "DesiredState": desired,
        "CurrentState": current,
        "Error": error,
    }


def test_service_states_count_running_tasks_not_the_stale_replicas() -> None:
    tasks = [
        _task("front_web.1", "n1", "Running", "Running 3 seconds ago"),
        # a node went down: its task is still "Running" but the swarm has replaced it
        _task("front_other.1", "", "Running", "Pending 2 seconds ago", "no suitable node (x)"),
        _task("front_other.1", "n3", "Shutdown", "Running 40 seconds ago"),
        _task("front_other.2", "n1", "Running", "Running 9 seconds ago"),
    ]
    states = swarm.service_states("front", LISTED, INSPECTED, tasks)
    assert [s.name for s in states] == ["other", "web"]
    other, web = states
    assert (web.app, web.running, web.desired, web.update) == ("web-app", 1, 1, "updating")
    assert web.state == "updating"
    assert (other.app, other.running, other.desired) == ("other", 1, 2)
    assert other.state == "starting"
    assert other.nodes == ["n1"]
    assert other.errors == ["no suitable node (x)"]
    assert other.to_dict()["errors"] == ["no suitable node (x)"]


def _state(
    running: int, desired: int, update: str = "", tasks: tuple[Task, ...] = ()
) -> ServiceState:
    return ServiceState("s", "svc", "svc", running, desired, update, tasks)


@pytest.mark.parametrize(
    ("running", "desired", "update", "state"),
    [
        (1, 1, "", "running"),
        (1, 1, "completed", "running"),
        (0, 0, "", "running"),  # scaled to zero
        (0, 1, "", "starting"),
        (1, 1, "updating", "updating"),
        (1, 1, "rollback_started", "updating"),
        (1, 1, "rollback_completed", "failed"),
        (0, 1, "paused", "failed"),
    ],
)
def test_state(running: int, desired: int, update: str, state: str) -> None:
    assert _state(running, desired, update).state == state


def test_converged_and_settled() -> None:
    ok = _state(1, 1)
    failed = _state(1, 1, "rollback_completed")
    starting = _state(0, 1)
    assert swarm.converged([ok], ["svc"])
    assert not swarm.converged([], ["svc"])  # not there yet
    assert not swarm.converged([failed], ["svc"])
    assert swarm.settled([failed], ["svc"])
    assert not swarm.settled([starting], ["svc"])


def test_errors_only_for_slots_without_a_running_task() -> None:
    tasks = (
        Task("1", "n1", "running", "running"),
        Task("1", "n2", "rejected", "shutdown", "bind source path does not exist"),
        Task("2", "n2", "rejected", "shutdown", "newest error"),
        Task("2", "n2", "rejected", "shutdown", "older error"),
    )
    assert _state(1, 2, tasks=tasks).errors == ["newest error"]


def test_json_lines_skips_what_is_not_an_object() -> None:
    assert swarm.json_lines('{"a": 1}\n\nwarning: x\n{"b": 2}\n') == [{"a": 1}, {"b": 2}]


# ── the command line ───────────────────────────────────────────────────────────────────────


def test_up_refuses_an_unknown_engine(lares: Lares) -> None:
    ran = lares("up", "--engine", "nomad", "-f", str(MINIMAL))
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "--engine 'nomad' is not one lares drives" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_up_swarm_refuses_compose_only_flags(lares: Lares) -> None:
    ran = lares("up", "--engine", "swarm", "--prune", "--dry-run", "-f", str(MINIMAL))
    assert ran.returncode == 2
    assert "--dry-run, --prune applies to Compose stacks, not to --engine swarm" in ran.stderr


def test_up_swarm_refuses_a_plan_with_errors_before_it_asks_the_engine(
    lares: Lares, tmp_path: Path
) -> None:
    text = MINIMAL.read_text().replace("memory: 16GiB", "memory: 2GiB")
    text = text.replace("catalog: [../catalog]", f"catalog: [{TEST_CATALOG}]")
    (tmp_path / "small.yaml").write_text(text)
    # no engine answers here: the plan is refused first
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no.sock"}
    ran = lares("up", "--engine", "swarm", "-f", "small.yaml", env=env)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "error [memory]" in ran.stdout
    assert "1 error in the plan; nothing was changed" in ran.stderr + ran.stdout
    assert not (tmp_path / "lares-state" / "swarm").exists()


def test_up_swarm_on_an_engine_that_answers_nothing_says_so(lares: Lares, tmp_path: Path) -> None:
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no.sock"}
    ran = lares("up", "--engine", "swarm", "-f", str(SWARM), env=env)
    assert ran.returncode != 0
    assert "ask the Docker engine about its Swarm" in ran.stderr + ran.stdout
    assert "Traceback" not in ran.stderr


def test_up_swarm_refuses_what_swarm_breaks_before_it_asks_the_engine(
    lares: Lares, tmp_path: Path
) -> None:
    # the reference: qBittorrent's VPN-only routing through Gluetun is an error for Swarm only
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no.sock"}
    ran = lares("up", "--engine", "swarm", env=env)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "error [swarm]" in ran.stdout and "qbittorrent" in ran.stdout
    assert "ask the Docker engine" not in ran.stdout + ran.stderr
    assert not (tmp_path / "lares-state" / "swarm").exists()


def test_up_swarm_waits_for_the_state_lock_as_long_as_lock_timeout_says(
    lares: Lares, tmp_path: Path
) -> None:
    state = tmp_path / "lares-state"
    state.mkdir(mode=0o700)
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no.sock"}
    with (state / "lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another lares holds the state
        ran = lares("up", "--engine", "swarm", "--lock-timeout", "0.5", "-f", str(SWARM), env=env)
    assert ran.returncode != 0
    assert "gave up after 0.5 s" in ran.stderr + ran.stdout, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
