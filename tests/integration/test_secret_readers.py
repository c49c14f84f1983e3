"""Secret files on a real engine: the copy lares writes for a container whose catalog names other
readers (Nextcloud's www-data) is read by its owner and by a reader of the shared group, as
`docker exec -u` would run them, and refused to any other uid; a copy with one reader stays
that reader's alone."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from integration.conftest import IMAGES
from lares.blueprint.load import load_reference
from lares.deploy.files import write_bundle
from lares.plan import plan
from lares.render import render_all


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lares-test-secrets")
    write_bundle(render_all(plan(load_reference()).system), root)
    return root


def read_as(user: str, secret: Path) -> subprocess.CompletedProcess[str]:
    """`cat` the secret in a hardened container running as ``user``, mounted as Compose mounts
    a file secret (a read-only bind of the file under /run/secrets)."""
    name = f"lt-secret-{uuid.uuid4().hex[:8]}"
    return subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--name",
            name,
            "--user",
            user,
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges:true",
            "--read-only",
            "--network",
            "none",
            "--mount",
            f"type=bind,source={secret},target=/run/secrets/s,readonly",
            IMAGES["busybox"],
            "cat",
            "/run/secrets/s",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_owner_and_the_shared_group_read_it_and_no_one_else(written: Path) -> None:
    secret = written / "secrets" / "nextcloud" / "nextcloud_redis_password"
    value = secret.read_text()
    assert len(value) == 32
    # root, the entrypoint, without any capability: as the owner
    assert read_as("0:0", secret).stdout == value
    # www-data, as `docker exec -u www-data nextcloud php occ` runs
    assert read_as("33:33", secret).stdout == value
    refused = read_as("1000:1000", secret)
    assert refused.returncode != 0 and refused.stdout == ""
    assert "Permission denied" in refused.stderr


def test_a_copy_with_one_reader_is_that_readers_alone(written: Path) -> None:
    secret = written / "secrets" / "nextcloud-cron" / "nextcloud_redis_password"
    value = secret.read_text()
    assert read_as("33:33", secret).stdout == value
    for other in ("0:0", "0:33", "1000:33"):
        refused = read_as(other, secret)
        assert refused.returncode != 0 and refused.stdout == "", other
