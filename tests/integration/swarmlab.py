"""A real Docker Swarm of three engines on this machine, for the Swarm tests.

Each node is its own dockerd (and the containerd it starts) in its own network namespace
``lt-swarm1`` .. ``lt-swarm3``, started with ``nsenter --net=`` (``ip netns exec`` remounts
/sys and hides the cgroup v1 mounts) and with its own data root, exec root, socket, containerd
namespace, cgroup parent and pidfile under one folder ``/tmp/lares-test-swarm-*``. The nodes
are linked by veth pairs to a bridge in a fourth namespace, ``lt-swarm0``, so that they reach
each other on 192.168.231.0/24 (Swarm's 2377/tcp, 7946/tcp+udp and VXLAN 4789/udp) and
nothing else: the host's own network never sees them. Node 1 runs ``swarm init``, nodes 2 and
3 join as workers, and every node gets the labels the test blueprint places by and the test
images (``docker save`` from the main engine, ``docker load`` into each node).

:func:`swarm_lab` builds it and tears it down, even when the set-up fails half-way or the run
is interrupted; :func:`sweep_leftovers` removes what a killed run left (its processes, mounts,
namespaces and folders), as the session start and ``scripts/test`` do.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "lt-swarm"  # the namespaces: lt-swarm0 (the bridge), lt-swarm1 .. lt-swarm3 (nodes)
ROOT_PREFIX = "/tmp/lares-test-swarm-"
NETNS_DIR = Path("/var/run/netns")
CGROUPS = Path("/sys/fs/cgroup")
SUBNET = "192.168.231"
START_TIMEOUT = 60.0


def _sh(argv: Sequence[str], *, check: bool = True, timeout: float = 120, **kw: object) -> str:
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, check=False, **kw
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}".strip()
        )
    return proc.stdout


@dataclass
class Node:
    """One engine of the lab: its namespace, folders and the address others reach it on."""

    index: int
    root: Path
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def netns(self) -> str:
        return f"{PREFIX}{self.index}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{10 + self.index}"

    @property
    def socket(self) -> Path:
        return self.root / f"d{self.index}.sock"

    @property
    def host(self) -> str:
        """The DOCKER_HOST that reaches this engine."""
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.root / f"d{self.index}.pid"

    @property
    def log(self) -> Path:
        return self.root / f"d{self.index}.log"

    def docker(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        return _sh(["docker", "-H", self.host, *args], check=check, timeout=timeout)

    def info(self) -> dict[str, object]:
        return json.loads(self.docker("info", "--format", "{{json .}}"))

    def start(self) -> None:
        """Start dockerd in the namespace (it starts its own containerd under its exec root)."""
        config = self.root / "daemon.json"
        # no-new-privileges as a Swarm node should set it: Swarm ignores security_opt.
        config.write_text(json.dumps({"no-new-privileges": True}), encoding="utf-8")
        # Its own UTS namespace and hostname, so that ``node.hostname == ...`` places on one
        # node (every engine would otherwise share the machine's name).
        argv = [
            "setpriv",
            "--pdeathsig",
            "TERM",
            "--",
            "unshare",
            "--uts",
            "--",
            "sh",
            "-c",
            'hostname "$0" && exec "$@"',
            self.name,
            "nsenter",
            f"--net={NETNS_DIR / self.netns}",
            "dockerd",
            "--config-file",
            str(config),
            "--data-root",
            str(self.root / f"d{self.index}"),
            "--exec-root",
            str(self.root / f"x{self.index}"),
            "-H",
            self.host,
            "--containerd-namespace",
            self.netns,
            "--containerd-plugins-namespace",
            f"{self.netns}-plugins",
            "--cgroup-parent",
            f"/{self.netns}",
            "--pidfile",
            str(self.pidfile),
            "--iptables=true",
            "--bridge=none",
            "--ip-forward=true",
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, deadline: float) -> None:
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"dockerd of {self.netns} exited {self.process.returncode}:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            if self.socket.exists() and (
                subprocess.run(
                    ["docker", "-H", self.host, "version"], capture_output=True, check=False
                ).returncode
                == 0
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"dockerd of {self.netns} did not answer in {START_TIMEOUT:.0f} s:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.2)

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return self.process.pid if self.process and self.process.poll() is None else None

    def kill(self) -> None:
        """Kill the engine as a power cut would: SIGKILL to dockerd, its containerd and every
        container of the node (everything in its namespace)."""
        _kill_netns(self.netns, signal.SIGKILL)
        if self.process is not None:
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the engine by its pidfile (SIGTERM, then SIGKILL for what is left). The
        containers go first (SIGKILL: they are the test's throw-aways), so that dockerd does not
        wait out each one's stop grace period."""
        for p in _cgroup_pids(self.netns, "pids"):
            with suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        pid = self.pid()
        if pid is not None:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while _alive(pid) and time.monotonic() < deadline:
                if self.process is not None:
                    self.process.poll()  # reap it, or it stays a zombie that looks alive
                time.sleep(0.1)
        _kill_netns(self.netns, signal.SIGKILL)
        if self.process is not None:
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)


