"""One lab for the deploy tests: a copy of a test blueprint, its own state folder and data root,
lares run on it as a person runs it (a subprocess), and every container and network it made
removed when the test ends, pass or fail (the ``deploy_lab`` fixture of conftest).

A lab can *move* the blueprint's names, subnets and host port to ones no other run uses at the
same time (``unique=True``): the stacks ``ld-data`` and ``ld-front`` become, say,
``lt-3fa9c1-data`` and ``lt-3fa9c1-front``, the subnet ``10.199.10.0/24`` one that no Docker
network has, the port 18080 a free one. The test still speaks in the blueprint's names: what it
passes to lares or Docker through the lab is moved, and what comes back is moved back, so
``"applied ld-data, ld-front" in lab.lares("up", "--yes").stdout`` holds for every copy.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from integration.lares_lab import LARES, check_exit, lares_process

DATA = Path(__file__).resolve().parents[1] / "data"
LARES_FLAGS = ("up", "diff", "down", "rollback")  # take --state-dir
FILE_FLAGS = ("up", "diff", "down", "plan")  # take -f


def _free_port(host: str = "127.0.0.2") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _free_prefixes(taken: set[str], count: int) -> list[str]:
    """``count`` ``10.X.Y.`` prefixes of /24 subnets that none of ``taken`` starts with."""
    out: list[str] = []
    while len(out) < count:
        prefix = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}."
        if prefix not in taken and prefix not in out:
            out.append(prefix)
    return out


def used_subnets() -> set[str]:
    """The ``a.b.c.`` prefixes of every IPv4 subnet a Docker network holds now."""
    ids = subprocess.run(
        ["docker", "network", "ls", "-q"], capture_output=True, text=True, check=True
    ).stdout.split()
    if not ids:
        return set()
    shown = subprocess.run(
        ["docker", "network", "inspect", *ids], capture_output=True, text=True, check=False
    ).stdout
    out = set()
    for net in json.loads(shown or "[]"):
        for cfg in (net.get("IPAM") or {}).get("Config") or []:
            subnet = str(cfg.get("Subnet") or "")
            if ":" not in subnet and subnet.count(".") == 3:
                out.add(subnet.rsplit(".", 1)[0] + ".")
    return out


def unique_moves(
    prefix: str, subnets: Sequence[str] = (), port: str | None = None
) -> list[tuple[str, str]]:
    """Moves of the name ``prefix`` (``ld-``), the ``a.b.c.`` ``subnets`` and the host ``port``
    to ones no other lab or test uses now."""
    moves = [(prefix, f"lt-{uuid.uuid4().hex[:6]}-")]
    moves += list(zip(subnets, _free_prefixes(used_subnets(), len(subnets)), strict=True))
    if port is not None:
        moves.append((port, str(_free_port())))
    return moves


def sweep_firewall() -> None:
    """Remove the firewall rules lares added for internal networks whose bridge is gone."""
    rules = subprocess.run(
        ["iptables", "-S", "INPUT"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    for rule in rules:
        parts = rule.split()
        if "lares internal" in rule and "-i" in parts:
            bridge = parts[parts.index("-i") + 1]
            if not Path("/sys/class/net", bridge).exists():
                delete = ["iptables", "-D", *shlex.split(rule)[1:]]
                subprocess.run(delete, capture_output=True, check=False)


class DeployLab:
    """A copy of ``tests/data/<data>`` with ``moves`` applied, its state folder and data root.

    ``translate``: the test speaks in the blueprint's names (see the module's doc); without it
    the moves apply to the copy only. ``state_for`` and ``file_for`` say which commands get
    ``--state-dir`` and ``-f`` (by their first word).
    """

    def __init__(
        self,
        root: Path,
        data: str,
        *,
        stacks: Iterable[str],
        networks: Iterable[str] = (),
        moves: Sequence[tuple[str, str]] = (),
        translate: bool = False,
        columns: int = 200,
        timeout: float = 240,
        state_for: Callable[[str], bool] = lambda cmd: cmd in LARES_FLAGS,
        file_for: Callable[[str], bool] = lambda cmd: cmd in FILE_FLAGS,
        cwd: bool = False,
    ) -> None:
        self.root = root
        self.state = root / "state"
        self.dir = root / "bp"
        self.moves = list(moves)
        self.translate = translate
        self.timeout = timeout
        self.state_for, self.file_for = state_for, file_for
        self.cwd = self.dir if cwd else None
        source = DATA / data
        for src in sorted(source.rglob("*")):
            if src.is_file():
                target = self.dir / self._move(str(src.relative_to(source)))
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(self._move(src.read_text()))
        (root / "data").mkdir()
        self.env = {**os.environ, "LT_ROOT": str(root / "data"), "COLUMNS": str(columns)}
        self.stacks = [self._move(s) for s in stacks]
        self.networks = [self._move(n) for n in networks]

    # ── names ──────────────────────────────────────────────────────────────────────────

    def _move(self, text: str) -> str:
        for old, new in self.moves:
            text = text.replace(old, new)
        return text

    def moved(self, text: str) -> str:
        """``text`` in the copy's names (as lares and Docker know them)."""
        return self._move(text) if self.translate else text

    def unmoved(self, text: str) -> str:
        """``text`` from lares or Docker, in the blueprint's names."""
        if not self.translate:
            return text
        for old, new in self.moves:
            if new.isdigit():  # a port: only where it stands as one, never inside a hash
                for fmt in (":{}", '"{}"'):
                    text = text.replace(fmt.format(new), fmt.format(old))
            else:
                text = text.replace(new, old)
        return text

    @property
    def blueprint(self) -> Path:
        return self.dir / "lares.yaml"

    # ── lares ──────────────────────────────────────────────────────────────────────────

    def args(self, *args: str) -> list[str]:
        """The arguments of `lares ARGS` on this lab's blueprint and state folder."""
        full = [self.moved(a) for a in args]
        command = args[0] if args else ""
        if self.state_for(command):
            full += ["--state-dir", str(self.state)]
        if self.file_for(command):
            full += ["-f", str(self.blueprint)]
        return full

    def argv(self, *args: str) -> list[str]:
        """The command line of `lares ARGS` on this lab's blueprint and state folder."""
        return [*LARES, *self.args(*args)]

    def lares(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        proc = lares_process(
            *self.args(*args),
            cwd=self.cwd,
            env=env or self.env,
            input=input,
            timeout=timeout or self.timeout,
        )
        proc.stdout, proc.stderr = self.unmoved(proc.stdout), self.unmoved(proc.stderr)
        if check:
            check_exit(proc, args)
        return proc

    def edit(self, old: str, new: str, file: str = "lares.yaml") -> None:
        path = self.dir / self.moved(file)
        text = path.read_text()
        old, new = self.moved(old), self.moved(new)
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new))

    # ── what lares keeps ─────────────────────────────────────────────────────────────────

    def record_file(self, stack: str) -> Path:
        return self.state / "applied" / self.moved(stack) / "record.json"

    def record(self, stack: str) -> dict[str, Any] | None:
        path = self.record_file(stack)
        return json.loads(path.read_text()) if path.exists() else None

    def secret(self, name: str) -> str:
        return (self.state / "secrets" / self.moved(name)).read_text().strip()

    def secret_values(self) -> list[str]:
        folder = self.state / "secrets"
        return [p.read_text().strip() for p in folder.iterdir() if p.is_file()]

    # ── Docker ─────────────────────────────────────────────────────────────────────────

    def docker(
        self, *args: str, check: bool = False, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """``docker ARGS`` with the copy's names in, the blueprint's out."""
        proc = subprocess.run(
            ["docker", *(self.moved(a) for a in args)],
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )
        proc.stdout, proc.stderr = self.unmoved(proc.stdout), self.unmoved(proc.stderr)
        return proc

    def inspect(self, name: str) -> dict[str, Any]:
        return dict(json.loads(self.docker("inspect", name, check=True).stdout)[0])

    def dexec(
        self, name: str, *cmd: str, user: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.docker("exec", *(["-u", user] if user else []), name, *cmd, timeout=60)
