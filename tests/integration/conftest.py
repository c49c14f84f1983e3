"""Fixtures for the integration tests: a real Docker engine, local images, btrfs on loops.

Everything here creates things named with the prefix ``lt-`` (Docker objects) or under
``/tmp/lares-test-*`` (files, mounts, loop devices), removes them at the end of each test even
when it fails, and removes leftovers of killed runs at the start of the session — unless
another test run is going on (it holds :data:`SESSION_LOCK`), whose things are not leftovers.

Run the suite with ``scripts/test``: it installs the tools, starts dockerd and builds the
images. A missing engine is a failure here, never a skip.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import docker

    from integration.deploy_lab import DeployLab

REPO = Path(__file__).resolve().parents[2]
BUILD_IMAGES = REPO / "scripts" / "build-test-images"
DOCKER_PREFIXES = ("lt-", "lares-test")
TMP_PREFIX = "/tmp/lares-test"
SESSION_LOCK = Path("/run/lares-tests.lock")  # scripts/test takes the same lock to sweep
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
IMAGES = {
    "busybox": "lares-test/busybox:1",
    "postgres": "lares-test/postgres:15",
    "mariadb": "lares-test/mariadb:10.11",
}

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


def _run(argv: list[str], *, check: bool = True, timeout: float = 120) -> str:
    """Run a command, return its stdout; on failure raise with its output."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}".strip()
        )
    return proc.stdout


# --------------------------------------------------------------------------------- cleanup


