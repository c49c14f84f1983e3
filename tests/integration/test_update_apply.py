"""`lares update` on the test engine, against a real registry on loopback.

The app's image is pushed under 1.0.0, 1.0.1, 1.1.0, 1.2.0 and 2.0.0 (the PostgreSQL test image,
which has psql, with a few variables set per version): 1.2.0 adds a column to the app's table and
its healthcheck never passes; 1.1.0 turns healthy but deletes a row, which the app's own check
(the blueprint's drill query) notices. An update to 1.0.1 is backed up first and comes up; 2.0.0
needs --major; 1.2.0 and 1.1.0 are put back: the old image runs again and the database is what
it was before the update, rows and schema.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import pytest

from integration.conftest import remove_docker_objects
from integration.lares_lab import LARES, lares_process
from integration.registry import LocalRegistry, running_registry
from lares.update.lock import Lock

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "update"
STACK = "lu-apps"
NETWORKS = ("lu-database",)
REPO = "lt/lu-app"
PSQL = ("docker", "exec", "lu-app-db", "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", "app")
PSQL += ("-d", "app")
VERSIONS = {
    "1.0.0": {},
    "1.0.1": {},
    "1.1.0": {"LT_LOSE": "1"},
    "1.2.0": {"LT_MIGRATE": "1", "LT_BROKEN": "1"},
    "2.0.0": {},
}


class Lab:
    def __init__(self, root: Path, registry: LocalRegistry, base: str) -> None:
        self.root = root
        self.registry = registry
        self.base = base
        self.state = root / "state"
        self.dir = root / "bp"
        shutil.copytree(DATA, self.dir)
        catalog = self.dir / "catalog" / "lu-app.yaml"
        catalog.write_text(catalog.read_text().replace("LT_REGISTRY", registry.address))
        (root / "data").mkdir()
        self.image = f"{registry.address}/{REPO}"
        self.env = {**os.environ, "LT_ROOT": str(root / "data"), "COLUMNS": "250"}

    def lares(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        state = [] if args[0] == "outdated" else ["--state-dir", str(self.state)]
        file = ["-f", str(self.dir / "lares.yaml")]
        return lares_process(*args, *state, *file, env=self.env, timeout=timeout)

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        run = self.lares(*args)
        assert run.returncode == 0, f"{args}: {run.stdout}\n{run.stderr}"
        return run

    def update(self, *args: str) -> tuple[int, dict[str, Any]]:
        run = self.lares("update", *args, "--json")
        assert run.stdout.strip(), run.stderr
        report = json.loads(run.stdout)
        if run.returncode:  # what lares said on the way, for the assertion that follows
            report["stderr"] = run.stderr[-4000:]
        return run.returncode, report

    def psql(self, sql: str) -> str:
        proc = subprocess.run(
            [*PSQL, "-c", sql],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    def restic_snapshots(self, tag: str) -> list[dict[str, Any]]:
        env = {
            **os.environ,
            "RESTIC_REPOSITORY": str(self.root / "data" / "restic"),
            "RESTIC_PASSWORD_FILE": str(self.state / "secrets" / "restic_local"),
        }
        out = subprocess.run(
            ["restic", "snapshots", "--json", "--no-lock", "--tag", tag],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return json.loads(out.stdout or "[]") or []

    def _inspect(self, field: str) -> str:
        out = subprocess.run(
            ["docker", "inspect", "--format", "{{" + field + "}}", "lu-app"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def container_image_id(self) -> str:
        return self._inspect(".Image")

    def running_image(self) -> str:
        """The image the app's container runs, as repository:tag (without a locked digest)."""
        return self._inspect(".Config.Image").split("@", 1)[0]


def _remove(client: docker.DockerClient) -> None:
    errors = remove_docker_objects(client, names=set(NETWORKS), projects={STACK})
    assert not errors, errors


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory, test_images: dict[str, str]
) -> Iterator[LocalRegistry]:
    with running_registry(tmp_path_factory.mktemp("registry")) as reg:
        for tag, env in VERSIONS.items():
            reg.push(test_images["postgres"], REPO, tag, env=env)
        yield reg


