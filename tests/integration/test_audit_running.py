"""`lares audit --running` and drift, against containers started on the real engine."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from integration.lares_lab import lares_process
from lares.audit.engine import check_containers, check_drift
from lares.audit.model import from_compose
from lares.audit.targets import load_running

from .audit_cases import BASE_RUN, CASES, patched

if TYPE_CHECKING:
    import docker

    from .conftest import DockerCleanup

RUN_CASES = [c for c in CASES if c.run is not None]


def _start(client: docker.DockerClient, image: str, name: str, **kwargs: Any) -> None:
    """Start a container; a random host port the engine picked may be held by another test's
    server (the engine does not probe its range), so that start is tried again on the next one."""
    import docker.errors

    for attempt in range(5):
        try:
            client.containers.run(image, ["sleep", "300"], name=name, detach=True, **kwargs)
            return
        except docker.errors.APIError as err:
            if "address already in use" not in str(err) or attempt == 4:
                raise
            client.containers.get(name).remove(force=True)


@pytest.fixture(scope="module")
def started(docker_client: docker.DockerClient, test_images: dict[str, str]) -> Any:
    """One container per rule that breaks it, and one hardened container that breaks none."""
    from .conftest import DockerCleanup

    cleanup = DockerCleanup(docker_client)
    prefix = cleanup.prefix(f"lt-audit-{uuid.uuid4().hex[:6]}-")
    busybox = docker_client.images.get(test_images["busybox"])
    latest = f"{prefix}img:latest"
    busybox.tag(latest)
    names: dict[str, str] = {}
    # rshared needs a shared mount as its source: a folder bind-mounted onto itself
    shared = Path(tempfile.mkdtemp(prefix="lares-test-audit-"))
    subprocess.run(["mount", "--bind", str(shared), str(shared)], check=True)
    subprocess.run(["mount", "--make-shared", str(shared)], check=True)
    try:
        _start(docker_client, busybox.id, f"{prefix}clean", **BASE_RUN)
        for case in RUN_CASES:
            image = {"image-latest": latest, "image-no-digest": test_images["busybox"]}.get(
                case.rule, busybox.id
            )
            args = patched(BASE_RUN, case.run or {})
            if case.rule == "shared-propagation":
                args["volumes"] = {str(shared): {"bind": "/shared", "mode": "rshared"}}
            if "environment" in (case.run or {}):
                args["environment"] = {**BASE_RUN["environment"], **case.run["environment"]}
            names[case.rule] = f"{prefix}{case.rule}"
            _start(docker_client, image, names[case.rule], **args)
        running = [c for c in load_running() if c.name.startswith(prefix)]
        yield prefix, names, running
    finally:
        errors = cleanup.run()
        docker_client.images.remove(latest, noprune=True)
        subprocess.run(["umount", str(shared)], check=False)
        shared.rmdir()
        assert not errors, errors


def test_a_hardened_container_breaks_no_rule(started: Any) -> None:
    prefix, _, running = started
    clean = [c for c in running if c.name == f"{prefix}clean"]
    assert len(clean) == 1
    assert [(f.rule, f.message) for f in check_containers(clean)] == []


@pytest.mark.parametrize("case", RUN_CASES, ids=[c.rule for c in RUN_CASES])
def test_rule_triggers_on_a_running_container(case: Any, started: Any) -> None:
    _, names, running = started
    mine = [c for c in running if c.name == names[case.rule]]
    assert len(mine) == 1
    rules = {f.rule for f in check_containers(mine)}
    assert case.rule in rules


def test_a_secret_value_never_reaches_the_findings(started: Any) -> None:
    _, names, running = started
    mine = [c for c in running if c.name == names["secret-in-env"]]
    findings = check_containers(mine)
    assert any(f.rule == "secret-in-env" for f in findings)
    assert not any("hunter2" in f.message or "hunter2" in f.fix for f in findings)


def test_drift_finds_a_hand_started_container_and_a_changed_setting(
    docker_client: docker.DockerClient,
    test_images: dict[str, str],
    docker_cleanup: DockerCleanup,
) -> None:
    project = docker_cleanup.project(f"lt-audit-drift-{uuid.uuid4().hex[:6]}")
    rendered = [
        from_compose(
            project,
            "web",
            {"image": test_images["busybox"], "read_only": True, "cap_drop": ["ALL"],
             "labels": {"io.lares.stack": project, "io.lares.app": "web"}},
            source=f"{project}/compose.yaml",
        ),
        from_compose(project, "never-started", {"image": test_images["busybox"]}, source="x"),
    ]  # fmt: skip
    labels = {"com.docker.compose.project": project, "io.lares.app": "web"}
    # the rendered service, started with its root made writable by hand
    _start(
        docker_client,
        test_images["busybox"],
        docker_cleanup.track(f"{project}-web"),
        labels={**labels, "com.docker.compose.service": "web"},
        cap_drop=["ALL"],
    )
    # a container nobody rendered, started by hand in the same project
    _start(
        docker_client,
        test_images["busybox"],
        docker_cleanup.track(f"{project}-extra"),
        labels={**labels, "com.docker.compose.service": "extra"},
    )
    running = [c for c in load_running() if c.project == project]
    found = {(f.rule, f.message) for f in check_drift(rendered, running)}
    assert (
        "drift-unknown-container",
        f"{project}-extra runs in project {project}, which lares did not render it in",
    ) in found
    assert (
        "drift-setting",
        f"{project}-web: read_only is False on the engine, True in the render",
    ) in found
    assert (
        "drift-missing",
        f"{project}-never-started-1 is rendered but not on the engine",
    ) in found
    assert len([r for r, _ in found if r == "drift-setting"]) == 1  # nothing else differs


def test_cli_running_reports_every_container_of_the_engine(started: Any, tmp_path: Path) -> None:
    import json
    import os

    prefix, names, _ = started
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(repo / "src"), LARES_STATE_DIR=str(tmp_path))
    proc = lares_process("audit", "--running", "--json", cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    mine = {(f["container"], f["rule"]) for f in data["findings"]}
    assert (names["privileged"], "privileged") in mine
    assert not [c for c, _ in mine if c == f"{prefix}clean"]
    assert data["targets"] == ["engine"]


def test_cli_default_target_reports_drift_of_a_lares_stack(
    docker_client: docker.DockerClient,
    test_images: dict[str, str],
    docker_cleanup: DockerCleanup,
    tmp_path: Path,
) -> None:
    import json
    import os

    stack = docker_cleanup.project(f"lt-audit-{uuid.uuid4().hex[:6]}")
    repo = Path(__file__).resolve().parents[2]
    text = (repo / "src" / "lares" / "blueprint" / "reference.yaml").read_text()
    blueprint = tmp_path / "lares.yaml"
    blueprint.write_text(text.replace("\n  security:\n", f"\n  {stack}:\n", 1))
    name = docker_cleanup.track(f"{stack}-by-hand")
    _start(
        docker_client,
        test_images["busybox"],
        name,
        labels={"com.docker.compose.project": stack, "com.docker.compose.service": "by-hand"},
    )
    env = dict(os.environ, PYTHONPATH=str(repo / "src"), LARES_STATE_DIR=str(tmp_path / "s"))
    proc = lares_process(
        "audit", "-f", str(blueprint), "--json", cwd=tmp_path, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    found = {(f["rule"], f["container"]) for f in json.loads(proc.stdout)["findings"]}
    assert ("drift-unknown-container", name) in found
    assert ("drift-missing", "vaultwarden") in found  # the stack's own app is not running


def test_a_service_and_its_container_map_onto_the_same_model(
    test_images: dict[str, str], docker_cleanup: DockerCleanup, tmp_path: Path
) -> None:
    """What Compose starts from a file is what the file says: no drift, the same findings."""
    import yaml

    from lares.audit.targets import compose_argv, compose_config, containers_of

    project = docker_cleanup.project(f"lt-audit-rt-{uuid.uuid4().hex[:6]}")
    (tmp_path / "data").mkdir()
    service = {
        "image": test_images["busybox"],
        "command": ["sleep", "300"],
        "user": "1000:1000",
        "read_only": True,
        "cap_drop": ["ALL"],
        "cap_add": ["CHOWN"],
        "security_opt": ["no-new-privileges:true"],
        "mem_limit": "64m",
        "pids_limit": 64,
        "restart": "unless-stopped",
        "ports": ["127.0.0.1::80", "8"],
        "volumes": [f"{tmp_path / 'data'}:/data:ro", {"type": "tmpfs", "target": "/tmp"}],
        "devices": ["/dev/null:/dev/lt-null"],
        "environment": {"API_TOKEN": "literal-token-value", "TZ": "UTC"},
        "healthcheck": {"test": ["CMD", "true"], "interval": "30s"},
    }
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump({"name": project, "services": {"app": service}}))
    # as in _start: a host port the engine picked may be held by another test's server
    for attempt in range(5):
        up = subprocess.run(
            [*compose_argv(), "-f", str(path), "up", "-d", "--quiet-pull"],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if up.returncode == 0:
            break
        assert "address already in use" in up.stderr and attempt < 4, up.stderr
        subprocess.run([*compose_argv(), "-f", str(path), "down"], capture_output=True,
                       check=True, timeout=120)  # fmt: skip
    model, note = compose_config(path)
    assert note is None
    rendered, _ = containers_of(model, source=str(path))
    running = [c for c in load_running() if c.project == project]
    assert len(running) == 1
    assert check_drift(rendered, running) == []
    from_file = {(f.rule, f.message) for f in check_containers(rendered)}
    from_engine = {(f.rule, f.message) for f in check_containers(running)}
    assert from_file == from_engine
    assert {r for r, _ in from_file} >= {"secret-in-env", "port-all-interfaces", "host-device"}