@dataclass
class SwarmLab:
    root: Path
    nodes: list[Node]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    def node(self, hostname: str) -> Node:
        return next(n for n in self.nodes if n.name == hostname)

    def env(self, node: Node | None = None) -> dict[str, str]:
        """The environment that points docker (and lares) at ``node`` (default: the manager)."""
        return {**os.environ, "DOCKER_HOST": (node or self.manager).host}


# ── the network ────────────────────────────────────────────────────────────────────────────


def _link(nodes: Sequence[Node]) -> None:
    hub = f"{PREFIX}0"
    _sh(["ip", "netns", "add", hub])
    _sh(["ip", "-n", hub, "link", "set", "lo", "up"])
    _sh(["ip", "-n", hub, "link", "add", "br0", "type", "bridge"])
    _sh(["ip", "-n", hub, "link", "set", "br0", "up"])
    for node in nodes:
        _sh(["ip", "netns", "add", node.netns])
        _sh(["ip", "-n", node.netns, "link", "set", "lo", "up"])
        # Create the pair inside the hub, then move one end to the node as its eth0.
        _sh(["ip", "-n", hub, "link", "add", f"p{node.index}", "type", "veth", "peer", "eth0"])
        _sh(["ip", "-n", hub, "link", "set", "eth0", "netns", node.netns])
        _sh(["ip", "-n", hub, "link", "set", f"p{node.index}", "master", "br0", "up"])
        _sh(["ip", "-n", node.netns, "addr", "add", f"{node.address}/24", "dev", "eth0"])
        _sh(["ip", "-n", node.netns, "link", "set", "eth0", "up"])
        # No default route: a pull the engine tries (Swarm does before each task) fails at
        # once with "network unreachable" instead of waiting for DNS timeouts, and the node
        # uses the image it has.


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _pids_in(netns: str) -> set[int]:
    """The processes of node ``netns``: dockerd, containerd and the shims (in the namespace)
    and the containers (each in a namespace of its own, but under the cgroup parent
    ``/<netns>`` the engine was given)."""
    pids: set[int] = set()
    if (NETNS_DIR / netns).exists():
        pids.update(int(p) for p in _sh(["ip", "netns", "pids", netns], check=False).split())
    pids.update(_cgroup_pids(netns))
    return pids


def _cgroup_pids(netns: str, controller: str = "*") -> set[int]:
    """The processes in the cgroups under ``/<netns>`` (they come and go while we look)."""
    pids: set[int] = set()
    for top in CGROUPS.glob(f"{controller}/{netns}"):
        for folder, _, files in os.walk(top):
            if "cgroup.procs" in files:
                with suppress(OSError, ValueError):
                    pids.update(int(p) for p in Path(folder, "cgroup.procs").read_text().split())
    return pids


def _kill_netns(netns: str, sig: signal.Signals) -> None:
    """Send ``sig`` to every process of node ``netns`` until none is left (or 15 s passed)."""
    deadline = time.monotonic() + 15
    while pids := _pids_in(netns):
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)


def _remove_cgroups(netns: str) -> None:
    """Remove the cgroups under ``/<netns>`` in every hierarchy, deepest first."""
    for top in CGROUPS.glob(f"*/{netns}"):
        if top.is_symlink():
            continue
        for folder, _, _ in os.walk(top, topdown=False):  # deepest first; errors ignored
            with suppress(OSError):
                os.rmdir(folder)


# ── set-up and tear-down ───────────────────────────────────────────────────────────────────


def _load_images(nodes: Sequence[Node], images: Sequence[str], root: Path) -> None:
    tar = root / "images.tar"
    _sh(["docker", "save", "-o", str(tar), *images], timeout=300)

    def load(node: Node) -> None:
        node.docker("load", "-q", "-i", str(tar), timeout=300)

    with ThreadPoolExecutor(len(nodes)) as pool:
        list(pool.map(load, nodes))
    tar.unlink()