@pytest.fixture
def lab(
    tmp_path: Path,
    registry: LocalRegistry,
    docker_client: docker.DockerClient,
    test_images: dict[str, str],
) -> Iterator[Lab]:
    _remove(docker_client)
    lab = Lab(tmp_path, registry, test_images["postgres"])
    try:
        yield lab
    finally:
        _remove(docker_client)
        for tag in VERSIONS:
            subprocess.run(["docker", "rmi", f"{lab.image}:{tag}"], capture_output=True)


def test_update_backs_up_proves_health_or_puts_the_old_version_and_data_back(lab: Lab) -> None:
    lab.ok("up", "--yes")
    lab.ok("backup", "init")
    lab.psql("CREATE TABLE items (id int PRIMARY KEY, name text)")
    lab.psql("INSERT INTO items VALUES (1, 'one'), (2, 'two')")
    assert lab.running_image() == f"{lab.image}:1.0.0"
    # the first pull's digest is recorded, and from then on Compose runs that digest
    first = Lock.beside(lab.dir).images[f"{lab.image}:1.0.0"]
    # …and the day it was built, from which `lares plan` tells a pin older than updates.max_age
    built = Lock.beside(lab.dir).built[f"{lab.image}:1.0.0"]
    assert built == datetime.now(UTC).date().isoformat()
    later = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    plan = lares_process(
        "plan", "--json", "-f", str(lab.dir / "lares.yaml"), env={**lab.env, "LARES_TODAY": later}
    )
    old = [f for f in json.loads(plan.stdout)["findings"] if f["id"] == "lifecycle"]
    assert [f["message"] for f in old] == [
        f"lu-app runs {lab.image}:1.0.0, built {built} (13 months ago): older than 12 months"
    ]
    compose = (lab.state / "live" / "lu-apps" / "compose.yaml").read_text()
    assert "@sha256:" not in compose  # rendered before the pull: the next render has it

    # a patch: backed up first, then up and healthy, pinned in lares.lock
    code, report = lab.update("lu-app", "--to", "1.0.1")
    assert code == 0, report
    (app,) = report["apps"]
    assert (app["result"], app["current"], app["target"], app["level"]) == (
        "updated",
        "1.0.0",
        "1.0.1",
        "patch",
    )
    assert app["snapshots"], "a pre-update snapshot"
    assert app["release_notes"] == "https://lu-app.example/changes/1.0.1.html"
    assert lab.running_image() == f"{lab.image}:1.0.1"
    lock = Lock.beside(lab.dir)
    assert lock.pins == {"lu-app/lu-app": "1.0.1"}
    assert lock.images[f"{lab.image}:1.0.1"].startswith("sha256:")
    tagged = lab.restic_snapshots("pre-update")
    assert {s["id"] for s in tagged} == set(app["snapshots"])
    assert all("app:lu-app" in s["tags"] for s in tagged)

    # a major step needs --major; nothing changes without it
    code, report = lab.update("lu-app", "--to", "2.0.0")
    assert code == 1
    assert report["apps"][0]["result"] == "refused"
    assert "--major" in report["apps"][0]["why"]
    assert lab.running_image() == f"{lab.image}:1.0.1"

    # a version the registry does not have: said so, and nothing is backed up or changed
    snapshots = len(lab.restic_snapshots("pre-update"))
    code, report = lab.update("lu-app", "--to", "9.9.9")
    assert code == 1, report
    (app,) = report["apps"]
    assert (app["result"], app["why"]) == ("refused", "the registry has no tag 9.9.9"), app
    assert app["snapshots"] == [] and app["target"] is None, app
    text = lab.lares("update", "lu-app", "--to", "9.9.9")
    assert text.returncode == 1 and "the registry has no tag 9.9.9" in text.stdout + text.stderr
    assert "Traceback" not in text.stderr
    assert lab.running_image() == f"{lab.image}:1.0.1"
    assert Lock.beside(lab.dir).pins == {"lu-app/lu-app": "1.0.1"}
    assert len(lab.restic_snapshots("pre-update")) == snapshots

    # 1.2.0 migrates the table, then never turns healthy: the old version and the data return
    lab.psql("INSERT INTO items VALUES (3, 'three')")
    code, report = lab.update("lu-app", "--to", "1.2.0")
    assert code == 1, report
    (app,) = report["apps"]
    assert app["result"] == "rolled-back", app
    assert "did not come up" in app["why"]
    assert app["restored"] == ["db"], app
    assert lab.running_image() == f"{lab.image}:1.0.1"
    assert Lock.beside(lab.dir).pins == {"lu-app/lu-app": "1.0.1"}
    assert lab.psql("SELECT string_agg(name, ',' ORDER BY id) FROM items") == "one,two,three"
    columns = lab.psql(
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_name = 'items'"
    )
    assert columns == "id,name", "the migration's column is gone with the rollback"

    # 1.1.0 comes up healthy, but the app's own check finds its row gone: put back the same way
    code, report = lab.update("lu-app", "--to", "1.1.0")
    assert code == 1, report
    (app,) = report["apps"]
    assert app["result"] == "rolled-back", app
    assert "its check on db failed" in app["why"], app
    assert "SELECT name FROM items WHERE id = 1" in app["why"], app
    assert app["restored"] == ["db"], app
    assert lab.running_image() == f"{lab.image}:1.0.1"
    assert Lock.beside(lab.dir).pins == {"lu-app/lu-app": "1.0.1"}
    assert lab.psql("SELECT string_agg(name, ',' ORDER BY id) FROM items") == "one,two,three"
    # what runs is what lares.yaml and lares.lock say: `up` has nothing to do
    again = json.loads(lab.ok("up", "--yes", "--json").stdout)
    assert [s["action"] for s in again["stacks"]] == ["none"], again
    assert first.startswith("sha256:")

    # a re-pushed tag: outdated says it moved, and up keeps running what the lock recorded
    running = lab.container_image_id()
    lab.registry.push(lab.base, REPO, "1.0.1", label="re-pushed")
    outdated = json.loads(lab.ok("outdated", "--json").stdout)
    assert [i["moved"] for i in outdated["images"] if i["image"].startswith(lab.image)] == [True]
    assert json.loads(lab.ok("up", "--yes", "--json").stdout)
    assert lab.container_image_id() == running
    compose = (lab.state / "live" / "lu-apps" / "compose.yaml").read_text()
    assert f"{lab.image}:1.0.1@sha256:" in compose


