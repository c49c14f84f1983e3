"""`lares outdated` against a real registry on loopback: newer tags per scheme, moved tags."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from integration.lares_lab import lares_process
from integration.registry import LocalRegistry, running_registry
from lares.update.lock import Lock

pytestmark = pytest.mark.integration

REPO = "lt/web"
TAGS = ("1.0.0", "1.0.1", "1.1.0", "1.2.0", "2.0.0", "2.1.0-rc1", "1.0.0-alpine", "latest")

CATALOG = """\
id: lt-web
name: Web
description: a pinned test image from the local registry
category: tools
release_notes: https://lt-web.example/releases/v{{version}}
containers:
  lt-web:
    image: {image}
    version: "1.0.0"
    user: "1000:1000"
    command: [sleep, "3600"]
    memory: {{reservation: 8MiB, limit: 32MiB}}
    pids: 16
    exceptions:
      no_healthcheck: a test app that only sleeps
"""
BLUEPRINT = """\
version: 1
host:
  name: lt-outdated
  cpu: {cores: 2, threads: 2}
  memory: 4GiB
  reserved: {os: 512MiB, docker: 256MiB}
paths:
  appdata: /tmp/lt-outdated/appdata
  pool: /tmp/lt-outdated/pool
network:
  lan: 127.0.0.0/24
  host_address: 127.0.0.2
  domain: lt.test
  docker:
    lt-outdated-net: {subnet: 10.199.91.0/24}
stacks:
  lt-outdated:
    network: lt-outdated-net
    apps: [lt-web]
catalog: [catalog]
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, test_images: dict[str, str]) -> Iterator:
    with running_registry(tmp_path_factory.mktemp("registry")) as reg:
        digests = {tag: reg.push(test_images["busybox"], REPO, tag) for tag in TAGS}
        yield reg, digests


def _blueprint(root: Path, reg: LocalRegistry) -> Path:
    (root / "catalog").mkdir(exist_ok=True)
    (root / "catalog" / "lt-web.yaml").write_text(CATALOG.format(image=f"{reg.address}/{REPO}"))
    (root / "lares.yaml").write_text(BLUEPRINT)
    return root / "lares.yaml"


