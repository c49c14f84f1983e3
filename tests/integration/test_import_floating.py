"""A running service on a floating tag, imported from the engine: lares.lock pins the digest
of the image the container runs (not the newer copy pulled since under the same tag), the
blueprint plans with a warning, not an error, and `lares up` runs that digest."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from integration.conftest import DockerCleanup
from integration.lares_lab import LARES
from integration.registry import running_registry
from lares.audit.targets import compose_argv


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, **kw)  # type: ignore[call-overload, no-any-return]


@pytest.mark.usefixtures("test_images")
def test_a_running_floating_tag_is_pinned_to_the_digest_it_runs(
    tmp_path: Path, docker_cleanup: DockerCleanup
) -> None:
    token = f"lt-{uuid.uuid4().hex[:6]}"
    docker_cleanup.prefix(token)
    docker_cleanup.project(token)
    folder = tmp_path / "homelab"
    folder.mkdir()
    with running_registry(tmp_path / "registry") as reg:
        ran = reg.push("lares-test/busybox:1", token, "latest", label="first")
        image = f"{reg.address}/{token}"
        (folder / "compose.yaml").write_text(
            f"services:\n  {token}-tool:\n    image: {image}\n"
            '    command: [httpd, -f, -p, "8080"]\n'
        )
        first_id = ""
        try:
            up = _run([*compose_argv(), "-p", token, "up", "-d"], cwd=folder)
            assert up.returncode == 0, up.stderr
            first_id = _run(["docker", "image", "inspect", "-f", "{{.Id}}", image]).stdout.strip()
            newer = reg.push("lares-test/busybox:1", token, "latest", label="second")
            assert newer != ran  # the tag moved; the container still runs the first
            env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
            state, out = tmp_path / "state", tmp_path / "out"
            imported = _run([*LARES, "import", "--running", "-p", token, "-o", str(out),
                             "--state-dir", str(state), "--json"], env=env)  # fmt: skip
            assert imported.returncode == 0, imported.stdout + imported.stderr
            report = json.loads(imported.stdout)
            assert (report["services"], report["mapped"]) == (1, 1)
            assert "lares.lock" in report["written"]
            lock = yaml.safe_load((out / "lares.lock").read_text())
            assert lock["images"] == {f"{image}:latest": ran}
            [app] = report["apps"]
            custom = yaml.safe_load((out / "catalog" / f"{app['id']}.yaml").read_text())
            spec = custom["containers"][app["id"]]
            assert spec["version"] == "latest" and "floating_tag" in spec["exceptions"]
            planned = _run([*LARES, "plan", "-f", str(out / "lares.yaml"),
                            "--state-dir", str(state)], env=env)  # fmt: skip
            assert planned.returncode == 0, planned.stdout + planned.stderr
            said = planned.stdout + planned.stderr
            assert f"is a floating tag, pinned by digest {ran[:19]}… in lares.lock" in said
            _run([*compose_argv(), "-p", token, "down"], cwd=folder)
            applied = _run([*LARES, "up", "--yes", "-f", str(out / "lares.yaml"),
                            "--state-dir", str(state)], env=env)  # fmt: skip
            assert applied.returncode == 0, applied.stdout + applied.stderr
            compose = (state / "applied").rglob("compose.yaml")
            assert any(f"{image}:latest@{ran}" in f.read_text() for f in compose)
            running = _run(["docker", "inspect", "-f", "{{.Image}}", app["id"]]).stdout.strip()
            assert running == first_id  # the digest it ran, not the newer latest
        finally:
            _run([*compose_argv(), "-p", token, "down"], cwd=folder)
            if first_id:
                _run(["docker", "rmi", "-f", first_id])