def test_a_scheduled_update_keeps_to_its_level_and_exclusions_and_names_no_unknown_app(
    lab: Lab, docker_client: docker.DockerClient
) -> None:
    blueprint = lab.dir / "lares.yaml"
    text = blueprint.read_text()

    def schedule(section: str) -> None:
        blueprint.write_text(text + section)

    # a misspelt exclusion: said where it is written, and nothing is updated
    schedule("updates:\n  level: patch\n  exclude:\n    - lu-ap\n")
    run = lab.lares("update", "--scheduled")
    assert run.returncode == 2, run.stdout + run.stderr
    line = (text + "updates:\n  level: patch\n  exclude:\n").count("\n") + 1
    assert f"lares.yaml:{line}:" in run.stderr, run.stderr
    assert "updates.exclude names 'lu-ap', which is no app of the blueprint" in run.stderr
    assert "did you mean 'lu-app'?" in run.stderr
    assert "Traceback" not in run.stderr
    plan = lab.lares("plan")
    assert plan.returncode != 0 and "updates.exclude names 'lu-ap'" in plan.stdout + plan.stderr
    # …and on the command line, an app or --exclude that is no app of the blueprint
    for args in (("lu-ap",), ("--exclude", "lu-ap")):
        run = lab.lares("update", *args)
        assert run.returncode == 2, run.stdout + run.stderr
        assert "no app named lu-ap in" in run.stderr and "did you mean 'lu-app'?" in run.stderr
    assert not (lab.dir / "lares.lock").exists()
    assert not docker_client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={STACK}"}
    )

    # the only app excluded: the schedule has nothing to do
    schedule("updates:\n  level: patch\n  exclude: [lu-app]\n")
    code, report = lab.update("--scheduled")
    assert (code, report) == (0, {"ok": True, "apps": []})

    # not excluded: the scheduled step is a patch (1.0.1, not the newer minor 1.2.0), and it
    # goes through the pre-update backup, which fails here (no repository yet): nothing changed
    schedule("updates:\n  level: patch\n")
    code, report = lab.update("--scheduled", "--major")
    assert code == 1, report
    (app,) = report["apps"]
    assert (app["app"], app["target"], app["level"], app["result"]) == (
        "lu-app",
        "1.0.1",
        "patch",
        "failed",
    ), app
    assert app["why"].startswith("the pre-update backup failed, nothing changed"), app
    assert not (lab.dir / "lares.lock").exists()