def _outdated(blueprint: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return lares_process("outdated", "-f", str(blueprint), *args, timeout=120)


def test_newer_tags_of_the_same_scheme_by_step(registry: tuple, tmp_path: Path) -> None:
    reg, _ = registry
    run = _outdated(_blueprint(tmp_path, reg), "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    (row,) = data["images"]
    assert row["image"] == f"{reg.address}/{REPO}:1.0.0"
    assert row["services"] == ["lt-outdated/lt-web"]
    # the rc, the variant and `latest` are never offered; each step's newest is
    assert row["newer"] == {
        "current": "1.0.0",
        "patch": "1.0.1",
        "minor": "1.2.0",
        "major": "2.0.0",
    }
    assert row["level"] == "major"
    assert row["release_notes"] == {
        tag: f"https://lt-web.example/releases/v{tag}" for tag in ("1.0.1", "1.2.0", "2.0.0")
    }
    assert row["moved"] is False and row["error"] is None
    assert data["outdated"] == 1

    text = _outdated(tmp_path / "lares.yaml")
    assert text.returncode == 0, text.stderr
    assert "1.0.1" in text.stdout and "2.0.0" in text.stdout
    assert "1 of 1 images have newer versions" in text.stdout
    notes = f"release notes of {reg.address}/{REPO}:2.0.0: https://lt-web.example/releases/v2.0.0"
    assert notes in text.stdout


def test_a_re_pushed_tag_is_reported_as_moved(
    registry: tuple, tmp_path: Path, test_images: dict[str, str]
) -> None:
    reg, digests = registry
    blueprint = _blueprint(tmp_path, reg)
    lock = Lock.beside(tmp_path)
    assert lock.record(f"{reg.address}/{REPO}:1.0.0", digests["1.0.0"])
    lock.save()
    assert json.loads(_outdated(blueprint, "--json").stdout)["images"][0]["moved"] is False

    reg.push(test_images["busybox"], REPO, "1.0.0", label="re-pushed")
    data = json.loads(_outdated(blueprint, "--json").stdout)
    assert data["images"][0]["moved"] is True
    assert data["images"][0]["digest"] != digests["1.0.0"]
    assert data["moved"] == 1
    assert "tag moved" in _outdated(blueprint).stdout
    # put it back for the other tests of the module
    reg.push(test_images["busybox"], REPO, "1.0.0")


def test_an_unreachable_registry_is_reported_not_fatal(tmp_path: Path) -> None:
    dead = LocalRegistry("127.0.0.1:9")  # discard: nothing answers
    run = _outdated(_blueprint(tmp_path, dead), "--json")
    assert run.returncode == 0, run.stderr
    row = json.loads(run.stdout)["images"][0]
    assert row["newer"] is None
    assert "cannot reach the registry" in row["error"]
    assert json.loads(run.stdout)["unreachable"] == 1


class _TokenService(http.server.BaseHTTPRequestHandler):
    """Hands out a token to anyone; the registry, which trusts only its own signing key,
    refuses it."""

    asked: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.asked.append(self.path)
        body = json.dumps({"token": "lt-not-signed"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_registry_refusing_the_token_is_a_clear_error_and_nothing_changes(
    tmp_path: Path, test_images: dict[str, str]
) -> None:
    service = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TokenService)
    thread = threading.Thread(target=service.serve_forever, daemon=True)
    thread.start()
    realm = f"http://127.0.0.1:{service.server_port}/token"
    try:
        with running_registry(tmp_path / "reg", token_realm=realm) as reg:
            blueprint = _blueprint(tmp_path, reg)
            run = _outdated(blueprint, "--json")
            assert run.returncode == 0, run.stderr
            (row,) = json.loads(run.stdout)["images"]
            refused = f"{reg.address}: refused access to {reg.address}/{REPO} after logging in"
            assert row["error"] == refused
            assert row["newer"] is None
            assert _TokenService.asked, "the registry's challenge led to the token service"
            assert "Traceback" not in run.stderr

            state = tmp_path / "state"
            argv = ["update", "lt-web", "--to", "1.0.1", "--json", "--state-dir", str(state)]
            update = lares_process(*argv, "-f", str(blueprint), timeout=120)
            assert update.returncode == 1, update.stdout + update.stderr
            (app,) = json.loads(update.stdout)["apps"]
            assert app["result"] == "failed"
            assert app["why"] == row["error"]
            assert not (tmp_path / "lares.lock").exists(), "nothing pinned"
            assert "lt-not-signed" not in update.stdout + update.stderr
    finally:
        service.shutdown()
        service.server_close()


def test_how_old_a_pin_is_comes_from_its_image_config_and_max_age_flags_it(
    registry: tuple, tmp_path: Path, test_images: dict[str, str]
) -> None:
    reg, _ = registry
    built = "2025-01-31T10:00:00.123456789Z"
    reg.push(test_images["busybox"], "lt/old", "3.1.0", created=built)
    reg.push(test_images["busybox"], "lt/old", "3.1.1")
    blueprint = _blueprint(tmp_path, reg)
    catalog = tmp_path / "catalog" / "lt-web.yaml"
    catalog.write_text(catalog.read_text().replace(REPO, "lt/old").replace('"1.0.0"', '"3.1.0"'))
    blueprint.write_text(BLUEPRINT + "updates:\n  max_age: 6 months\n")
    image = f"{reg.address}/lt/old:3.1.0"
    # what the registry serves is what the engine reads once it pulls the image
    subprocess.run(["docker", "pull", "-q", image], capture_output=True, check=True)
    inspect = ["docker", "image", "inspect", "--format", "{{.Created}}", image]
    engine = subprocess.run(inspect, capture_output=True, text=True, check=True).stdout
    assert engine.startswith("2025-01-31T10:00:00.123456789Z"), engine

    def outdated(today: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LARES_TODAY": today, "COLUMNS": "200"}
        run = lares_process("outdated", "-f", str(blueprint), *args, env=env, timeout=120)
        assert run.returncode == 0, run.stderr
        return run

    data = json.loads(outdated("2025-08-01", "--json").stdout)
    (row,) = data["images"]
    assert (row["image"], row["built"], row["age"], row["too_old"]) == (
        image,
        "2025-01-31",
        "6 months",
        True,
    )
    assert row["newer"]["patch"] == "3.1.1"
    assert (data["max_age"], data["too_old"]) == ("6 months", 1)
    text = outdated("2025-08-01").stdout
    assert "6 months ago" in text and "older than 6 months" in text, text
    assert "1 built over 6 months ago" in text
    # the last day within six months: six months old, not older
    data = json.loads(outdated("2025-07-31", "--json").stdout)
    assert (data["images"][0]["age"], data["images"][0]["too_old"]) == ("6 months", False)