def remove_docker_objects(
    client: docker.DockerClient,
    *,
    names: set[str] | frozenset[str] = frozenset(),
    prefixes: tuple[str, ...] = (),
    projects: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """Remove containers, networks and volumes with one of ``names`` or ``prefixes``, and the
    containers of compose ``projects`` (or of a project with one of the prefixes).

    Returns the errors met (other than "already gone"), after trying everything.
    """
    import docker.errors

    def wanted(name: str | None) -> bool:
        if not name:
            return False
        bare = name.lstrip("/")
        if bare in names:
            return True
        return bool(prefixes) and bare.startswith(prefixes)

    errors: list[str] = []
    for c in client.containers.list(all=True, ignore_removed=True):
        project = c.labels.get(COMPOSE_PROJECT_LABEL)
        if (
            wanted(c.name)
            or (project is not None and project in projects)
            or (project is not None and prefixes and project.startswith(prefixes))
        ):
            try:
                c.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                errors.append(f"container {c.name}: {exc}")
    for n in client.networks.list():
        if wanted(n.name) or any(n.name.startswith(f"{p}_") for p in projects):
            try:
                n.remove()
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                errors.append(f"network {n.name}: {exc}")
    for v in client.volumes.list():
        if wanted(v.name) or any(v.name.startswith(f"{p}_") for p in projects):
            try:
                v.remove(force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                errors.append(f"volume {v.name}: {exc}")
    return errors


def _mounts_under(prefix: str) -> list[str]:
    """Mount points that start with ``prefix``, deepest first."""
    points = []
    with open("/proc/mounts", encoding="utf-8") as f:
        for line in f:
            point = line.split()[1].replace("\\040", " ")
            if point.startswith(prefix):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def _umount(point: str) -> None:
    if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _loops_backed_under(prefix: str) -> list[str]:
    out = _run(["losetup", "-l", "-n", "-O", "NAME,BACK-FILE"], check=False)
    devices = []
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[1].startswith(prefix):
            devices.append(parts[0])
    return devices


def _detach_loop(device: str) -> None:
    # Let btrfs forget the device before it goes, so a later fs on the same loop number is
    # not confused with this one.
    if shutil.which("btrfs"):
        subprocess.run(
            ["btrfs", "device", "scan", "--forget", device], capture_output=True, check=False
        )
    subprocess.run(["losetup", "-d", device], capture_output=True, check=False)


def cleanup_host_leftovers(prefix: str = TMP_PREFIX) -> None:
    """Unmount, detach and delete what lives under ``prefix`` (default /tmp/lares-test*)."""
    for point in _mounts_under(prefix):
        _umount(point)
    for device in _loops_backed_under(prefix):
        _detach_loop(device)
    parent, stem = os.path.split(prefix)
    for entry in Path(parent).glob(f"{stem}*"):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@pytest.fixture(scope="session", autouse=True)
def _leftovers_removed() -> Iterator[None]:
    """Remove what killed runs left: mounts, loop devices and files under /tmp/lares-test*,
    and Docker objects named lt-* / lares-test*. Only when no other test run is going on:
    every run holds a shared lock on :data:`SESSION_LOCK` for its lifetime, and sweeps only if
    it gets the lock exclusively first."""
    fd = os.open(SESSION_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fcntl.flock(fd, fcntl.LOCK_SH)  # another run is going on: nothing is a leftover
        else:
            from integration.swarmlab import sweep_leftovers

            sweep_leftovers()  # first: a killed swarm lab's engines still use their folders
            cleanup_host_leftovers()
            if _engine_problem() is None:  # without an engine, docker_client says so
                _remove_docker_leftovers()
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _remove_docker_leftovers() -> None:
    import docker

    client = docker.from_env(version="auto", timeout=120)
    try:
        errors = remove_docker_objects(client, prefixes=DOCKER_PREFIXES)
    finally:
        client.close()
    if errors:
        pytest.fail("could not remove leftovers of an earlier run:\n" + "\n".join(errors))


# --------------------------------------------------------------------------------- docker


def _engine_problem() -> str | None:
    """Why the Docker engine does not answer, or None if it does."""
    import docker

    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://"):
        # Connect by hand first: docker-py leaks the socket of a refused unix connection,
        # which filterwarnings=error would turn into a second, confusing error.
        path = host.removeprefix("unix://")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            try:
                sock.connect(path)
            except OSError as exc:
                return f"cannot connect to {path}: {exc}"
    probe = docker.from_env(version="1.24", timeout=10)  # makes no request on construction
    try:
        probe.ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        probe.close()
    return None


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The Docker SDK client for the local engine."""
    import docker

    problem = _engine_problem()
    if problem is not None:
        pytest.fail(
            f"No Docker engine answers on this machine ({problem}).\n"
            "Run the tests with scripts/test, which installs docker.io and starts dockerd.",
            pytrace=False,
        )
    client = docker.from_env(version="auto", timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """The local test images, built by scripts/build-test-images when missing or stale."""
    proc = subprocess.run(
        [str(BUILD_IMAGES), *IMAGES], capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"scripts/build-test-images failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}",
            pytrace=False,
        )
    for image in IMAGES.values():
        docker_client.images.get(image)
    return dict(IMAGES)


@pytest.fixture
def unique_name() -> Callable[..., str]:
    """A factory of names like ``lt-1a2b3c4d`` (or ``lt-1a2b3c4d-web`` given "web")."""

    def make(label: str = "") -> str:
        name = f"lt-{uuid.uuid4().hex[:10]}"
        return f"{name}-{label}" if label else name

    return make


@dataclass
class DockerCleanup:
    """What a test created in Docker, removed when the test ends (pass or fail).

    ``track(name)`` a container, network or volume by exact name; ``prefix(p)`` everything
    whose name starts with ``p``; ``project(name)`` a compose project (its containers by the
    compose label, its ``<name>_*`` networks and volumes). Each returns its argument.
    """

    client: docker.DockerClient
    names: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)

    def track(self, name: str) -> str:
        self.names.add(name)
        return name

    def prefix(self, prefix: str) -> str:
        self.prefixes.add(prefix)
        return prefix

    def project(self, name: str) -> str:
        self.projects.add(name)
        return name

    def run(self) -> list[str]:
        return remove_docker_objects(
            self.client,
            names=self.names,
            prefixes=tuple(self.prefixes),
            projects=self.projects,
        )


@pytest.fixture
def docker_cleanup(docker_client: docker.DockerClient) -> Iterator[DockerCleanup]:
    cleanup = DockerCleanup(docker_client)
    yield cleanup
    errors = cleanup.run()
    if errors:
        pytest.fail("cleanup failed:\n" + "\n".join(errors))


@pytest.fixture
def deploy_lab(
    tmp_path: Path, test_images: dict[str, str], docker_client: docker.DockerClient
) -> Iterator[Callable[..., DeployLab]]:
    """A factory of :class:`~integration.deploy_lab.DeployLab` in ``tmp_path`` (its arguments
    but the root). The lab's stacks and networks are removed before it is made and when the test
    ends, pass or fail; so are the files containers left that the test's user may not remove."""
    from integration.deploy_lab import DeployLab, sweep_firewall

    made: list[DeployLab] = []

    def clean(lab: DeployLab) -> list[str]:
        errors = remove_docker_objects(
            docker_client, names=set(lab.networks), projects=set(lab.stacks)
        )
        sweep_firewall()
        return errors

    def make(data: str, **options: object) -> DeployLab:
        lab = DeployLab(tmp_path, data, **options)  # type: ignore[arg-type]
        made.append(lab)
        errors = clean(lab)
        assert not errors, errors
        return lab

    try:
        yield make
    finally:
        errors = [e for lab in made for e in clean(lab)]
        # a database folder belongs to the container's user; let pytest remove it
        subprocess.run(["chmod", "-R", "u+rwX", str(tmp_path)], check=False)
        assert not errors, errors


# --------------------------------------------------------------------------------- btrfs


@dataclass
class LoopSet:
    """Sparse files under ``root``, their loop devices, and the mount point if mounted."""

    root: Path
    files: list[Path]
    devices: list[str]
    mountpoint: Path | None = None


class LoopBtrfs:
    """Factory behind the ``loop_btrfs`` fixture; tears down everything it made."""

    def __init__(self) -> None:
        self.root = Path(f"{TMP_PREFIX}-{uuid.uuid4().hex[:12]}")
        self.sets: list[LoopSet] = []
        self._n = 0

    def __call__(
        self,
        count: int = 1,
        *,
        size_mb: int = 256,
        profile: str | None = None,
        metadata: str | None = None,
        mount: bool | None = None,
        options: str = "",
    ) -> LoopSet:
        """Make ``count`` sparse files of ``size_mb`` on loop devices.

        With ``profile`` (``single``, ``raid0``, ``raid1``, ``raid10``, ...), also
        ``mkfs.btrfs -d profile -m (metadata or profile)`` across them and, unless
        ``mount=False``, mount the filesystem at ``<root>/mnt-N`` with ``options``.
        """
        self._n += 1
        base = self.root / f"set{self._n}"
        base.mkdir(parents=True)
        loops = LoopSet(root=base, files=[], devices=[])
        self.sets.append(loops)
        for i in range(count):
            path = base / f"disk{i}.img"
            with open(path, "wb") as f:
                f.truncate(size_mb * 1024 * 1024)
            loops.files.append(path)
            loops.devices.append(_run(["losetup", "-f", "--show", str(path)]).strip())
        if profile is None:
            if mount:
                raise ValueError("mount=True needs a profile to mkfs.btrfs with")
            return loops
        _run(
            [
                "mkfs.btrfs",
                "-f",
                "-L",
                "lares-test",
                "-d",
                profile,
                "-m",
                metadata or profile,
                *loops.devices,
            ]
        )
        if mount is False:
            return loops
        mnt = self.root / f"mnt-{self._n}"
        mnt.mkdir()
        opts = ",".join(o for o in [options, *(f"device={d}" for d in loops.devices)] if o)
        _run(["mount", "-t", "btrfs", "-o", opts, loops.devices[0], str(mnt)])
        loops.mountpoint = mnt
        return loops

    def teardown(self) -> None:
        for point in _mounts_under(str(self.root)):
            _umount(point)
        for loops in self.sets:
            for device in loops.devices:
                _detach_loop(device)
        # Devices attached by a test itself with files under our root.
        for device in _loops_backed_under(str(self.root)):
            _detach_loop(device)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def loop_btrfs() -> Iterator[LoopBtrfs]:
    """Factory: ``loop_btrfs(2, profile="raid1")`` -> LoopSet mounted at ``.mountpoint``."""
    if os.geteuid() != 0:
        pytest.fail("loop devices and mounts need root: run scripts/test as root", pytrace=False)
    factory = LoopBtrfs()
    try:
        yield factory
    finally:
        factory.teardown()