def test_an_update_killed_midway_is_put_back_by_the_next_one(lab: Lab) -> None:
    lab.ok("up", "--yes")
    lab.ok("backup", "init")
    lab.psql("CREATE TABLE items (id int PRIMARY KEY, name text)")
    lab.psql("INSERT INTO items VALUES (1, 'one')")
    argv = [*LARES, "update", "lu-app", "--to", "1.0.1"]
    argv += ["--state-dir", str(lab.state), "-f", str(lab.dir / "lares.yaml")]
    env = {**lab.env, "LARES_TEST_PAUSE_AT": "applied"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        said = []
        for line in iter(proc.stderr.readline, b""):
            said.append(line.decode())
            if line.startswith(b"lares: paused at applied"):
                break
        else:
            pytest.fail(f"lares update never reached the pause: {''.join(said)}")
        # the half state: the new version runs, never proved healthy, and writes data
        assert lab.running_image() == f"{lab.image}:1.0.1"
        lab.psql("INSERT INTO items VALUES (2, 'written by 1.0.1')")
    finally:
        proc.kill()  # SIGKILL: no cleanup of any kind runs
        proc.wait(30)
        if proc.stderr is not None:
            proc.stderr.close()
    assert (lab.state / "update-journal.json").exists()

    # until an update settles it, `lares up` deploys nothing: neither version is proven on this data
    refused = lab.lares("up", "--yes", "--json")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    (error,) = json.loads(refused.stdout)["errors"]
    assert error["id"] == "update-unsettled", error
    assert "update of lu-app from 1.0.0 to 1.0.1" in error["message"], error
    assert "run `lares update` first" in error["hint"], error
    assert lab.running_image() == f"{lab.image}:1.0.1"

    code, report = lab.update("lu-app", "--to", "1.0.0")
    assert code == 1 and "apps" in report, report
    first = report["apps"][0]
    assert first["result"] == "rolled-back", first
    assert first["why"] == "an update to 1.0.1 was cut short (applied): 1.0.0 is back", first
    assert first["restored"] == ["db"], first
    assert report["apps"][1]["why"] == "1.0.0 is not newer than 1.0.0", report
    assert lab.running_image() == f"{lab.image}:1.0.0"
    assert Lock.beside(lab.dir).pins == {}
    assert lab.psql("SELECT string_agg(name, ',' ORDER BY id) FROM items") == "one"
    assert not (lab.state / "update-journal.json").exists()
    again = json.loads(lab.ok("up", "--yes", "--json").stdout)
    assert [s["action"] for s in again["stacks"]] == ["none"], again