def _form_swarm(nodes: Sequence[Node]) -> None:
    manager, *workers = nodes
    # A 1 s heartbeat: a killed node is marked down, and its tasks moved, within seconds.
    manager.docker(
        "swarm", "init", "--advertise-addr", manager.address, "--dispatcher-heartbeat", "1s"
    )
    token = manager.docker("swarm", "join-token", "-q", "worker").strip()
    for w in workers:
        w.docker(
            "swarm",
            "join",
            "--advertise-addr",
            w.address,
            "--token",
            token,
            f"{manager.address}:2377",
        )
    deadline = time.monotonic() + 30
    while True:
        ready = manager.docker("node", "ls", "--format", "{{.Status}}").split()
        if ready.count("Ready") == len(nodes):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"nodes not ready after 30 s: {ready}")
        time.sleep(0.2)
    for node in nodes:
        if node.labels:
            args = [a for k, v in node.labels.items() for a in ("--label-add", f"{k}={v}")]
            manager.docker("node", "update", *args, node.name)


def teardown(root: Path, nodes: Sequence[Node]) -> list[str]:
    """Stop the engines, remove namespaces, cgroups, mounts and the folder; return what
    failed."""
    problems: list[str] = []

    def stop(node: Node) -> None:
        try:
            node.stop()
        except Exception as exc:  # keep going: everything else still has to go
            problems.append(f"{node.netns}: {exc}")

    with ThreadPoolExecutor(len(nodes)) as pool:
        list(pool.map(stop, nodes))
    problems += _remove_leftovers(str(root), [n.netns for n in nodes] + [f"{PREFIX}0"])
    for node in nodes:
        if node.process is not None:
            with suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=10)
            if node.process.poll() is None:
                problems.append(f"dockerd of {node.netns} (pid {node.process.pid}) still runs")
    return problems


def _remove_leftovers(root_prefix: str, namespaces: Sequence[str]) -> list[str]:
    problems: list[str] = []
    for ns in namespaces:
        _kill_netns(ns, signal.SIGKILL)
        _remove_cgroups(ns)
    with open("/proc/mounts", encoding="utf-8") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(root_prefix)]
    for point in sorted(points, key=len, reverse=True):
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    for ns in namespaces:
        if (NETNS_DIR / ns).exists():
            proc = subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
            if proc.returncode:
                problems.append(f"ip netns del {ns}: {proc.stderr.decode().strip()}")
    parent, stem = os.path.split(root_prefix)
    for entry in Path(parent).glob(f"{stem}*"):
        shutil.rmtree(entry, ignore_errors=True)
        if entry.exists():
            problems.append(f"could not remove {entry}")
    return problems


def sweep_leftovers() -> list[str]:
    """Remove what a killed run of the lab left: the processes in every ``lt-swarm*``
    namespace, the mounts under ``/tmp/lares-test-swarm-*``, the namespaces and the folders."""
    names = {p.name for p in NETNS_DIR.glob(f"{PREFIX}*")} if NETNS_DIR.exists() else set()
    names |= {p.name for p in CGROUPS.glob(f"*/{PREFIX}*")}
    return _remove_leftovers(ROOT_PREFIX, sorted(names))


@contextmanager
def swarm_lab(
    images: Sequence[str], hosts: Sequence[tuple[str, dict[str, str]]]
) -> Iterator[SwarmLab]:
    """A swarm of one engine per ``(hostname, labels)`` of ``hosts`` (the first the manager),
    holding ``images``; torn down when the block ends, however it ends (an exception, Ctrl-C,
    a set-up failing half-way)."""
    if sweep := sorted(p.name for p in NETNS_DIR.glob(f"{PREFIX}*")) if NETNS_DIR.exists() else []:
        raise RuntimeError(
            f"namespaces {', '.join(sweep)} exist: another swarm lab runs, or a killed one "
            "left them (scripts/test removes them)"
        )
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
    nodes = [Node(i + 1, root, name, dict(lb)) for i, (name, lb) in enumerate(hosts)]
    lab = SwarmLab(root, nodes)
    try:
        started = time.monotonic()
        _link(nodes)
        lab.timings["network"] = time.monotonic() - started
        for node in nodes:
            node.start()
        deadline = time.monotonic() + START_TIMEOUT
        for node in nodes:
            node.wait_ready(deadline)
        lab.timings["engines"] = time.monotonic() - started
        _load_images(nodes, images, root)
        lab.timings["images"] = time.monotonic() - started
        _form_swarm(nodes)
        lab.timings["swarm"] = time.monotonic() - started
        yield lab
    finally:
        # A second Ctrl-C during tear-down must not leave half of it: ignore SIGINT meanwhile.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            problems = teardown(root, nodes)
        finally:
            signal.signal(signal.SIGINT, previous)
        if problems:
            raise RuntimeError("swarm lab tear-down: " + "; ".join(problems))
